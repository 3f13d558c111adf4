"""Do two versions of analyze() give identical outputs? Counts the files where they differ.

Exports ``smartcache_ls`` of a git ref (default ``main``) to a temporary folder, runs that
version's ``analyze()`` and this checkout's over the same files, each in its own
process, and compares the JSON of every result. The files: this repository's (by the
server's ignore rules), the source files of this interpreter's site-packages, and any
``--extra`` folders (e.g. the shared Java workspaces).

    .venv/bin/python bench/analysis_diff.py [--ref main] [--extra DIR ...] [--limit N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTS = {
    ".py", ".pyi", ".js", ".mjs", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java",
    ".c", ".h", ".cc", ".cpp", ".hpp",
}  # fmt: skip
MAX_BYTES = 2 * 1024 * 1024

_RUN = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
import orjson
import smartcache_ls
from smartcache_ls.analysis import analyze
assert smartcache_ls.__file__.startswith(sys.argv[1]), smartcache_ls.__file__
for line in open(sys.argv[2], encoding="utf-8"):
    path = line.rstrip("\\n")
    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError):
        continue
    out = orjson.dumps(analyze(path, text), option=orjson.OPT_SORT_KEYS)
    print(path + "\\t" + hashlib.blake2b(out, digest_size=16).hexdigest())
"""


def corpus(extra: list[Path], limit: int) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from smartcache_ls.ignore import IgnoreRules, scan_files

    files = [str(ROOT / rel) for rel in scan_files(ROOT, IgnoreRules(ROOT))]
    for base in [Path(sysconfig.get_paths()["purelib"]), *extra]:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.splitext(name)[1] in EXTS and not os.path.islink(path):
                    try:
                        if os.path.getsize(path) <= MAX_BYTES:
                            files.append(path)
                    except OSError:
                        continue
    return [f for f in files if os.path.splitext(f)[1] in EXTS][:limit]


def run(package_parent: Path, listing: Path) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(package_parent), str(listing)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("\t", 1) for line in proc.stdout.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main")
    parser.add_argument("--extra", type=Path, action="append", default=[])
    parser.add_argument("--limit", type=int, default=1_000_000)
    args = parser.parse_args()
    files = corpus(args.extra, args.limit)
    with tempfile.TemporaryDirectory(prefix="analysis-diff-") as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.ref, "smartcache_ls"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(files) + "\n", encoding="utf-8")
        before, after = run(old, listing), run(ROOT, listing)
    differ = sorted(p for p in before if after.get(p) != before[p])
    digest = hashlib.blake2b("".join(sorted(after.values())).encode(), digest_size=8).hexdigest()
    print(f"{len(before)} files analysed by {args.ref} and by this checkout; {len(differ)} differ")
    print(f"(outputs digest {digest})")
    for path in differ[:20]:
        print("  differs:", path)


if __name__ == "__main__":
    main()

"""One query pass (analysis/one_pass.py) gives what names() and scan() give in two, on real
files: this repository's Python and TypeScript sources and the JavaScript of site-packages
(and it declines trees with errors and languages outside PAIRED, which keep their two passes)."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from smartcache_ls.analysis.analyzer import parsed
from smartcache_ls.analysis.languages import language_for
from smartcache_ls.analysis.names import PAIRED, names
from smartcache_ls.analysis.one_pass import one_pass
from smartcache_ls.analysis.scan import SPECS, scan

ROOT = Path(__file__).resolve().parents[2]
PURELIB = Path(sysconfig.get_paths()["purelib"])


def _files(root: Path, limit: int) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", "__pycache__", ".venv", "node_modules"))
        for name in sorted(filenames):
            if language_for(name) in PAIRED and len(out) < limit:
                out.append(Path(dirpath) / name)
    return out


def _sources() -> list[Path]:
    ours = _files(ROOT / "smartcache_ls", 400) + _files(ROOT / "editor-clients", 100)
    return ours + _files(PURELIB / "pip", 200)


@pytest.mark.parametrize("comments", [True, False])
def test_one_pass_equals_names_and_scan(comments: bool) -> None:
    compared = 0
    for path in _sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        done = parsed(str(path), language_for(str(path)) or "", text)
        if done is None:
            continue
        language, tree, src = done
        one = one_pass(language, tree, src, comments=comments)
        if tree.root_node.has_error:
            assert one is None
            continue
        assert one is not None, path
        found, scanned = one
        separate = scan(tree, SPECS[language], language)
        assert found == names(language, tree, src), path
        assert list(found["uses"]) == list(names(language, tree, src)["uses"]), path  # same order
        assert [(n.start_byte, n.end_byte) for n in scanned.sites] == [
            (n.start_byte, n.end_byte) for n in separate.sites
        ], path
        assert sorted(scanned.comments) == (sorted(separate.comments) if comments else []), path
        compared += 1
    assert compared > 250


def test_other_languages_keep_two_passes() -> None:
    text = "package a;\n// note\nimport b.C;\nclass D { C c; }\n"
    done = parsed("D.java", "java", text)
    assert done is not None
    language, tree, src = done
    assert one_pass(language, tree, src, comments=True) is None

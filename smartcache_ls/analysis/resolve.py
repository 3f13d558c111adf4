"""Map import specifiers to the workspace files they name.

Paths are POSIX, relative to the workspace root. A candidate is returned only when
``exists(candidate)`` says so (the engine passes its in-memory file index: no disk access
per candidate); directories are listed only for Go packages and Java wildcard imports,
by ``listing(dir)`` when given (the index again), else from ``root``. Best effort,
never raises, deterministic: results are deduplicated and in the order of the imports
(one file per import, except Go packages and Java ``.*`` imports, which name several).

- python: absolute ``a.b`` -> ``a/b.py``, ``a/b/__init__.py`` (also ``.pyi``) under the
  root, ``src/``, then the importing file's directory and its parents; relative
  ``..a.b`` from the importing file's package (falling back to the package's
  ``__init__.py``, which the import runs too).
- javascript/typescript: relative specifiers (``./``, ``../``) with extension and
  ``index`` resolution (a ``.js`` specifier also finds the ``.ts`` source); ``@/x`` and
  ``~/x`` are tried under ``src/``.
- c/cpp: includes relative to the file, then the root, ``include/`` and ``src/``.
- go: packages under the module path of the nearest ``go.mod``, else by path suffix;
  every non-test ``.go`` file of the package directory.
- rust: ``crate::``, ``self::``, ``super::`` paths to ``x.rs`` / ``x/mod.rs``, longest
  module prefix first; other crates by ``<name>/src/lib.rs``.
- java: ``a.b.C`` -> ``a/b/C.java`` under the importing file's source root (found
  from the path), ``src/main/java``, ``src/test/java``, ``src``, the root; nested and
  static member imports fall back to the enclosing class's file.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..reader import read_optional_text
from .languages import language_for

logger = logging.getLogger(__name__)

Exists = Callable[[str], bool]
Listing = Callable[[str], Iterable[str]]

#: Files listed for one Go package or Java wildcard import, at most.
MAX_FILES_PER_PACKAGE = 50
#: The largest go.mod read for its module path; a larger one (or a FIFO, a device, a link
#: out of the workspace) is not read at all.
MAX_GO_MOD_BYTES = 1 << 20

_TS_EXTS = (".ts", ".tsx", ".d.ts", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_JS_EXTS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".d.ts", ".mts", ".cts")
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


def _norm(path: str) -> str | None:
    """A normalised workspace-relative path, or None when it leaves the workspace."""
    if not path or path.startswith("/"):
        return None
    norm = posixpath.normpath(path)
    if norm == "." or norm == ".." or norm.startswith("../"):
        return None
    return norm


def _join(*parts: str) -> str:
    return posixpath.join(*[p for p in parts if p])


def resolve_imports(
    root: Path, rel_path: str, imports: list[str], exists: Exists, listing: Listing | None = None
) -> list[str]:
    """Workspace-relative paths of the files the imports of ``rel_path`` name.

    ``listing(dir)``, when given, names the files of a workspace directory ('' is the root)."""
    rel_path = rel_path.replace("\\", "/")
    language = language_for(rel_path)
    resolver = _RESOLVERS.get(language or "")
    if resolver is None:
        return []
    cache: dict[str, bool] = {}

    def check(path: str | None) -> bool:
        if path is None:
            return False
        if path not in cache:
            try:
                cache[path] = bool(exists(path))
            except Exception:
                logger.debug("exists(%r) raised", path, exc_info=True)
                cache[path] = False
        return cache[path]

    out: list[str] = []
    seen = {rel_path}
    ctx = _Context(root, rel_path, check, listing)
    for spec in imports:
        if not isinstance(spec, str) or not spec:
            continue
        try:
            found = list(resolver(ctx, spec))
        except Exception:
            logger.debug("resolving %r from %s failed", spec, rel_path, exc_info=True)
            continue
        for path in found:
            if path not in seen:
                seen.add(path)
                out.append(path)
    return out


class _Context:
    def __init__(
        self, root: Path, rel_path: str, check: Callable[[str | None], bool], listing: Listing | None
    ) -> None:
        self.root = root
        self.rel_path = rel_path
        self.dir = posixpath.dirname(rel_path)
        self.check = check
        self.listing = listing
        #: Whether the importing file's path is normalised (the index's paths are): then paths
        #: joined from its directories and identifiers are too, and need no normpath each.
        self.normal = _norm(rel_path) == rel_path

    def first(self, candidates: Iterable[str | None]) -> Iterator[str]:
        """The first candidate that exists (normalised), if any."""
        for cand in candidates:
            norm = _norm(cand) if cand is not None else None
            if norm is not None and self.check(norm):
                yield norm
                return

    def first_normal(self, candidates: Iterable[str]) -> Iterator[str]:
        """:meth:`first` of candidates that are normalised paths when :attr:`normal` is."""
        if not self.normal:
            yield from self.first(candidates)
            return
        check = self.check
        for cand in candidates:
            if check(cand):
                yield cand
                return

    def ancestors(self) -> list[str]:
        """The importing file's directory and its parents, nearest first ('' is the root)."""
        out: list[str] = []
        cur = self.dir
        while cur:
            out.append(cur)
            cur = posixpath.dirname(cur)
        return out

    def list_dir(self, rel_dir: str, suffix: str, skip: Callable[[str], bool]) -> list[str]:
        """Files ``rel_dir/*suffix`` that exist ('' is the root), sorted, capped."""
        norm = "" if rel_dir in ("", ".") else _norm(rel_dir)
        if norm is None:
            return []
        directory = self.root / norm if norm else self.root
        if self.listing is None and not _lists_inside(directory, self.root):
            return []
        try:
            # the index (only files the workspace scan found), else the directory itself
            names = sorted(self.listing(norm) if self.listing is not None else os.listdir(directory))
        except OSError:
            return []
        out: list[str] = []
        for name in names:
            if name.endswith(suffix) and not skip(name):
                path = _join(norm, name)
                if self.check(path):
                    out.append(path)
                    if len(out) >= MAX_FILES_PER_PACKAGE:
                        break
        return out


def _lists_inside(directory: Path, root: Path) -> bool:
    """Whether ``directory`` resolves inside ``root``: a folder linked from outside is not listed."""
    try:
        real = os.path.realpath(directory)
    except OSError:  # changed while it was resolved
        return False
    return real == str(root) or real.startswith(str(root).rstrip("/") + "/")


# ------------------------------------------------------------------------ python


def _python_module(base: str, dotted: str) -> list[str]:
    mod = dotted.replace(".", "/")
    path = _join(base, mod)
    return [f"{path}.py", f"{path}/__init__.py", f"{path}.pyi", f"{path}/__init__.pyi"]


def _python(ctx: _Context, spec: str) -> Iterator[str]:
    if spec.startswith("."):
        dots = len(spec) - len(spec.lstrip("."))
        rest = spec[dots:]
        base = ctx.dir
        for _ in range(dots - 1):
            if not base:
                return
            base = posixpath.dirname(base)
        candidates: list[str | None] = []
        if rest:
            candidates += _python_module(base, rest)
        candidates += [_join(base, "__init__.py"), _join(base, "__init__.pyi")]
        yield from ctx.first(candidates)
        return
    if not all(part.isidentifier() for part in spec.split(".")):
        return
    # (identifiers joined under the file's own directories: normalised paths)
    bases = dict.fromkeys(["", "src", *ctx.ancestors()])
    yield from ctx.first_normal(cand for base in bases for cand in _python_module(base, spec))


# ------------------------------------------------------------------- javascript


def _js_candidates(target: str, exts: tuple[str, ...]) -> list[str | None]:
    candidates: list[str | None] = [target]
    stem, ext = posixpath.splitext(target)
    for alt in _JS_TO_TS.get(ext, ()):
        candidates.append(stem + alt)
    candidates += [target + e for e in exts]
    candidates += [f"{target}/index{e}" for e in exts]
    return candidates


def _javascript(ctx: _Context, spec: str) -> Iterator[str]:
    spec = spec.split("?", 1)[0].split("#", 1)[0]
    exts = _JS_EXTS if language_for(ctx.rel_path) == "javascript" else _TS_EXTS
    if spec in (".", "..") or spec.startswith(("./", "../")):
        joined = posixpath.normpath(_join(ctx.dir, spec))
        if joined == ".":
            yield from ctx.first(f"index{e}" for e in exts)
            return
        target = _norm(joined)
        if target is not None:
            yield from ctx.first(_js_candidates(target, exts))
    elif spec.startswith(("@/", "~/")):
        yield from ctx.first(_js_candidates(_join("src", spec[2:]), exts))


# ----------------------------------------------------------------------- c / c++


def _c(ctx: _Context, spec: str) -> Iterator[str]:
    yield from ctx.first([_join(ctx.dir, spec), spec, _join("include", spec), _join("src", spec)])


# ---------------------------------------------------------------------------- go


def _go_module(ctx: _Context) -> tuple[str, str] | None:
    """(directory of the nearest go.mod, its module path)."""
    for base in [*ctx.ancestors(), ""]:
        gomod = _join(base, "go.mod")
        if not ctx.check(gomod):
            continue
        text = read_optional_text(ctx.root / gomod, ctx.root, MAX_GO_MOD_BYTES)
        for line in (text or "").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "module":
                return base, words[1].strip('"')
        return None
    return None


def _go(ctx: _Context, spec: str) -> Iterator[str]:
    def skip(name: str) -> bool:
        return name.endswith("_test.go")

    module = _go_module(ctx)
    dirs: list[str] = []
    if module is not None:
        base, path = module
        if spec == path:
            dirs.append(base)
        elif spec.startswith(path + "/"):
            dirs.append(_join(base, spec[len(path) + 1 :]))
    parts = spec.split("/")
    dirs.append(_join("vendor", spec))
    # Suffixes of at least two segments, longest first ("a.com/u/r/x" -> "a.com/u/r/x", "u/r/x", "r/x").
    dirs += ["/".join(parts[i:]) for i in range(len(parts) - 1)]
    for d in dict.fromkeys(dirs):
        files = ctx.list_dir(d, ".go", skip)
        if files:
            yield from files
            return


# -------------------------------------------------------------------------- rust


def _rust_module_dir(rel_path: str) -> str:
    """The directory holding the child modules of the module a file defines."""
    directory, name = posixpath.split(rel_path)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return directory
    return _join(directory, posixpath.splitext(name)[0])


def _rust_crate_root(rel_path: str) -> str:
    parts = rel_path.split("/")[:-1]
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "src":
            return "/".join(parts[: i + 1])
    return posixpath.dirname(rel_path)


def _rust(ctx: _Context, spec: str) -> Iterator[str]:
    parts = [p for p in spec.split("::") if p and p != "*" and not p.startswith("{")]
    if not parts:
        return
    head = parts[0]
    if head == "crate":
        base, rest = _rust_crate_root(ctx.rel_path), parts[1:]
    elif head == "self":
        base, rest = _rust_module_dir(ctx.rel_path), parts[1:]
    elif head == "super":
        base = _rust_module_dir(ctx.rel_path)
        rest = parts[1:]
        while True:
            base = posixpath.dirname(base)
            if not rest or rest[0] != "super":
                break
            rest = rest[1:]
    else:
        crate = head.replace("_", "-")
        names = dict.fromkeys([head, crate])
        yield from ctx.first([f"{d}{n}/src/lib.rs" for n in names for d in ("", "crates/")])
        return
    candidates: list[str | None] = []
    for n in range(len(rest), 0, -1):
        mod = _join(base, *rest[:n])
        candidates += [f"{mod}.rs", f"{mod}/mod.rs"]
    # The module itself (``use super::*``, ``use crate::Item``): its own file.
    if base:
        candidates.append(f"{base}.rs")
    candidates += [_join(base, name) for name in ("mod.rs", "lib.rs", "main.rs")]
    yield from ctx.first(candidates)


# -------------------------------------------------------------------------- java


def _java_roots(ctx: _Context) -> list[str]:
    """Source roots to try: from the importing file's path, then the usual layouts."""
    roots: list[str] = []
    parts = ctx.dir.split("/") if ctx.dir else []
    for marker in ("java", "kotlin", "src"):
        if marker in parts:
            i = len(parts) - 1 - parts[::-1].index(marker)
            roots.append("/".join(parts[: i + 1]))
    roots += ["src/main/java", "src/test/java", "src", "", *ctx.ancestors()]
    return list(dict.fromkeys(roots))


def _java(ctx: _Context, spec: str) -> Iterator[str]:
    names = spec.split(".")
    if not names or not all(n.isidentifier() or n == "*" for n in names):
        return
    roots = _java_roots(ctx)
    if names[-1] == "*":
        pkg = "/".join(names[:-1])
        for root in roots:
            files = ctx.list_dir(_join(root, pkg), ".java", lambda name: False)
            if files:
                yield from files
                return
        # import static a.b.C.* -> C.java
        names = names[:-1]
    candidates: list[str | None] = []
    for cut in range(len(names), max(len(names) - 3, 0), -1):
        rel = "/".join(names[:cut]) + ".java"
        candidates += [_join(root, rel) for root in roots]
    yield from ctx.first(candidates)


_RESOLVERS: dict[str, Callable[[_Context, str], Iterator[str]]] = {
    "python": _python,
    "javascript": _javascript,
    "typescript": _javascript,
    "tsx": _javascript,
    "c": _c,
    "cpp": _c,
    "go": _go,
    "rust": _rust,
    "java": _java,
}

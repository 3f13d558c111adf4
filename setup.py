"""Build: compile the memory tier with mypyc when a C compiler is available, else pure Python.

The modules to compile are listed once, in pyproject.toml's ``[tool.smartcache-ls] mypyc``.
Everything else about the package is in pyproject.toml.

* ``SMARTCACHE_PURE_PYTHON=1`` at build time skips compiling;
* without a C compiler or Python's headers, or when compiling fails, the build warns on
  stderr and installs pure Python (nothing at run time needs to know: a module's .py is
  imported when no compiled module sits beside it);
* an error from mypyc itself (code it cannot compile) fails the build: fix the code, or
  set ``SMARTCACHE_PURE_PYTHON=1``.

With ``pip install -e`` setuptools builds the extensions in a temporary directory and
copies them into the source tree: each module's beside the .py file it shadows, the shared
library to the project root (the editable install's import hook maps it there). Such a
copy goes stale when its .py is edited: run ``make install`` again.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
import tomllib
import warnings
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

ROOT = Path(__file__).resolve().parent
MYPYC_MODULES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "smartcache-ls"
]["mypyc"]
# The modules' code is in one shared library, smartcache_ls_cache__mypyc.<ext suffix>, a
# top-level module (each module's own extension is a shim that imports it). Top level, not
# inside the package: this mypyc derives the __file__ of a module imported by another
# compiled module from the library's directory, which must be the root of the package tree.
GROUP = "smartcache_ls_cache"
# pip runs this file three times: for the build's requirements (egg_info), for the metadata
# (dist_info) and for the build. Only a build needs the extensions (mypyc takes seconds).
METADATA_ONLY = bool({"egg_info", "dist_info", "sdist"}.intersection(sys.argv[1:]))


class PurePythonBuild(UserWarning):
    pass


def warn(why: str) -> None:
    # a warning, on stderr: pip shows a build backend's warnings even when --quiet
    warnings.warn(
        f"smartcache-ls: {why}: installing pure Python (the memory tier is not compiled with mypyc)",
        PurePythonBuild,
        stacklevel=2,
    )


def why_not_compiled() -> str | None:
    """Why the mypyc modules will not be compiled here, or None if they can be (as far as
    one can tell before trying)."""
    if os.environ.get("SMARTCACHE_PURE_PYTHON", "") not in ("", "0"):
        return "SMARTCACHE_PURE_PYTHON is set"
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC")
    if cc:  # POSIX; elsewhere (MSVC) a failed build is caught by OptionalBuildExt
        argv = shlex.split(cc)
        if not argv or shutil.which(argv[0]) is None:
            return f"no C compiler ({cc!r} not found)"
    header = Path(sysconfig.get_paths()["include"], "Python.h")
    if not header.exists():
        return f"no Python headers ({header} is missing; on Debian: apt-get install python3-dev)"
    try:
        import mypyc.build  # noqa: F401
    except ImportError as exc:  # a build without isolation, in an environment without mypy
        return f"mypyc is not importable ({exc})"
    return None


def inplace_extensions() -> list[Path]:
    """Compiled modules beside the sources (editable installs), for this interpreter."""
    names = [str(Path(m).with_suffix("")) for m in MYPYC_MODULES]
    names.append(GROUP + "__mypyc")
    return [p for n in names for s in EXTENSION_SUFFIXES if (p := ROOT / (n + s)).exists()]


def remove_inplace_extensions() -> None:
    """A pure-Python build must leave no compiled module behind to shadow the sources."""
    for path in inplace_extensions():
        print(f"smartcache-ls build: removing {path.relative_to(ROOT)}", file=sys.stderr)
        path.unlink()


class OptionalBuildExt(build_ext):
    """build_ext that falls back to pure Python, whole, when compiling fails."""

    def run(self) -> None:
        try:
            super().run()
        except (CCompilerError, BaseError, OSError) as exc:
            # no half-built group: a module shim without its shared library cannot import
            for ext in self.extensions:
                built = Path(self.build_lib, self.get_ext_filename(self.get_ext_fullname(ext.name)))
                built.unlink(missing_ok=True)
            self.extensions = []
            remove_inplace_extensions()
            warn(f"compiling failed ({exc})")


def extensions() -> list[Extension]:
    if METADATA_ONLY:
        return []
    why = why_not_compiled()
    if why is not None:
        warn(why)
        remove_inplace_extensions()
        return []
    from mypyc.build import mypycify
    # mypyc type-checks the package the modules sit in, in the build environment, which has
    # none of the project's dependencies: their types do not reach the compiled modules
    return mypycify(["--ignore-missing-imports", *MYPYC_MODULES], group_name=GROUP, opt_level="3")


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})

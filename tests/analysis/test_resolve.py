"""resolve_imports on a real directory tree."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from smartcache_ls.analysis import analyze, resolve_imports

FILES = [
    # python: a package, a src/ layout, relative imports
    "app/__init__.py",
    "app/main.py",
    "app/helpers.py",
    "app/sub/__init__.py",
    "app/sub/worker.py",
    "pkg/__init__.py",
    "pkg/mod.py",
    "pkg/ignored.py",
    "src/lib/__init__.py",
    "src/lib/core.py",
    "tools/script.py",
    "tools/local_dep.py",
    # typescript
    "web/src/components/App.tsx",
    "web/src/components/Button.tsx",
    "web/src/components/helper.ts",
    "web/src/utils/index.ts",
    "web/src/styles.css",
    # c
    "csrc/main.c",
    "csrc/util.h",
    "config.h",
    "include/common/defs.h",
    # go
    "go.mod",
    "cmd/app/main.go",
    "internal/util/a.go",
    "internal/util/b.go",
    "internal/util/util_test.go",
    # rust
    "src/main.rs",
    "src/net.rs",
    "src/config.rs",
    "src/util/mod.rs",
    # java
    "src/main/java/com/example/Main.java",
    "src/main/java/com/example/util/Strings.java",
    "src/main/java/com/example/model/User.java",
    "src/main/java/com/example/model/Group.java",
]
IGNORED = {"pkg/ignored.py"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in FILES:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
    (tmp_path / "go.mod").write_text("module example.com/proj\n\ngo 1.22\n", encoding="utf-8")
    return tmp_path


def exists_in(root: Path) -> Callable[[str], bool]:
    """Like the engine's callback: files on disk that are not ignored."""

    def exists(rel: str) -> bool:
        return rel not in IGNORED and (root / rel).is_file()

    return exists


def test_python_absolute_relative_and_packages(tree: Path) -> None:
    imports = ["os", "pkg", "pkg.mod", "lib.core", "lib", ".helpers", ".sub.worker", ".", ".missing"]
    assert resolve_imports(tree, "app/main.py", imports, exists_in(tree)) == [
        "pkg/__init__.py",
        "pkg/mod.py",
        "src/lib/core.py",
        "src/lib/__init__.py",
        "app/helpers.py",
        "app/sub/worker.py",
        "app/__init__.py",
    ]
    # Two dots climb one package; beyond the root resolves to nothing.
    assert resolve_imports(tree, "app/sub/worker.py", ["..helpers", "..", "...."], exists_in(tree)) == [
        "app/helpers.py",
        "app/__init__.py",
    ]
    # A script imports a module next to it.
    assert resolve_imports(tree, "tools/script.py", ["local_dep"], exists_in(tree)) == ["tools/local_dep.py"]


def test_python_respects_the_exists_callback(tree: Path) -> None:
    assert (tree / "pkg/ignored.py").is_file()
    assert resolve_imports(tree, "app/main.py", ["pkg.ignored"], exists_in(tree)) == []


def test_python_end_to_end_from_analyze(tree: Path) -> None:
    text = "import pkg.mod\nfrom . import helpers\nfrom .sub import worker\nimport json\n"
    result = analyze("app/main.py", text)
    assert result["imports"] == ["pkg.mod", ".helpers", ".sub", "json"]
    assert resolve_imports(tree, "app/main.py", result["imports"], exists_in(tree)) == [
        "pkg/mod.py",
        "app/helpers.py",
        "app/sub/__init__.py",
    ]


def test_typescript_relative_specifiers(tree: Path) -> None:
    imports = ["./Button", "../utils", "./helper.js", "../styles.css", "react", "../../../../../x"]
    assert resolve_imports(tree, "web/src/components/App.tsx", imports, exists_in(tree)) == [
        "web/src/components/Button.tsx",
        "web/src/utils/index.ts",
        "web/src/components/helper.ts",
        "web/src/styles.css",
    ]


def test_c_includes_relative_to_file_then_root(tree: Path) -> None:
    imports = ["util.h", "config.h", "common/defs.h", "stdio.h", "../config.h"]
    assert resolve_imports(tree, "csrc/main.c", imports, exists_in(tree)) == [
        "csrc/util.h",
        "config.h",
        "include/common/defs.h",
    ]


def test_go_packages_by_module_path(tree: Path) -> None:
    imports = ["fmt", "example.com/proj/internal/util"]
    assert resolve_imports(tree, "cmd/app/main.go", imports, exists_in(tree)) == [
        "internal/util/a.go",
        "internal/util/b.go",
    ]


@pytest.mark.parametrize("kind", ["regular", "outside", "fifo", "dev-zero", "huge"])
def test_go_mod_is_read_only_when_a_regular_file_inside(
    tree: Path, tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    """A go.mod that is a FIFO, a device, too large or a link out of the workspace is not read:
    the module path it names is unknown, so the module's root package does not resolve."""
    (tree / "root.go").write_text("package proj\n")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    gomod = tree / "go.mod"
    if kind != "regular":
        gomod.unlink()
    if kind == "outside":
        (elsewhere / "go.mod").write_text("module example.com/proj\n")
        gomod.symlink_to(elsewhere / "go.mod")
    elif kind == "fifo":
        os.mkfifo(gomod)
    elif kind == "dev-zero":
        gomod.symlink_to("/dev/zero")
    elif kind == "huge":
        with open(gomod, "wb") as fh:
            fh.write(b"module example.com/proj\n")
            fh.truncate(4 << 30)  # sparse
    # As the engine's callback does for a file of the index, whatever kind of file it is.
    listed = exists_in(tree)
    found: list[list[str]] = []

    def run() -> None:
        found.append(
            resolve_imports(
                tree, "cmd/app/main.go", ["example.com/proj"], lambda r: r == "go.mod" or listed(r)
            )
        )

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(2)
    if worker.is_alive() and kind == "fifo":  # release a reader blocked on the FIFO, then fail
        os.close(os.open(gomod, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive(), "resolving waited on go.mod"
    assert found == [["root.go"] if kind == "regular" else []]


def test_a_package_directory_linked_from_outside_is_not_listed(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "leak.go").write_text("package leak\n")
    (tree / "internal" / "leak").symlink_to(elsewhere, target_is_directory=True)
    imports = ["example.com/proj/internal/leak", "example.com/proj/internal/util"]
    assert resolve_imports(tree, "cmd/app/main.go", imports, exists_in(tree)) == [
        "internal/util/a.go",
        "internal/util/b.go",
    ]


def test_rust_modules(tree: Path) -> None:
    imports = ["std::collections::HashMap", "self::net", "crate::util::helper", "crate::config::Config"]
    assert resolve_imports(tree, "src/main.rs", imports, exists_in(tree)) == [
        "src/net.rs",
        "src/util/mod.rs",
        "src/config.rs",
    ]
    assert resolve_imports(tree, "src/net.rs", ["super::config", "super::*"], exists_in(tree)) == [
        "src/config.rs",
        "src/main.rs",
    ]


def test_java_classes_and_wildcards(tree: Path) -> None:
    imports = [
        "java.util.List",
        "com.example.util.Strings",
        "com.example.model.*",
        "com.example.util.Strings.join",
    ]
    assert resolve_imports(tree, "src/main/java/com/example/Main.java", imports, exists_in(tree)) == [
        "src/main/java/com/example/util/Strings.java",
        "src/main/java/com/example/model/Group.java",
        "src/main/java/com/example/model/User.java",
    ]


def test_dedupes_keeps_order_and_skips_self(tree: Path) -> None:
    imports = ["pkg.mod", "pkg", "pkg.mod", ".main", "pkg"]
    assert resolve_imports(tree, "app/main.py", imports, exists_in(tree)) == ["pkg/mod.py", "pkg/__init__.py"]


def test_never_raises(tree: Path) -> None:
    def broken(rel: str) -> bool:
        raise OSError("boom")

    assert resolve_imports(tree, "app/main.py", ["pkg", ".x"], broken) == []
    weird = ["", "..", "/etc/passwd", "a..b", "\x00", "../" * 50, "::", "*"]
    for rel in ("app/main.py", "web/a.ts", "x.c", "cmd/app/main.go", "src/main.rs", "A.java", "x.txt"):
        assert resolve_imports(tree, rel, weird, exists_in(tree)) == []

"""analyze never raises, stays bounded on hostile input, is deterministic and thread-safe."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartcache_ls.analysis import analyze, languages
from smartcache_ls.analysis.outline import MAX_SYMBOL_DEPTH
from smartcache_ls.content import content_hash

EXTENSIONS = [
    ".py",
    ".js",
    ".ts",
    ".tsx",
    ".go",
    ".rs",
    ".java",
    ".c",
    ".h",
    ".cpp",
    ".txt",
    ".md",
    ".css",
    "",
]
CODE_ALPHABET = "abcdef(){}[]<>;:,.'\"`#/*\\\n\r\t =+-_!@$%^&|?~é😀\ud800\udfff\x00"

texts = st.one_of(
    st.text(),
    st.text(alphabet=CODE_ALPHABET),
    st.text(alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"]))),  # lone surrogates
    st.lists(
        st.sampled_from(
            [
                "def f():\n",
                "class A:\n",
                "    ",
                "import os\n",
                "fn x() {",
                "}",
                "{",
                "(",
                '#include "a.h"\n',
                "/*",
                "*/",
                "//",
                "#",
                '"',
                "`",
                "\n",
                "struct S {",
                "namespace n {",
                "func (r *T) M() {",
            ]
        ),
        max_size=60,
    ).map("".join),
)


def expected_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def walk(symbols: list[dict[str, Any]], depth: int = 1) -> list[tuple[dict[str, Any], int]]:
    out: list[tuple[dict[str, Any], int]] = []
    stack = [(s, depth) for s in symbols]
    while stack:
        sym, d = stack.pop()
        out.append((sym, d))
        stack.extend((c, d + 1) for c in sym["children"])
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, ext=st.sampled_from(EXTENSIONS))
@example(text="# c\n\nx = 1\n", ext=".py")
@example(text="/*\n*/\nint x;\n", ext=".c")
@example(text="a\n\nb", ext=".txt")
@example(text="package a\n// c\n", ext=".go")
def test_analyze_never_raises_and_reports_the_input(text: str, ext: str) -> None:
    result = analyze("dir/file" + ext, text)
    assert result["lines"] == expected_lines(text)
    assert result["bytes"] == len(text.encode("utf-8", "surrogatepass"))
    assert result["hash"] == content_hash(text)
    metrics = result["metrics"]
    assert metrics["lines"] == result["lines"]
    assert metrics["lines"] == metrics["blank"] + metrics["comment"] + metrics["code"]
    assert min(metrics["blank"], metrics["comment"], metrics["code"]) >= 0
    # JSON-able as is, and the same the second time.
    assert json.loads(json.dumps(result)) == result
    assert analyze("dir/file" + ext, text) == result
    for sym, depth in walk(result["symbols"]):
        assert sym["name"] and isinstance(sym["kind"], str)
        start, end = sym["range"]["start"], sym["range"]["end"]
        assert (start["line"], start["character"]) <= (end["line"], end["character"])
        assert end["line"] <= max(result["lines"], 1)
        assert depth <= MAX_SYMBOL_DEPTH


HOSTILE = {
    "parens": "(" * 100_000,
    "braces": "{" * 50_000 + "}" * 50_000,
    "brackets": "[" * 30_000,
    "python-classes": "".join(" " * i + f"class C{i}:\n" for i in range(600)) + " " * 600 + "pass\n",
    "c-namespaces": "namespace a {" * 500 + "}" * 500,
    "rust-mods": "mod a {" * 500 + "}" * 500,
    "js-functions": "function f(){" * 2_000 + "}" * 2_000,
    "one-long-line": "x" * 500_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("ext", [".py", ".js", ".cpp", ".rs", ".go", ".java", ".txt"])
def test_hostile_nesting_is_bounded(name: str, ext: str) -> None:
    text = HOSTILE[name]
    result = analyze("deep" + ext, text)
    json.dumps(result)  # the JSON encoder recurses: nesting must be capped
    assert result["metrics"]["maxDepth"] <= MAX_SYMBOL_DEPTH
    assert all(depth <= MAX_SYMBOL_DEPTH for _, depth in walk(result["symbols"]))
    assert result["lines"] == expected_lines(text)


def test_deep_symbols_are_capped_and_flagged() -> None:
    result = analyze("deep.cpp", HOSTILE["c-namespaces"])
    assert result["metrics"]["maxDepth"] == MAX_SYMBOL_DEPTH
    assert result["metrics"]["truncated"] is True
    shallow = analyze("ok.cpp", "namespace a { namespace b { int f(); } }\n")
    assert shallow["metrics"]["truncated"] is False and shallow["metrics"]["maxDepth"] == 3


def test_parse_budget_cancels_and_the_parser_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    big = ("def f(x):\n    return x  # c\n" * 20_000).encode("utf-16-le")
    assert languages.parse("python", big, budget=0.0) is None
    # A cancelled tree-sitter parser resumes the old parse unless reset: this must be fresh.
    small = languages.parse("python", "def g():\n    pass\n".encode("utf-16-le"))
    assert small is not None
    assert small.root_node.end_point[0] == 2 and small.root_node.named_child_count == 1
    # analyze then degrades to metrics only (comments found by the language's syntax).
    monkeypatch.setattr(languages, "PARSE_BUDGET_SECONDS", 0.0)
    monkeypatch.setattr(languages, "PARSE_BUDGET_SECONDS_PER_MB", 0.0)
    text = "# header\n" + "def f(x):\n    return x\n" * 20_000
    result = analyze("big.py", text)
    assert result["language"] == "python"
    assert result["symbols"] == [] and result["imports"] == []
    assert result["metrics"]["comment"] == 1 and result["metrics"]["code"] == 40_000


SAMPLES = {
    "a.py": "import os\nclass A:\n    def m(self):\n        pass\n",
    "b.ts": "import { x } from './x';\nexport class B { run(): void {} }\n",
    "c.go": 'package c\nimport "fmt"\nfunc F() { fmt.Println() }\n',
    "d.rs": "use std::fmt;\nstruct D { a: u8 }\nimpl D { fn new() -> Self { D { a: 0 } } }\n",
    "e.cpp": "#include <vector>\nclass E { public: void f(); };\n",
    "f.java": "import java.util.List;\nclass F { void g() {} }\n",
}


def test_threads_get_their_own_parsers_and_the_same_answers() -> None:
    expected = {path: analyze(path, text) for path, text in SAMPLES.items()}
    errors: list[BaseException] = []
    parsers: list[object] = []  # kept alive, so no two can share an id()
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(30):
                for path, text in SAMPLES.items():
                    assert analyze(path, text) == expected[path]
            parser = languages.get_parser("python")
            assert parser is languages.get_parser("python")
            with lock:
                parsers.append(parser)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({id(p) for p in parsers}) == len(threads)


def test_importing_the_package_does_not_load_tree_sitter() -> None:
    code = (
        "import sys, smartcache_ls.analysis as a\n"
        "assert callable(a.analyze) and a.language_for('x.py') == 'python'\n"
        "print(sorted(m for m in sys.modules if m.startswith('tree_sitter')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

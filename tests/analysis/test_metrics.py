"""Line metrics: lines, blank, comment and code lines, for parsed and plain files."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartcache_ls.analysis import analyze
from smartcache_ls.analysis.metrics import text_metrics

METRIC_KEYS = ("lines", "blank", "comment", "code")


def counts(result: dict[str, object]) -> tuple[object, ...]:
    metrics = result["metrics"]
    assert isinstance(metrics, dict)
    return tuple(metrics[k] for k in METRIC_KEYS)


def test_plain_text_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("plain text\n\n   \nsecond paragraph\n# not a comment in .txt\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    result = analyze("notes.txt", text)
    assert result["language"] is None
    assert result["lines"] == 5
    assert result["bytes"] == path.stat().st_size
    assert counts(result) == (5, 2, 0, 3)
    assert result["metrics"]["maxDepth"] == 0
    assert result["metrics"]["syntaxError"] is False


@pytest.mark.parametrize(
    ("text", "lines"),
    [("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\r\nb\r\n", 2), ("\n\n", 2), ("x\n\ny", 3)],
)
def test_line_counting(text: str, lines: int) -> None:
    result = analyze("f.txt", text)
    assert result["lines"] == lines
    assert result["metrics"]["lines"] == lines


def test_python_comments_come_from_the_tree() -> None:
    text = (
        "#!/usr/bin/env python\n"  # comment
        "# a comment\n"  # comment
        "x = '# not a comment'\n"  # code
        "\n"  # blank
        "y = 1  # trailing\n"  # code
        '"""docstring\n'  # code (a string)
        "# still the docstring\n"  # code
        '"""\n'  # code
        "    # indented comment\n"  # comment
    )
    assert counts(analyze("m.py", text)) == (9, 1, 3, 5)


def test_c_block_comments_span_lines() -> None:
    text = (
        "/* header\n"  # comment
        " * more\n"  # comment
        " */\n"  # comment
        "int x; /* trailing */\n"  # code
        "// line\n"  # comment
        "\n"  # blank
        'char *s = "/* not */";\n'  # code
        "/* a */ int y; /* b\n"  # code
        "   c */\n"  # comment
    )
    assert counts(analyze("a.c", text)) == (9, 1, 5, 3)


def test_rust_and_java_comment_node_types() -> None:
    rust = "//! crate doc\n/// item doc\nfn f() {}\n/* block */\n"
    assert counts(analyze("lib.rs", rust)) == (4, 0, 3, 1)
    java = "// c\nclass A {\n  /** doc */\n  int x;\n}\n"
    assert counts(analyze("A.java", java)) == (5, 0, 2, 3)


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("run.sh", "#!/bin/sh\n# comment\necho hi  # trailing\n\n", (4, 1, 2, 1)),
        ("Makefile", "# build\nall:\n\tcc main.c\n", (3, 0, 1, 2)),
        ("query.sql", "-- comment\nSELECT 1;\n", (2, 0, 1, 1)),
        ("style.css", "/* a\n b */\nbody { color: red; } /* x */\n", (3, 0, 2, 1)),
        ("page.html", "<!-- c -->\n<p>hi</p>\n<!--\nmulti\n-->\n", (5, 0, 4, 1)),
        ("data.bin.unknown", "# no comment syntax known\nx\n", (2, 0, 0, 2)),
    ],
)
def test_comment_heuristics_for_other_files(path: str, text: str, expected: tuple[int, ...]) -> None:
    result = text_metrics(path, text)
    assert tuple(result[k] for k in METRIC_KEYS) == expected


@pytest.mark.parametrize(
    ("path", "text", "imports", "expected"),
    [
        ("m.py", "from x import (\n    a,\n    # why b\n    b,\n)\n", ["x"], (5, 0, 1, 4)),
        (
            "m.go",
            'package m\n\nimport (\n\t// std\n\t"fmt"\n\t/* os */\n\t"os"\n)\n',
            ["fmt", "os"],
            (8, 1, 2, 5),
        ),
        ("m.rs", "use a::{\n    // c\n    b,\n};\n", ["a::b"], (4, 0, 1, 3)),
    ],
)
def test_comments_inside_import_statements_count(
    path: str, text: str, imports: list[str], expected: tuple[int, ...]
) -> None:
    """The walk that finds import sites must still see the comments written inside them."""
    result = analyze(path, text)
    assert result["imports"] == imports
    assert counts(result) == expected


@pytest.mark.parametrize(
    "text",
    [
        *("", "\n", "\n\n", " ", " \n", "a", "a\n", "\n a", "a\n  ", "\r\n\r\n"),
        *(" \t\n\n x \n\r\n\x0c\n", "\u2003\nb\n\n", "\n\n  \n"),
    ],
)
def test_blank_lines_are_the_whitespace_only_lines(text: str) -> None:
    from smartcache_ls.analysis.metrics import blank_lines, split_lines

    assert blank_lines(text) == sum(1 for line in split_lines(text) if not line.strip())

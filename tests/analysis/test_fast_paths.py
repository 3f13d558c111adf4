"""The fast paths of analyze() give what the plain ones gave: the scan query equals the
tree walk, and blank lines counted by regex equal lines that strip() to nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcache_ls.analysis.languages import parse
from smartcache_ls.analysis.metrics import blank_lines, split_lines
from smartcache_ls.analysis.scan import SPECS, _captured, _query, scan, walk
from smartcache_ls.analysis.source import Source

WHITESPACE = [chr(c) for c in range(0x3001) if chr(c).isspace()]
SAMPLES = {
    "python": "import os  # a\nfrom . import b, c\n\ndef f():\n    import json\n    '''doc'''\n# end\n",
    "javascript": (
        'import a from "./a"; // x\nexport * from "./b";\nconst c = require("./c")(require("./d"));\n/* e */'
    ),
    "go": 'package m\n// c\nimport (\n  "fmt" // f\n  "os"\n)\n',
    "rust": "//! doc\nuse std::{fmt, io};\nmod m;\n/* b */ fn f() { use x::y; }\n",
    "java": "/** d */\nimport a.b.C;\nimport static a.b.D.*;\n// e\nclass X {}\n",
    "c": '#include "a.h" /* x */\n#include <b.h>\n// y\nint main() { return 0; }\n',
    "cpp": '#include "a.hpp"\n// c\nnamespace n { int f(); }\n',
}


def _spans(result: object) -> tuple[list[tuple[int, int]], list[tuple[str, int, int]]]:
    comments = sorted(result.comments)  # type: ignore[attr-defined]
    sites = [(n.type, n.start_byte, n.end_byte) for n in result.sites]  # type: ignore[attr-defined]
    return comments, sites


def test_the_scan_query_finds_what_the_walk_finds() -> None:
    for language, text in SAMPLES.items():
        tree = parse(language, Source(text).data)
        assert tree is not None and not tree.root_node.has_error, language
        fast, slow = scan(tree, SPECS[language], language), walk(tree, SPECS[language])
        assert _spans(fast) == _spans(slow), language
        assert fast.sites and fast.comments, language


def test_error_trees_are_walked_not_queried() -> None:
    """A query over an error tree is quadratic; the walk answers in linear time."""
    tree = parse("python", Source("import a\n" + "(" * 20_000).data)
    assert tree is not None and tree.root_node.has_error
    query = _query("python", SPECS["python"])
    assert query is not None and _captured(tree, query) is None
    assert _spans(scan(tree, SPECS["python"], "python")) == _spans(walk(tree, SPECS["python"]))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*WHITESPACE, "a", "é", "\U0001f600", "\n", "\n"]), max_size=40))
def test_blank_lines_are_the_lines_that_strip_to_nothing(text: str) -> None:
    assert blank_lines(text) == sum(1 for line in split_lines(text) if not line.strip())

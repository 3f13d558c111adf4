"""The names a file uses: per language, and on broken code (never a stall)."""

from __future__ import annotations

import time

from smartcache_ls.analysis import analyze


def test_a_syntax_error_loses_only_the_broken_part() -> None:
    text = "package a;\nclass A { Foo f; void g() { Bar b = ; } }\nclass C { Baz z; }\n"
    names = analyze("A.java", text)["names"]
    assert names["package"] == "a" and {"Foo", "Baz"} <= set(names["uses"])


def test_error_trees_that_make_queries_quadratic_do_not_stall() -> None:
    # 300,000 "(": querying the whole error tree took 110 s here; its clean subtrees are none
    start = time.monotonic()
    names = analyze("A.java", "(" * 300_000)["names"]
    assert names["uses"] == {} and time.monotonic() - start < 20


def test_rust_c_and_cpp_names() -> None:
    rust = analyze("m.rs", "use crate::store::{Store, open};\nfn f(s: Store) { helper(); }\n")["names"]
    assert {"Store", "open", "helper"} <= set(rust["uses"])
    c = analyze("m.c", '#include "s.h"\nint main(void) { store_t s; store_open(&s); }\n')["names"]
    assert {"store_t", "store_open"} <= set(c["uses"])
    cpp = analyze("m.cpp", "int f() { db::Store s; return db::open(s); }\n")["names"]
    assert {"Store", "open"} <= set(cpp["uses"])


def test_names_of_a_python_import() -> None:
    value = analyze("a.py", "from x import y\n")
    assert value["names"] == {"package": None, "uses": {"y": 1}}


def test_names_are_counted_in_first_use_order_with_non_ascii_and_astral_names() -> None:
    # names are counted by their UTF-16 bytes and decoded once: counts, order and the
    # decoded text must be those of the names as written
    text = (
        "from m import Ünï, \U0001d4b3 as x\nimport mod\n"
        "mod.ß(); mod.\U0001d4b4; mod.ß; Ünï; other.zed\n"
        "from m import Ünï\n"
    )
    assert analyze("a.py", text)["names"]["uses"] == {"Ünï": 2, "\U0001d4b3": 1, "ß": 2, "\U0001d4b4": 1}


def test_java_receivers_count_when_capitalised_beyond_ascii() -> None:
    text = "class A { void f() { Élan.go(); élan.go(); \U0001d400b.go(); } }\n"
    uses = analyze("A.java", text)["names"]["uses"]
    assert "Élan" in uses and "\U0001d400b" in uses and "élan" not in uses


def test_a_slice_ending_inside_a_surrogate_pair_keeps_its_replacement() -> None:
    from smartcache_ls.analysis.source import Source

    src = Source("a\U0001f600b")
    assert src.slice(0, 4) == "a\ufffd" and src.slice(0, 8) == "a\U0001f600b"

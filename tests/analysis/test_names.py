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

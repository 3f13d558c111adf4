"""Outlines of real snippets in every supported language: names, kinds, nesting, ranges."""

from __future__ import annotations

import textwrap

from smartcache_ls.analysis import analyze

from .helpers import find, shape

PYTHON = textwrap.dedent(
    '''\
    """Module doc."""
    import os

    MAX_SIZE = 10
    name: str = "x"
    a, B_C = 1, 2


    @decorator
    class Foo(Base):
        """Doc."""

        LIMIT = 3
        count = 0

        def __init__(self) -> None:
            self.x = 1

        @property
        def value(self):
            def helper():
                pass

            local = 1
            return helper

        class Inner:
            pass


    async def run():
        if True:

            def cond():
                pass


    if TYPE_CHECKING:
        from typing import Any
    else:

        def fallback(): ...
    '''
)


def test_python_outline() -> None:
    result = analyze("pkg/foo.py", PYTHON)
    assert result["language"] == "python"
    assert shape(result["symbols"]) == [
        ("constant", "MAX_SIZE"),
        ("variable", "name"),
        ("variable", "a"),
        ("constant", "B_C"),
        (
            "class",
            "Foo",
            [
                ("constant", "LIMIT"),
                ("field", "count"),
                ("constructor", "__init__"),
                ("method", "value", [("function", "helper")]),
                ("class", "Inner"),
            ],
        ),
        ("function", "run", [("function", "cond")]),
        ("function", "fallback"),
    ]
    # A decorated definition's range starts at its decorator.
    foo = find(result["symbols"], "Foo")
    assert foo["range"] == {"start": {"line": 8, "character": 0}, "end": {"line": 27, "character": 12}}
    value = find(result["symbols"], "Foo", "value")
    assert value["range"]["start"] == {"line": 18, "character": 4}
    assert result["metrics"]["maxDepth"] == 3


JAVASCRIPT = textwrap.dedent(
    """\
    import fs from "fs";
    const path = require("path");
    export const MAX = 10;
    let counter = 0;
    export function hello(name) {
      function inner() {}
      const local = 1;
      return name;
    }
    export default class Greeter extends Base {
      #secret = 1;
      static count = 0;
      constructor() { super(); }
      greet() { return 1; }
      get value() { return 2; }
    }
    const handler = async (e) => { const nested = () => 1; };
    const Klass = class { run() {} };
    function* gen() {}
    """
)


def test_javascript_outline() -> None:
    result = analyze("src/app.js", JAVASCRIPT)
    assert result["language"] == "javascript"
    assert shape(result["symbols"]) == [
        ("constant", "path"),
        ("constant", "MAX"),
        ("variable", "counter"),
        ("function", "hello", [("function", "inner")]),
        (
            "class",
            "Greeter",
            [
                ("property", "#secret"),
                ("property", "count"),
                ("constructor", "constructor"),
                ("method", "greet"),
                ("method", "value"),
            ],
        ),
        ("function", "handler", [("function", "nested")]),
        ("class", "Klass", [("method", "run")]),
        ("function", "gen"),
    ]


TYPESCRIPT = textwrap.dedent(
    """\
    import type { T } from "./types";
    export interface Shape { area(): number; name: string; }
    export type Id = string | number;
    enum Color { Red, Green = 2 }
    export abstract class Base<T> implements Shape {
      private readonly n: number = 1;
      constructor(public id: Id) {}
      abstract area(): number;
      get name(): string { return "b"; }
    }
    namespace NS { export function f(): void {} }
    declare module "ext" { export const v: number; }
    export const make = <T,>(x: T): T => x;
    function over(a: string): void;
    function over(a: any) {}
    """
)


def test_typescript_outline() -> None:
    result = analyze("src/shapes.ts", TYPESCRIPT)
    assert result["language"] == "typescript"
    assert shape(result["symbols"]) == [
        ("interface", "Shape", [("method", "area"), ("property", "name")]),
        ("typeparameter", "Id"),
        ("enum", "Color", [("enummember", "Red"), ("enummember", "Green")]),
        (
            "class",
            "Base",
            [
                ("property", "n"),
                ("constructor", "constructor"),
                ("method", "area"),
                ("method", "name"),
            ],
        ),
        ("namespace", "NS", [("function", "f")]),
        ("module", '"ext"', [("constant", "v")]),
        ("function", "make"),
        ("function", "over"),
        ("function", "over"),
    ]


TSX = textwrap.dedent(
    """\
    import React, { useState } from "react";
    import { Button } from "./Button";

    interface Props { title: string }

    export function Panel({ title }: Props) {
      const [open, setOpen] = useState(false);
      const toggle = () => setOpen(!open);
      return <div className="panel"><Button onClick={toggle}>{title}</Button></div>;
    }

    export const Empty = () => <span />;

    export default class Board extends React.Component<Props> {
      render() { return <Panel title="x" />; }
    }
    """
)


def test_tsx_outline() -> None:
    result = analyze("web/Panel.tsx", TSX)
    assert result["language"] == "tsx"
    assert result["metrics"]["syntaxError"] is False
    assert shape(result["symbols"]) == [
        ("interface", "Props", [("property", "title")]),
        ("function", "Panel", [("function", "toggle")]),
        ("function", "Empty"),
        ("class", "Board", [("method", "render")]),
    ]
    assert result["imports"] == ["react", "./Button"]


GO = textwrap.dedent(
    """\
    package main

    import "fmt"

    const Pi = 3.14
    const (
    \tA = iota
    \tB
    )
    var debug, verbose = false, true

    type Point struct {
    \tX, Y int
    \tName string
    \t*Embedded
    }

    type Shape interface {
    \tArea() float64
    \tfmt.Stringer
    }

    type ID int
    type Alias = string

    func (p *Point) Move(dx int) { p.X += dx }
    func (Point) Zero() {}
    func Generic[T any](v T) T { return v }
    func main() { fmt.Println("x") }
    """
)


def test_go_outline() -> None:
    result = analyze("cmd/main.go", GO)
    assert result["language"] == "go"
    assert shape(result["symbols"]) == [
        ("constant", "Pi"),
        ("constant", "A"),
        ("constant", "B"),
        ("variable", "debug"),
        ("variable", "verbose"),
        (
            "struct",
            "Point",
            [("field", "X"), ("field", "Y"), ("field", "Name"), ("field", "Embedded")],
        ),
        ("interface", "Shape", [("method", "Area")]),
        ("class", "ID"),
        ("typeparameter", "Alias"),
        ("method", "(*Point).Move"),
        ("method", "(Point).Zero"),
        ("function", "Generic"),
        ("function", "main"),
    ]


RUST = textwrap.dedent(
    """\
    use std::collections::HashMap;
    mod net;
    pub mod inner {
        pub fn f() {}
    }
    const MAX: usize = 10;
    static mut COUNT: u32 = 0;
    pub struct Point<T> { pub x: T, y: T }
    struct Tuple(i32, i32);
    enum Shape { Circle(f64), Square { side: f64 }, Empty }
    pub trait Draw {
        fn draw(&self);
        fn id(&self) -> u32 { 0 }
        type Out;
    }
    impl<T> Point<T> {
        pub fn new(x: T, y: T) -> Self { Point { x, y } }
    }
    impl fmt::Display for Point<i32> {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) }
    }
    type Map = HashMap<String, u32>;
    macro_rules! square { ($x:expr) => { $x * $x }; }
    fn main() {
        fn local() {}
    }
    """
)


def test_rust_outline() -> None:
    result = analyze("src/lib.rs", RUST)
    assert result["language"] == "rust"
    assert shape(result["symbols"]) == [
        ("module", "net"),
        ("module", "inner", [("function", "f")]),
        ("constant", "MAX"),
        ("variable", "COUNT"),
        ("struct", "Point", [("field", "x"), ("field", "y")]),
        ("struct", "Tuple"),
        ("enum", "Shape", [("enummember", "Circle"), ("enummember", "Square"), ("enummember", "Empty")]),
        ("interface", "Draw", [("method", "draw"), ("method", "id"), ("typeparameter", "Out")]),
        ("object", "impl Point<T>", [("method", "new")]),
        ("object", "impl fmt::Display for Point<i32>", [("method", "fmt")]),
        ("typeparameter", "Map"),
        ("function", "square"),
        ("function", "main", [("function", "local")]),
    ]


JAVA = textwrap.dedent(
    """\
    package com.example.app;

    import java.util.List;

    public class Main<T> extends Base implements Runnable {
        public static final int MAX = 10;
        private String name, alias;
        public Main(String name) { this.name = name; }
        @Override
        public void run() { Runnable r = new Runnable() { public void run() {} }; }
        static class Inner { void go() {} }
        interface Callback { void call(int x); int LIMIT = 5; }
        enum Level { LOW, HIGH; int weight() { return 1; } }
    }
    record Pair(int a, int b) { Pair { } int sum() { return a + b; } }
    @interface Marker { String value() default ""; }
    """
)


def test_java_outline() -> None:
    result = analyze("src/main/java/com/example/app/Main.java", JAVA)
    assert result["language"] == "java"
    assert shape(result["symbols"]) == [
        (
            "class",
            "Main",
            [
                ("constant", "MAX"),
                ("field", "name"),
                ("field", "alias"),
                ("constructor", "Main"),
                ("method", "run"),
                ("class", "Inner", [("method", "go")]),
                ("interface", "Callback", [("method", "call"), ("constant", "LIMIT")]),
                ("enum", "Level", [("enummember", "LOW"), ("enummember", "HIGH"), ("method", "weight")]),
            ],
        ),
        ("class", "Pair", [("constructor", "Pair"), ("method", "sum")]),
        ("interface", "Marker", [("method", "value")]),
    ]


C = textwrap.dedent(
    """\
    #ifndef UTIL_H
    #define UTIL_H
    #include <stdio.h>
    #include "util.h"
    struct point { int x, y; char *name; };
    typedef struct { double re, im; } complex_t;
    typedef unsigned long size_type;
    enum color { RED, GREEN = 2 };
    static const int LIMIT = 10;
    int counter;
    struct point origin;
    int add(int a, int b);
    static void (*callback)(int);
    static char **split(const char *s, int *n) { return 0; }
    int (*get_handler(void))(int) { return 0; }
    int main(void) { struct point local; return add(1, 2); }
    #endif
    """
)


def test_c_outline() -> None:
    result = analyze("src/util.c", C)
    assert result["language"] == "c"
    assert shape(result["symbols"]) == [
        ("struct", "point", [("field", "x"), ("field", "y"), ("field", "name")]),
        ("struct", "complex_t", [("field", "re"), ("field", "im")]),
        ("typeparameter", "size_type"),
        ("enum", "color", [("enummember", "RED"), ("enummember", "GREEN")]),
        ("constant", "LIMIT"),
        ("variable", "counter"),
        ("variable", "origin"),
        ("function", "add"),
        ("variable", "callback"),
        ("function", "split"),
        ("function", "get_handler"),
        ("function", "main"),
    ]


CPP = textwrap.dedent(
    """\
    #include <vector>
    #include "shape.hpp"
    namespace geo {
    namespace detail { int helper(); }
    class Shape {
    public:
        Shape();
        virtual ~Shape() = default;
        virtual double area() const = 0;
        static int count;
    private:
        int id_ = 0;
    };
    struct Circle : public Shape {
        double r;
        double area() const override { return 3.14 * r * r; }
    };
    template <typename T>
    T max_of(T a, T b) { return a > b ? a : b; }
    enum class Kind : int { A, B };
    using Id = long;
    double Shape::area() const { return 0; }
    Shape::Shape() {}
    }
    namespace { int hidden = 1; }
    extern "C" { void c_api(void); }
    """
)


def test_cpp_outline() -> None:
    result = analyze("src/shape.cpp", CPP)
    assert result["language"] == "cpp"
    assert shape(result["symbols"]) == [
        (
            "namespace",
            "geo",
            [
                ("namespace", "detail", [("function", "helper")]),
                (
                    "class",
                    "Shape",
                    [
                        ("constructor", "Shape"),
                        ("method", "~Shape"),
                        ("method", "area"),
                        ("field", "count"),
                        ("field", "id_"),
                    ],
                ),
                ("struct", "Circle", [("field", "r"), ("method", "area")]),
                ("function", "max_of"),
                ("enum", "Kind", [("enummember", "A"), ("enummember", "B")]),
                ("typeparameter", "Id"),
                ("method", "Shape::area"),
                ("constructor", "Shape::Shape"),
            ],
        ),
        ("namespace", "(anonymous namespace)", [("variable", "hidden")]),
        ("function", "c_api"),
    ]


def test_cpp_header_named_h_is_read_as_cpp() -> None:
    header = "namespace app {\nclass Widget {\npublic:\n    void draw();\n};\n}\n"
    result = analyze("include/widget.h", header)
    assert result["language"] == "cpp"
    assert shape(result["symbols"]) == [("namespace", "app", [("class", "Widget", [("method", "draw")])])]
    plain = analyze("include/util.h", "int add(int a, int b);\n")
    assert plain["language"] == "c"
    assert shape(plain["symbols"]) == [("function", "add")]


def test_ranges_count_utf16_code_units() -> None:
    # "😀" is two UTF-16 code units (four UTF-8 bytes), "é" one (two bytes).
    text = 's = "😀é"; t = 1\ndef f(): pass\n'
    result = analyze("m.py", text)
    t = find(result["symbols"], "t")
    assert t["range"] == {"start": {"line": 0, "character": 11}, "end": {"line": 0, "character": 16}}
    f = find(result["symbols"], "f")
    assert f["range"] == {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 13}}
    assert find(result["symbols"], "s")["range"]["end"] == {"line": 0, "character": 9}


def test_syntax_errors_still_give_an_outline() -> None:
    broken = (
        "class Good:\n    def ok(self):\n        return 1\n\n"
        "def broken(:\n    pass\n\n"
        "def after():\n    return 2\n"
    )
    result = analyze("broken.py", broken)
    assert result["metrics"]["syntaxError"] is True
    names = [s["name"] for s in result["symbols"]]
    assert names[0] == "Good" and "after" in names
    assert find(result["symbols"], "Good", "ok")["kind"] == "method"
    js = analyze("broken.js", "function a() { return 1; }\nconst = ;\nclass B { m() {} }\n")
    assert js["metrics"]["syntaxError"] is True
    assert ("function", "a") in shape(js["symbols"])
    assert ("class", "B", [("method", "m")]) in shape(js["symbols"])
    # Declarations that error recovery wrapped in an ERROR node are still found.
    wrapped = analyze("wrapped.js", "function (\nclass B { m() {} }\n")
    assert shape(wrapped["symbols"]) == [("class", "B", [("method", "m")])]

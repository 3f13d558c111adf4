"""Import specifiers per language, as written, deduplicated, in document order."""

from __future__ import annotations

import textwrap

import pytest

from smartcache_ls.analysis import analyze

CASES = {
    "python": (
        "pkg/mod.py",
        """\
        from __future__ import annotations
        import os, sys as system
        import os.path
        from . import sibling, other as o
        from .. import parent
        from .pkg.mod import thing
        from ..up import x
        from . import *
        from collections import (OrderedDict,
            defaultdict)
        import os

        def late():
            import json
            if TYPE_CHECKING:
                from typing import Any
        """,
        [
            "os",
            "sys",
            "os.path",
            ".sibling",
            ".other",
            "..parent",
            ".pkg.mod",
            "..up",
            ".",
            "collections",
            "json",
            "typing",
        ],
    ),
    "javascript": (
        "src/app.js",
        """\
        import fs from "fs";
        import { a, b } from './util';
        export { x } from "../lib/x.js";
        export * from "./all";
        export const y = 1;
        const path = require("path");
        const lazy = () => import("./lazy");
        function f() { return require(`./template`) + other("./not-an-import"); }
        require(variable);
        """,
        ["fs", "./util", "../lib/x.js", "./all", "path", "./lazy"],
    ),
    "typescript": (
        "src/index.ts",
        """\
        import type { T } from "./types";
        import x = require("./legacy");
        import * as ns from "@scope/pkg/sub";
        export type { U } from "./u";
        const m = await import("./dynamic");
        """,
        ["./types", "./legacy", "@scope/pkg/sub", "./u", "./dynamic"],
    ),
    "tsx": (
        "src/App.tsx",
        """\
        import React from "react";
        import { Button } from "./components/Button";
        export const App = () => <Button label="x" />;
        """,
        ["react", "./components/Button"],
    ),
    "go": (
        "main.go",
        """\
        package main

        import "fmt"
        import (
        \t"os"
        \tstr "strings"
        \t_ "embed"
        \t"github.com/acme/proj/internal/util"
        )

        func main() { fmt.Println(str.ToUpper(os.Args[0])) }
        """,
        ["fmt", "os", "strings", "embed", "github.com/acme/proj/internal/util"],
    ),
    "rust": (
        "src/main.rs",
        """\
        use std::collections::HashMap;
        use std::{fmt, io::{self, Read}};
        use crate::util::helper as h;
        use super::*;
        mod net;
        mod inline { mod nested; fn f() {} }
        """,
        [
            "std::collections::HashMap",
            "std::fmt",
            "std::io",
            "std::io::Read",
            "crate::util::helper",
            "super::*",
            "self::net",
            "self::nested",
        ],
    ),
    "java": (
        "src/main/java/com/example/Main.java",
        """\
        package com.example;

        import java.util.List;
        import java.util.*;
        import static org.junit.Assert.assertEquals;

        class Main {}
        """,
        ["java.util.List", "java.util.*", "org.junit.Assert.assertEquals"],
    ),
    "c": (
        "src/util.c",
        """\
        #include <stdio.h>
        #include "util.h"
        #include "../common/defs.h"
        #include MACRO_HEADER
        #ifdef DEBUG
        #include "debug.h"
        #endif
        """,
        ["stdio.h", "util.h", "../common/defs.h", "debug.h"],
    ),
    "cpp": (
        "src/shape.cpp",
        """\
        #include <vector>
        #include "shape.hpp"
        namespace geo { int area(); }
        """,
        ["vector", "shape.hpp"],
    ),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_imports(language: str) -> None:
    path, text, expected = CASES[language]
    result = analyze(path, textwrap.dedent(text))
    assert result["language"] == language
    assert result["imports"] == expected


def test_non_grammar_files_have_no_symbols_or_imports() -> None:
    result = analyze("notes/README.md", "# Title\n\nimport os\n")
    assert result["language"] is None
    assert result["symbols"] == [] and result["imports"] == []

"""Per-language rules for the outline: which nodes declare which symbols.

Kinds are LSP SymbolKind names in lower case. Conventions shared by all languages:
type aliases are "typeparameter" (as rust-analyzer does), constructors "constructor",
upper-case module-level names and ``const`` declarations "constant".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .outline import Found, Rules, Scope
from .source import Source

if TYPE_CHECKING:
    from tree_sitter import Node

_UPPER = re.compile(r"_*[A-Z][A-Z0-9_]*")


def _field(node: Node, name: str) -> Node | None:
    return node.child_by_field_name(name)


def _has_token(node: Node, *tokens: str) -> bool:
    return any(child.type in tokens for child in node.children)


# --------------------------------------------------------------------------- python


def _python(node: Node, scope: Scope, src: Source) -> list[Found] | None:
    t = node.type
    if t == "decorated_definition":
        inner = _field(node, "definition")
        return [] if inner is None else _python_def(inner, node, scope, src)
    if t in ("class_definition", "function_definition"):
        return _python_def(node, node, scope, src)
    if t == "expression_statement" and scope.kind in ("module", "class"):
        return _python_assignment(node, scope, src)
    return None


def _python_def(defn: Node, outer: Node, scope: Scope, src: Source) -> list[Found]:
    name = src.name(_field(defn, "name"))
    body = _field(defn, "body")
    if defn.type == "class_definition":
        return [Found(name, "class", outer, body, Scope("class", name))]
    if defn.type != "function_definition":
        return []
    kind = "function"
    if scope.kind == "class":
        kind = "constructor" if name == "__init__" else "method"
    return [Found(name, kind, outer, body, Scope("function", name))]


def _python_assignment(stmt: Node, scope: Scope, src: Source) -> list[Found]:
    found: list[Found] = []
    for child in stmt.named_children:
        if child.type != "assignment":
            continue
        left = _field(child, "left")
        if left is None:
            continue
        if left.type == "identifier":
            targets = [left]
        elif left.type in ("pattern_list", "tuple_pattern"):
            targets = [c for c in left.named_children if c.type == "identifier"]
        else:
            targets = []
        for target in targets:
            name = src.name(target)
            kind = "field" if scope.kind == "class" else "variable"
            if _UPPER.fullmatch(name):
                kind = "constant"
            found.append(Found(name, kind, stmt if len(targets) == 1 else target))
    return found


PYTHON = Rules(
    _python,
    frozenset(
        {
            "if_statement",
            "elif_clause",
            "else_clause",
            "try_statement",
            "except_clause",
            "finally_clause",
            "with_statement",
            "for_statement",
            "while_statement",
            "block",
        }
    ),
)

# ------------------------------------------------------------------- javascript/ts

_JS_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_JS_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration", "function_signature"})
_JS_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})
_JS_VALUE_SCOPES = frozenset({"module", "namespace"})


def _js(node: Node, scope: Scope, src: Source) -> list[Found] | None:
    t = node.type
    if t in _JS_CLASSES:
        name = src.name(_field(node, "name"))
        return [Found(name, "class", node, _field(node, "body"), Scope("class", name))]
    if t in _JS_FUNCTIONS:
        name = src.name(_field(node, "name"))
        return [Found(name, "function", node, _block(_field(node, "body")), Scope("function", name))]
    if t == "method_definition":
        name = src.name(_field(node, "name"))
        kind = "constructor" if name == "constructor" else "method"
        return [Found(name, kind, node, _block(_field(node, "body")), Scope("function", name))]
    if t in ("abstract_method_signature", "method_signature"):
        return [Found(src.name(_field(node, "name")), "method", node)]
    if t in ("field_definition", "public_field_definition"):
        name_node = _field(node, "property") or _field(node, "name")
        return [Found(src.name(name_node), "property", node)]
    if t == "property_signature":
        return [Found(src.name(_field(node, "name")), "property", node)]
    if t == "interface_declaration":
        name = src.name(_field(node, "name"))
        return [Found(name, "interface", node, _field(node, "body"), Scope("interface", name))]
    if t == "type_alias_declaration":
        return [Found(src.name(_field(node, "name")), "typeparameter", node)]
    if t == "enum_declaration":
        name = src.name(_field(node, "name"))
        return [Found(name, "enum", node, _field(node, "body"), Scope("enum", name))]
    if scope.kind == "enum":
        if t == "property_identifier":
            return [Found(src.name(node), "enummember", node)]
        if t == "enum_assignment":
            return [Found(src.name(_field(node, "name")), "enummember", node)]
        return None
    if t in ("internal_module", "module"):
        name = src.name(_field(node, "name"))
        kind = "namespace" if t == "internal_module" else "module"
        return [Found(name, kind, node, _field(node, "body"), Scope("namespace", name))]
    if t in ("lexical_declaration", "variable_declaration"):
        return _js_declaration(node, scope, src)
    return None


def _block(body: Node | None) -> Node | None:
    return body if body is not None and body.type == "statement_block" else None


def _js_declaration(node: Node, scope: Scope, src: Source) -> list[Found]:
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    const = _has_token(node, "const")
    found: list[Found] = []
    for decl in declarators:
        name_node = _field(decl, "name")
        if name_node is None or name_node.type != "identifier":
            continue
        name = src.name(name_node)
        where = node if len(declarators) == 1 else decl
        value = _field(decl, "value")
        vtype = value.type if value is not None else ""
        if value is not None and vtype in _JS_FUNCTION_VALUES:
            body = _block(_field(value, "body"))
            found.append(Found(name, "function", where, body, Scope("function", name)))
        elif value is not None and vtype in ("class", "class_expression"):
            found.append(Found(name, "class", where, _field(value, "body"), Scope("class", name)))
        elif scope.kind in _JS_VALUE_SCOPES:
            found.append(Found(name, "constant" if const else "variable", where))
    return found


JAVASCRIPT = Rules(_js, frozenset({"export_statement", "ambient_declaration", "expression_statement"}))

# ------------------------------------------------------------------------------ go


def _go(node: Node, scope: Scope, src: Source) -> list[Found] | None:
    t = node.type
    if t == "function_declaration":
        return [Found(src.name(_field(node, "name")), "function", node)]
    if t == "method_declaration":
        name = src.name(_field(node, "name"))
        receiver = _field(node, "receiver")
        rtype = ""
        if receiver is not None:
            params = [c for c in receiver.named_children if c.type == "parameter_declaration"]
            if params:
                rtype = src.name(_field(params[0], "type"))
        return [Found(f"({rtype}).{name}" if rtype and name else name, "method", node)]
    if t == "type_spec":
        name = src.name(_field(node, "name"))
        typ = _field(node, "type")
        ttype = typ.type if typ is not None else ""
        if typ is not None and ttype == "struct_type":
            body = next((c for c in typ.named_children if c.type == "field_declaration_list"), None)
            return [Found(name, "struct", node, body, Scope("struct", name))]
        if typ is not None and ttype == "interface_type":
            return [Found(name, "interface", node, typ, Scope("interface", name))]
        return [Found(name, "class", node)]
    if t == "type_alias":
        return [Found(src.name(_field(node, "name")), "typeparameter", node)]
    if t in ("const_spec", "var_spec"):
        kind = "constant" if t == "const_spec" else "variable"
        return [Found(src.name(n), kind, node) for n in node.children_by_field_name("name")]
    if scope.kind == "struct" and t == "field_declaration":
        names = node.children_by_field_name("name")
        if names:
            return [Found(src.name(n), "field", node) for n in names]
        embedded = src.name(_field(node, "type")).lstrip("*").split("[")[0].rsplit(".", 1)[-1]
        return [Found(embedded, "field", node)]
    if scope.kind == "interface" and t in ("method_elem", "method_spec"):
        return [Found(src.name(_field(node, "name")), "method", node)]
    return None


GO = Rules(_go, frozenset({"type_declaration", "const_declaration", "var_declaration", "var_spec_list"}))

# ---------------------------------------------------------------------------- rust


def _rust(node: Node, scope: Scope, src: Source) -> list[Found] | None:
    t = node.type
    in_type = scope.kind in ("impl", "trait")
    if t == "function_item":
        name = src.name(_field(node, "name"))
        kind = "method" if in_type else "function"
        return [Found(name, kind, node, _field(node, "body"), Scope("function", name))]
    if t == "function_signature_item":
        return [Found(src.name(_field(node, "name")), "method" if in_type else "function", node)]
    if t in ("struct_item", "union_item"):
        name = src.name(_field(node, "name"))
        body = _field(node, "body")
        if body is not None and body.type != "field_declaration_list":
            body = None
        return [Found(name, "struct", node, body, Scope("struct", name))]
    if t == "enum_item":
        name = src.name(_field(node, "name"))
        return [Found(name, "enum", node, _field(node, "body"), Scope("enum", name))]
    if t == "enum_variant":
        return [Found(src.name(_field(node, "name")), "enummember", node)]
    if t == "field_declaration" and scope.kind == "struct":
        return [Found(src.name(_field(node, "name")), "field", node)]
    if t == "trait_item":
        name = src.name(_field(node, "name"))
        return [Found(name, "interface", node, _field(node, "body"), Scope("trait", name))]
    if t == "impl_item":
        trait = _field(node, "trait")
        typ = src.name(_field(node, "type"))
        name = f"impl {src.name(trait)} for {typ}" if trait is not None else f"impl {typ}"
        return [Found(name, "object", node, _field(node, "body"), Scope("impl", typ))]
    if t == "mod_item":
        name = src.name(_field(node, "name"))
        return [Found(name, "module", node, _field(node, "body"), Scope("module", name))]
    if t == "const_item":
        return [Found(src.name(_field(node, "name")), "constant", node)]
    if t == "static_item":
        return [Found(src.name(_field(node, "name")), "variable", node)]
    if t in ("type_item", "associated_type"):
        return [Found(src.name(_field(node, "name")), "typeparameter", node)]
    if t == "macro_definition":
        return [Found(src.name(_field(node, "name")), "function", node)]
    return None


RUST = Rules(_rust, frozenset({"foreign_mod_item", "declaration_list"}))

# ---------------------------------------------------------------------------- java

_JAVA_CLASSES = {
    "class_declaration": ("class", "class"),
    "record_declaration": ("class", "class"),
    "enum_declaration": ("enum", "enum"),
    "interface_declaration": ("interface", "interface"),
    "annotation_type_declaration": ("interface", "interface"),
}


def _java(node: Node, scope: Scope, src: Source) -> list[Found] | None:
    t = node.type
    if t in _JAVA_CLASSES:
        kind, scope_kind = _JAVA_CLASSES[t]
        name = src.name(_field(node, "name"))
        return [Found(name, kind, node, _field(node, "body"), Scope(scope_kind, name))]
    if t in ("method_declaration", "annotation_type_element_declaration"):
        return [Found(src.name(_field(node, "name")), "method", node)]
    if t in ("constructor_declaration", "compact_constructor_declaration"):
        return [Found(src.name(_field(node, "name")), "constructor", node)]
    if t in ("field_declaration", "constant_declaration"):
        if t == "constant_declaration":
            kind = "constant"
        else:
            modifiers = next((c for c in node.children if c.type == "modifiers"), None)
            static_final = (
                modifiers is not None and _has_token(modifiers, "static") and _has_token(modifiers, "final")
            )
            kind = "constant" if static_final else "field"
        declarators = node.children_by_field_name("declarator")
        return [
            Found(src.name(_field(d, "name")), kind, node if len(declarators) == 1 else d)
            for d in declarators
        ]
    if t == "enum_constant":
        return [Found(src.name(_field(node, "name")), "enummember", node)]
    return None


JAVA = Rules(_java, frozenset({"enum_body_declarations"}))

# --------------------------------------------------------------------------- c/c++

_C_TYPES = {
    "struct_specifier": "struct",
    "union_specifier": "struct",
    "class_specifier": "class",
    "enum_specifier": "enum",
}
_C_NAMES = frozenset(
    {
        "identifier",
        "field_identifier",
        "type_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "template_function",
        "primitive_type",
    }
)
_C_OPERATORS = frozenset(
    {"function_declarator", "pointer_declarator", "array_declarator", "reference_declarator"}
)


def _declarator(node: Node | None) -> tuple[Node | None, bool]:
    """The name a C declarator declares, and whether that name is a function.

    A name is a function when the declarator operator binding it most tightly is a
    function declarator: ``char **f(void)`` is one, ``int (*f)(void)`` is not.
    """
    cur, last = node, ""
    for _ in range(64):
        if cur is None:
            return None, False
        if cur.type in _C_NAMES:
            return cur, last == "function_declarator"
        if cur.type in _C_OPERATORS:
            last = cur.type
        nxt = cur.child_by_field_name("declarator")
        if nxt is None:
            nxt = next(
                (c for c in cur.named_children if c.type in _C_NAMES or c.type.endswith("declarator")),
                None,
            )
        cur = nxt
    return None, False


def _c_function_kind(name: str, scope: Scope) -> str:
    if scope.kind in ("class", "struct"):
        return "constructor" if name == scope.name else "method"
    if "::" in name:
        parts = name.split("::")
        return "constructor" if parts[-1] == parts[-2] else "method"
    return "function"


def _c_type(spec: Node, where: Node, src: Source, name: str = "") -> list[Found]:
    """A struct/union/class/enum specifier that has a body (a definition, not a use)."""
    body = _field(spec, "body")
    name = name or src.name(_field(spec, "name"))
    if body is None or not name:
        return []
    kind = _C_TYPES[spec.type]
    scope_kind = "enum" if kind == "enum" else kind
    return [Found(name, kind, where, body, Scope(scope_kind, name.rsplit("::", 1)[-1]))]


def _c(node: Node, scope: Scope, src: Source) -> list[Found] | None:
    t = node.type
    if t in _C_TYPES:
        return _c_type(node, node, src)
    if t == "function_definition":
        name_node, _ = _declarator(_field(node, "declarator"))
        name = src.name(name_node)
        return [Found(name, _c_function_kind(name, scope), node)]
    if t in ("declaration", "field_declaration"):
        return _c_declaration(node, scope, src)
    if t == "type_definition":
        return _c_typedef(node, src)
    if t == "namespace_definition":
        name_node = _field(node, "name")
        name = src.name(name_node) if name_node is not None else "(anonymous namespace)"
        return [Found(name, "namespace", node, _field(node, "body"), Scope("namespace", name))]
    if t == "alias_declaration":
        return [Found(src.name(_field(node, "name")), "typeparameter", node)]
    if t == "enumerator" and scope.kind == "enum":
        return [Found(src.name(_field(node, "name")), "enummember", node)]
    return None


def _c_declaration(node: Node, scope: Scope, src: Source) -> list[Found]:
    found: list[Found] = []
    typ = _field(node, "type")
    if typ is not None and typ.type in _C_TYPES:
        found.extend(_c_type(typ, typ, src))
    declarators = node.children_by_field_name("declarator")
    const = any(c.type == "type_qualifier" and src.text(c) in ("const", "constexpr") for c in node.children)
    for decl in declarators:
        name_node, is_function = _declarator(decl)
        if name_node is None:
            continue
        name = src.name(name_node)
        if is_function:
            kind = _c_function_kind(name, scope)
        elif scope.kind in ("class", "struct"):
            kind = "field"
        elif scope.kind in ("module", "namespace"):
            kind = "constant" if const else "variable"
        else:
            continue
        found.append(Found(name, kind, node if len(declarators) == 1 else decl))
    return found


def _c_typedef(node: Node, src: Source) -> list[Found]:
    typ = _field(node, "type")
    names = [src.name(_declarator(d)[0]) for d in node.children_by_field_name("declarator")]
    names = [n for n in names if n]
    found: list[Found] = []
    if typ is not None and typ.type in _C_TYPES and _field(typ, "body") is not None:
        if _field(typ, "name") is not None:
            found.extend(_c_type(typ, typ, src))
        elif names:
            found.extend(_c_type(typ, node, src, names.pop(0)))
    found.extend(Found(n, "typeparameter", node) for n in names)
    return found


C = Rules(
    _c,
    frozenset(
        {
            "preproc_if",
            "preproc_ifdef",
            "preproc_else",
            "preproc_elif",
            "preproc_elifdef",
            "linkage_specification",
            "declaration_list",
            "template_declaration",
        }
    ),
)

RULES: dict[str, Rules] = {
    "python": PYTHON,
    "javascript": JAVASCRIPT,
    "typescript": JAVASCRIPT,
    "tsx": JAVASCRIPT,
    "go": GO,
    "rust": RUST,
    "java": JAVA,
    "c": C,
    "cpp": C,
}

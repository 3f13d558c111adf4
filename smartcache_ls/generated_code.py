"""Memory that attrs' generated methods hold and never read, given back at start-up.

attrs compiles each class's ``__init__``, ``__eq__``, ``__repr__`` ... from source, with
globals that are a copy of the class's whole module namespace (so that
``typing.get_type_hints(cls.__init__)`` can resolve string annotations), and it keeps that
source in ``linecache``. lsprotocol defines about 550 attrs classes in one module of about
1,000 names: 5 MB of copied namespaces and 1.6 MB of source lines, a sixth of the server's
memory when idle (tracemalloc; 4.5 MB of RSS once the allocator's free pages go back).

:func:`compact_attrs_methods` gives each such method new globals holding only the names its
code reads; :func:`drop_generated_sources` forgets the source lines (a traceback through a
generated method then shows its file name and line number without the line). Both run once,
after the protocol stack is imported and before the server starts its threads.
"""

from __future__ import annotations

import builtins
import linecache
import sys
import types
from collections.abc import Iterable

GENERATED = "<attrs generated"  # how attrs names the "files" of the methods it compiles
COMPACTED = "__compact_attrs_globals__"  # the key that marks the globals this module made


def compact_attrs_methods(modules: Iterable[types.ModuleType] | None = None) -> int:
    """Rebind the generated methods of the attrs classes defined in ``modules`` (default: every
    module imported) to globals of the names their code reads; how many were rebound. Left alone:
    a method that is not attrs-generated, or whose globals are a module's own namespace, or
    whose annotations are strings (``get_type_hints`` resolves them in its globals)."""
    mods = [m for m in (list(sys.modules.values()) if modules is None else modules) if m is not None]
    namespaces = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    small: dict[int, dict[str, object]] = {}  # id of generated globals -> their compact copy
    done = 0
    for module in mods:
        for cls in list(vars(module).values()):
            if not isinstance(cls, type) or cls.__module__ != module.__name__:
                continue
            if "__attrs_attrs__" not in vars(cls):
                continue
            for name, func in list(vars(cls).items()):
                if not isinstance(func, types.FunctionType) or id(func.__globals__) in namespaces:
                    continue
                if COMPACTED in func.__globals__:
                    continue  # (done already)
                if not func.__code__.co_filename.startswith(GENERATED):
                    continue
                if any(isinstance(a, str) for a in func.__annotations__.values()):
                    continue  # (string annotations are resolved in the globals: they stay)
                setattr(cls, name, _rebound(func, small))
                done += 1
    return done


def _rebound(func: types.FunctionType, small: dict[int, dict[str, object]]) -> types.FunctionType:
    full = func.__globals__
    compact = small.get(id(full))
    if compact is None:
        compact = small[id(full)] = {"__builtins__": full.get("__builtins__", builtins), COMPACTED: True}
    compact.update((n, full[n]) for n in _global_names(func.__code__) if n in full)
    new = types.FunctionType(func.__code__, compact, func.__name__, func.__defaults__, func.__closure__)
    new.__kwdefaults__ = func.__kwdefaults__
    new.__annotations__ = func.__annotations__
    new.__qualname__ = func.__qualname__
    new.__doc__ = func.__doc__
    new.__module__ = func.__module__
    new.__dict__.update(func.__dict__)
    return new


def _global_names(code: types.CodeType) -> set[str]:
    """The names ``code`` and the code nested in it may look up (a superset of its globals)."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def drop_generated_sources(prefix: str = GENERATED) -> int:
    """Forget the source lines of the generated code in ``linecache``; how many files."""
    gone = [name for name in linecache.cache if name.startswith(prefix)]
    for name in gone:
        linecache.cache.pop(name, None)
    return len(gone)

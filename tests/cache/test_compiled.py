"""The memory tier compiled with mypyc (setup.py): in use where it can be built, never older
than its source, and indistinguishable from its source through the public API."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import shlex
import shutil
import sys
import sysconfig
import tomllib
import types
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from .clock import FakeClock

ROOT = Path(__file__).resolve().parents[2]
# the modules setup.py compiles, e.g. "smartcache_ls/cache/memory.py"
SOURCES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "smartcache-ls"
]["mypyc"]
MEMORY = ROOT / "smartcache_ls" / "cache" / "memory.py"


def module_name(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def compiled_beside(source: Path) -> list[Path]:
    """The compiled modules beside a source file that this interpreter would import instead."""
    stem = source.with_suffix("")
    return [p for s in importlib.machinery.EXTENSION_SUFFIXES if (p := Path(f"{stem}{s}")).exists()]


def is_compiled(module: types.ModuleType) -> bool:
    loader = module.__spec__.loader if module.__spec__ else None
    return isinstance(loader, importlib.machinery.ExtensionFileLoader)


def why_not_compilable() -> str | None:
    """setup.py's test, as far as the tests can repeat it: why the build installs pure Python."""
    if os.environ.get("SMARTCACHE_PURE_PYTHON", "") not in ("", "0"):
        return "SMARTCACHE_PURE_PYTHON is set"
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC")
    if cc and shutil.which(shlex.split(cc)[0]) is None:
        return f"no C compiler ({cc!r})"
    if not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        return "no Python headers"
    return None


# -- the build ----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_compiled_module_is_not_older_than_its_source(source: str) -> None:
    py = ROOT / source
    for so in compiled_beside(py):
        assert so.stat().st_mtime >= py.stat().st_mtime, (
            f"{py.name} is newer than its compiled module: run make install "
            f"({so.relative_to(ROOT)} shadows the edited {source})"
        )


@pytest.mark.parametrize("source", SOURCES)
def test_compiled_module_is_in_use(source: str) -> None:
    why = why_not_compilable()
    if why is not None:
        pytest.skip(f"the build installs pure Python here: {why}")
    module = importlib.import_module(module_name(source))
    assert is_compiled(module), (
        f"{module.__name__} was imported from {module.__file__}, not a compiled module, though a C "
        "compiler is available: run make install (and read the build's warnings)"
    )
    assert Path(module.__file__ or "").parent == (ROOT / source).parent, module.__file__


# -- parity: the source and the compiled module ---------------------------------------------------

PURE = "_smartcache_pure_cache"  # the source of smartcache_ls/cache/*.py, under this package name


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds ``PURE.<name>`` as smartcache_ls/cache/<name>.py, never as a compiled module, so
    the source and its relative imports of sibling modules (``from .policy import ...``)
    load as a second, pure-Python copy beside the package."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.partition(".")
        source = MEMORY.parent / f"{name}.py"
        if package != PURE or "." in name or not source.exists():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def load_source(name: str) -> types.ModuleType:
    """smartcache_ls.cache.<name> from its .py file (with pure-Python siblings), as PURE.<name>."""
    if PURE not in sys.modules:
        package = types.ModuleType(PURE, "pure-Python copies of smartcache_ls/cache/*.py")
        package.__path__ = []
        sys.modules[PURE] = package
    finder = _SourceFinder()
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(f"{PURE}.{name}")
    finally:
        sys.meta_path.remove(finder)


def test_source_copy_is_pure_python() -> None:
    memory = load_source("memory")
    assert memory.__file__ == str(MEMORY)
    assert not is_compiled(memory)
    policy = sys.modules[f"{PURE}.policy"]  # its relative import, also from source
    assert policy.__file__ == str(MEMORY.parent / "policy.py")
    assert memory.MemoryTier is not importlib.import_module("smartcache_ls.cache.memory").MemoryTier


KEYS = ["a", "b", "c", "d", "e", "a/1", "a/2", "b/1"]  # few, so that sets and gets meet
keys = st.sampled_from(KEYS)
sizes = st.one_of(st.integers(0, 12), st.integers(-2, 400))
# (weight, operation, its arguments): mostly sets and gets, so that entries live long enough
# to be evicted, promoted, expired and remembered as ghosts
WEIGHTED_OPS: list[tuple[int, str, tuple[st.SearchStrategy[Any], ...]]] = [
    (8, "set", (keys, st.integers(0, 99), sizes, st.just(False))),
    (2, "set", (keys, st.integers(0, 99), sizes, st.just(True))),  # prefetched
    (8, "get", (keys,)),
    (1, "get_many", (st.integers(1, 400), st.integers(0, 7), st.integers(0, 5))),  # past the read buffer
    (1, "scan", (st.integers(0, 2000), st.integers(1, 1000), st.integers(0, 3))),  # many new keys
    (2, "peek", (keys,)),
    (2, "contains", (keys,)),
    (1, "delete", (keys,)),
    (1, "delete_prefix", (st.sampled_from(["a", "a/", "b/", "zz", ""]),)),
    (1, "clear", ()),
    (2, "maintain", ()),
    (1, "frequency", (keys,)),
    (1, "frequencies", ()),
    (1, "is_hot", (keys, st.integers(0, 4))),
    (1, "resize", (st.one_of(st.integers(-1, 60), st.integers(0, 400)),)),
    (3, "advance", (st.one_of(st.floats(0, 10), st.integers(1, 30).map(float)),)),
    (1, "prefetch_stats", ()),
    (1, "reset_stats", ()),
]
ops = st.sampled_from([(name, args) for weight, name, args in WEIGHTED_OPS for _ in range(weight)]).flatmap(
    lambda op: st.tuples(st.just(op[0]), *op[1])
)
configs = st.fixed_dictionaries(
    {
        "max_bytes": st.one_of(st.integers(0, 60), st.integers(0, 300)),
        "ttl": st.one_of(st.none(), st.floats(0.5, 20), st.integers(1, 10).map(float), st.just(0.0)),
        "window_fraction": st.floats(0, 1),
        "protected_fraction": st.floats(0, 1),
        "adaptive": st.booleans(),
    }
)


def apply(tier: Any, clock: FakeClock, op: tuple[Any, ...]) -> Any:
    name, *args = op
    if name == "set":
        key, value, size, prefetched = args
        return tier.set(key, value, size, prefetched=prefetched)
    if name == "get_many":  # n gets of KEYS[start], KEYS[start + step], ...
        n, start, step = args
        return [tier.get(KEYS[(start + i * step) % len(KEYS)]) for i in range(n)]
    if name == "frequencies":
        return [tier.frequency(k) for k in KEYS]
    if name == "scan":  # sketch agings and growth, the admission filter against a scan
        first, n, size = args
        return [tier.set(f"scan/{i}", i, size) for i in range(first, first + n)]
    if name == "contains":
        return args[0] in tier
    if name == "advance":
        clock.now += args[0]
        return None
    method: Callable[..., Any] = getattr(tier, name)
    return method(*args)


def observe(tier: Any, clock: FakeClock, op: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a caller can see: the result (or exception type), then the tier's state."""
    try:
        result = apply(tier, clock, op)
    except Exception as exc:
        result = ("raised", type(exc).__name__)
    if is_dataclass(result) and not isinstance(result, type):
        result = asdict(result)  # PrefetchStats: each module copy has its own class
    return result, len(tier), tier.keys(), tier.stats(), asdict(tier.prefetch_stats())


class CompiledVersusSource(RuleBasedStateMachine):
    """The compiled tier and its source, driven side by side by the same operations."""

    def __init__(self) -> None:
        super().__init__()
        compiled = importlib.import_module("smartcache_ls.cache.memory")
        if not is_compiled(compiled):
            pytest.skip("smartcache_ls.cache.memory is not compiled here: no second implementation")
        self.modules = compiled, load_source("memory")
        self.clocks = FakeClock(), FakeClock()
        self.tiers: tuple[Any, ...] = ()
        self.steps = 0

    @initialize(config=configs)
    def create(self, config: dict[str, Any]) -> None:
        self.tiers = tuple(
            m.MemoryTier(clock=clock, **config) for m, clock in zip(self.modules, self.clocks, strict=True)
        )

    @rule(op=ops)
    def step(self, op: tuple[Any, ...]) -> None:
        self.steps += 1
        seen = [observe(tier, clock, op) for tier, clock in zip(self.tiers, self.clocks, strict=True)]
        assert seen[0] == seen[1], f"step {self.steps}, {op}: compiled (first) != source (second)"


CompiledVersusSource.TestCase.settings = settings(
    max_examples=100, stateful_step_count=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCompiledVersusSource = CompiledVersusSource.TestCase

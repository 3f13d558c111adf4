"""The reference graph of a workspace: which files a file refers to, and who refers to it.

A file refers to another when it imports it (imports resolved to files by
:func:`~smartcache_ls.analysis.resolve_imports`) or uses a name the other defines
(the symbol table). A name defined in several files is resolved to the definers in
the file's neighbourhood (its directory, which is its package in Java and Go, and the
files it imports); failing that, to all definers when there are at most
``MAX_DEFINERS`` of them (a name defined everywhere, like ``get`` or ``Node``,
says nothing about where the developer goes next), each getting a share.

Edge weight = occurrences of the names resolved to the target (shares for ambiguous
names) + ``IMPORT_WEIGHT`` for an import. Edges are kept both ways and updated
incrementally: a changed file recomputes its own edges and those of the files that
use a name whose definers changed.

``ranked(seeds)`` is a personalised PageRank (forward push, bounded work) over the
graph with edges taken both ways, seeded with the session's degree of interest, as
Aider's repo map ranks files for the chat.

Entries are keyed by file state (mtime, size, hash) and persisted as JSON
(``to_json``/``from_json``), so a restart re-reads only files that changed. In memory each
file's entry is one record (``records.py``: its state, uses and imports; its definitions are
the symbol table's record), and ``entries`` decodes a :class:`FileEntry` when asked.
The owner serialises access (the workspace's lock).
"""

from __future__ import annotations

import heapq
import itertools
import posixpath
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

import attrs

from .records import decode, encode
from .symbols import Definition, Packed, SymbolTable, definition, definitions, pack, unpack

FORMAT = "smartcache-graph"
VERSION = 1
MAX_DEFINERS = 3
IMPORT_WEIGHT = 1.0
#: Personalised PageRank: restart probability, neighbours followed per node, pushes per call.
PPR_RESTART = 0.25
PPR_NEIGHBOURS = 16
PPR_PUSHES = 64
#: Edges are recomputed lazily: an update marks the files it affects due, and ``settle``
#: recomputes them a slice at a time, so a file that many updates affect in a row (a common
#: name's users, while a workspace is built) is recomputed once, not once per update. Queries
#: answer from the edges settled so far and never settle themselves: the predictor asks a few
#: hundred of them per switch on the event loop, and settling there took 70 ms after a build
#: poured in 252 files of 300 KB (about 0.3 ms a file). The index builder settles when the
#: editor is quiet, ``SETTLE_SECONDS`` per take of the workspace's lock; a request about the
#: graph's edges (related) and the prefetch planner first settle for at most
#: ``QUERY_SETTLE_SECONDS``: while a build pours files in, an answer may miss the newest files'
#: edges, never wait for them.
SETTLE_SECONDS = 0.005
QUERY_SETTLE_SECONDS = 0.002


#: The names a file uses and how often, flat: (name, count, name, count, ...). A dict per file
#: was 184 bytes for one name (the 2-tuple: 56, none: the empty tuple, shared).
Uses = tuple[str | int, ...]


def pack_uses(raw: Mapping[str, int] | Uses) -> Uses:
    """The flat form of a file's uses (a packed tuple is kept as it is)."""
    if isinstance(raw, tuple):
        return raw
    return tuple(x for item in raw.items() for x in item)


def _imports(raw: Iterable[str]) -> tuple[str, ...]:
    return tuple(raw)


@attrs.define
class FileEntry:
    """What the graph knows of one file, and the file state it was read at."""

    mtime_ns: int
    size: int
    hash: str
    package: str | None
    uses: Uses = attrs.field(converter=pack_uses)
    imports: tuple[str, ...] = attrs.field(converter=_imports)  # (the empty tuple is shared)
    defs: Packed = attrs.field(converter=pack)  # (flat: see symbols.Packed)

    def used_names(self) -> Iterator[str]:
        return cast(Iterator[str], itertools.islice(self.uses, 0, None, 2))

    def use_items(self) -> Iterator[tuple[str, int]]:
        """(name, count) of the names the file uses."""
        it = iter(self.uses)
        return cast(Iterator[tuple[str, int]], zip(it, it, strict=True))

    def definitions(self) -> list[Definition]:
        return list(unpack(self.defs))

    def to_json(self) -> list[Any]:
        return [
            self.mtime_ns,
            self.size,
            self.hash,
            self.package,
            dict(self.use_items()),
            list(self.imports),
            [list(d) for d in unpack(self.defs)],
        ]

    @classmethod
    def from_json(cls, raw: Any) -> FileEntry:
        mtime, size, digest, package, uses, imports, defs = raw
        if not isinstance(uses, dict) or not isinstance(imports, list) or not isinstance(defs, list):
            raise TypeError("malformed graph entry")
        return cls(
            int(mtime),
            int(size),
            str(digest),
            None if package is None else str(package),
            {str(n): int(c) for n, c in uses.items()},
            tuple(str(i) for i in imports),
            [definition(str(n), str(k), r) for n, k, r in defs],
        )


def entry_from_analysis(value: dict[str, Any], mtime_ns: int, size: int) -> FileEntry:
    """A graph entry from an analysis (with the engine's ``resolvedImports``) of a file state."""
    raw_names = value.get("names")
    names: dict[str, Any] = raw_names if isinstance(raw_names, dict) else {}
    raw_uses = names.get("uses")
    uses: dict[str, int] = raw_uses if isinstance(raw_uses, dict) else {}
    package = names.get("package")
    resolved = [str(p) for p in value.get("resolvedImports", [])]
    external = _external_names(value.get("imports", []), resolved)
    return FileEntry(
        mtime_ns,
        size,
        str(value.get("hash", "")),
        package if isinstance(package, str) else None,
        {n: c for n, c in uses.items() if n not in external},
        resolved,
        _definitions(value),
    )


def _definitions(value: dict[str, Any]) -> list[Definition]:
    """The definitions an analysis worker listed beside the analysis, else the outline's own."""
    listed = value.get("definitions")
    if not isinstance(listed, list):
        return definitions(value.get("symbols", []))
    return [
        definition(d[0], d[1], d[2])
        for d in listed
        if isinstance(d, list | tuple) and len(d) == 3 and isinstance(d[0], str) and isinstance(d[1], str)
    ]


_SEPARATORS = re.compile(r"::|[./\\]")


def _external_names(imports: Iterable[Any], resolved: list[str]) -> set[str]:
    """Names a file imports from outside the workspace (``import java.util.List`` -> ``List``
    when no workspace file ``List.*`` was resolved): they are not the workspace's names."""
    stems = {posixpath.splitext(posixpath.basename(p))[0] for p in resolved}
    out: set[str] = set()
    for spec in imports:
        if isinstance(spec, str):
            last = _SEPARATORS.split(spec)[-1]
            if last and last != "*" and last not in stems:
                out.add(last)
    return out


@attrs.frozen
class Edge:
    target: str
    weight: float
    names: tuple[str, ...]


class GraphFormatError(ValueError):
    pass


def _record(entry: FileEntry) -> bytes:
    """The in-memory record of an entry, its definitions left out (the symbol table has them)."""
    return encode([entry.mtime_ns, entry.size, entry.hash, entry.package, entry.uses, entry.imports])


def _uses_and_imports(record: bytes) -> tuple[list[Any], list[str]]:
    """The flat uses (name, count, ...) and the imports of a record."""
    raw = decode(record)
    return raw[4], raw[5]


class Entries(Mapping[str, FileEntry]):
    """A graph's entries (read only): each :class:`FileEntry` decoded from its file's record when
    asked, so an entry read is a snapshot (entries are replaced, never changed in place)."""

    __slots__ = ("_records", "_symbols")

    def __init__(self, records: dict[str, bytes], symbols: SymbolTable) -> None:
        self._records = records
        self._symbols = symbols

    def __getitem__(self, rel: str) -> FileEntry:
        mtime, size, digest, package, uses, imports = decode(self._records[rel])
        return FileEntry(mtime, size, digest, package, tuple(uses), tuple(imports), self._symbols.packed(rel))

    def __contains__(self, rel: object) -> bool:
        return rel in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


class RefGraph:
    def __init__(self) -> None:
        self.symbols = SymbolTable()
        self._records: dict[str, bytes] = {}  # file -> its entry's record (see _record)
        self.entries: Mapping[str, FileEntry] = Entries(self._records, self.symbols)
        self._users: dict[str, set[str]] = {}  # name -> files using it
        self._importers: dict[str, set[str]] = {}  # file -> files whose imports resolve to it
        self._out: dict[str, dict[str, Edge]] = {}
        self._in: dict[str, dict[str, float]] = {}  # target -> {source: weight}
        self._nbrs: dict[str, list[tuple[str, float]]] = {}  # PPR transition rows, memoised
        self._due: set[str] = set()  # files whose edges are to be recomputed (see settle)
        self._unsaved: set[str] = set()  # files whose entry changed or went since take_unsaved
        self.version = 0  # bumps whenever an edge changes
        self.changes = 0  # bumps whenever an entry changes (persist when it moved)

    def __len__(self) -> int:
        return len(self._records)

    def state(self, rel: str) -> tuple[int, int, str] | None:
        """(mtime_ns, size, hash) of ``rel``'s entry, or None: what tells a file unchanged, read
        from its record alone (``entries`` decodes the definitions and builds the entry too)."""
        data = self._records.get(rel)
        if data is None:
            return None
        mtime, size, digest = decode(data)[:3]
        return mtime, size, digest

    @property
    def edge_count(self) -> int:
        return sum(len(row) for row in self._out.values())

    # updates ------------------------------------------------------------------------
    def update(self, items: dict[str, FileEntry]) -> None:
        """Set the entries of some files; the edges they affect become due (see ``settle``)."""
        for rel, entry in items.items():
            self._due |= self._set(rel, entry)
            self._unsaved.add(rel)
            self.changes += 1

    def drop(self, rels: Iterable[str]) -> None:
        for rel in rels:
            if rel in self._records:
                self._due |= self._set(rel, None)
                self._unsaved.add(rel)
                self.changes += 1

    @property
    def unsaved(self) -> int:
        """How many files' entries changed or went since the last ``take_unsaved``."""
        return len(self._unsaved)

    def take_unsaved(self) -> set[str]:
        """The files whose entries changed or went since the last call (a fresh set is kept:
        a set keeps its table after its members go, 2 MB for the 50,000 files of a build)."""
        taken, self._unsaved = self._unsaved, set()
        return taken

    def mark_unsaved(self, rels: Iterable[str]) -> None:
        """Files whose entries are to be saved again (a save that failed)."""
        self._unsaved.update(rels)

    @property
    def due(self) -> int:
        """How many files' edges are still to be recomputed."""
        return len(self._due)

    def settle(self, seconds: float | None = SETTLE_SECONDS) -> int:
        """Recompute the edges of due files for about ``seconds`` (at least one file; all of
        them: None); how many remain due."""
        if not self._due:
            return 0
        if seconds is None:
            due, self._due = self._due, set()
            self._recompute(due)
            return 0
        deadline = time.perf_counter() + seconds
        while self._due:
            self._recompute((self._due.pop(),))
            if time.perf_counter() >= deadline:
                break
        if not self._due:
            self._due = set()  # (a set keeps its table after its members go: 2 MB for a build)
        return len(self._due)

    def _set(self, rel: str, entry: FileEntry | None) -> set[str]:
        old = self._records.pop(rel, None)
        if old is not None:
            old_uses, old_imports = _uses_and_imports(old)
            for name in old_uses[::2]:
                users = self._users.get(name)
                if users is not None:
                    users.discard(rel)
                    if not users:
                        del self._users[name]
            for target in old_imports:
                importers = self._importers.get(target)
                if importers is not None:
                    importers.discard(rel)
                    if not importers:
                        del self._importers[target]
        if entry is None:
            changed = self.symbols.drop_file(rel)
        else:
            self._records[rel] = _record(entry)
            for name in entry.used_names():
                self._users.setdefault(name, set()).add(rel)
            for target in entry.imports:
                self._importers.setdefault(target, set()).add(rel)
            changed = self.symbols.set_file(rel, entry.defs)
        # the users of a name whose definers changed resolve it afresh (a file's neighbourhood
        # matters only for the names its members define, so this covers files coming and going)
        affected = {rel}
        importers = self._importers.get(rel, set())
        here, dirname = posixpath.dirname(rel), posixpath.dirname
        for name in changed:
            users = self._users.get(name)
            if not users:
                continue
            files = self.symbols.definer_files(name)
            after = len(files)
            before = after - 1 if rel in files else after + 1
            if min(before, after) > MAX_DEFINERS:
                # Too many definers before and after: a user resolves the name to its near
                # definers only, so only users near ``rel`` (its folder, or importing it) change.
                affected.update(u for u in users if u in importers or dirname(u) == here)
            else:
                affected.update(users)
        if (old is None) != (entry is None):  # imports of it now resolve, or no longer
            affected.update(importers)
        return affected

    def _recompute(self, files: Iterable[str]) -> None:
        for rel in files:
            new = self._resolve(rel) if rel in self._records else {}
            old = self._out.get(rel, {})
            if new == old:
                continue
            self.version += 1
            for target in old:
                row = self._in.get(target)
                if row is not None:
                    row.pop(rel, None)
                    if not row:
                        del self._in[target]
                self._nbrs.pop(target, None)
            for target, edge in new.items():
                self._in.setdefault(target, {})[rel] = edge.weight
                self._nbrs.pop(target, None)
            self._nbrs.pop(rel, None)
            if new:
                self._out[rel] = new
            else:
                self._out.pop(rel, None)

    def _resolve(self, rel: str) -> dict[str, Edge]:
        uses, imports = _uses_and_imports(self._records[rel])
        dirname = posixpath.dirname
        d = dirname(rel)
        imported = set(imports)
        weights: dict[str, float] = {}
        names: dict[str, list[str]] = {}
        for target in imports:
            if target != rel and target in self._records:
                weights[target] = weights.get(target, 0.0) + IMPORT_WEIGHT
        own = self.symbols.names_of(rel)
        counts: dict[str, int] = dict(zip(uses[::2], uses[1::2], strict=True))
        for name, count in counts.items():
            if name in own:
                continue
            row = self.symbols.definer_files(name)
            if not row or (len(row) == 1 and rel in row):
                continue
            near = [f for f in row if f != rel and (f in imported or dirname(f) == d)]
            if near:
                chosen = near
            elif len(row) - (rel in row) <= MAX_DEFINERS:
                chosen = [f for f in row if f != rel]
            else:
                continue
            if not chosen:
                continue
            share = count / len(chosen)
            for target in chosen:
                weights[target] = weights.get(target, 0.0) + share
                # (an edge's names outlive the record decoded here: one copy of each, shared)
                names.setdefault(target, []).append(sys.intern(name))
        return {
            t: Edge(t, round(w, 4), tuple(sorted(names.get(t, ()), key=lambda n: -counts.get(n, 0))))
            for t, w in weights.items()
        }

    # queries ------------------------------------------------------------------------
    def refs(self, rel: str, k: int | None = None) -> list[Edge]:
        """The files ``rel`` refers to, heaviest first."""
        row = self._out.get(rel)
        if not row:
            return []
        edges = sorted(row.values(), key=lambda e: (-e.weight, e.target))
        return edges if k is None else edges[:k]

    def referrers(self, rel: str, k: int | None = None) -> list[Edge]:
        """The files that refer to ``rel``, heaviest first (names: the names of ``rel`` they use)."""
        row = self._in.get(rel)
        if not row:
            return []
        ranked = sorted(row.items(), key=lambda kv: (-kv[1], kv[0]))
        if k is not None:
            ranked = ranked[:k]
        return [Edge(src, w, self._out[src][rel].names) for src, w in ranked]

    def edge(self, src: str, target: str) -> Edge | None:
        return self._out.get(src, {}).get(target)

    def out_total(self, rel: str) -> float:
        return sum(e.weight for e in self._out.get(rel, {}).values())

    def _neighbours(self, rel: str) -> list[tuple[str, float]]:
        """PPR transitions from ``rel``: both edge directions, the heaviest few, normalised."""
        row = self._nbrs.get(rel)
        if row is None:
            both: dict[str, float] = {}
            for t, e in self._out.get(rel, {}).items():
                both[t] = both.get(t, 0.0) + e.weight
            for s, w in self._in.get(rel, {}).items():
                both[s] = both.get(s, 0.0) + w
            best = heapq.nlargest(PPR_NEIGHBOURS, both.items(), key=lambda kv: kv[1])
            total = sum(w for _, w in best)
            row = [(t, w / total) for t, w in best] if total > 0 else []
            self._nbrs[rel] = row
        return row

    def ranked(self, seeds: dict[str, float], k: int, pushes: int = PPR_PUSHES) -> list[tuple[str, float]]:
        """Personalised PageRank from ``seeds`` (weights, any scale): the k best files that are
        not seeds, with their scores relative to the best (1.0). Forward push (Andersen, Chung,
        Lang 2006) from the largest residual, at most ``pushes`` pushes: bounded cost."""
        total = sum(w for w in seeds.values() if w > 0)
        if total <= 0:
            return []
        residual = {s: w / total for s, w in seeds.items() if w > 0 and s in self._records}
        score: dict[str, float] = {}
        heap = [(-r, s) for s, r in residual.items()]
        heapq.heapify(heap)
        done = 0
        while heap and done < pushes:
            neg, u = heapq.heappop(heap)
            r = residual.get(u, 0.0)
            if r <= 0 or -neg != r:
                continue  # a stale heap item
            done += 1
            residual[u] = 0.0
            score[u] = score.get(u, 0.0) + PPR_RESTART * r
            spread = (1.0 - PPR_RESTART) * r
            for v, p in self._neighbours(u):
                nr = residual.get(v, 0.0) + spread * p
                residual[v] = nr
                heapq.heappush(heap, (-nr, v))
        for v, r in residual.items():  # what was not pushed still counts, at the restart rate
            if r > 0:
                score[v] = score.get(v, 0.0) + PPR_RESTART * r
        best = heapq.nlargest(k, ((v, s) for v, s in score.items() if v not in seeds), key=lambda kv: kv[1])
        top = best[0][1] if best else 0.0
        return [(v, s / top) for v, s in best] if top > 0 else []

    # persistence --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return self.document(self.entries)

    @classmethod
    def of_entries(cls, items: dict[str, FileEntry]) -> RefGraph:
        """A graph of stored entries, its edges computed."""
        graph = cls()
        graph.update(items)
        graph.settle(None)
        return graph

    @staticmethod
    def document(entries: Mapping[str, FileEntry]) -> dict[str, Any]:
        """The stored form of a graph's entries (the edges are recomputed when it is loaded)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "files": {rel: e.to_json() for rel, e in entries.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> RefGraph:
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
            raise GraphFormatError("not a stored reference graph of this version")
        try:
            items = {str(rel): FileEntry.from_json(raw) for rel, raw in dict(data["files"]).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise GraphFormatError(f"corrupt reference graph: {exc!r}") from exc
        return cls.of_entries(items)


class GraphQueries:
    """The predictor's reference-graph questions, answered from ``self.graph`` (the server's
    Workspace and the offline GraphStructure both ask them this way)."""

    graph: RefGraph

    def references_of(self, path: str, k: int) -> list[tuple[str, float]]:
        """The files ``path`` refers to (imports and names it uses), heaviest first, with weights."""
        return [(e.target, e.weight) for e in self.graph.refs(path, k)]

    def referrers_of(self, path: str, k: int) -> list[tuple[str, float]]:
        return [(e.target, e.weight) for e in self.graph.referrers(path, k)]

    def ranked_from(self, seeds: dict[str, float], k: int) -> list[tuple[str, float]]:
        """Personalised PageRank over the reference graph from the session's interest."""
        return self.graph.ranked(seeds, k)

    def reference_weight(self, src: str, target: str) -> float:
        edge = self.graph.edge(src, target)
        return edge.weight if edge is not None else 0.0

    def reference_names(self, src: str, target: str) -> tuple[str, ...]:
        edge = self.graph.edge(src, target)
        return edge.names if edge is not None else ()

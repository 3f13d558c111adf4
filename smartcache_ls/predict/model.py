"""The next-file predictor of one workspace.

Paths are POSIX paths relative to the workspace root. The engine calls one
Predictor from one thread at a time.

How it ranks. Each prediction scores *candidates* gathered from several
signals, each a small sparse feature vector:

* recency and interest in this session (Mylyn-style degree of interest: rank
  among the files of the session by last visit, visits, edits);
* transitions conditioned on the current file and on the file before it
  (first and second order, interpolated like the PPM family: both orders are
  features, the second absent when its context is unseen; a transition's share of its
  context is smoothed with ``TRANSITION_PRIOR`` pseudo-counts, so one observation is not
  certainty) and on returns (the candidate led to the current file before);
* overall frequency;
* co-occurrence: files in the same sessions (for commit traces, ROSE-style
  association rules), with the current file and with the session's recent files,
  and co-change from the workspace's git log;
* structure: imports / imported by (:class:`StructureProvider`), test <->
  implementation name pairs, same directory, similar names;
* references, when the provider has a reference graph (``references_of``,
  ``referrers_of``, ``ranked_from``: see :mod:`smartcache_ls.index`): referred to by
  the current file (and how much, relative to its heaviest reference), refers to the
  current file, and a personalised PageRank over the graph seeded with the session's
  degree of interest (recency and visits), which reaches the files the session's
  interesting files refer to, as Aider's repo map ranks files for a chat.

The score of a candidate is a weighted sum of its features; probabilities are
a softmax over the candidates plus a "none of these" option (score 0), times
the observed chance that the session goes on at all (commits end after a few
files), so they are calibrated estimates that the next file is that candidate
(the engine's prefetch threshold compares against them). The weights
are learnt online from the model's own hits and misses: after every switch the
log-likelihood gradient of the file actually opened is applied with AdaGrad.
Nothing is tuned per workspace by hand; the starting weights only encode the
ordering the literature reports (recency first, then transitions, then the rest).

Sessions (``start_session()`` or a gap of more than 30 minutes between
observations) reset recency while everything learnt persists. The files the
last session ended on stay candidates with their own feature ("prevSession",
1/rank in that session's recency list, starting weight 0): whether work picks
up where it stopped after a break, or the next commit touches what the last
one did, is learnt like every other weight rather than assumed either way. The model is
bounded by ``max_bytes`` (its JSON size): rows are capped and the least
valuable entries (count decayed by age) are pruned. The git co-change table
is not persisted: the engine reloads it from ``git log`` (``load_cochange``).
Every prediction looks at a bounded number of candidates (at most
``MAX_CANDIDATES`` fully scored), so its cost does not grow with the workspace.
"""

from __future__ import annotations

import logging
import math
import os.path
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Collection, Generator, Iterable, Sized
from operator import itemgetter
from typing import Any, Protocol

import attrs

log = logging.getLogger(__name__)

FORMAT = "smartcache-predictor"
VERSION = 2
SESSION_GAP = 30 * 60.0
LN2 = math.log(2.0)
HALF_LIFE = 20_000.0  # observations after which an unused entry is worth half when pruning
MAX_ROW = 32  # entries kept per context row (transitions, co-occurrence)
MAX_SESSION = 256  # distinct files remembered in the current session
RECENT_CANDIDATES = 8  # session files offered as candidates by recency
SESSION_CONTEXT = 2  # recent session files whose co-occurrence rows are consulted
SAVE_SLICE = 1_000  # table rows written per step of a save (json_steps)
COOC_WINDOW = 4  # a first visit in a session pairs with this many earlier files of it
TOP_COOC = 8  # candidates taken from a git co-change row
COOC_ROW = 8  # co-occurrence entries kept per file (a row grows to twice this, then is cut)
TOP_NEXT = 12  # candidates taken from each transition row
MAX_CANDIDATES = 24  # candidates fully scored (the best by their gathering signals)
MAX_STRUCTURE = 6  # candidates taken from each structure signal
MAX_REFS = 6  # candidates taken from the current file's references (and half as many referrers)
PPR_SEEDS = 8  # session files seeding the personalised PageRank
# upper estimates of the JSON bytes of one stored file (plus its path) and of one entry
FILE_BYTES = 64
ENTRY_BYTES = 15  # per entry, besides its indexes and tick: count, separators, brackets
HEADER_BYTES = 4096  # weights and the rest
LEARNING_RATE = 0.1
# pseudo-count added to a transition row's total (additive smoothing): a transition seen once
# is evidence, not certainty; its share approaches its frequency as the row fills. No other value
# beats 1 beyond noise on both trace sets (bench/mrr_noise.py --sweep-prior; README, Settings)
TRANSITION_PRIOR = 1.0
MIN_GRAD_PROB = 1e-3
SEP = "\x1f"

# features -------------------------------------------------------------------------------
FEATURES = (
    "bias",
    "rec1",
    "rec2",
    "rec3",
    "rec4",
    "rec7",
    "rec11",
    "sessVisits",
    "sessEdits",
    "firstInSession",
    "m1",
    "m1n",
    "m2",
    "m2n",
    "back",
    "freq",
    "cooc",
    "coocSession",
    "git",
    "gitn",
    "imports",
    "importedBy",
    "testPair",
    "sameDir",
    "nameLike",
    "prevSession",
    "refs",
    "refsW",
    "refBy",
    "ppr",
)
F = {name: i for i, name in enumerate(FEATURES)}
# recency rank -> feature (rank 0 unused; ranks past the list are "rec7")
_BUCKET_IDS = tuple(F[n] for n in ("rec1", "rec1", "rec2", "rec3", "rec4", "rec4", "rec4", "rec7"))
# the signal each feature belongs to, as reasons name them
_GROUP = tuple(
    "recency"
    if name.startswith(("rec", "sess"))
    else name[:-1]
    if name in ("m1n", "m2n", "gitn", "refsW")
    else name
    for name in FEATURES
)
_M1, _M1N, _M2, _M2N = F["m1"], F["m1n"], F["m2"], F["m2n"]
_COOC, _COOC_SESSION, _GIT, _GITN = F["cooc"], F["coocSession"], F["git"], F["gitn"]
_IMPORTS, _IMPORTED_BY, _TEST_PAIR = F["imports"], F["importedBy"], F["testPair"]
_SAME_DIR, _NAME_LIKE, _FREQ, _FIRST = F["sameDir"], F["nameLike"], F["freq"], F["firstInSession"]
_PREV_SESSION = F["prevSession"]
_REFS, _REFS_W, _REF_BY, _PPR = F["refs"], F["refsW"], F["refBy"], F["ppr"]
_REC11, _SESS_VISITS, _SESS_EDITS, _BACK = F["rec11"], F["sessVisits"], F["sessEdits"], F["back"]
_Feature = tuple[int, float]  # (feature index, value)
# shared features that are always 1.0
_BIAS = (F["bias"], 1.0)
_SAME_DIR_ONE, _FIRST_ONE, _REC11_ONE = (_SAME_DIR, 1.0), (_FIRST, 1.0), (_REC11, 1.0)
# recency rank (1..RECENT_CANDIDATES) -> its bucket feature
_RECENCY = tuple((_BUCKET_IDS[min(r, len(_BUCKET_IDS) - 1)], 1.0) for r in range(RECENT_CANDIDATES + 1))
# starting weights: recency first, then transitions, then association, then structure
PRIOR = {
    "bias": -1.0,
    "rec1": 2.0,
    "rec2": 1.5,
    "rec3": 1.0,
    "rec4": 0.5,
    "rec7": 0.25,
    "rec11": 0.1,
    "sessVisits": 0.5,
    "sessEdits": 0.25,
    "firstInSession": 0.0,
    "m1": 2.0,
    "m1n": 0.25,
    "m2": 1.0,
    "m2n": 0.25,
    "back": 0.5,
    "freq": 0.5,
    "cooc": 1.0,
    "coocSession": 1.0,
    "git": 1.0,
    "gitn": 0.1,
    "imports": 0.5,
    "importedBy": 0.5,
    "testPair": 1.0,
    "sameDir": 0.25,
    "nameLike": 0.5,
    "prevSession": 0.0,  # no prior either way: learnt from the hits and misses
    # references: no prior either way (like prevSession), learnt from the hits and misses
    "refs": 0.0,
    "refsW": 0.0,
    "refBy": 0.0,
    "ppr": 0.0,
}


class ModelFormatError(ValueError):
    """A stored model is of another version or corrupt; the caller rebuilds it."""


@attrs.frozen
class Prediction:
    path: str
    probability: float
    reason: str


class StructureProvider(Protocol):
    def imports_of(self, path: str) -> list[str]: ...

    def files(self) -> Iterable[str]: ...


# names ----------------------------------------------------------------------------------
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_TEST_PATTERNS = (
    re.compile(r"^test_(?P<stem>.+)$"),
    re.compile(r"^(?P<stem>.+)_test$"),
    re.compile(r"^(?P<stem>.+?)Tests?$"),
    re.compile(r"^Test(?P<stem>[A-Z].*)$"),
    re.compile(r"^(?P<stem>.+)\.(test|spec)$"),
)


def split_name(path: str) -> tuple[str, str]:
    """(directory, basename without extension)."""
    d, base = os.path.split(path)
    stem, _ = os.path.splitext(base)
    return d, stem


def pair_stem(path: str) -> tuple[str, bool]:
    """The implementation stem a file stands for (with its extension) and whether it is a test."""
    _, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    return _pair_stem(stem, ext)


def _pair_stem(stem: str, ext: str) -> tuple[str, bool]:
    if "test" in stem or "Test" in stem or "spec" in stem:  # (every pattern holds one of them)
        for pattern in _TEST_PATTERNS:
            m = pattern.match(stem)
            if m:
                return m.group("stem") + ext, True
    return stem + ext, False


def name_tokens(path: str) -> tuple[str, ...]:
    """The distinct lower-case word tokens of a file name, in order (deterministic, unlike a set)."""
    _, stem = split_name(path)
    return _stem_tokens(stem)


def _stem_tokens(stem: str) -> tuple[str, ...]:
    # _CAMEL matches letters and digits only, so over the whole stem it finds what it finds in
    # each of the stem's runs of letters and digits
    # (not interned: the name index keeps the first copy of a token as its key, the others go)
    return tuple(dict.fromkeys([t.lower() for t in _CAMEL.findall(stem)]))


# A name index maps a key (stem, token) to the files that have it: most keys have one file,
# held as the path itself (a dict per key cost 11 MB of a 50,000-file workspace's 45 MB).
_NameIndex = dict[str, "str | dict[str, None]"]


def _members(index: _NameIndex, key: str) -> Collection[str]:
    found = index.get(key)
    if found is None:
        return ()
    return (found,) if isinstance(found, str) else found


def _member_add(index: _NameIndex, key: str, path: str) -> None:
    found = index.get(key)
    if found is None:
        index[key] = path
    elif isinstance(found, str):
        if found != path:
            index[key] = {found: None, path: None}
    else:
        found[path] = None


def _member_drop(index: _NameIndex, key: str, path: str) -> None:
    found = index.get(key)
    if isinstance(found, str):
        if found == path:
            del index[key]
    elif found is not None:
        found.pop(path, None)


IndexEntry = tuple[str, str, str, tuple[str, ...]]  # path, directory, pair stem, name tokens


def index_entry(path: str) -> IndexEntry:
    """What indexing ``path`` adds to a predictor's name indexes (a pure function of the path)."""
    d, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    return path, d, _pair_stem(stem, ext)[0], _stem_tokens(stem)


def _meta_of(path: str) -> tuple[str, str, bool]:
    """(directory, test/implementation pair stem, is a test); directories interned (shared by
    the files in them)."""
    d, _ = split_name(path)
    stem, is_test = pair_stem(path)
    return sys.intern(d), stem, is_test


def _base(path: str) -> str:
    return os.path.basename(path)


def _times(n: float) -> str:
    count = round(n)
    return "once" if count == 1 else f"{count} times"


def _ago(seconds: float) -> str:
    if seconds < 60:
        return "visited just now"
    if seconds < 3600:
        return f"visited {int(seconds // 60)} min ago"
    return f"visited {int(seconds // 3600)} h ago"


def _git_row_top(row: dict[str, int]) -> list[tuple[str, int]]:
    """A co-change row's TOP_COOC most frequent partners, most frequent first."""
    return sorted(row.items(), key=lambda kv: -kv[1])[:TOP_COOC]


def _bump(row: dict[str, list[float]], key: str, tick: int, cap: int = 0) -> int:
    """Count ``key`` in ``row``; returns the change in the number of entries.

    A row may grow to twice ``cap`` (default ``MAX_ROW``); then it is cut back to the ``cap``
    most used entries at once (amortised O(log n) per insert).
    """
    entry = row.get(key)
    if entry is not None:
        entry[0] += 1
        entry[1] = tick
        return 0
    row[key] = [1, tick]
    cap = cap or MAX_ROW
    if len(row) < 2 * cap:
        return 1
    keep = sorted(row.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))[:cap]
    dropped = len(row) - cap
    row.clear()
    row.update(keep)
    return 1 - dropped


def _by_count(kv: tuple[str, list[float]]) -> float:
    return kv[1][0]


# sort by this with reverse=True: highest value first, ties in their order (sorting is
# stable in reverse too), without a Python call per item
_VALUE = itemgetter(1)


@attrs.define
class _Scored:
    """The last ranking made, kept so the next observation can learn from it."""

    context: tuple[int, str | None]
    paths: list[str]
    feats: list[list[tuple[int, float]]]
    probs: list[float]
    total: float
    # the explained top k already named, per k: everything a reason reads (tables, weights, the
    # session, the structure) changes only with a new ranking, so it holds as long as this one
    named: dict[int, list[Prediction]] = attrs.field(factory=dict)


class CoChangeTable:
    """The git co-change table (files changed in the same commits), built from commits one at
    a time without touching a model, then swapped in with :meth:`Predictor.set_cochange`."""

    def __init__(self, max_files: int = 30) -> None:
        self.max_files = max_files
        self.rows: dict[str, dict[str, int]] = {}  # a -> {c: commits with both}
        self.counts: dict[str, int] = {}  # a -> commits with a
        self.top: dict[str, list[tuple[str, int]]] = {}

    def add(self, files: Iterable[str], size: int | None = None) -> None:
        """One commit's files; ``size`` is how many it touched when ``files`` holds only some
        (a commit of more than ``max_files`` is counted but is no co-change evidence)."""
        uniq = sorted(set(files))
        counts = self.counts
        for a in uniq:
            counts[a] = counts.get(a, 0) + 1
        if len(uniq) < 2 or max(len(uniq), size or 0) > self.max_files:
            return
        for a in uniq:
            row = self.rows.setdefault(a, {})
            for c in uniq:
                if c != a:
                    row[c] = row.get(c, 0) + 1

    def finish(self) -> CoChangeTable:
        """Cap the rows and rank each row's best partners; returns self."""
        for a, row in self.rows.items():
            if len(row) > MAX_ROW:
                self.rows[a] = dict(sorted(row.items(), key=lambda kv: -kv[1])[:MAX_ROW])
        self.top = {a: _git_row_top(row) for a, row in self.rows.items()}
        return self


class Predictor:
    def __init__(
        self,
        *,
        max_bytes: int = 10_000_000,
        structure: StructureProvider | None = None,
        transition_prior: float = TRANSITION_PRIOR,
    ) -> None:
        self.max_bytes = max_bytes
        self.structure = structure
        self.transition_prior = transition_prior  # another value only for bench/mrr_noise.py's sweep
        # path -> [visits, last time, last tick, edits, sessions]
        self._files: dict[str, list[float]] = {}
        self._m1: dict[str, dict[str, list[float]]] = {}  # a -> {c: [count, tick]}
        self._m1_total: dict[str, float] = {}
        self._m2: dict[str, dict[str, list[float]]] = {}  # b SEP a -> {c: [count, tick]}
        self._m2_total: dict[str, float] = {}
        self._cooc: dict[str, dict[str, list[float]]] = {}  # a -> {c: [sessions, tick]}
        self._git: dict[str, dict[str, int]] = {}  # a -> {c: commits with both}
        self._git_top: dict[str, list[tuple[str, int]]] = {}  # a -> its TOP_COOC best, sorted
        self._git_n: dict[str, int] = {}
        self._entries = 0
        self._file_bytes = 0
        self._tick = 0
        self._max_visits = 1.0
        self.weights = [PRIOR[name] for name in FEATURES]
        self._grad2 = [1.0] * len(FEATURES)
        # name indexes (rebuilt, not persisted); dicts as ordered sets, so that iteration, and
        # with it tie-breaking, does not depend on the process's string hash seed
        self._by_stem: _NameIndex = {}
        self._by_dir: dict[str, dict[str, None]] = {}  # directory -> its indexed files (see _indexed)
        self._by_token: _NameIndex = {}
        self._n_indexed = 0  # files indexed (each is in its directory's row of _by_dir)
        self._metas: dict[str, tuple[str, str, bool]] = {}
        self._index_version = 0
        self._like_cache: dict[str, tuple[int, list[tuple[str, float]]]] = {}
        self._structure_seen = -1
        self._structure_checked = -(10**9)
        # session state (not persisted)
        self._session: OrderedDict[str, list[float]] = OrderedDict()  # path -> [visits, edits, t]
        self._last_session: list[str] = []  # the last session's final files, most recent first
        self._current: str | None = None
        self._previous: str | None = None
        self._last_t: float | None = None
        self._context = 0  # bumps on every switch / session start
        self._scored: _Scored | None = None
        self._tops: dict[tuple[int, str], list[tuple[str, _Feature, _Feature]]] = {}
        self.hits = 0
        self.misses = 0
        self._continued = 0  # switches inside a session
        self._ended = 0  # sessions that ended after at least one access

    # learning ---------------------------------------------------------------------
    def start_session(self) -> None:
        """A new session: recency starts over; what was learnt stays.

        Sessions ending are counted: a prediction's probability is that of the
        session going on times that of the file given it does, so probabilities
        stay calibrated for "the next file" where sessions are short (commits).
        """
        if self._current is not None:
            self._ended += 1
        if self._session:
            last = self._last_session = []
            for c in reversed(self._session):
                last.append(c)
                if len(last) >= RECENT_CANDIDATES:
                    break
        self._session.clear()
        self._current = None
        self._previous = None
        self._context += 1
        self._scored = None

    def observe(self, path: str, t: float | None = None, kind: str = "open") -> None:
        now = time.time() if t is None else t
        if self._last_t is not None and now - self._last_t > SESSION_GAP:
            self.start_session()
        self._last_t = now
        self._tick += 1
        info = self._files.get(path)
        if info is None:
            info = self._files[path] = [0, now, self._tick, 0, 0]
            self._file_bytes += len(path) + FILE_BYTES
            self._index(path)
        info[1], info[2] = now, self._tick
        edit = 1 if kind == "edit" else 0
        info[3] += edit
        prev = self._current
        if prev == path:
            s = self._session.get(path)
            if s is not None:
                s[1] += edit
                s[2] = now
            return
        self._learn(path)
        if prev is not None:
            self._continued += 1
        info[0] += 1
        self._max_visits = max(self._max_visits, info[0])
        if prev is not None:
            self._count(self._m1, self._m1_total, prev, path)
            if self._previous is not None:
                self._count(self._m2, self._m2_total, self._previous + SEP + prev, path)
        s = self._session.get(path)
        if s is None:
            info[4] += 1
            self._pair_with_session(path)
            s = self._session[path] = [0, 0, now]
            if len(self._session) > MAX_SESSION:
                self._session.popitem(last=False)
        s[0] += 1
        s[1] += edit
        s[2] = now
        self._session.move_to_end(path)
        self._touch_dir(path)
        self._previous, self._current = prev, path
        self._context += 1
        self._scored = None
        if self._bytes() > self.max_bytes:
            self._prune()

    def _count(
        self, table: dict[str, dict[str, list[float]]], totals: dict[str, float], key: str, c: str
    ) -> None:
        row = table.get(key)
        if row is None:
            row = table[key] = {}
        self._entries += _bump(row, c, self._tick)
        totals[key] = totals.get(key, 0.0) + 1
        self._tops.pop((id(table), key), None)

    def _successors(
        self,
        table: dict[str, dict[str, list[float]]],
        totals: dict[str, float],
        key: str,
        share: int,
        count: int,
    ) -> list[tuple[str, _Feature, _Feature]]:
        """The ``TOP_NEXT`` most used entries of a row with their two features (the entry's
        share of the row's total, the log of its count); all entries, in row order, if the row
        is no longer. Memoised for long rows until the row changes."""
        row = table.get(key)
        if not row:
            return []
        memo = None
        if len(row) <= TOP_NEXT:
            entries: Iterable[tuple[str, list[float]]] = row.items()
        else:
            memo = (id(table), key)
            best = self._tops.get(memo)
            if best is not None:
                return best
            # heapq.nlargest(TOP_NEXT, ...), ties in row order; sorting is faster at these sizes
            entries = sorted(row.items(), key=_by_count, reverse=True)[:TOP_NEXT]
        total = totals.get(key, 1.0) + self.transition_prior
        log1p = math.log1p
        out = [(c, (share, e[0] / total), (count, log1p(e[0]))) for c, e in entries]
        if memo is not None:
            self._tops[memo] = out
        return out

    def _pair_with_session(self, path: str) -> None:
        """A first visit in this session co-occurs with the session's recent files."""
        for n, other in enumerate(reversed(self._session)):
            if n >= COOC_WINDOW:
                break
            for a, c in ((other, path), (path, other)):
                row = self._cooc.get(a)
                if row is None:
                    row = self._cooc[a] = {}
                self._entries += _bump(row, c, self._tick, COOC_ROW)

    def _learn(self, target: str | None) -> None:
        """One online step on the log-likelihood of ``target`` under the last ranking
        (``None``: nothing offered came next)."""
        if self._current is None:
            return
        scored = self._scored
        if scored is None or scored.context != (self._context, self._current):
            scored = self._score(self._current, self._previous)
        if not scored.paths:
            return
        index = scored.paths.index(target) if target in scored.paths else -1
        grad = [0.0] * len(FEATURES)
        for p, feats in zip(scored.probs, scored.feats, strict=True):
            if p > MIN_GRAD_PROB:  # the rest move the weights by less than rounding
                for i, v in feats:
                    grad[i] -= p * v
        if index >= 0:
            for i, v in scored.feats[index]:
                grad[i] += v
            mine = scored.probs[index]
            if sum(1 for p in scored.probs if p > mine) < 3:
                self.hits += 1
            else:
                self.misses += 1
        else:
            self.misses += 1
        w, g2 = self.weights, self._grad2
        for i, g in enumerate(grad):
            if g:
                g2[i] += g * g
                w[i] += LEARNING_RATE * g / math.sqrt(g2[i])

    # co-change --------------------------------------------------------------------
    def load_cochange(self, commits: list[list[str]], max_files: int = 30) -> None:
        """Learn which files changed together in the git history (replaces earlier loads).

        Commits touching more than ``max_files`` files (mass renames, formatting) are skipped.
        """
        table = CoChangeTable(max_files)
        for files in commits:
            table.add(files)
        self.set_cochange(table.finish())

    def set_cochange(self, table: CoChangeTable, unindexed: Iterable[str] | None = None) -> None:
        """Swap in a co-change table built elsewhere (outside the engine's lock). ``unindexed``:
        the table's paths that :meth:`unindexed` found not indexed, without the lock (they are
        checked again here); by default every path of the table is checked here."""
        self._git = table.rows
        self._git_n = table.counts
        self._git_top = table.top
        for path in self.unindexed(table.counts) if unindexed is None else unindexed:
            self._index(path)  # (which skips a path indexed since ``unindexed`` was found)
        self._scored = None

    def unindexed(self, paths: Iterable[str]) -> list[str]:
        """The paths not indexed (the engine's files are). Only reads: a thread may call it
        without the engine's lock, then pass the result to :meth:`set_cochange` under the
        lock, which checks them again (a path indexed meanwhile is skipped there). For 50,000
        paths this is about 40 ms the editor's events no longer wait for."""
        indexed = self._indexed
        return [p for p in paths if not indexed(p)]

    def index_files(self, paths: Iterable[str]) -> None:
        """Index files of the structure provider now. The engine calls it (or
        :meth:`index_entries`), one slice at a time, for every file it adds to the provider, so
        that predicting never indexes a whole workspace at once (50,000 files took 0.5 s)."""
        self.index_entries(index_entry(path) for path in paths if not self._indexed(path))

    def index_entries(self, entries: Iterable[IndexEntry]) -> None:
        """:meth:`index_files` with the entries computed beforehand (:func:`index_entry`, which
        needs no lock): what is left is a few dictionary inserts per file."""
        for entry in entries:
            self._add_entry(entry)
        if self.structure is not None:
            files = self.structure.files()
            if isinstance(files, Sized):
                self._structure_seen = len(files)
        self._scored = None

    def _refresh_git_top(self) -> None:
        self._git_top = {a: _git_row_top(row) for a, row in self._git.items()}

    # indexes ----------------------------------------------------------------------
    def _indexed(self, path: str) -> bool:
        """Whether ``path`` is indexed: in its directory's row (a set of the indexed paths
        besides was 2 MB of a 50,000-file workspace)."""
        same = self._by_dir.get(os.path.split(path)[0])
        return same is not None and path in same

    def _meta(self, path: str) -> tuple[str, str, bool]:
        """(directory, test/implementation pair stem, is a test) of a path, memoised."""
        meta = self._metas.get(path)
        if meta is None:
            if len(self._metas) > 4 * self._n_indexed + 4096:
                self._metas = {p: m for p, m in self._metas.items() if self._indexed(p)}
            meta = self._metas[path] = _meta_of(path)
        return meta

    def _touch_dir(self, path: str) -> None:
        """Keep each directory's files in order of last visit."""
        same = self._by_dir.get(self._meta(path)[0])
        if same is not None and path in same:
            del same[path]
            same[path] = None

    def _index(self, path: str) -> None:
        if not self._indexed(path):
            self._add_entry(index_entry(path))

    def _add_entry(self, entry: IndexEntry) -> None:
        path, d, stem, tokens = entry
        same = self._by_dir.get(d)
        if same is None:
            same = self._by_dir[d] = {}
        elif path in same:
            return
        same[path] = None
        self._n_indexed += 1
        self._index_version += 1
        _member_add(self._by_stem, stem, path)
        for tok in tokens:
            _member_add(self._by_token, tok, path)

    def _unindex(self, path: str) -> None:
        self._structure_left(path)
        if not self._indexed(path):
            return
        self._n_indexed -= 1
        self._index_version += 1
        d, stem, _ = _meta_of(path)
        _member_drop(self._by_stem, stem, path)
        self._by_dir[d].pop(path)
        self._metas.pop(path, None)
        for tok in name_tokens(path):
            _member_drop(self._by_token, tok, path)

    def _structure_left(self, path: str) -> None:
        """``path`` leaves the index: if the provider lost it (and only it) since it was last
        counted, it is counted as gone, so that the next check does not walk all its files."""
        files = self.structure.files() if self.structure is not None else None
        seen = self._structure_seen
        if isinstance(files, Collection) and path not in files and len(files) == seen - 1:
            self._structure_seen = seen - 1

    def _sync_structure(self) -> None:
        """Index the provider's files when their number changed (checked now and then)."""
        if self.structure is None or self._tick - self._structure_checked < 64:
            return
        self._structure_checked = self._tick
        try:
            files = self.structure.files()
            size = len(files) if isinstance(files, Sized) else -2
            if size == self._structure_seen:
                return
            for path in list(files):
                self._index(path)
            self._structure_seen = size
        except Exception as exc:  # the provider is the engine's; never let it break us
            log.debug("structure provider failed: %s", exc)

    def _structure_lists(self, a: str) -> tuple[list[str], list[str]]:
        if self.structure is None:
            return [], []
        try:
            imports = list(self.structure.imports_of(a))[:MAX_STRUCTURE]
            importers_of = getattr(self.structure, "importers_of", None)
            importers = list(importers_of(a))[:MAX_STRUCTURE] if importers_of else []
        except Exception as exc:
            log.debug("structure provider failed: %s", exc)
            return [], []
        return imports, importers

    def _reference_features(
        self, feats: dict[str, list[tuple[int, float]]], a: str, ranks: dict[str, int]
    ) -> tuple[set[str], set[str], float] | None:
        """Candidates from the provider's reference graph, if it has one; returns the files
        given the refs and refBy features, and the heaviest reference's weight."""
        structure = self.structure
        refs_of = getattr(structure, "references_of", None)
        if refs_of is None:
            return None
        try:
            refs = refs_of(a, MAX_REFS)
            referrers = structure.referrers_of(a, MAX_REFS // 2)  # type: ignore[union-attr]
            seeds = {a: 1.0 + math.log1p(self._session[a][0]) if a in self._session else 1.0}
            for c, r in ranks.items():
                if r < PPR_SEEDS:
                    seeds[c] = (1.0 + math.log1p(self._session[c][0])) / (r + 1)
            ranked = structure.ranked_from(seeds, MAX_REFS // 2)  # type: ignore[union-attr]
        except Exception as exc:
            log.debug("structure provider failed: %s", exc)
            return None
        top = refs[0][1] if refs else 1.0
        for c, weight in refs:
            row = feats.get(c)
            if row is None:
                row = feats[c] = [_BIAS]
            row.append((_REFS, 1.0))
            row.append((_REFS_W, weight / top))
        for c, _ in referrers:
            self._add(feats, c, _REF_BY, 1.0)
        for c, score in ranked:
            self._add(feats, c, _PPR, score)
        return {c for c, _ in refs}, {c for c, _ in referrers}, top

    def _edge_features(
        self,
        feats: dict[str, list[tuple[int, float]]],
        a: str,
        refs: set[str],
        referrers: set[str],
        top: float,
    ) -> None:
        """The reference features of candidates gathered by other signals (a recent file the
        current file refers to, past the few taken from the graph), so that a feature means the
        same whichever signal brought the candidate."""
        weight_of = getattr(self.structure, "reference_weight", None)
        if weight_of is None:
            return
        for c, row in feats.items():
            if c == a:
                continue
            if c not in refs:
                w = weight_of(a, c)
                if w > 0:
                    row.append((_REFS, 1.0))
                    row.append((_REFS_W, min(w / top, 1.0)))
            if c not in referrers and weight_of(c, a) > 0:
                row.append((_REF_BY, 1.0))

    def _name_like(self, a: str) -> list[tuple[str, float]]:
        """Files whose names share rare tokens with ``a``: idf-weighted overlap in [0, 1].

        Cached per file until more than 1/16 of the known names changed.
        """
        cached = self._like_cache.get(a)
        if cached is not None and (self._index_version - cached[0]) * 16 <= self._n_indexed:
            return cached[1]
        if len(self._like_cache) > 4096:
            self._like_cache.clear()
        toks = name_tokens(a)
        n = max(self._n_indexed, 2)
        idf = {t: math.log(n / max(len(_members(self._by_token, t)), 1)) for t in toks}
        norm = sum(idf.values())
        scores: dict[str, float] = {}
        if norm > 0:
            for tok in toks:
                members = _members(self._by_token, tok)
                if idf[tok] <= 0 or len(members) > 64:
                    continue
                for c in members:
                    if c != a:
                        scores[c] = scores.get(c, 0.0) + idf[tok] / norm
        best = sorted(scores.items(), key=_VALUE, reverse=True)[:MAX_STRUCTURE]
        self._like_cache[a] = (self._index_version, best)
        return best

    # scoring ----------------------------------------------------------------------
    def _score(self, a: str, b: str | None) -> _Scored:
        """Gather candidates for the context (a, b), their features, scores and probabilities.

        The hot path of every prediction: written with local bindings and without helper
        calls per candidate. A candidate's features are listed in the order the signals
        are gathered, which also fixes the order their weighted sum is added up in.
        """
        self._sync_structure()
        feats: dict[str, list[tuple[int, float]]] = {}
        session = self._session
        files = self._files
        cooc = self._cooc
        log1p = math.log1p
        get = feats.get

        # recency in this session: the most recent files by rank
        ranks: dict[str, int] = {}
        rank = 0
        for c in reversed(session):
            if c != a:
                rank += 1
                ranks[c] = rank
                feats[c] = [_BIAS, _RECENCY[rank]]
                if rank >= RECENT_CANDIDATES:
                    break
        # transitions: first order, second order
        successors = self._successors(self._m1, self._m1_total, a, _M1, _M1N)
        if b is not None:
            successors = successors + self._successors(self._m2, self._m2_total, b + SEP + a, _M2, _M2N)
        for c, share, count in successors:
            row_f = get(c)
            if row_f is None:
                feats[c] = [_BIAS, share, count]
            else:
                row_f.append(share)
                row_f.append(count)
        # co-occurrence in sessions: with a, and with the session's other recent files
        info_a = files.get(a)
        row = cooc.get(a)
        if row and info_a:
            n_a = max(info_a[4], 1.0)
            for c, e in row.items():
                value = e[0] / n_a
                if value > 1.0:
                    value = 1.0
                row_f = get(c)
                if row_f is None:
                    feats[c] = [_BIAS, (_COOC, value)]
                else:
                    row_f.append((_COOC, value))
        context = [c for c in ranks if ranks[c] <= SESSION_CONTEXT]
        if context:
            pooled: dict[str, float] = {}
            for f in context:
                row = cooc.get(f)
                info_f = files.get(f)
                if not row or not info_f:
                    continue
                n_f = max(info_f[4], 1.0)
                pooled_get = pooled.get
                for c, e in row.items():
                    value = e[0] / n_f
                    pooled[c] = pooled_get(c, 0.0) + (value if value <= 1.0 else 1.0)
            scale = 1.0 / len(context)
            # by value, highest first, ties in order
            for c, v in sorted(pooled.items(), key=_VALUE, reverse=True)[:TOP_COOC]:
                if c not in session and c != a:
                    row_f = get(c)
                    if row_f is None:
                        feats[c] = [_BIAS, (_COOC_SESSION, v * scale)]
                    else:
                        row_f.append((_COOC_SESSION, v * scale))
        # git co-change
        grow = self._git_top.get(a)
        if grow:
            n_a = max(self._git_n.get(a, 1), 1)
            for c, n in grow:
                self._add(feats, c, _GIT, min(n / n_a, 1.0))
                feats[c].append((_GITN, log1p(n)))
        # structure
        imports, importers = self._structure_lists(a)
        for c in imports:
            self._add(feats, c, _IMPORTS, 1.0)
        for c in importers:
            self._add(feats, c, _IMPORTED_BY, 1.0)
        linked = self._reference_features(feats, a, ranks)
        d, stem, is_test = self._meta(a)
        for c in _members(self._by_stem, stem):
            if c != a and self._meta(c)[2] != is_test:
                self._add(feats, c, _TEST_PAIR, 1.0)
        # an indexed file is in its directory's index; others are looked at by name
        same = self._by_dir.get(d)
        in_dir = same if same is not None else {}
        indexed = self._indexed
        for c, row_f in feats.items():
            if c in in_dir or (not indexed(c) and self._meta(c)[0] == d):
                row_f.append(_SAME_DIR_ONE)
        if same:
            fresh = 0
            for c in reversed(same):  # most recently visited first
                if fresh >= MAX_STRUCTURE:
                    break
                if c not in feats and c != a:
                    fresh += 1
                    feats[c] = [_BIAS, _SAME_DIR_ONE]
        for c, v in self._name_like(a):
            self._add(feats, c, _NAME_LIKE, v)
        # where the last session stopped (a file already in this one has its own recency)
        for r, c in enumerate(self._last_session, 1):
            if c not in session:
                self._add(feats, c, _PREV_SESSION, 1.0 / r)
        if linked is not None:
            self._edge_features(feats, a, *linked)
        feats.pop(a, None)
        w = self.weights
        # the score of each candidate's signals so far, summed in feature order; the
        # features added below continue these sums (the same additions, in the same order)
        partial: dict[str, float] = {}
        for c, row_f in feats.items():
            score = 0.0
            for i, v in row_f:
                score += w[i] * v
            partial[c] = score
        if len(feats) > MAX_CANDIDATES:
            # keep the candidates whose signals so far score best; the rest cannot reach the top
            # (what heapq.nlargest returns, ties in order; faster at these sizes)
            paths = sorted(partial, key=partial.__getitem__, reverse=True)[:MAX_CANDIDATES]
        else:
            paths = list(feats)
        # features of every candidate from whole-workspace state; scores
        log_max = log1p(self._max_visits)
        m1, m1_total = self._m1, self._m1_total
        out_feats: list[list[tuple[int, float]]] = []
        scores: list[float] = []
        w_freq, w_first, w_rec11 = w[_FREQ], w[_FIRST], w[_REC11]
        w_visits, w_edits, w_back = w[_SESS_VISITS], w[_SESS_EDITS], w[_BACK]
        for c in paths:
            row_f = feats[c]
            score = partial[c]
            info = files.get(c)
            if info is not None and info[0]:
                v = log1p(info[0]) / log_max
                row_f.append((_FREQ, v))
                score += w_freq * v
            sc = session.get(c)
            if sc is None:
                row_f.append(_FIRST_ONE)
                score += w_first  # x 1.0
            else:
                if c not in ranks:
                    row_f.append(_REC11_ONE)
                    score += w_rec11  # x 1.0
                v = log1p(sc[0])
                row_f.append((_SESS_VISITS, v))
                score += w_visits * v
                if sc[1]:
                    v = log1p(sc[1])
                    row_f.append((_SESS_EDITS, v))
                    score += w_edits * v
            back = m1.get(c)
            if back is not None:
                ret = back.get(a)
                if ret is not None:
                    v = ret[0] / m1_total.get(c, 1.0)
                    row_f.append((_BACK, v))
                    score += w_back * v
            out_feats.append(row_f)
            scores.append(score)
        top = max(0.0, max(scores, default=0.0))
        exp = math.exp
        exps = [exp(x - top) for x in scores]
        total = exp(-top) + sum(exps)
        probs = [e / total for e in exps]
        return _Scored((self._context, a), paths, out_feats, probs, total)

    @staticmethod
    def _add(feats: dict[str, list[tuple[int, float]]], c: str, i: int, value: float) -> None:
        row = feats.get(c)
        if row is None:
            feats[c] = [_BIAS, (i, value)]
        else:
            row.append((i, value))

    # predicting -------------------------------------------------------------------
    def recent(self, n: int) -> list[str]:
        """The session's files by last visit, most recent first, the current file included."""
        out: list[str] = []
        for c in reversed(self._session):
            if len(out) >= n:
                break
            out.append(c)
        return out

    def in_session(self, path: str) -> bool:
        return path in self._session

    def structure_changed(self) -> None:
        """The structure provider's answers changed (a file's imports were learnt, a file
        went): the next prediction ranks afresh instead of reusing the last ranking."""
        self._scored = None

    def predict(self, k: int = 5, current: str | None = None, *, explain: bool = True) -> list[Prediction]:
        """The k most likely next files after ``current`` (default: the file accessed last).

        ``explain=False`` leaves ``reason`` empty: the prefetcher needs only the ranking, and
        naming the signals costs about a sixth of a prediction.
        """
        if k <= 0:
            return []
        a = self._current if current is None else current
        if a is None:
            return self._cold(k)
        b = self._previous if a == self._current else None
        scored = self._scored
        if scored is None or scored.context != (self._context, a):
            scored = self._score(a, b)
            if a == self._current:
                self._scored = scored
        # (with no observation yet, a recency reason would be told against the clock, not kept)
        kept = explain and scored is self._scored and self._last_t is not None
        if kept and k in scored.named:
            return list(scored.named[k])
        order = sorted(range(len(scored.paths)), key=scored.probs.__getitem__, reverse=True)[:k]
        go_on = (self._continued + 1) / (self._continued + self._ended + 2)
        out = [
            Prediction(
                scored.paths[j], go_on * scored.probs[j], self._reason(a, b, scored, j) if explain else ""
            )
            for j in order
        ]
        if len(out) < k:
            taken = {p.path for p in out} | {a}
            out.extend(p for p in self._cold(k + len(taken)) if p.path not in taken)
        if kept:
            scored.named[k] = out[:k]
        return out[:k]

    def _cold(self, k: int) -> list[Prediction]:
        """No context: the session's files by recency, then the most visited files."""
        out: list[Prediction] = []
        now = self._last_t if self._last_t is not None else time.time()
        for c in reversed(self._session):
            if len(out) >= k:
                return out
            if c != self._current:
                out.append(Prediction(c, 0.0, _ago(now - self._session[c][2])))
        taken = {p.path for p in out}
        if self._current is not None:
            taken.add(self._current)
        best = sorted(self._files.items(), key=lambda kv: -kv[1][0])
        for c, info in best:
            if len(out) >= k:
                break
            if c not in taken and info[0] > 0:
                out.append(Prediction(c, 0.0, f"opened {_times(info[0])}"))
        return out

    def _reason(self, a: str, b: str | None, scored: _Scored, j: int) -> str:
        """Name the signals that ranked candidate j, strongest first."""
        c = scored.paths[j]
        contrib: dict[str, float] = {}
        get = contrib.get
        w = self.weights
        for i, v in scored.feats[j]:
            group = _GROUP[i]
            contrib[group] = get(group, 0.0) + w[i] * v
        texts: list[str] = []
        for group, value in sorted(contrib.items(), key=_VALUE, reverse=True):
            if value <= 0 or len(texts) >= 3:
                break
            text = self._signal_text(group, a, b, c)
            if text:
                texts.append(text)
        return "; ".join(texts) if texts else "predicted"

    def _signal_text(self, group: str, a: str, b: str | None, c: str) -> str | None:
        if group == "m1":
            e = self._m1.get(a, {}).get(c)
            return f"followed {a} {_times(e[0])}" if e else None
        if group == "m2" and b is not None:
            e = self._m2.get(b + SEP + a, {}).get(c)
            return f"followed {b} then {a} {_times(e[0])}" if e else None
        if group == "recency":
            s = self._session.get(c)
            if s is None:
                return None
            now = self._last_t if self._last_t is not None else time.time()
            return _ago(max(0.0, now - s[2]))
        if group == "back":
            e = self._m1.get(c, {}).get(a)
            return f"led to {a} {_times(e[0])}" if e else None
        if group == "freq":
            info = self._files.get(c)
            return f"opened {_times(info[0])}" if info else None
        if group == "cooc":
            e = self._cooc.get(a, {}).get(c)
            if not e:
                return None
            n = int(e[0])
            return f"opened with {a} in {n} session{'s' if n != 1 else ''}"
        if group == "coocSession":
            return "opened with this session's files before"
        if group == "git":
            commits = self._git.get(a, {}).get(c)
            if not commits:
                return None
            return f"changed with {a} in {commits} commit{'s' if commits != 1 else ''}"
        if group == "imports":
            return f"imported by {a}"
        if group == "importedBy":
            return f"imports {a}"
        if group == "testPair":
            return f"test of {a}" if pair_stem(c)[1] else f"tested by {a}"
        if group == "prevSession":
            return "open when the last session ended"
        if group in ("refs", "refBy", "ppr"):
            return self._reference_text(group, a, c)
        if group == "sameDir":
            return f"same directory as {a}"
        if group == "nameLike":
            return f"name like {a}"
        return None

    def _reference_text(self, group: str, a: str, c: str) -> str | None:
        names_of = getattr(self.structure, "reference_names", None)
        if names_of is None:
            return None
        if group == "refs":
            names = names_of(a, c)
            return f"defines {', '.join(names[:3])}, used here" if names else f"imported by {_base(a)}"
        if group == "refBy":
            names = names_of(c, a)
            return f"uses {', '.join(names[:3])} of {_base(a)}" if names else f"imports {_base(a)}"
        # ppr: name the session file most tied to c
        for s in [a, *reversed(self._session)]:
            if s == c:
                continue
            if names_of(s, c):
                return f"used by {_base(s)}"
            if names_of(c, s):
                return f"uses {_base(s)}"
        return "near this session's files in the reference graph"

    # maintenance ------------------------------------------------------------------
    def _bytes(self) -> int:
        """An upper estimate of the size of ``json.dumps(self.to_json())``.

        An entry is at most three file indexes, a count and a tick, with ", " between.
        """
        index_digits = len(str(len(self._files)))
        entry = 3 * index_digits + len(str(self._tick)) + ENTRY_BYTES
        return self._file_bytes + entry * self._entries + HEADER_BYTES

    def _tables(self) -> list[tuple[dict[str, dict[str, list[float]]], dict[str, float] | None]]:
        return [(self._m1, self._m1_total), (self._m2, self._m2_total), (self._cooc, None)]

    def _prune(self) -> None:
        """Drop the least valuable entries, then unreferenced old files, to 3/4 of the budget.

        An entry's value is its count halved for every ``HALF_LIFE`` observations since
        it was last used, so old habits go first and frequent recent ones stay. Second-order
        and co-occurrence entries count half: the first-order chain backs them off.
        """
        goal = self.max_bytes * 3 // 4
        now = float(self._tick)
        ranked: list[tuple[float, int, str, str]] = []
        for t, (table, _) in enumerate(self._tables()):
            worth = 1.0 if t == 0 else 0.5
            for key, row in table.items():
                for c, e in row.items():
                    value = worth * e[0] * math.exp(-LN2 * (now - e[1]) / HALF_LIFE)
                    ranked.append((value, t, key, c))
        ranked.sort()
        tables = self._tables()
        for _, t, key, c in ranked:
            if self._bytes() <= goal:
                break
            table, totals = tables[t]
            row = table[key]
            e = row.pop(c)
            self._entries -= 1
            if totals is not None:
                totals[key] = totals.get(key, 0.0) - e[0]
            if not row:
                del table[key]
                if totals is not None:
                    totals.pop(key, None)
        self._scored = None
        self._tops.clear()
        if self._bytes() <= goal:
            return
        referenced: set[str] = set(self._session)
        for table, _ in tables:
            for key, row in table.items():
                referenced.update(key.split(SEP))
                referenced.update(row)
        for path in sorted(self._files, key=lambda p: self._files[p][2]):
            if self._bytes() <= goal:
                break
            if path not in referenced and path != self._current:
                self._drop_file(path)

    def _drop_file(self, path: str) -> None:
        if self._files.pop(path, None) is not None:
            self._file_bytes -= len(path) + FILE_BYTES
        if path not in self._git_n:
            self._unindex(path)

    def forget(self, path: str) -> None:
        """The file is gone: drop everything learnt about it."""
        for table, totals in self._tables():
            for key in [k for k in table if path in k.split(SEP)]:
                self._entries -= len(table.pop(key))
                if totals is not None:
                    totals.pop(key, None)
            for key, row in table.items():
                e = row.pop(path, None)
                if e is not None:
                    self._entries -= 1
                    if totals is not None:
                        totals[key] = totals.get(key, 0.0) - e[0]
        self._git.pop(path, None)
        self._git_top.pop(path, None)
        self._git_n.pop(path, None)
        for a, grow in self._git.items():  # re-rank only the rows that held it
            if grow.pop(path, None) is not None:
                self._git_top[a] = _git_row_top(grow)
        self._drop_file(path)
        self._unindex(path)
        self._session.pop(path, None)
        if path in self._last_session:
            self._last_session.remove(path)
        if self._current == path:
            self._current = None
        if self._previous == path:
            self._previous = None
        self._scored = None
        self._tops.clear()

    def rename(self, old: str, new: str) -> None:
        """The file moved: what was learnt about ``old`` now belongs to ``new``."""
        if old == new:
            return
        if new in self._files:
            self.forget(new)

        def ren(key: str) -> str:
            return SEP.join(new if part == old else part for part in key.split(SEP))

        for table, totals in self._tables():
            for key in [k for k in table if old in k.split(SEP)]:
                table[ren(key)] = table.pop(key)
                if totals is not None and key in totals:
                    totals[ren(key)] = totals.pop(key)
            for row in table.values():
                if old in row:
                    row[new] = row.pop(old)
        if old in self._git:
            self._git[new] = self._git.pop(old)
            self._git_top[new] = self._git_top.pop(old)
        if old in self._git_n:
            self._git_n[new] = self._git_n.pop(old)
        for a, grow in self._git.items():  # re-rank only the rows that held it
            if old in grow:
                grow[new] = grow.pop(old)
                self._git_top[a] = _git_row_top(grow)
        info = self._files.pop(old, None)
        if info is not None:
            self._files[new] = info
            self._file_bytes += len(new) - len(old)
        self._unindex(old)
        self._index(new)
        if old in self._session:
            self._session = OrderedDict((new if p == old else p, v) for p, v in self._session.items())
        self._last_session = [new if p == old else p for p in self._last_session]
        if self._current == old:
            self._current = new
        if self._previous == old:
            self._previous = new
        self._scored = None
        self._tops.clear()

    # persistence ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        steps = self.json_steps()
        while True:
            try:
                next(steps)
            except StopIteration as done:
                result: dict[str, Any] = done.value
                return result

    def json_steps(self, rows: int = SAVE_SLICE) -> Generator[None, None, dict[str, Any]]:
        """``to_json`` in slices: the generator yields after every ``rows`` table rows and
        returns the document, so a caller that holds the model's lock only while it advances
        the generator lets the editor's events in between (a full model takes about half a
        second). Rows changed between slices are written as they are when their slice runs;
        only files known at the start are written, so the document is always consistent."""
        paths = list(self._files)
        index = {p: i for i, p in enumerate(paths)}
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "tick": self._tick,
            "sessions": [self._continued, self._ended],
            # rows as tuples of atomic values: the collector untracks such a tuple the first time
            # it sees it, so the ~50,000 rows of a full model never reach the old generation a
            # full collection walks (as lists they did, every save: a 25 ms full collection in
            # bench/long_session.py)
            "files": [
                (p, int(v[0]), round(v[1], 3), int(v[2]), int(v[3]), int(v[4]))
                for p, v in self._files.items()
            ],
            "m1": [],
            "m2": [],
            "cooc": [],
            "weights": {
                name: [round(self.weights[i], 6), round(self._grad2[i], 6)] for i, name in enumerate(FEATURES)
            },
        }

        def ids(key: str) -> tuple[int, ...] | None:
            parts = key.split(SEP)
            if all(p in index for p in parts):
                return tuple(index[p] for p in parts)
            return None

        for name, table in (("m1", self._m1), ("m2", self._m2), ("cooc", self._cooc)):
            out: list[tuple[int, ...]] = []
            keys = list(table)
            for start in range(0, len(keys), rows):
                yield
                for key in keys[start : start + rows]:
                    row = table.get(key)  # (pruned since the start: gone)
                    head = None if row is None else ids(key)
                    if row is None or head is None:
                        continue
                    for c, e in row.items():
                        if c in index:
                            out.append((*head, index[c], int(e[0]), int(e[1])))
            doc[name] = out
        return doc

    @classmethod
    def from_json(cls, data: Any, **kw: Any) -> Predictor:
        """Rebuild a stored model; ModelFormatError if it is another version or corrupt."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelFormatError("not a smartcache predictor model")
        if data.get("version") != VERSION:
            raise ModelFormatError(f"model version {data.get('version')!r}, expected {VERSION}")
        model = cls(**kw)
        try:
            model._tick = int(data["tick"])
            continued, ended = data["sessions"]
            model._continued, model._ended = max(0, int(continued)), max(0, int(ended))
            paths: list[str] = []
            for p, visits, t, tick, edits, sessions in data["files"]:
                if not isinstance(p, str) or not p:
                    raise TypeError("path must be a non-empty string")
                paths.append(p)
                model._files[p] = [int(visits), float(t), int(tick), int(edits), int(sessions)]
                model._file_bytes += len(p) + FILE_BYTES
                model._max_visits = max(model._max_visits, float(visits))
                model._index(p)
            for name, table, totals, width in (
                ("m1", model._m1, model._m1_total, 1),
                ("m2", model._m2, model._m2_total, 2),
                ("cooc", model._cooc, None, 1),
            ):
                for item in data[name]:
                    if len(item) != width + 3:
                        raise ValueError(f"{name} entry of length {len(item)}")
                    key = SEP.join(paths[int(i)] for i in item[:width])
                    c, n, tick = paths[int(item[width])], int(item[width + 1]), int(item[-1])
                    if n <= 0:
                        raise ValueError(f"{name} count {n}")
                    model._m_row(table, key)[c] = [n, tick]
                    model._entries += 1
                    if totals is not None:
                        totals[key] = totals.get(key, 0.0) + n
            weights = data["weights"]
            if not isinstance(weights, dict):
                raise TypeError("weights must be an object")
            for i, name in enumerate(FEATURES):
                if name in weights:
                    w, g2 = weights[name]
                    if not (math.isfinite(float(w)) and float(g2) > 0):
                        raise ValueError(f"bad weight {name}")
                    model.weights[i], model._grad2[i] = float(w), float(g2)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelFormatError(f"corrupt model: {exc!r}") from exc
        if model._bytes() > model.max_bytes:
            model._prune()
        return model

    @staticmethod
    def _m_row(table: dict[str, dict[str, list[float]]], key: str) -> dict[str, list[float]]:
        row = table.get(key)
        if row is None:
            row = table[key] = {}
        return row

    def stats(self) -> dict[str, Any]:
        return {
            "files": len(self._files),
            "transitions": sum(len(r) for r in self._m1.values()) + sum(len(r) for r in self._m2.values()),
            "firstOrder": sum(len(r) for r in self._m1.values()),
            "bytes": self._bytes(),
            "cooccurrences": sum(len(r) for r in self._cooc.values()),
            "cochangeFiles": len(self._git),
            "session": len(self._session),
            "hits": self.hits,
            "misses": self.misses,
            "weights": {name: round(self.weights[i], 4) for i, name in enumerate(FEATURES)},
        }

"""Baseline next-file predictors the evaluation compares the model against.

All share one small interface (:class:`Ranker`): ``start_session()``,
``observe(path, t, kind)`` and ``rank(k, current)`` returning paths, best
first, never ``current``. They are deliberately plain; each is what the
literature calls by its name.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from .model import Predictor


class Ranker(Protocol):
    name: str

    def start_session(self) -> None: ...

    def observe(self, path: str, t: float, kind: str = "open") -> None: ...

    def rank(self, k: int, current: str | None) -> list[tuple[str, float]]: ...


class RecencyBaseline:
    """The files of this session, most recently visited first."""

    name = "recency"

    def __init__(self) -> None:
        self._recent: OrderedDict[str, None] = OrderedDict()

    def start_session(self) -> None:
        self._recent.clear()

    def observe(self, path: str, t: float, kind: str = "open") -> None:
        self._recent[path] = None
        self._recent.move_to_end(path)

    def rank(self, k: int, current: str | None) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for path in reversed(self._recent):
            if len(out) >= k:
                break
            if path != current:
                out.append((path, 1.0 / (len(out) + 2)))
        return out


class FrequencyBaseline:
    """The files visited most often so far in the workspace (all sessions)."""

    name = "frequency"

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._last: str | None = None
        self._order: list[str] = []

    def start_session(self) -> None:
        self._last = None

    def observe(self, path: str, t: float, kind: str = "open") -> None:
        if path == self._last:
            return
        self._last = path
        if path not in self._counts:
            self._order.append(path)
        self._counts[path] = self._counts.get(path, 0) + 1

    def rank(self, k: int, current: str | None) -> list[tuple[str, float]]:
        total = sum(self._counts.values()) or 1
        best = sorted(self._counts.items(), key=lambda kv: -kv[1])
        return [(p, n / total) for p, n in best if p != current][:k]


class MarkovBaseline:
    """First-order Markov chain: the files that followed the current one, by count."""

    name = "markov"

    def __init__(self) -> None:
        self._next: dict[str, dict[str, int]] = {}
        self._last: str | None = None

    def start_session(self) -> None:
        self._last = None

    def observe(self, path: str, t: float, kind: str = "open") -> None:
        if path == self._last:
            return
        if self._last is not None:
            row = self._next.setdefault(self._last, {})
            row[path] = row.get(path, 0) + 1
        self._last = path

    def rank(self, k: int, current: str | None) -> list[tuple[str, float]]:
        row = self._next.get(current, {}) if current is not None else {}
        total = sum(row.values()) or 1
        best = sorted(row.items(), key=lambda kv: -kv[1])
        return [(p, n / total) for p, n in best if p != current][:k]


class CoChangeBaseline:
    """Association rules over sessions, ROSE-style (Zimmermann et al. 2004).

    A session (for commit traces: a commit) is a transaction. Given the current
    file, recommend the files that were in earlier transactions with it, by
    confidence ``count(a, c) / count(a)``, leaving out files already in the
    current transaction (ROSE recommends what is still missing from a change).
    Transactions are learnt when they end.
    """

    name = "cochange"

    def __init__(self, max_transaction: int = 30) -> None:
        self._pairs: dict[str, dict[str, int]] = {}
        self._count: dict[str, int] = {}
        self._session: dict[str, None] = {}
        self._max = max_transaction

    def _commit(self) -> None:
        files = list(self._session)
        self._session = {}
        for a in files:
            self._count[a] = self._count.get(a, 0) + 1
        if len(files) < 2 or len(files) > self._max:
            return
        for a in files:
            row = self._pairs.setdefault(a, {})
            for c in files:
                if c != a:
                    row[c] = row.get(c, 0) + 1

    def start_session(self) -> None:
        self._commit()

    def observe(self, path: str, t: float, kind: str = "open") -> None:
        self._session[path] = None

    def rank(self, k: int, current: str | None) -> list[tuple[str, float]]:
        row = self._pairs.get(current, {}) if current is not None else {}
        n = self._count.get(current, 0) if current is not None else 0
        best = sorted(row.items(), key=lambda kv: -kv[1])
        out = [(p, c / max(n, 1)) for p, c in best if p != current and p not in self._session]
        return out[:k]


class ModelRanker:
    """The real :class:`Predictor` behind the same interface (the one the server uses)."""

    name = "model"

    def __init__(self, predictor: Predictor | None = None) -> None:
        self.predictor = predictor if predictor is not None else Predictor()

    def start_session(self) -> None:
        self.predictor.start_session()

    def observe(self, path: str, t: float, kind: str = "open") -> None:
        self.predictor.observe(path, t, kind)

    def rank(self, k: int, current: str | None) -> list[tuple[str, float]]:
        return [(p.path, p.probability) for p in self.predictor.predict(k, current=current)]


BASELINES: dict[str, type[RecencyBaseline | FrequencyBaseline | MarkovBaseline | CoChangeBaseline]]
BASELINES = {
    "recency": RecencyBaseline,
    "frequency": FrequencyBaseline,
    "markov": MarkovBaseline,
    "cochange": CoChangeBaseline,
}

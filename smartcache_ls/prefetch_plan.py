"""Prefetch as its own decision: what to warm after a switch, within a budget.

The pool is the predictor's ranking plus the reference graph around the session: the files
the current file and the few files visited just before it refer to, and the files referring
to them. Each candidate gets the probability of a visit *soon* (within ``HORIZON`` switches):

- for a ranked file, the predictor's own calibrated probability (of being next, a lower bound);
- for a graph neighbour, the rate at which neighbours of the same kind were visited soon after
  being offered, learnt online per *source*: direction (refers to / referred by), how many
  switches ago the file it hangs off was current, and the edge's rank among that file's
  edges. The rates start from a uniform Beta(1, 1) prior, so nothing is assumed per project.

Candidates already warm are skipped; the others are taken by expected benefit
(probability x cost, the cost being the bytes to read and analyse), best first, while the
per-switch budget of files and bytes lasts, and only above the probability threshold. The
jobs go to the prefetcher at its lowest priority and are superseded by the next switch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import attrs

HORIZON = 10  # "soon": a visit within this many switches of the offer counts
RECENT = 3  # files before the current one whose references are in the pool
UNKNOWN_COST = 16 * 1024  # bytes assumed for a file the index has not read (no disk on this path)
_BUCKETS = (3, 10)  # edge-rank buckets: top 3, 4-10, the rest


@attrs.frozen
class Candidate:
    rel: str
    probability: float
    cost: int  # bytes
    source: str


def _bucket(rank: int) -> int:
    for i, edge in enumerate(_BUCKETS):
        if rank < edge:
            return i
    return len(_BUCKETS)


class PrefetchPlanner:
    """One per workspace; the engine calls it under the workspace's lock."""

    def __init__(self) -> None:
        self._offered: dict[str, int] = {}
        self._visited: dict[str, int] = {}
        self._offers: deque[dict[str, set[str]]] = deque(maxlen=HORIZON)  # per switch: rel -> sources
        self._spent = (0, 0)  # files and bytes planned for the current switch so far

    def rate(self, source: str) -> float:
        return (self._visited.get(source, 0) + 1) / (self._offered.get(source, 0) + 2)

    def rates(self) -> dict[str, float]:
        return {s: round(self.rate(s), 4) for s in sorted(self._offered)}

    def observe(self, rel: str) -> None:
        """A switch to ``rel``: credit the sources of the recent offers that held it (once each)."""
        for offer in self._offers:
            sources = offer.pop(rel, None)
            if sources:
                for s in sources:
                    self._visited[s] = self._visited.get(s, 0) + 1

    def plan(
        self,
        ranked: Iterable[tuple[str, float]],
        neighbours: Iterable[tuple[int, str, list[str]]],
        *,
        warm: Callable[[str], bool],
        cost: Callable[[str], int | None],
        max_files: int,
        max_bytes: int,
        threshold: float,
        learn: bool = True,
    ) -> list[Candidate]:
        """The files to warm now, best first.

        ``ranked``: (file, probability of being next) from the predictor. ``neighbours``:
        (age, direction "refs" | "usedBy", files heaviest first) for the current file (age 0)
        and the files before it. ``warm(rel)``: already cached. ``cost(rel)``: its size in
        bytes, None when it cannot be prefetched (gone, too large, open in the editor).
        ``learn=False``: a second plan for the same switch (more structure became known), whose
        offers are not counted again and which spends what the first plan left of the budget.
        """
        offer: dict[str, set[str]] = {}
        best: dict[str, tuple[float, str]] = {}
        for rel, p in ranked:
            if p > best.get(rel, (0.0, ""))[0]:
                best[rel] = (p, "ranked")
        for age, direction, files in neighbours:
            for rank, rel in enumerate(files):
                source = f"{direction}:{age}:{_bucket(rank)}"
                offer.setdefault(rel, set()).add(source)
                p = self.rate(source)
                if p > best.get(rel, (0.0, ""))[0]:
                    best[rel] = (p, source)
        if learn:
            for sources in offer.values():
                for s in sources:
                    self._offered[s] = self._offered.get(s, 0) + 1
            self._offers.append(offer)
        pool: list[Candidate] = []
        for rel, (p, source) in best.items():
            if p < threshold or warm(rel):
                continue
            size = cost(rel)
            if size is None:
                continue
            pool.append(Candidate(rel, p, size, source))
        pool.sort(key=lambda c: (-c.probability * max(c.cost, 1), c.rel))
        chosen: list[Candidate] = []
        taken, spent = (0, 0) if learn else self._spent
        for c in pool:
            if taken >= max_files:
                break
            if spent + c.cost > max_bytes:
                continue
            chosen.append(c)
            taken += 1
            spent += c.cost
        self._spent = (taken, spent)
        return chosen

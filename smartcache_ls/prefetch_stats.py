"""Honest prefetch statistics for this server run (one editing session).

- first visits: switches to a file not yet visited in the predictor's session, and how many
  of them found the file's analysis already in the memory tier (served warm);
- precision: prefetched files visited before their entry left the memory tier / prefetched;
- waste: bytes and CPU seconds of prefetched files not used (so far, or evicted unused);
- lead time: prefetch finished -> first use, p50 / p95;
- per switch: files warmed and CPU seconds spent for one switch's plan (p50 / p95 / max).

CPU seconds are the prefetch thread's own (``time.thread_time``) while it warms a file.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import attrs

MAX_SWITCHES = 4096  # per-switch costs kept for the percentiles
MAX_TRACKED = 100_000  # prefetched files remembered until used


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@attrs.define
class _Warmed:
    done: float  # monotonic time the prefetch finished
    bytes: int
    cpu: float


@attrs.define
class _Switch:
    files: int = 0
    cpu: float = 0.0


class PrefetchLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.first_visits = 0
        self.first_warm = 0
        self.prefetched = 0
        self.used = 0
        self.evicted_unused = 0
        self._pending: dict[tuple[str, str], _Warmed] = {}  # (namespace, rel) -> not used yet
        self._lead: deque[float] = deque(maxlen=MAX_SWITCHES)
        self._switches: deque[_Switch] = deque(maxlen=MAX_SWITCHES)
        self._plan_of: dict[tuple[str, str], _Switch] = {}  # queued file -> the switch it is for
        self._wasted_bytes = 0
        self._wasted_cpu = 0.0

    def planned(self, namespace: str, rels: list[str], *, new_switch: bool = True) -> None:
        """A switch's plan (possibly empty): the files queued for it (``new_switch=False``: more
        files for the last switch)."""
        with self._lock:
            if new_switch or not self._switches:
                self._switches.append(_Switch())
            switch = self._switches[-1]
            for rel in rels:
                self._plan_of[(namespace, rel)] = switch
            if len(self._plan_of) > MAX_TRACKED:
                self._plan_of.clear()

    def warmed(self, namespace: str, rel: str, nbytes: int, cpu: float, computed: bool) -> None:
        """The prefetcher finished a file; ``computed``: it was not warm already."""
        with self._lock:
            switch = self._plan_of.pop((namespace, rel), None)
            if switch is None:  # not planned after a switch: an explicit request or a refresh
                return
            switch.cpu += cpu
            switch.files += 1 if computed else 0
            if not computed:
                return
            self.prefetched += 1
            if len(self._pending) < MAX_TRACKED:
                self._pending[(namespace, rel)] = _Warmed(time.monotonic(), nbytes, cpu)

    def visit(self, namespace: str, rel: str, *, first: bool, warm: bool) -> None:
        """A switch to ``rel``; ``first`` in the session; ``warm``: its analysis was in memory."""
        with self._lock:
            if first:
                self.first_visits += 1
                self.first_warm += 1 if warm else 0
            item = self._pending.pop((namespace, rel), None)
            if item is None:
                return
            if warm:
                self.used += 1
                self._lead.append(time.monotonic() - item.done)
            else:  # it left the memory tier before it was used
                self.evicted_unused += 1
                self._wasted_bytes += item.bytes
                self._wasted_cpu += item.cpu

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            unused_bytes = self._wasted_bytes + sum(w.bytes for w in self._pending.values())
            unused_cpu = self._wasted_cpu + sum(w.cpu for w in self._pending.values())
            lead = list(self._lead)
            files = [float(s.files) for s in self._switches]
            cpu = [s.cpu for s in self._switches]
            return {
                "firstVisits": self.first_visits,
                "firstVisitsWarm": self.first_warm,
                "firstVisitWarmRatio": self.first_warm / self.first_visits if self.first_visits else 0.0,
                "prefetchedFiles": self.prefetched,
                "usedFiles": self.used,
                "precision": self.used / self.prefetched if self.prefetched else 0.0,
                "evictedUnused": self.evicted_unused,
                "wastedBytes": unused_bytes,
                "wastedCpuSeconds": round(unused_cpu, 4),
                "leadTimeP50": round(_pct(lead, 0.5), 4),
                "leadTimeP95": round(_pct(lead, 0.95), 4),
                "switches": len(files),
                "filesPerSwitchP50": _pct(files, 0.5),
                "filesPerSwitchP95": _pct(files, 0.95),
                "filesPerSwitchMax": max(files, default=0.0),
                "cpuPerSwitchP50": round(_pct(cpu, 0.5), 4),
                "cpuPerSwitchP95": round(_pct(cpu, 0.95), 4),
                "cpuPerSwitchMax": round(max(cpu, default=0.0), 4),
            }

"""A predictor that serves while the stored model loads, and hands what it learnt to that model.

A full model (its JSON up to 10 MB) takes a second or more to decode and rebuild:
too long for the ``initialize`` handler. The engine gives such a workspace a
``StandIn`` at once and the indexing thread loads the stored model; the editor's
events meanwhile are learnt by the stand-in and also kept (a bounded log of the
calls), then replayed onto the loaded model before it takes the stand-in's place.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .model import IndexEntry, Predictor

MAX_LOG = 10_000  # calls kept for the replay (the model loads in seconds; events are fewer)


class StandIn(Predictor):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _keep(self, name: str, *args: Any) -> None:
        if len(self.calls) < MAX_LOG:
            self.calls.append((name, args))

    def start_session(self) -> None:
        self._keep("start_session")
        super().start_session()

    def observe(self, path: str, t: float | None = None, kind: str = "open") -> None:
        t = time.time() if t is None else t
        self._keep("observe", path, t, kind)
        super().observe(path, t, kind)

    def forget(self, path: str) -> None:
        self._keep("forget", path)
        super().forget(path)

    def rename(self, old: str, new: str) -> None:
        self._keep("rename", old, new)
        super().rename(old, new)

    def index_entries(self, entries: Iterable[IndexEntry]) -> None:  # (index_files comes here)
        entries = tuple(entries)
        self._keep("index_entries", entries)
        super().index_entries(entries)

    def replay(self, model: Predictor) -> Predictor:
        """Apply what this stand-in was told to ``model``; returns ``model``."""
        for name, args in self.calls:
            getattr(model, name)(*args)
        return model

"""A hand-moved clock for the tiers' injectable ``clock`` argument."""

from __future__ import annotations


class FakeClock:
    """Returns ``now``, which only the test moves (``clock.now += seconds``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

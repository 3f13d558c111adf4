"""Deletions for the tiers whose writes all go through one batched ``apply`` (SQLite, Redis)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

__all__ = ["BatchedTier"]


class BatchedTier(ABC):
    """``delete``, ``delete_prefix`` and ``clear`` as one-op batches of ``apply``."""

    @abstractmethod
    def apply(self, ops: Sequence[tuple[Any, ...]]) -> int:
        """Run ("set", key, text, size) / ("delete", key) / ("delete_prefix", prefix) ops as
        one batch; returns the number of keys deleted."""

    def delete(self, key: str) -> bool:
        return self.apply((("delete", key),)) > 0

    def delete_prefix(self, prefix: str) -> int:
        return self.apply((("delete_prefix", prefix),))

    def clear(self) -> None:
        """Drop this tier's own entries (what ``delete_prefix("")`` reaches)."""
        self.apply((("delete_prefix", ""),))

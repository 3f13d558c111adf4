"""What the tiers whose writes all go through one batched ``apply`` (SQLite, Redis) share:
``get`` over their ``get_with_size``, and the deletions as batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

__all__ = ["BatchedTier"]


class BatchedTier(ABC):
    """``get`` as ``get_with_size`` without the size; ``delete``, ``delete_prefix`` and
    ``clear`` as one-op batches of ``apply``."""

    @abstractmethod
    def get_with_size(
        self, key: str, *, count: bool = True, raw: bool = False
    ) -> tuple[Any, int] | None:
        """(value, stored size in bytes) or None; ``count=False`` records no hit/miss; ``raw``:
        the stored bytes, not decoded."""

    def get(self, key: str) -> Any | None:
        found = self.get_with_size(key)
        return None if found is None else found[0]

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

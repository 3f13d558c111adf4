"""Redis tier (placeholder until phase 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RedisTier:
    def get_with_size(self, key: str, *, count: bool = True) -> tuple[Any, int] | None:
        return None

    def apply(self, ops: Sequence[tuple[Any, ...]]) -> int:
        return 0

    def stats(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass

"""Tiered cache of JSON-able values: memory (W-TinyLFU) -> SQLite -> optional Redis."""

from __future__ import annotations

from .codec import CodecError, decode, encode, size_of
from .memory import MemoryTier
from .sqlite import SqliteTier
from .stats import CacheStats, PrefetchStats
from .tiered import TieredCache

__all__ = [
    "CacheStats",
    "CodecError",
    "MemoryTier",
    "PrefetchStats",
    "SqliteTier",
    "TieredCache",
    "decode",
    "encode",
    "size_of",
]

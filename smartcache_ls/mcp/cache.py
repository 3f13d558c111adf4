"""A small bounded map of answers already built, shared by the MCP modules."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class BytesCache:
    """A small bounded LRU map, safe across threads: answers already built, keyed by what they
    were built from (cached bytes, or a path and content hash), so a key can never be stale."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def built_from(self, key: Any, source: bytes) -> Any:
        """What :meth:`put_built` keeps under ``key`` if it was built from these same bytes, else
        None. The bytes are compared, not hashed: for a fresh 10 KB reply a memcmp, not a siphash."""
        entry = self.get(key)
        return entry[1] if entry is not None and entry[0] == source else None

    def put_built(self, key: Any, source: bytes, value: Any) -> None:
        self.put(key, (source, value))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

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

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

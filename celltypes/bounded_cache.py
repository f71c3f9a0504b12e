"""A thread-safe least-recently-used cache bounded by the total size of what it holds.

The per-process caches of whole answers (celltypes/rma/response_cache.py, celltypes/api/response_cache.py) both
keep their entries here; each says how big one of its values is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """At most `max_bytes` in all (by `size_of`), least recently used first out; a value over `max_entry_bytes`
    is not kept, and a key already held keeps its first value."""

    def __init__(self, max_bytes: int, max_entry_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes, self.max_entry_bytes, self.size_of = max_bytes, max_entry_bytes, size_of
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._size = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        size = self.size_of(value)
        if size > self.max_entry_bytes:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self._size += size
            while self._size > self.max_bytes and self._entries:
                _, old = self._entries.popitem(last=False)
                self._size -= self.size_of(old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

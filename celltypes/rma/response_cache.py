"""A per-process cache of rendered RMA answers, keyed on the query and the atlas version.

The atlas version goes up with every write to Allen's tables, so a cached answer is never stale; reading the
version costs one indexed single-row query. Bounded by total bytes (least recently used answers go first).
"""

import threading
from collections import OrderedDict

MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY_BYTES = 16 * 1024 * 1024

_lock = threading.Lock()
_entries: OrderedDict[tuple, tuple[bytes, str, str | None]] = OrderedDict()
_size = 0


def get(key: tuple) -> tuple[bytes, str, str | None] | None:
    """(body, content type, Content-Disposition) of a cached answer, or None."""
    with _lock:
        entry = _entries.get(key)
        if entry is not None:
            _entries.move_to_end(key)
        return entry


def put(key: tuple, body: bytes, content_type: str, disposition: str | None) -> None:
    global _size
    if len(body) > MAX_ENTRY_BYTES:
        return
    with _lock:
        if key in _entries:
            return
        _entries[key] = (body, content_type, disposition)
        _size += len(body)
        while _size > MAX_BYTES and _entries:
            _, (old, _, _) = _entries.popitem(last=False)
            _size -= len(old)


def clear() -> None:
    global _size
    with _lock:
        _entries.clear()
        _size = 0

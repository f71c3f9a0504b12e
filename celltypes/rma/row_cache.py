"""A per-process cache of whole flat tables as JSON fragments, keyed on model, columns and atlas version.

A big flat page (the SDK's 2,333-cell table with any criteria) then costs one query for the page's primary keys
and one orjson pass that copies the fragments, instead of turning every value of every row into a Python object.
The atlas version goes up with every write, so a table is never stale. Tables over MAX_TABLE_ROWS rows or
MAX_BYTES of JSON are not cached (a marker remembers that); at most MAX_TABLES tables and MAX_BYTES in all are
kept, least recently used going first. The 2,333-cell table takes 4.0 MB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

import orjson

MAX_TABLES = 8
MAX_TABLE_ROWS = 50_000
MAX_BYTES = 64 * 1024 * 1024

_lock = threading.Lock()
_tables: OrderedDict[tuple, dict[int, orjson.Fragment] | None] = OrderedDict()
_sizes: dict[tuple, int] = {}


def table(key: tuple, count: Callable[[], int], records: Callable[[], Iterable[tuple[int, dict]]]):
    """{pk: fragment} of every row for `key`, serialised from `records()` ((pk, record) pairs); None if too big."""
    with _lock:
        if key in _tables:
            _tables.move_to_end(key)
            return _tables[key]
    built, size = None, 0
    if count() <= MAX_TABLE_ROWS:
        built = {}
        for pk, record in records():
            serialised = orjson.dumps(record)
            size += len(serialised)
            built[pk] = orjson.Fragment(serialised)
        if size > MAX_BYTES:
            built, size = None, 0
    with _lock:
        _tables[key] = built
        _sizes[key] = size
        while len(_tables) > MAX_TABLES or sum(_sizes.values()) > MAX_BYTES:
            old, _ = _tables.popitem(last=False)
            _sizes.pop(old, None)
    return built


def size() -> int:
    """Bytes of JSON held."""
    with _lock:
        return sum(_sizes.values())


def clear() -> None:
    with _lock:
        _tables.clear()
        _sizes.clear()

"""A per-process cache of whole flat tables as JSON fragments, keyed on model, columns and atlas version.

A big flat page (the SDK's 2,333-cell table with any criteria) then costs one query for the page's primary keys
and one orjson pass that copies the fragments, instead of turning every value of every row into a Python object.
The atlas version goes up with every write, so a table is never stale; tables over MAX_TABLE_ROWS rows are not
cached (a marker remembers that), and at most MAX_TABLES are kept (least recently used go first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import orjson

MAX_TABLES = 8
MAX_TABLE_ROWS = 50_000

_lock = threading.Lock()
_tables: OrderedDict[tuple, dict[int, orjson.Fragment] | None] = OrderedDict()


def table(key: tuple, count: Callable[[], int], rows: Callable[[], list[tuple]], names: tuple[str, ...]):
    """{pk: fragment} of every row for `key` (built from `rows()`: (pk, *values) tuples), or None if too big."""
    with _lock:
        if key in _tables:
            _tables.move_to_end(key)
            return _tables[key]
    built = None
    if count() <= MAX_TABLE_ROWS:
        blank = dict.fromkeys(names)
        built = {}
        for pk, *values in rows():
            record = blank.copy()
            record.update(zip(names, values, strict=True))
            built[pk] = orjson.Fragment(orjson.dumps(record))
    with _lock:
        _tables[key] = built
        while len(_tables) > MAX_TABLES:
            _tables.popitem(last=False)
    return built


def clear() -> None:
    with _lock:
        _tables.clear()

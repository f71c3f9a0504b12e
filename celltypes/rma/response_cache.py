"""A per-process cache of rendered RMA answers, keyed on the query and the atlas version.

The atlas version goes up with every write to Allen's tables, so a cached answer is never stale; reading the
version costs one indexed single-row query. Bounded by total bytes (least recently used answers go first,
celltypes/bounded_cache.py).
"""

from celltypes.bounded_cache import BoundedCache

MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY_BYTES = 16 * 1024 * 1024

Answer = tuple[bytes, str, str | None]  # body, content type, Content-Disposition

_answers: BoundedCache[Answer] = BoundedCache(MAX_BYTES, MAX_ENTRY_BYTES, size_of=lambda answer: len(answer[0]))


def get(key: tuple) -> Answer | None:
    """(body, content type, Content-Disposition) of a cached answer, or None."""
    return _answers.get(key)


def put(key: tuple, body: bytes, content_type: str, disposition: str | None) -> None:
    _answers.put(key, (body, content_type, disposition))


def clear() -> None:
    _answers.clear()

"""The REST API response cache's store: bounded by bytes, least recently used out first (synthetic answers)."""

from celltypes.api.response_cache import BoundedCache, CachedAnswer


def synthetic(size: int) -> CachedAnswer:
    return CachedAnswer(200, (("Content-Type", "application/json"),), b"x" * size)


def test_the_least_recently_used_answer_goes_first():
    cache = BoundedCache(max_bytes=30, max_entry_bytes=20)
    cache.put(("a",), synthetic(10))
    cache.put(("b",), synthetic(10))
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("c",), synthetic(15))
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None and cache.get(("c",)) is not None


def test_an_answer_larger_than_an_entry_may_be_is_not_kept():
    cache = BoundedCache(max_bytes=100, max_entry_bytes=20)
    cache.put(("big",), synthetic(21))
    assert cache.get(("big",)) is None and len(cache) == 0

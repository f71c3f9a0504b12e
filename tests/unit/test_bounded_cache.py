"""The store both response caches keep their answers in: bounded by bytes, least recently used out first
(synthetic values)."""

from celltypes.bounded_cache import BoundedCache


def test_the_least_recently_used_answer_goes_first():
    cache = BoundedCache(max_bytes=30, max_entry_bytes=20, size_of=len)
    cache.put(("a",), b"x" * 10)
    cache.put(("b",), b"x" * 10)
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("c",), b"x" * 15)
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None and cache.get(("c",)) is not None


def test_an_answer_larger_than_an_entry_may_be_is_not_kept():
    cache = BoundedCache(max_bytes=100, max_entry_bytes=20, size_of=len)
    cache.put(("big",), b"x" * 21)
    assert cache.get(("big",)) is None and len(cache) == 0


def test_a_key_already_held_keeps_its_first_answer():
    cache = BoundedCache(max_bytes=100, max_entry_bytes=20, size_of=len)
    cache.put(("a",), b"first")
    cache.put(("a",), b"second")
    assert cache.get(("a",)) == b"first" and len(cache) == 1

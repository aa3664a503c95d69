"""Windows made ahead in a background thread: same items, same errors, nothing left running."""

import threading

import pytest

from softpile.io._prefetch import prefetched


def _threads() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def test_items_come_in_order_and_the_thread_ends():
    assert list(prefetched(iter(range(100)), ahead=3)) == list(range(100))
    assert list(prefetched([])) == []
    assert "softpile-prefetch" not in _threads()


def test_an_error_is_raised_where_its_item_would_come():
    def items():
        yield 1
        yield 2
        raise ValueError("truncated.bam: error reading the alignments")

    taken = []
    with pytest.raises(ValueError, match="truncated.bam"):
        for item in prefetched(items()):
            taken.append(item)
    assert taken == [1, 2]
    assert "softpile-prefetch" not in _threads()


def test_stopping_early_closes_the_source_and_stops_the_thread():
    closed = threading.Event()
    made = []

    def items():
        try:
            for item in range(1_000):
                made.append(item)
                yield item
        finally:
            closed.set()

    stream = prefetched(items(), ahead=2)
    assert [next(stream), next(stream)] == [0, 1]
    stream.close()
    assert closed.is_set()
    assert len(made) <= 5  # two taken, at most two waiting, one being handed over
    assert "softpile-prefetch" not in _threads()

"""Internals of the read engine that the parity tests cannot see."""

import gc

import pysam
import pytest
from io_helpers import header_of, make_read

from softpile.io._engine import ContigReads, Filters


def _reads(count: int = 50) -> list[pysam.AlignedSegment]:
    header = header_of({"chr1": 1000})
    return [make_read(header, f"r{i}", "chr1", 10 * i, "20M", "ACGT" * 5) for i in range(count)]


@pytest.mark.parametrize("thresholds", [(700, 10, 10), (0, 10, 10), (200_000, 5, 3)])
def test_garbage_collector_settings_are_restored(thresholds):
    """Reading raises the collector's threshold only while it reads (and never turns an off
    collector on)."""
    seen = []
    saved = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:

        def reads():
            for alignment in _reads():
                seen.append(gc.get_threshold())
                yield alignment

        stream = ContigReads(reads(), "chr1", Filters(min_baseq=0))
        assert len(stream.window(0, 1000)) == 50
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*saved)
    assert after == thresholds
    assert seen[0][0] == (0 if thresholds[0] == 0 else max(thresholds[0], 100_000))
    assert seen[0][1:] == thresholds[1:]


def test_garbage_collector_settings_are_restored_after_an_error():
    header = header_of({"chr1": 1000})
    unsorted = [make_read(header, f"r{i}", "chr1", 500 - 10 * i, "20M", "A" * 20) for i in range(3)]
    saved = gc.get_threshold()
    stream = ContigReads(iter(unsorted), "chr1", Filters())
    with pytest.raises(ValueError, match="not sorted"):
        stream.window(0, 1000)
    assert gc.get_threshold() == saved

"""Which reads enter the pileup: samtools' flag, MAPQ and orphan filters, then its read-buffer
cap (`--max-depth`), for a whole batch of reads at once."""

import heapq

import numpy as np

from ._filters import FLAGS, Filters
from ._records import Alignments


def passes_filters(reads: Alignments, filters: Filters) -> np.ndarray:
    """`(N,)` bool: the reads samtools keeps before its buffer cap.

    Unmapped and `--ff` flags, MAPQ below `-q`, orphans (paired without the proper-pair flag)
    unless `-A`, and reads that cover no reference position (no CIGAR, or no M/=/X/D/N) are
    dropped: htslib never places those at a position.
    """
    excluded = filters.excl_flags | FLAGS["UNMAP"]
    keep = (reads.flag & excluded) == 0
    keep &= reads.mapq >= filters.min_mapq
    if not filters.count_orphans:
        keep &= ~((reads.flag & FLAGS["PAIRED"] != 0) & (reads.flag & FLAGS["PROPER_PAIR"] == 0))
    keep &= reads.end > reads.start
    return keep


def may_reach_cap(starts: np.ndarray, ends: np.ndarray, earlier_ends: np.ndarray, cap: int) -> bool:
    """Whether samtools' buffer could hold `cap` reads when one of these reads arrives.

    When read `i` arrives, the buffer holds the earlier reads that end at or after its start;
    counting every earlier candidate (none dropped) bounds that from above. `earlier_ends`: the
    ends of the reads accepted before these that may still be in the buffer.
    """
    if not cap or starts.size == 0:
        return False
    all_ends = np.sort(np.concatenate([earlier_ends, ends]))
    arrived_before = earlier_ends.size + np.arange(starts.size)
    gone = np.searchsorted(all_ends, starts, side="left")
    return bool((arrived_before - gone >= cap).any())


def apply_cap(
    starts: np.ndarray, ends: np.ndarray, earlier_ends: np.ndarray, last_start: int, cap: int
) -> np.ndarray:
    """`(N,)` bool: the reads samtools' buffer accepts, replayed read by read.

    A read is dropped only when an accepted read already started at the same position and the
    buffer holds at least `cap` reads (reads ending at the previous position included), so the
    first read at each new start is always kept. Only batches for which `may_reach_cap` is
    true need this loop.
    """
    heap = earlier_ends.tolist()
    heapq.heapify(heap)
    accepted = np.ones(starts.size, dtype=bool)
    previous = last_start
    for i, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        while heap and heap[0] < start:
            heapq.heappop(heap)
        if start == previous and len(heap) >= cap:
            accepted[i] = False
            continue
        heapq.heappush(heap, end)
        previous = start
    return accepted

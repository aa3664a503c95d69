"""Which overlapping mates samtools pairs up, for a whole batch of reads at once.

htslib keeps a hash of first mates by read name: a proper-pair read whose mate is mapped on
the same contig (and not clearly beyond it) looks up its name; if a first mate is waiting and
has not yet left the buffer (it ends at or after the start of the last read accepted before
this one), the two are paired and the quality adjustment happens; otherwise the read waits
itself if its mate starts at or after it. Names seen once or twice (nearly every read) are
resolved with array operations; rarer cases (three reads with one name, or a batch where the
buffer cap dropped reads, which also forgets the waiting mate of that name) replay the hash
read by read.
"""

import numpy as np

from ._filters import FLAGS
from ._records import Alignments


def seeks_mate(reads: Alignments) -> np.ndarray:
    """`(N,)` bool: the reads that take part in the overlap detection."""
    flag = reads.flag
    proper = (flag & FLAGS["PROPER_PAIR"] != 0) & (flag & FLAGS["MUNMAP"] == 0)
    far = (np.abs(reads.template_length) >= 2 * reads.sequence_lengths()) & (
        reads.mate_start >= reads.end
    )
    return proper & ~reads.mate_elsewhere & ~far


def would_wait(reads: Alignments) -> np.ndarray:
    """`(N,)` bool: reads that wait for their mate when none is waiting under their name."""
    unknown_mate = (reads.flag & FLAGS["PAIRED"] != 0) & (reads.mate_start == -1)
    return (reads.mate_start >= reads.start) | unknown_mate


class Pairs:
    """The pairs found: `first`, `second` (rows of the table) and `previous` (the start of the
    last read accepted before the second mate: samtools had reported the positions before it).
    `ordered` pairs must be applied one after the other, after the others."""

    def __init__(self, first, second, previous, ordered, replayed):
        self.first = first
        self.second = second
        self.previous = previous
        self.ordered = ordered
        self.replayed = replayed  # the rows whose names were replayed read by read


def pair_mates(
    names: np.ndarray,
    rows: np.ndarray,
    waiting_before: np.ndarray,
    waits: np.ndarray,
    ends: np.ndarray,
    previous: np.ndarray,
    dropped: np.ndarray,
) -> tuple[Pairs, np.ndarray]:
    """Replay htslib's mate hash over events in arrival order.

    Each event is a table row `rows[k]` with its read name: a first mate already waiting
    (`waiting_before`, always listed first), a newly accepted read looking for its mate, or a
    read the buffer cap dropped (`dropped`: it forgets the mate waiting under its name). `waits`:
    the read would wait for its mate; `ends`: its end; `previous`: the start of the last read
    accepted before it.

    **Returns:** the `Pairs`, and `(K,)` bool: which events are waiting afterwards.
    """
    count = names.size
    waiting = np.zeros(count, dtype=bool)
    order = np.argsort(names, kind="stable")  # by name, then by arrival
    sorted_names = names[order]
    new_group = np.ones(count, dtype=bool)
    new_group[1:] = sorted_names[1:] != sorted_names[:-1]
    group_start = np.flatnonzero(new_group)
    sizes = np.diff(np.append(group_start, count))
    size_of = np.repeat(sizes, sizes)

    simple = (
        (size_of <= 2) & ~np.repeat(np.add.reduceat(dropped[order], group_start) > 0, sizes)
        if count
        else size_of <= 2
    )
    # Names seen once: a waiting mate stays; a new read waits if it would.
    single = order[simple & (size_of == 1)]
    waiting[single] = waiting_before[single] | (waits[single] & ~dropped[single])
    # Names seen twice: `a` arrived first (it may be a mate already waiting), then `b`.
    starts_of_two = group_start[sizes == 2]
    a, b = order[starts_of_two], order[starts_of_two + 1]
    keep = simple[starts_of_two]
    a, b = a[keep], b[keep]
    a_waits = waiting_before[a] | waits[a]
    paired = a_waits & (ends[a] >= previous[b])
    waiting[b] = ~paired & waits[b]
    pairs_first, pairs_second, pairs_previous = (
        rows[a[paired]],
        rows[b[paired]],
        previous[b[paired]],
    )

    ordered = []
    replayed = []
    for group in np.flatnonzero(~simple[group_start]).tolist():
        events = order[group_start[group] : group_start[group] + sizes[group]]
        replayed.append(rows[events])
        mate = None
        for event in events.tolist():
            if dropped[event]:
                mate = None
                continue
            if waiting_before[event]:
                mate = event
                continue
            if mate is not None and ends[mate] < previous[event]:
                mate = None  # the first mate already left the buffer
            if mate is None:
                if waits[event]:
                    mate = event
                continue
            ordered.append((rows[mate], rows[event], previous[event]))
            mate = None
        if mate is not None:
            waiting[mate] = True
    ordered.sort(key=lambda pair: pair[1])  # by the second mate's arrival
    replayed_rows = np.concatenate(replayed) if replayed else np.zeros(0, dtype=np.int64)
    pairs = Pairs(pairs_first, pairs_second, pairs_previous, ordered, replayed_rows)
    return pairs, waiting

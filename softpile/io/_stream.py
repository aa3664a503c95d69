"""One contig's reads in windows, with samtools' buffer state carried across windows.

`ContigStream` takes the alignment tables of one contig range in file order and, batch by
batch, applies samtools mpileup's read selection (filters and `--max-depth` cap), pairs
overlapping mates and adjusts their qualities, exactly as htslib's pileup buffer does. It then
hands out, for each window, the accepted reads that cover it. Everything is array operations
over a batch; only batches where the buffer cap may drop a read, and names shared by more than
two reads, replay the buffer read by read.
"""

from collections.abc import Iterator

import numpy as np

from ._filters import Filters
from ._mates import pair_mates, seeks_mate, would_wait
from ._overlaps import adjust_overlaps
from ._records import Alignments
from ._selection import apply_cap, may_reach_cap, passes_filters


class ContigStream:
    """Replays htslib's pileup buffer over the reads of one contig range, in file order."""

    def __init__(
        self, tables: Iterator[Alignments], contig: str, filters: Filters, path: str = "the BAM"
    ):
        self._tables = tables
        self._contig = contig
        self._filters = filters
        self._path = path
        self._exhausted = False
        self._last_seen = -1  # start of the last read of the file, for the sort check
        self._last_start = -1  # start of the last accepted read (htslib's max_pos)
        self._reads = Alignments.empty()  # accepted reads still needed, in arrival order
        self._waiting = np.zeros(0, dtype=bool)  # first mates waiting for their mate
        self._released = -1  # no window will start before this
        # Whether reads before the range read could change these results: samtools' buffer
        # cap may have dropped a read, or reads sharing a name (three or more) began before
        # the first window.
        self.needs_history = False
        self._first_window = None

    def _pull(self) -> None:
        """Take the next table of the file and add its accepted reads."""
        table = next(self._tables, None)
        if table is None:
            self._exhausted = True
            return
        self._check_sorted(table)
        keep = passes_filters(table, self._filters)
        accepted = table if keep.all() else table.select(keep)
        self._add(accepted)

    def _check_sorted(self, table: Alignments) -> None:
        starts = table.start
        if starts.size == 0:
            return
        previous = np.concatenate([[self._last_seen], starts[:-1]])
        wrong = np.flatnonzero(starts < previous)
        if wrong.size:
            at = int(wrong[0])
            name = table.names[at].decode(errors="replace")
            raise ValueError(
                f"{self._path}: the file is not sorted by coordinate ({name!r} at "
                f"{self._contig}:{int(starts[at]) + 1} comes after position "
                f"{int(previous[at]) + 1}); run `samtools sort`."
            )
        self._last_seen = int(starts[-1])

    def _add(self, accepted: Alignments) -> None:
        # Forget what no later window or mate needs: reads that end before the windows still
        # to come and do not wait for a mate (or wait, but have left the buffer).
        old = self._reads
        # (Reads ending at the last start may still sit in samtools' buffer: kept for the cap.)
        needed = (old.end > self._released) | (old.end >= self._last_start)
        old, waiting_before = old.select(needed), self._waiting[needed]
        cap = self._filters.max_depth
        buffered = old.end[old.end >= self._last_start]
        dropped = np.zeros(len(accepted), dtype=bool)
        if may_reach_cap(accepted.start, accepted.end, buffered, cap):
            self.needs_history = True
            dropped = ~apply_cap(accepted.start, accepted.end, buffered, self._last_start, cap)
        reads = Alignments.concat([old, accepted])
        count_old = len(old)
        waiting = np.concatenate([waiting_before, np.zeros(len(accepted), dtype=bool)])
        if self._filters.overlap_removal and len(accepted):
            self._pair(reads, count_old, waiting_before, dropped, waiting)
        if dropped.any():
            keep = np.concatenate([np.ones(count_old, bool), ~dropped])
            reads, waiting = reads.select(keep), waiting[keep]
        if len(reads) > count_old:
            self._last_start = int(reads.start[-1])
        self._reads, self._waiting = reads, waiting

    def _pair(self, reads, count_old, waiting_before, dropped, waiting) -> None:
        """Pair the newly accepted reads with waiting or new mates; adjust their qualities."""
        new = np.arange(count_old, len(reads))
        added = reads.slice(count_old, len(reads))
        candidate = seeks_mate(added) | dropped
        events = np.concatenate([np.flatnonzero(waiting_before), new[candidate]])
        new_dropped = dropped[candidate]
        # The start of the last read accepted before each new read (dropped reads excluded).
        accepted_starts = np.where(dropped, -1, reads.start[new])
        last = np.maximum.accumulate(np.concatenate([[self._last_start], accepted_starts]))
        previous = last[:-1][candidate]
        old = int(waiting_before.sum())
        pairs, waiting_after = pair_mates(
            names=reads.names[events],
            rows=events,
            waiting_before=np.arange(events.size) < old,
            waits=np.concatenate([np.ones(old, bool), would_wait(added)[candidate]]),
            ends=reads.end[events],
            previous=np.concatenate([np.zeros(old, np.int64), previous]),
            dropped=np.concatenate([np.zeros(old, bool), new_dropped]),
        )
        waiting[:] = False
        waiting[events[waiting_after]] = True
        if pairs.replayed.size and self._first_window is not None:
            self.needs_history |= bool((reads.start[pairs.replayed] < self._first_window).any())
        adjust_overlaps(reads, pairs)

    def window(self, start: int, end: int) -> Alignments:
        """The accepted reads with a column in `[start, end)`, in arrival order.

        Reads are taken from the file until one is accepted that starts at or after `end`:
        only then are all the quality adjustments that samtools applies before reporting the
        positions below `end` known.
        """
        if self._first_window is None:
            self._first_window = start
        while not self._exhausted and self._last_start < end:
            self._pull()
        reads = self._reads
        last = int(np.searchsorted(reads.start, end, side="left"))
        # Later windows start at or after this one: reads ending before it can go.
        self._released = start
        return reads.slice(0, last).select(reads.end[:last] > start)

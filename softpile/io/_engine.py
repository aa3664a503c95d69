"""samtools mpileup's read selection, replayed read by read, and the CIGAR projection.

`_ContigReads` consumes the reads of one contig range in file order and decides, exactly as
htslib's pileup buffer does, which reads enter the pileup (flag, MAPQ and orphan filters, the
`--max-depth` buffer cap) and how overlapping mates change each other's base qualities. The
Python loop is over reads only; `project` turns the CIGARs of a whole batch of reads into
reference-space arrays with NumPy (no loop over bases).
"""

import heapq
from collections.abc import Iterator

import numpy as np

from .._encoding import GAP, PAD, N

# SAM flags (samtools' names).
FLAGS = {
    "PAIRED": 0x1,
    "PROPER_PAIR": 0x2,
    "UNMAP": 0x4,
    "MUNMAP": 0x8,
    "REVERSE": 0x10,
    "MREVERSE": 0x20,
    "READ1": 0x40,
    "READ2": 0x80,
    "SECONDARY": 0x100,
    "QCFAIL": 0x200,
    "DUP": 0x400,
    "SUPPLEMENTARY": 0x800,
}
DEFAULT_EXCLUDED = "UNMAP,SECONDARY,QCFAIL,DUP"
"""samtools mpileup's default `--ff` (supplementary reads are counted)."""

DEFAULT_WINDOW = 100_000
"""Positions per window when streaming a region (memory is bounded by one window)."""

# CIGAR operations, in BAM's numbering: M I D N S H P = X (B=9 is obsolete and rejected).
_MATCH, _INS, _DEL, _SKIP, _SOFT, _HARD, _PAD, _EQUAL, _DIFF = range(9)
_CONSUMES_REFERENCE = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
_CONSUMES_QUERY = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
_IS_BASE = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
_INSERTION_OR_PAD = np.array([0, 1, 0, 0, 0, 0, 1, 0, 0, 0], dtype=bool)

# Read letters -> codes: A C G T (either case) are bases, everything else (N, IUPAC, '=') is N.
_LETTER_CODES = np.full(256, N, dtype=np.int8)
for _code, _letter in enumerate("ACGT"):
    _LETTER_CODES[ord(_letter)] = _code
    _LETTER_CODES[ord(_letter.lower())] = _code


def parse_flags(flags: int | str, argument: str = "excl_flags") -> int:
    """An int, a decimal/hex string or comma-separated samtools flag names -> an int mask."""
    if isinstance(flags, int | np.integer) and not isinstance(flags, bool):
        if flags < 0:
            raise ValueError(f"{argument}: flags must be >= 0, got {flags}.")
        return int(flags)
    if not isinstance(flags, str):
        raise ValueError(f"{argument}: expected an int or flag names, got {flags!r}.")
    text = flags.strip()
    if not text:
        return 0
    try:
        return int(text, 0)
    except ValueError:
        pass
    mask = 0
    for name in text.split(","):
        key = name.strip().upper()
        if key not in FLAGS:
            raise ValueError(
                f"{argument}: unknown flag name {name.strip()!r} in {flags!r}; use an int or "
                f"names from {', '.join(FLAGS)} separated by commas."
            )
        mask |= FLAGS[key]
    return mask


def name_hash_bit(name: str) -> int:
    """Bit 0 of htslib's hash of a read name: X31 string hash, then Wang's integer mix."""
    data = name.encode()
    value = data[0] if data else 0
    for byte in data[1:]:
        value = ((value << 5) - value + byte) & 0xFFFFFFFF
    value = (value + (~(value << 15) & 0xFFFFFFFF)) & 0xFFFFFFFF
    value ^= value >> 10
    value = (value + (value << 3)) & 0xFFFFFFFF
    value ^= value >> 6
    value = (value + (~(value << 11) & 0xFFFFFFFF)) & 0xFFFFFFFF
    value ^= value >> 16
    return value & 1


class Read:
    """One accepted read, as the pileup buffer holds it."""

    __slots__ = (
        "start",
        "end",
        "name",
        "mapq",
        "reverse",
        "cigar",
        "sequence",
        "quality",
        "original_quality",
        "tweaked_from",
        "clip",
    )

    def __init__(self, start, end, name, mapq, reverse, cigar, sequence, quality):
        self.start = start
        self.end = end
        self.name = name
        self.mapq = mapq
        self.reverse = reverse
        self.cigar = cigar
        self.sequence = sequence
        # array('B') from pysam; None when QUAL is '*' (255 everywhere, as htslib stores it).
        self.quality = quality
        # Set when this read was the first mate of an overlap: columns before `tweaked_from`
        # had already been reported by samtools with the qualities before the adjustment.
        self.original_quality = None
        self.tweaked_from = -1
        # For the common CIGAR "[H][S]M[S][H]" (one aligned block): the query index of the
        # first aligned base, used by the fast paths; -1 for any other CIGAR.
        self.clip = _simple_clip(cigar)

    def qualities(self) -> np.ndarray:
        if self.quality is None:
            return np.full(len(self.sequence), 255, dtype=np.uint8)
        return np.frombuffer(self.quality, dtype=np.uint8)


class Filters:
    """Read and base filters with samtools mpileup's names and defaults."""

    __slots__ = (
        "min_mapq",
        "min_baseq",
        "excl_flags",
        "count_orphans",
        "overlap_removal",
        "max_depth",
    )

    def __init__(
        self,
        *,
        min_mapq: int = 0,
        min_baseq: int = 13,
        excl_flags: int | str = DEFAULT_EXCLUDED,
        count_orphans: bool = False,
        overlap_removal: bool = True,
        max_depth: int = 8000,
    ):
        for argument, value in (
            ("min_mapq", min_mapq),
            ("min_baseq", min_baseq),
            ("max_depth", max_depth),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{argument} must be an int >= 0, got {value!r}.")
        self.min_mapq = int(min_mapq)
        self.min_baseq = int(min_baseq)
        self.excl_flags = parse_flags(excl_flags)
        self.count_orphans = bool(count_orphans)
        self.overlap_removal = bool(overlap_removal)
        self.max_depth = int(max_depth)


def _simple_clip(cigar) -> int:
    if len(cigar) == 1:
        return 0 if _IS_BASE[cigar[0][0]] else -1
    clip = 0
    aligned = 0
    for op, length in cigar:
        if _IS_BASE[op]:
            aligned += 1
        elif op == _SOFT:
            if not aligned:
                clip += length
        elif op != _HARD:
            return -1
    return clip if aligned == 1 else -1


def _reference_length(cigar) -> int:
    return sum(length for op, length in cigar if _CONSUMES_REFERENCE[op])


class ContigReads:
    """Replays htslib's pileup buffer over the reads of one contig range, in file order."""

    def __init__(self, reads: Iterator, contig: str, filters: Filters):
        self._reads = reads
        self._contig = contig
        self._filters = filters
        self._excluded = filters.excl_flags | FLAGS["UNMAP"]
        self._exhausted = False
        self._last_start = -1  # start of the last accepted read (htslib's max_pos)
        self._last_seen = -1  # start of the last read of the file, for the sort check
        self._ends: list[int] = []  # heap: ends of accepted reads still in the buffer
        self._mates: dict[str, Read] = {}  # first mates waiting for their overlapping mate
        self._active: list[Read] = []

    def _push(self, alignment) -> None:
        filters = self._filters
        flag = alignment.flag
        start = alignment.reference_start
        if start < self._last_seen:
            raise ValueError(
                f"the BAM file is not sorted by coordinate ({alignment.query_name!r} at "
                f"{self._contig}:{start + 1} comes after position {self._last_seen + 1}); "
                "run `samtools sort`."
            )
        self._last_seen = start
        if flag & self._excluded:
            return
        if alignment.mapping_quality < filters.min_mapq:
            return
        if not filters.count_orphans and flag & 0x1 and not flag & 0x2:
            return
        cigar = alignment.cigartuples
        if not cigar:
            return
        span = _reference_length(cigar)
        if span == 0:
            # No reference-consuming operation: htslib never places it at any position.
            return
        if any(op > _DIFF for op, _ in cigar):
            raise ValueError(
                f"read {alignment.query_name!r}: unsupported CIGAR operation 'B' "
                f"({alignment.cigarstring})."
            )
        end = start + span
        name = alignment.query_name
        previous = self._last_start
        if filters.max_depth and start == previous:
            ends = self._ends
            while ends and ends[0] < start:
                heapq.heappop(ends)
            if len(ends) >= filters.max_depth:
                # htslib drops it and forgets any mate waiting under the same name.
                self._mates.pop(name, None)
                return
        self._last_start = start
        heapq.heappush(self._ends, end)
        read = Read(
            start,
            end,
            name,
            alignment.mapping_quality,
            bool(flag & 0x10),
            cigar,
            alignment.query_sequence or "",
            alignment.query_qualities,
        )
        self._active.append(read)
        if filters.overlap_removal and flag & 0x2 and not flag & 0x8:
            self._pair_up(alignment, read, previous)

    def _pair_up(self, alignment, read: Read, previous: int) -> None:
        mate_contig = alignment.next_reference_id
        mate_start = alignment.next_reference_start
        if mate_contig >= 0 and mate_contig != alignment.reference_id:
            return
        if abs(alignment.template_length) >= 2 * alignment.query_length and mate_start >= read.end:
            return
        mate = self._mates.get(read.name)
        if mate is not None and mate.end < previous:
            # The first mate already left the buffer (htslib removes it from the hash then).
            del self._mates[read.name]
            mate = None
        if mate is None:
            if mate_start >= read.start or (alignment.flag & 0x1 and mate_start == -1):
                self._mates[read.name] = read
            return
        del self._mates[read.name]
        adjust_overlap(mate, read, previous)

    def advance(self, position: int) -> None:
        """Consume reads until an accepted read starts at or after `position` (or the end).

        Only then are all quality adjustments that samtools applies before reporting the
        positions below `position` known.
        """
        while not self._exhausted and self._last_start < position:
            alignment = next(self._reads, None)
            if alignment is None:
                self._exhausted = True
                break
            self._push(alignment)

    def window(self, start: int, end: int) -> list[Read]:
        """The accepted reads with a column in `[start, end)`; forget those ending before `end`."""
        self.advance(end)
        reads = [read for read in self._active if read.end > start and read.start < end]
        self._active = [read for read in self._active if read.end > end]
        return reads


def _aligned_bases(read: Read) -> tuple[np.ndarray, np.ndarray]:
    """Reference positions and query indices of the read's M/=/X bases."""
    ops = np.array(read.cigar, dtype=np.int64).reshape(-1, 2)
    op, length = ops[:, 0], ops[:, 1]
    reference = np.where(_CONSUMES_REFERENCE[op], length, 0)
    query = np.where(_CONSUMES_QUERY[op], length, 0)
    reference_offset = np.cumsum(reference) - reference
    query_offset = np.cumsum(query) - query
    bases = np.where(_IS_BASE[op], length, 0)
    which = np.repeat(np.arange(op.size), bases)
    within = np.arange(which.size) - np.repeat(np.cumsum(bases) - bases, bases)
    return read.start + reference_offset[which] + within, query_offset[which] + within


def adjust_overlap(first: Read, second: Read, reported_before: int) -> None:
    """htslib's overlapping-mate quality adjustment (`tweak_overlap_quality`, htslib 1.24).

    Where both mates have an aligned base: the same base -> one mate gets the sum of both
    qualities (at most 200), the other 0; different bases -> the higher quality keeps 80% of
    it (rounded down), the lower 0. Which mate is "one" (and who wins a tie) is decided by bit
    0 of the hash of the read name. Deletions and reference skips inside the overlap follow
    htslib's walk step by step (`_walk_overlap`); without them it is a plain intersection.
    """
    if len(first.sequence) == 0 or len(second.sequence) == 0:
        return
    first_keeps = name_hash_bit(first.name) == 1
    first_quality = first.qualities().astype(np.int64)
    second_quality = second.qualities().astype(np.int64)
    if first.clip >= 0 and second.clip >= 0:
        # One aligned block each: the overlap is one contiguous slice of both reads.
        overlap = min(first.end, second.end) - second.start
        if overlap <= 0:
            return
        first_from = first.clip + second.start - first.start
        first_query = np.arange(first_from, first_from + overlap)
        second_query = np.arange(second.clip, second.clip + overlap)
    elif any(op == _DEL or op == _SKIP for op, _ in first.cigar + second.cigar):
        first_list, second_list = first_quality.tolist(), second_quality.tolist()
        _walk_overlap(first, second, first_list, second_list, first_keeps)
        _store(first, second, first_list, second_list, reported_before)
        return
    else:
        first_positions, first_query = _aligned_bases(first)
        second_positions, second_query = _aligned_bases(second)
        _, first_index, second_index = np.intersect1d(
            first_positions, second_positions, assume_unique=True, return_indices=True
        )
        if first_index.size == 0:
            return
        first_query, second_query = first_query[first_index], second_query[second_index]
    first_bases = np.frombuffer(first.sequence.encode(), dtype=np.uint8)[first_query]
    second_bases = np.frombuffer(second.sequence.encode(), dtype=np.uint8)[second_query]
    qa = first_quality[first_query]
    qb = second_quality[second_query]
    same = first_bases == second_bases
    summed = np.minimum(qa + qb, 200)
    # C's `0.8 * q` truncated to an integer: the same IEEE doubles in NumPy.
    qa_scaled = (0.8 * qa).astype(np.int64)
    qb_scaled = (0.8 * qb).astype(np.int64)
    a_wins = (qa > qb) | ((qa == qb) & first_keeps)
    first_quality[first_query] = np.where(
        same, summed if first_keeps else 0, np.where(a_wins, qa_scaled, 0)
    )
    second_quality[second_query] = np.where(
        same, 0 if first_keeps else summed, np.where(a_wins, 0, qb_scaled)
    )
    _store(first, second, first_quality, second_quality, reported_before)


def _store(first: Read, second: Read, first_quality, second_quality, reported_before) -> None:
    if first.original_quality is None:
        first.original_quality = first.qualities().copy()
        first.tweaked_from = reported_before
    first.quality = np.asarray(first_quality, dtype=np.uint8)
    second.quality = np.asarray(second_quality, dtype=np.uint8)


class _Cursor:
    """htslib's walk over the aligned (M/=/X) bases of a CIGAR: `cigar_iref2iseq_set/next`."""

    __slots__ = ("cigar", "k", "icig", "iseq", "iref", "ret")

    def __init__(self, cigar, offset: int):
        # Position on the first aligned base at or after `offset` (relative to the read start).
        self.cigar = cigar
        self.k = 0
        self.icig = self.iseq = self.iref = 0
        self.ret = -1
        pos = offset
        while self.k < len(cigar):
            op, length = cigar[self.k]
            if op == _SOFT or op == _INS:
                self.k += 1
                self.iseq += length
                self.icig = 0
            elif op == _HARD or op == _PAD:
                self.k += 1
                self.icig = 0
            elif _IS_BASE[op]:
                pos -= length
                if pos < 0:
                    self.icig = length + pos
                    self.iseq += self.icig
                    self.iref += self.icig
                    self.ret = 0
                    return
                self.k += 1
                self.iseq += length
                self.icig = 0
                self.iref += length
            else:  # D or N
                pos = max(pos - length, 0)
                self.k += 1
                self.icig = 0
                self.iref += length
        self.iseq = -1

    def next(self) -> None:
        cigar = self.cigar
        while self.k < len(cigar):
            op, length = cigar[self.k]
            if _IS_BASE[op]:
                if self.icig >= length - 1:
                    self.icig = -1
                    self.k += 1
                    continue
                self.iseq += 1
                self.icig += 1
                self.iref += 1
                self.ret = 0
                return
            if op == _DEL or op == _SKIP:
                self.iref += length
            elif op == _INS or op == _SOFT:
                self.iseq += length
            self.k += 1
            self.icig = -1
        self.iseq = self.iref = -1
        self.ret = -1

    def after_deletion(self) -> bool:
        return self.k > 0 and self.cigar[self.k - 1][0] == _DEL


def _walk_overlap(first: Read, second: Read, qa: list, qb: list, first_keeps: bool) -> None:
    """A step-by-step port of htslib 1.24's `tweak_overlap_quality` loop (gapped CIGARs)."""
    a_seq, b_seq = first.sequence, second.sequence
    a_start, b_start = first.start, second.start
    a = _Cursor(first.cigar, b_start - a_start)
    if a.ret < 0:
        return
    b = _Cursor(second.cigar, 0)
    if b.ret < 0:
        return
    a_len, b_len = len(qa), len(qb)
    iref = b_start
    while True:
        while a.ret >= 0 and a.iref >= 0 and a.iref < iref - a_start:
            a.next()
        if a.ret < 0:
            return
        while b.ret >= 0 and b.iref >= 0 and b.iref < iref - b_start:
            b.next()
        if b.ret < 0:
            return
        iref = max(iref, a.iref + a_start, b.iref + b_start) + 1
        a_pos, b_pos = a.iref + a_start, b.iref + b_start
        if a_pos != b_pos:
            # A deletion in one mate: the other's bases up to there are scaled as mismatches.
            if a_pos < b_pos and b.after_deletion():
                while True:
                    if a.iseq < a_len:
                        qa[a.iseq] = int(qa[a.iseq] * 0.8) if first_keeps else 0
                    a.next()
                    if a.ret < 0:
                        return
                    if a.iref + a_start >= b.iref + b_start:
                        break
            elif a.after_deletion():
                while True:
                    if b.iseq < b_len:
                        qb[b.iseq] = 0 if first_keeps else int(qb[b.iseq] * 0.8)
                    b.next()
                    if b.ret < 0:
                        return
                    if b.iref + b_start >= a.iref + a_start:
                        break
            else:
                continue  # e.g. a reference skip: htslib leaves these alone
        if a.iseq >= a_len or b.iseq >= b_len:
            return
        x, y = qa[a.iseq], qb[b.iseq]
        if a_seq[a.iseq] == b_seq[b.iseq]:
            total = min(x + y, 200)
            qa[a.iseq] = total if first_keeps else 0
            qb[b.iseq] = 0 if first_keeps else total
        elif x > y:
            qa[a.iseq] = int(0.8 * x)
            qb[b.iseq] = 0
        elif x < y:
            qb[b.iseq] = int(0.8 * y)
            qa[a.iseq] = 0
        else:
            qa[a.iseq] = int(0.8 * x) if first_keeps else 0
            qb[b.iseq] = 0 if first_keeps else int(0.8 * y)


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    total = np.cumsum(values)
    return total - values


class Projection:
    """Reference-space arrays of a batch of reads clipped to `[start, end)` (dense, unpadded)."""

    __slots__ = ("starts", "codes", "quality", "insertions", "inserted", "lengths")

    def __init__(self, starts, codes, quality, insertions, inserted, lengths):
        self.starts = starts
        self.codes = codes
        self.quality = quality
        self.insertions = insertions
        self.inserted = inserted
        self.lengths = lengths


def project(
    reads: list[Read],
    start: int,
    end: int,
    min_baseq: int,
    *,
    sequences: bool = True,
) -> Projection:
    """Project reads into reference space, clipped to `[start, end)`, after the BQ filter.

    Column `j` of row `n` is reference position `starts[n] + j`. `M/=/X` give base codes, `D`
    the gap code, `N` padding; an entry whose quality (the base's, or for `D`/`N` the next query
    base's, 0 when none follows) is below `min_baseq` becomes padding with its insertion flag.
    Reads with one aligned block (`[S]M[S]`, most short reads) take a dense fast path; the
    others go through the general per-operation projection.
    """
    count = len(reads)
    clips = np.fromiter((read.clip for read in reads), dtype=np.int64, count=count)
    simple = np.flatnonzero(clips >= 0)
    if simple.size < count or count == 0:
        general = np.flatnonzero(clips < 0)
        projection = _project_general(
            [reads[i] for i in general], start, end, min_baseq, sequences=sequences
        )
        if simple.size == 0:
            return projection  # includes the empty batch
    read_starts = np.fromiter((read.start for read in reads), dtype=np.int64, count=count)
    read_ends = np.fromiter((read.end for read in reads), dtype=np.int64, count=count)
    row_starts = np.maximum(read_starts, start)
    row_lengths = np.maximum(np.minimum(read_ends, end) - row_starts, 0)
    width = max(int(row_lengths.max()), 1)
    codes = np.full((count, width), PAD, dtype=np.int8)
    quality = np.zeros((count, width), dtype=np.float32)
    insertions = np.zeros((count, width), dtype=np.float32)
    inserted: tuple[dict[int, str], ...] = tuple({} for _ in range(count)) if sequences else ()

    chosen = [reads[i] for i in simple]
    lengths = np.fromiter((len(read.sequence) for read in chosen), np.int64, simple.size)
    offsets = _exclusive_cumsum(lengths)
    letters = np.frombuffer("".join(read.sequence for read in chosen).encode("ascii"), np.uint8)
    base_codes = np.append(_LETTER_CODES[letters], np.int8(N))
    qualities = np.append(
        np.frombuffer(
            b"".join(
                read.quality if read.quality is not None else b"\xff" * len(read.sequence)
                for read in chosen
            ),
            dtype=np.uint8,
        ),
        np.uint8(0),
    )
    # Query index of each row's first column; beyond the sequence (SEQ '*') reads N, Q0.
    first = clips[simple] + row_starts[simple] - read_starts[simple]
    columns = np.arange(width)
    query = first[:, None] + columns[None, :]
    valid = columns[None, :] < row_lengths[simple, None]
    flat = np.where(valid & (query < lengths[:, None]), offsets[:, None] + query, letters.size)
    base_quality = qualities[flat]
    keep = valid & (base_quality >= min_baseq)
    codes[simple] = np.where(keep, base_codes[flat], np.int8(PAD))
    quality[simple] = np.where(keep, base_quality, 0)
    if simple.size < count:
        general_width = projection.codes.shape[1]
        codes[general, :general_width] = projection.codes
        quality[general, :general_width] = projection.quality
        insertions[general, :general_width] = projection.insertions
        if sequences:
            for i, values in zip(general, projection.inserted):
                inserted[i].update(values)
    return Projection(row_starts, codes, quality, insertions, inserted, row_lengths)


def _project_general(
    reads: list[Read],
    start: int,
    end: int,
    min_baseq: int,
    *,
    sequences: bool = True,
) -> Projection:
    """Project reads into reference space, clipped to `[start, end)`, after the BQ filter.

    Column `j` of row `n` is reference position `starts[n] + j`. `M/=/X` give base codes, `D`
    the gap code, `N` padding; an entry whose quality (the base's, or for `D`/`N` the next query
    base's, 0 when none follows) is below `min_baseq` becomes padding with its insertion flag.
    """
    count = len(reads)
    if count == 0:
        empty = np.zeros((0, 1), dtype=np.int8)
        return Projection(
            np.zeros(0, np.int64),
            empty - 1,
            empty.astype(np.float32),
            empty.astype(np.float32),
            (),
            np.zeros(0, np.int64),
        )
    read_starts = np.fromiter((read.start for read in reads), dtype=np.int64, count=count)
    op_counts = np.fromiter((len(read.cigar) for read in reads), dtype=np.int64, count=count)
    cigar = np.array([item for read in reads for item in read.cigar], dtype=np.int64)
    op, length = cigar[:, 0], cigar[:, 1]
    op_read = np.repeat(np.arange(count), op_counts)
    first_op = _exclusive_cumsum(op_counts)

    sequence_lengths = np.fromiter((len(read.sequence) for read in reads), np.int64, count)
    sequence_offsets = _exclusive_cumsum(sequence_lengths)
    letters = np.frombuffer("".join(read.sequence for read in reads).encode("ascii"), np.uint8)
    base_codes = _LETTER_CODES[letters]
    qualities = np.frombuffer(
        b"".join(
            read.quality if read.quality is not None else b"\xff" * len(read.sequence)
            for read in reads
        ),
        dtype=np.uint8,
    )
    tweaked = [i for i, read in enumerate(reads) if read.original_quality is not None]

    reference_length = np.where(_CONSUMES_REFERENCE[op], length, 0)
    query_length = np.where(_CONSUMES_QUERY[op], length, 0)
    global_reference = _exclusive_cumsum(reference_length)
    global_query = _exclusive_cumsum(query_length)
    op_start = read_starts[op_read] + global_reference - global_reference[first_op][op_read]
    op_query = global_query - global_query[first_op][op_read]
    op_end = op_start + reference_length

    read_ends = read_starts + np.bincount(op_read, reference_length, minlength=count).astype(
        np.int64
    )
    row_starts = np.maximum(read_starts, start)
    row_lengths = np.maximum(np.minimum(read_ends, end) - row_starts, 0)
    width = max(int(row_lengths.max()), 1)

    clipped_start = np.maximum(op_start, start)
    clipped = np.maximum(np.minimum(op_end, end) - clipped_start, 0)
    column_op = np.repeat(np.arange(op.size), clipped)
    position = clipped_start[column_op] + (
        np.arange(column_op.size) - np.repeat(_exclusive_cumsum(clipped), clipped)
    )
    row = op_read[column_op]
    column = position - row_starts[row]
    kind = op[column_op]
    is_base = _IS_BASE[kind]
    query_index = op_query[column_op] + np.where(is_base, position - op_start[column_op], 0)
    in_sequence = query_index < sequence_lengths[row]
    flat = np.where(in_sequence, sequence_offsets[row] + query_index, 0)
    codes = np.where(
        is_base,
        np.where(in_sequence, base_codes[flat] if base_codes.size else N, N),
        np.where(kind == _DEL, GAP, PAD),
    ).astype(np.int8)
    quality = np.where(in_sequence, qualities[flat] if qualities.size else 0, 0)
    if tweaked:
        # Columns reported before the mate arrived keep the qualities from before the overlap
        # adjustment (this matters only for D/N columns, which borrow the next base's quality).
        original = qualities.copy()
        tweaked_from = np.full(count, -1, dtype=np.int64)
        for i in tweaked:
            offset = sequence_offsets[i]
            original[offset : offset + sequence_lengths[i]] = reads[i].original_quality
            tweaked_from[i] = reads[i].tweaked_from
        before = position < tweaked_from[row]
        quality = np.where(before & in_sequence, original[flat] if original.size else 0, quality)
    keep = quality >= min_baseq

    # Insertion flags: an I (run of I/P operations) counts on the last column of the M/=/X/D/N
    # operation right before it; a leading I (nothing reference-consuming before) never counts.
    insertion_ops = np.flatnonzero((op == _INS) & (length > 0))
    flag_rows = np.zeros(0, np.int64)
    flag_columns = np.zeros(0, np.int64)
    inserted: tuple[dict[int, str], ...] = tuple({} for _ in range(count)) if sequences else ()
    if insertion_ops.size:
        indices = np.arange(op.size)
        last_other = np.maximum.accumulate(np.where(_INSERTION_OR_PAD[op], -1, indices))
        anchor = last_other[insertion_ops]
        valid = (anchor >= first_op[op_read[insertion_ops]]) & _CONSUMES_REFERENCE[
            op[np.maximum(anchor, 0)]
        ]
        insertion_ops, anchor = insertion_ops[valid], anchor[valid]
        anchor_position = op_end[anchor] - 1
        inside = (anchor_position >= start) & (anchor_position < end)
        insertion_ops, anchor, anchor_position = (
            insertion_ops[inside],
            anchor[inside],
            anchor_position[inside],
        )
        anchor_rows = op_read[anchor]
        anchor_columns = anchor_position - row_starts[anchor_rows]
        # The flag lives and dies with the entry it is attached to (same BQ decision).
        entry_keep = np.zeros((count, width), dtype=bool)
        entry_keep[row, column] = keep
        kept = entry_keep[anchor_rows, anchor_columns]
        flag_rows, flag_columns = anchor_rows[kept], anchor_columns[kept]
        if sequences:
            for i in np.flatnonzero(kept):
                read_index = int(anchor_rows[i])
                read = reads[read_index]
                begin = int(op_query[insertion_ops[i]])
                piece = read.sequence[begin : begin + int(length[insertion_ops[i]])]
                key = int(anchor_columns[i])
                inserted[read_index][key] = inserted[read_index].get(key, "") + piece

    dense_codes = np.full((count, width), PAD, dtype=np.int8)
    dense_quality = np.zeros((count, width), dtype=np.float32)
    dense_insertions = np.zeros((count, width), dtype=np.float32)
    kept_rows, kept_columns = row[keep], column[keep]
    dense_codes[kept_rows, kept_columns] = codes[keep]
    present = codes[keep] != PAD
    dense_quality[kept_rows[present], kept_columns[present]] = quality[keep][present]
    dense_insertions[flag_rows, flag_columns] = 1.0
    return Projection(
        row_starts, dense_codes, dense_quality, dense_insertions, inserted, row_lengths
    )

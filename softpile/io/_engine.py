"""samtools mpileup's read selection, replayed read by read, and the CIGAR projection.

`_ContigReads` consumes the reads of one contig range in file order and decides, exactly as
htslib's pileup buffer does, which reads enter the pileup (flag, MAPQ and orphan filters, the
`--max-depth` buffer cap) and how overlapping mates change each other's base qualities. The
Python loop is over reads only; `project` turns the CIGARs of a whole batch of reads into
reference-space arrays with NumPy (no loop over bases).
"""

import bisect
import contextlib
import gc
import heapq
import operator
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

DEFAULT_WINDOW = 50_000
"""Positions per window when streaming a region (memory is bounded by one window)."""

# CIGAR operations, in BAM's numbering: M=0 I D N S H P, then `=`=7 and X=8 (the aligned
# bases, with M); the obsolete B=9 is treated as consuming nothing.
_INS, _DEL, _SKIP, _SOFT, _HARD = 1, 2, 3, 4, 5
_CONSUMES_REFERENCE = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
_CONSUMES_QUERY = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
_IS_BASE = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
_INSERTION_OR_PAD = np.array([0, 1, 0, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
# The same as a tuple, for per-operation Python code (NumPy scalar indexing is slow there).
_BASE_OP = tuple(bool(value) for value in _IS_BASE)
_REFERENCE_OP = tuple(bool(value) for value in _CONSUMES_REFERENCE)
_QUERY_OP = tuple(bool(value) for value in _CONSUMES_QUERY)

# Read letters -> codes: A C G T (either case) are bases, everything else (N, IUPAC, '=') is N.
_LETTER_CODES = np.full(256, N, dtype=np.int8)
for _code, _letter in enumerate("ACGT"):
    _LETTER_CODES[ord(_letter)] = _code
    _LETTER_CODES[ord(_letter.lower())] = _code
_LETTER_BYTES = _LETTER_CODES.tobytes()  # the same as a `bytes.translate` table


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


def _joined_qualities(reads: list[Read]) -> np.ndarray:
    """The reads' stored qualities end to end as uint8 (QUAL '*': 255 per base)."""
    joined = b"".join(
        read.quality if read.quality is not None else b"\xff" * len(read.sequence) for read in reads
    )
    return np.frombuffer(joined, dtype=np.uint8)


# Field getters for `map` (much faster than generator expressions over many reads).
_START, _END, _CLIP = (
    operator.attrgetter("start"),
    operator.attrgetter("end"),
    operator.attrgetter("clip"),
)
_CIGAR, _SEQUENCE = operator.attrgetter("cigar"), operator.attrgetter("sequence")


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
        return 0 if _BASE_OP[cigar[0][0]] else -1
    clip = 0
    aligned = 0
    for op, length in cigar:
        if _BASE_OP[op]:
            aligned += 1
        elif op == _SOFT:
            if not aligned:
                clip += length
        elif op != _HARD:
            return -1
    return clip if aligned == 1 else -1


@contextlib.contextmanager
def _rare_collections(allocations: int = 100_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often for a while (restored afterwards).

    Each read leaves a handful of new objects (none in a reference cycle); with Python's
    default threshold (700) the collector would run thousands of times per million reads,
    each time walking every object still alive, which is most of a run's time after the
    reads themselves.
    """
    thresholds = gc.get_threshold()
    if thresholds[0]:  # 0: automatic collection is off, and stays off
        gc.set_threshold(max(allocations, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class ContigReads:
    """Replays htslib's pileup buffer over the reads of one contig range, in file order."""

    def __init__(self, reads: Iterator, contig: str, filters: Filters, path: str = "the BAM"):
        self._reads = reads
        self._path = path
        self._contig = contig
        self._filters = filters
        self._excluded = filters.excl_flags | FLAGS["UNMAP"]
        self._min_mapq = filters.min_mapq
        self._drop_orphans = not filters.count_orphans
        self._max_depth = filters.max_depth
        self._overlaps = filters.overlap_removal
        self._exhausted = False
        self._last_start = -1  # start of the last accepted read (htslib's max_pos)
        self._last_seen = -1  # start of the last read of the file, for the sort check
        self._ends: list[int] = []  # heap: ends of accepted reads still in the buffer
        self._mates: dict[str, Read] = {}  # first mates waiting for their overlapping mate
        self._active: list[Read] = []
        # Overlapping one-block pairs waiting for one vectorised adjustment (`adjust_overlaps`).
        self._pending: list = []
        self._pending_reads: set[int] = set()

    def _push(self, alignment) -> None:
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
        mapq = alignment.mapping_quality
        if mapq < self._min_mapq:
            return
        if self._drop_orphans and flag & 0x1 and not flag & 0x2:
            return
        cigar = alignment.cigartuples
        if not cigar:
            return
        end = alignment.reference_end
        if end is None or end <= start:
            # No reference-consuming operation: htslib never places it at any position.
            return
        name = alignment.query_name
        previous = self._last_start
        max_depth = self._max_depth
        if max_depth:
            ends = self._ends
            while ends and ends[0] < start:
                heapq.heappop(ends)
            if start == previous and len(ends) >= max_depth:
                # htslib drops it and forgets any mate waiting under the same name.
                self._mates.pop(name, None)
                return
            heapq.heappush(ends, end)
        self._last_start = start
        read = Read(
            start,
            end,
            name,
            mapq,
            bool(flag & 0x10),
            cigar,
            alignment.query_sequence or "",
            alignment.query_qualities,
        )
        self._active.append(read)
        if self._overlaps and flag & 0x2 and not flag & 0x8:
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
        if not mate.sequence or not read.sequence:
            return  # SEQ '*': no bases to compare
        pending = self._pending_reads
        if pending and (id(mate) in pending or id(read) in pending):
            self._flush()  # keep htslib's order when a read takes part twice
        segments = _overlap_segments(mate, read)
        if segments is None:
            adjust_gapped_overlap(mate, read, previous)
        elif segments:
            # Batched (the common case), applied before any use of the qualities.
            self._pending.append((mate, read, segments, previous))
            pending.add(id(mate))
            pending.add(id(read))

    def _flush(self) -> None:
        if self._pending:
            adjust_overlaps(self._pending)
        self._pending = []
        self._pending_reads = set()

    def advance(self, position: int) -> None:
        """Consume reads until an accepted read starts at or after `position` (or the end).

        Only then are all quality adjustments that samtools applies before reporting the
        positions below `position` known.
        """
        with _rare_collections():
            try:
                while not self._exhausted and self._last_start < position:
                    alignment = next(self._reads, None)
                    if alignment is None:
                        self._exhausted = True
                        break
                    self._push(alignment)
            except (OSError, ValueError) as error:
                if "not sorted" in str(error):
                    raise
                raise OSError(
                    f"error reading {self._path!r}: {error}; the file looks truncated or corrupt."
                ) from None

    def window(self, start: int, end: int) -> list[Read]:
        """The accepted reads with a column in `[start, end)`; forget those ending before `end`."""
        self.advance(end)
        self._flush()
        reads = [read for read in self._active if read.end > start and read.start < end]
        self._active = [read for read in self._active if read.end > end]
        # First mates whose mate never came (filtered, or elsewhere) have left htslib's buffer
        # (and its hash) by now: forget them so memory stays bounded by the window.
        self._mates = {
            name: read for name, read in self._mates.items() if read.end >= self._last_start
        }
        return reads


def _aligned_blocks(read: Read) -> list[tuple[int, int, int]]:
    """`(reference start, query start, length)` of each non-empty M/=/X operation."""
    blocks = []
    reference, query = read.start, 0
    for op, length in read.cigar:
        if _BASE_OP[op] and length:
            blocks.append((reference, query, length))
        if _REFERENCE_OP[op]:
            reference += length
        if _QUERY_OP[op]:
            query += length
    return blocks


def _overlap_segments(first: Read, second: Read) -> list[tuple[int, int, int]] | None:
    """Where both mates have an aligned base at the same position, as runs `(first's query
    index, second's query index, length)`; None when a mate has a deletion or reference skip
    (those pairs follow `adjust_gapped_overlap`)."""
    if first.clip >= 0 and second.clip >= 0:
        # One aligned block each: the overlap is one contiguous slice of both reads.
        overlap = min(first.end, second.end) - second.start
        if overlap <= 0:
            return []
        return [(first.clip + second.start - first.start, second.clip, overlap)]
    for op, _ in first.cigar + second.cigar:
        if op == _DEL or op == _SKIP:
            return None
    first_blocks, second_blocks = _aligned_blocks(first), _aligned_blocks(second)
    segments = []
    i = j = 0
    while i < len(first_blocks) and j < len(second_blocks):
        first_at, first_query, first_length = first_blocks[i]
        second_at, second_query, second_length = second_blocks[j]
        low = max(first_at, second_at)
        high = min(first_at + first_length, second_at + second_length)
        if low < high:
            segments.append(
                (first_query + low - first_at, second_query + low - second_at, high - low)
            )
        if first_at + first_length < second_at + second_length:
            i += 1
        else:
            j += 1
    return segments


def adjust_overlaps(pairs: list) -> None:
    """htslib's overlapping-mate quality adjustment (`tweak_overlap_quality`, htslib 1.24) for
    many pairs `(first, second, segments, reported_before)` at once (no read appears twice),
    where `segments` are the pair's `_overlap_segments`.

    Where both mates have an aligned base: the same base -> one mate gets the sum of both
    qualities (at most 200), the other 0; different bases -> the higher quality keeps 80% of
    it (rounded down), the lower 0. Which mate is "one" (and who wins a tie) is decided by bit
    0 of the hash of the read name. Pairs with deletions or reference skips follow the rules
    of `_merge_gapped_overlap` instead.
    """
    # Both mates of every pair side by side in one array of qualities and one of letters.
    mates = [read for first, second, _, _ in pairs for read in (first, second)]
    lengths = [len(read.sequence) for read in mates]
    offsets = np.cumsum([0] + lengths).tolist()
    before = _joined_qualities(mates)
    letters = np.frombuffer("".join(read.sequence for read in mates).encode(), dtype=np.uint8)
    first_from, second_from, run_lengths, keeps = [], [], [], []
    for pair, (first, _, segments, _) in enumerate(pairs):
        keep = name_hash_bit(first.name) == 1
        first_offset, second_offset = offsets[2 * pair], offsets[2 * pair + 1]
        first_length, second_length = lengths[2 * pair], lengths[2 * pair + 1]
        for f, s, n in segments:
            first_from.append(first_offset + f)
            second_from.append(second_offset + s)
            # Never past the stored bases (a CIGAR longer than SEQ).
            run_lengths.append(max(min(n, first_length - f, second_length - s), 0))
            keeps.append(keep)
    runs = np.array(run_lengths, dtype=np.int64)
    within = np.arange(runs.sum()) - np.repeat(_exclusive_cumsum(runs), runs)
    first_index = np.repeat(np.array(first_from, dtype=np.int64), runs) + within
    second_index = np.repeat(np.array(second_from, dtype=np.int64), runs) + within
    qa = before[first_index].astype(np.int64)
    qb = before[second_index].astype(np.int64)
    same = letters[first_index] == letters[second_index]
    first_keeps = np.repeat(np.array(keeps, dtype=bool), runs)
    summed = np.minimum(qa + qb, 200)
    # C's `0.8 * q` truncated to an integer: the same IEEE doubles in NumPy.
    qa_scaled = (0.8 * qa).astype(np.int64)
    qb_scaled = (0.8 * qb).astype(np.int64)
    a_wins = (qa > qb) | ((qa == qb) & first_keeps)
    after = before.copy()
    after[first_index] = np.where(
        same, np.where(first_keeps, summed, 0), np.where(a_wins, qa_scaled, 0)
    )
    after[second_index] = np.where(
        same, np.where(first_keeps, 0, summed), np.where(a_wins, 0, qb_scaled)
    )
    # Each read's qualities become a slice of `after` (its old ones: of `before`).
    for pair, (first, second, _, reported_before) in enumerate(pairs):
        first_start, second_start, second_end = offsets[2 * pair : 2 * pair + 3]
        if first.original_quality is None:
            first.original_quality = before[first_start:second_start]
            first.tweaked_from = reported_before
        first.quality = after[first_start:second_start]
        second.quality = after[second_start:second_end]


def adjust_gapped_overlap(first: Read, second: Read, reported_before: int) -> None:
    """The overlap adjustment of mates with deletions or reference skips, applied at once."""
    first_quality = first.qualities().tolist()
    second_quality = second.qualities().tolist()
    _merge_gapped_overlap(first, second, first_quality, second_quality)
    if first.original_quality is None:
        first.original_quality = first.qualities().copy()
        first.tweaked_from = reported_before
    first.quality = np.asarray(first_quality, dtype=np.uint8)
    second.quality = np.asarray(second_quality, dtype=np.uint8)


def _aligned_bases(read: Read) -> tuple[list[int], list[int], list[bool], list[int]]:
    """For each of the read's M/=/X bases: its reference position, its query index, whether
    its CIGAR operation comes straight after a deletion (`D`), and the index (in these lists)
    one past the last base of its operation."""
    positions: list[int] = []
    queries: list[int] = []
    after_deletion: list[bool] = []
    block_ends: list[int] = []
    reference, query, previous = read.start, 0, -1
    for op, length in read.cigar:
        if _BASE_OP[op]:
            positions.extend(range(reference, reference + length))
            queries.extend(range(query, query + length))
            after_deletion.extend([previous == _DEL] * length)
            block_ends.extend([len(positions)] * length)
        if _REFERENCE_OP[op]:
            reference += length
        if _QUERY_OP[op]:
            query += length
        previous = op
    return positions, queries, after_deletion, block_ends


def _merge_gapped_overlap(
    first: Read, second: Read, first_quality: list, second_quality: list
) -> None:
    """Overlapping mates with gaps: reproduces the qualities samtools 1.24 reports for them.

    Each mate is reduced to its aligned (M/=/X) bases in reference order (the first mate's
    from `second.start` on), each base flagged when its CIGAR operation comes straight after a
    `D` (every base of that operation, not only its first). The two lists are merged with one
    index each: a step takes each mate's next base at or beyond the `frontier`, moves the
    frontier to one past the farther of the two, and stops the merge when a mate has none:

    - same position: the two bases are resolved with the `adjust_overlaps` rules;
    - the first mate's base is nearer and the second's is flagged: the first mate's bases
      from there up to (not including) its first base at or beyond the second's position
      are penalised, then the two bases reached are resolved, even when their positions
      still differ;
    - otherwise, if the first mate's base is flagged: the same with the roles swapped, but
      always at least one base, so that when the second mate's base is the farther one
      that single base is penalised and the pair resolved is the first mate's base with
      the second mate's next one;
    - otherwise (the gap ends in a reference skip, or an insertion or padding sits between
      the deletion and the base): both bases are left as they are.

    Penalised means 80% (rounded down) for the mate the name hash favours, 0 for the other.
    A base beyond the stored sequence (a CIGAR longer than SEQ) ends the merge when resolved.
    """
    first_keeps = name_hash_bit(first.name) == 1
    first_positions, first_query, first_after_deletion, first_block_end = _aligned_bases(first)
    second_positions, second_query, second_after_deletion, second_block_end = _aligned_bases(second)
    first_count, second_count = len(first_positions), len(second_positions)
    first_length, second_length = len(first_quality), len(second_quality)

    def penalise(quality: list, index: int, favoured: bool) -> None:
        if index < len(quality):
            quality[index] = int(0.8 * quality[index]) if favoured else 0

    def resolve(first_index: int, second_index: int, count: int) -> None:
        for offset in range(count):
            i, j = first_index + offset, second_index + offset
            a, b = first_quality[i], second_quality[j]
            if first.sequence[i] == second.sequence[j]:
                total = min(a + b, 200)
                first_quality[i], second_quality[j] = (total, 0) if first_keeps else (0, total)
            elif a > b or (a == b and first_keeps):
                # C's `0.8 * q` truncated to an integer: the same IEEE doubles in Python.
                first_quality[i], second_quality[j] = int(0.8 * a), 0
            else:
                first_quality[i], second_quality[j] = 0, int(0.8 * b)

    # Each mate's current base: an index into its aligned-base lists.
    first_current = second_current = 0
    frontier = second.start
    while True:
        first_current = bisect.bisect_left(first_positions, frontier, first_current)
        second_current = bisect.bisect_left(second_positions, frontier, second_current)
        if first_current == first_count or second_current == second_count:
            return
        first_at, second_at = first_positions[first_current], second_positions[second_current]
        if first_at == second_at:
            # Same position: so are the next bases, up to the end of either operation; those
            # steps are taken at once.
            run = min(
                first_block_end[first_current] - first_current,
                second_block_end[second_current] - second_current,
            )
            first_index, second_index = first_query[first_current], second_query[second_current]
            stored = min(first_length - first_index, second_length - second_index)
            resolve(first_index, second_index, min(run, stored))
            if stored < run:
                return  # a CIGAR longer than the stored bases ends the merge
            frontier = first_at + run
            first_current += run
            second_current += run
            continue
        frontier = max(first_at, second_at) + 1
        if first_at < second_at and second_after_deletion[second_current]:
            # The first mate's bases facing the second's deletion.
            gap_end = max(
                bisect.bisect_left(first_positions, second_at, first_current), first_current + 1
            )
            for base in range(first_current, min(gap_end, first_count)):
                penalise(first_quality, first_query[base], first_keeps)
            if gap_end >= first_count:
                return
            first_current = gap_end
        elif first_after_deletion[first_current]:
            # The second mate's bases facing the first's deletion.
            gap_end = max(
                bisect.bisect_left(second_positions, first_at, second_current), second_current + 1
            )
            for base in range(second_current, min(gap_end, second_count)):
                penalise(second_quality, second_query[base], not first_keeps)
            if gap_end >= second_count:
                return
            second_current = gap_end
        else:
            continue
        first_index, second_index = first_query[first_current], second_query[second_current]
        if first_index >= first_length or second_index >= second_length:
            return  # a CIGAR longer than the stored bases ends the merge
        resolve(first_index, second_index, 1)


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
    qualities: bool = True,
) -> Projection:
    """Project reads into reference space, clipped to `[start, end)`, after the BQ filter.

    Column `j` of row `n` is reference position `starts[n] + j`. `M/=/X` give base codes, `D`
    the gap code, `N` padding; an entry whose quality (the base's, or for `D`/`N` the next query
    base's, 0 when none follows) is below `min_baseq` becomes padding with its insertion flag.
    Reads with one aligned block (`[S]M[S]`, most short reads) take a dense fast path; the
    others go through the general per-operation projection. Without `sequences` the inserted
    bases are not collected; without `qualities` the `quality` array is all zeros (the count
    table needs neither).
    """
    count = len(reads)
    clips = np.fromiter(map(_CLIP, reads), dtype=np.int64, count=count)
    simple = np.flatnonzero(clips >= 0)
    if simple.size < count or count == 0:
        general = np.flatnonzero(clips < 0)
        projection = _project_general(
            [reads[i] for i in general],
            start,
            end,
            min_baseq,
            sequences=sequences,
            qualities=qualities,
        )
        if simple.size == 0:
            return projection  # includes the empty batch
    read_starts = np.fromiter(map(_START, reads), dtype=np.int64, count=count)
    read_ends = np.fromiter(map(_END, reads), dtype=np.int64, count=count)
    row_starts = np.maximum(read_starts, start)
    row_lengths = np.maximum(np.minimum(read_ends, end) - row_starts, 0)
    width = max(int(row_lengths.max()), 1)

    # The one-block reads: row `n` is a slice of the read's bases, so each row is copied from
    # one long array of all their bases (with `width` padding entries after it, so every
    # slice stays inside), then cut at the row's end and at the end of the stored bases.
    chosen = [reads[i] for i in simple]
    sequences_of_chosen = list(map(_SEQUENCE, chosen))
    lengths = np.fromiter(map(len, sequences_of_chosen), np.int64, simple.size)
    letters = "".join(sequences_of_chosen).encode("ascii")
    base_quality = _joined_qualities(chosen)
    # Bases below `min_baseq` become padding: `(code - PAD) * kept + PAD`, branch-free (much
    # faster than `np.where` when the kept bases are scattered).
    kept = (base_quality >= min_baseq).view(np.int8)
    letter_codes = np.frombuffer(letters.translate(_LETTER_BYTES), np.int8)
    padding = np.full(width, PAD, dtype=np.int8)
    base_codes = np.concatenate([(letter_codes - PAD) * kept + PAD, padding])
    first = clips[simple] + row_starts[simple] - read_starts[simple]
    slice_starts = np.minimum(_exclusive_cumsum(lengths) + first, len(letters))
    rows = np.lib.stride_tricks.sliding_window_view(base_codes, width)[slice_starts]
    columns = np.arange(width)
    row_end = row_lengths[simple, None]
    stored_end = np.minimum(np.maximum(lengths - first, 0)[:, None], row_end)
    simple_codes = (rows - PAD) * (columns < stored_end).view(np.int8) + PAD  # as above
    if min_baseq <= 0:
        # Beyond the stored bases (SEQ '*', or a CIGAR longer than SEQ) a base reads N with Q0.
        simple_codes[(columns >= stored_end) & (columns < row_end)] = N
    if simple.size == count:
        codes = simple_codes
    else:
        codes = np.full((count, width), PAD, dtype=np.int8)
        codes[simple] = simple_codes
    quality = np.zeros((count, width), dtype=np.float32)
    if qualities:
        padded = np.concatenate([base_quality, np.zeros(width, np.uint8)])
        rows = np.lib.stride_tricks.sliding_window_view(padded, width)[slice_starts]
        keep = (columns < stored_end) & (rows >= min_baseq)
        quality[simple] = rows * keep
    insertions = np.zeros((count, width), dtype=np.float32)
    inserted: tuple[dict[int, str], ...] = tuple({} for _ in range(count)) if sequences else ()
    if simple.size < count:
        general_width = projection.codes.shape[1]
        codes[general, :general_width] = projection.codes
        if qualities:
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
    qualities: bool = True,
) -> Projection:
    """Project reads into reference space, clipped to `[start, end)`, after the BQ filter.

    Column `j` of row `n` is reference position `starts[n] + j`. `M/=/X` give base codes, `D`
    the gap code, `N` padding; an entry whose quality (the base's, or for `D`/`N` the next query
    base's, 0 when none follows) is below `min_baseq` becomes padding with its insertion flag.
    `sequences` and `qualities` as in `project`.
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
    read_starts = np.fromiter(map(_START, reads), dtype=np.int64, count=count)
    op_counts = np.fromiter(map(len, map(_CIGAR, reads)), dtype=np.int64, count=count)
    cigar = np.array([item for read in reads for item in read.cigar], dtype=np.int64)
    op, length = cigar[:, 0], cigar[:, 1]
    op_read = np.repeat(np.arange(count), op_counts)
    first_op = _exclusive_cumsum(op_counts)

    sequence_lengths = np.fromiter(map(len, map(_SEQUENCE, reads)), np.int64, count)
    sequence_offsets = _exclusive_cumsum(sequence_lengths)
    letters = np.frombuffer("".join(map(_SEQUENCE, reads)).encode("ascii"), np.uint8)
    base_codes = _LETTER_CODES[letters]
    query_qualities = _joined_qualities(reads)
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
    cell = row * width + column  # index into the flattened (count, width) arrays
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
    quality = np.where(in_sequence, query_qualities[flat] if query_qualities.size else 0, 0)
    if tweaked:
        # Columns reported before the mate arrived keep the qualities from before the overlap
        # adjustment (this matters only for D/N columns, which borrow the next base's quality).
        original = query_qualities.copy()
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
        entry_keep = np.zeros(count * width, dtype=bool)
        entry_keep[cell] = keep
        kept = entry_keep[anchor_rows * width + anchor_columns]
        flag_rows, flag_columns = anchor_rows[kept], anchor_columns[kept]
        if sequences:
            for i in np.flatnonzero(kept):
                read_index = int(anchor_rows[i])
                read = reads[read_index]
                begin = int(op_query[insertion_ops[i]])
                piece = read.sequence[begin : begin + int(length[insertion_ops[i]])]
                key = int(anchor_columns[i])
                inserted[read_index][key] = inserted[read_index].get(key, "") + piece

    dense_codes = np.full(count * width, PAD, dtype=np.int8)
    dense_quality = np.zeros(count * width, dtype=np.float32)
    dense_insertions = np.zeros((count, width), dtype=np.float32)
    kept_cells, kept_codes = cell[keep], codes[keep]
    dense_codes[kept_cells] = kept_codes
    if qualities:
        present = kept_codes != PAD
        dense_quality[kept_cells[present]] = quality[keep][present]
    dense_insertions[flag_rows, flag_columns] = 1.0
    return Projection(
        row_starts,
        dense_codes.reshape(count, width),
        dense_quality.reshape(count, width),
        dense_insertions,
        inserted,
        row_lengths,
    )

"""htslib's overlapping-mate quality adjustment (`tweak_overlap_quality`, htslib 1.24).

Where both mates have an aligned base at the same position: the same base -> one mate gets the
sum of both qualities (at most 200), the other 0; different bases -> the higher quality keeps
80% of it (rounded down), the lower 0. Which mate is "one" (and who wins a tie) is decided by
bit 0 of the hash of the read name. Pairs are adjusted all at once, except those with a
deletion or reference skip inside their overlap: those follow `_merge_gapped_overlap`, pair by
pair (rare).
"""

import bisect

import numpy as np

from ._mates import Pairs
from ._records import (
    CONSUMES_QUERY,
    CONSUMES_REFERENCE,
    DEL,
    HARD,
    IS_BASE,
    SKIP,
    SOFT,
    Alignments,
    exclusive_cumsum,
    within_reads,
)

_MASK = np.uint64(0xFFFFFFFF)


def name_hash_bits(names: np.ndarray) -> np.ndarray:
    """Bit 0 of htslib's hash of each read name (X31 string hash, then Wang's integer mix),
    for a NumPy array of names (bytes or str)."""
    names = np.asarray(names)
    if names.dtype.kind == "U":
        names = np.char.encode(names, "ascii")
    width = names.dtype.itemsize
    grid = np.ascontiguousarray(names).view(np.uint8).reshape(names.size, width).astype(np.uint64)
    lengths = (grid != 0).sum(axis=1)
    value = grid[:, 0].copy() if width else np.zeros(names.size, np.uint64)
    for column in range(1, width):
        step = (value * np.uint64(31) + grid[:, column]) & _MASK
        value = np.where(column < lengths, step, value)
    value = (value + (~(value << np.uint64(15)) & _MASK)) & _MASK
    value ^= value >> np.uint64(10)
    value = (value + (value << np.uint64(3))) & _MASK
    value ^= value >> np.uint64(6)
    value = (value + (~(value << np.uint64(11)) & _MASK)) & _MASK
    value ^= value >> np.uint64(16)
    return (value & np.uint64(1)).astype(bool)


def one_block_clip(reads: Alignments, rows: np.ndarray) -> np.ndarray:
    """For each read of `rows`: the query index of its first aligned base when its CIGAR is one
    aligned operation between clips (`[H][S]M[S][H]`, most short reads), else -1."""
    cigars = reads.cigars(rows)
    ops, owner = cigars.ops, cigars.owner
    base = IS_BASE[ops]
    other = ~base & (ops != SOFT) & (ops != HARD)
    one = (np.bincount(owner, base, rows.size) == 1) & (np.bincount(owner, other, rows.size) == 0)
    # Soft clips before the aligned operation: no base operation earlier in the same read.
    before_base = within_reads(base.astype(np.int64), cigars.offsets) == 0
    clip = np.bincount(owner, np.where((ops == SOFT) & before_base, cigars.lengths, 0), rows.size)
    return np.where(one, clip.astype(np.int64), -1)


def _gap_inside(reads: Alignments, rows: np.ndarray, low: np.ndarray, high: np.ndarray):
    """For each read of `rows`: whether a deletion or reference skip of it covers a position
    of `[low, high)`. Without one, both mates have an aligned base at every position of their
    overlap, and the gapped merge reduces to resolving the bases position by position."""
    cigars = reads.cigars(rows)
    ops, lengths, owner = cigars.ops, cigars.lengths, cigars.owner
    gap = ((ops == DEL) | (ops == SKIP)) & (lengths > 0)
    inside = gap & (cigars.start < high[owner]) & (cigars.start + lengths > low[owner])
    return np.bincount(owner, inside, rows.size) > 0


def _aligned_bases(reads: Alignments, rows: np.ndarray):
    """Every M/=/X base of the reads `rows` that is stored in SEQ: `(owner, position, flat
    index into the letters)`, owner being the index into `rows`, in reference order."""
    cigars = reads.cigars(rows)
    counts = np.where(IS_BASE[cigars.ops], cigars.lengths, 0)
    base_op = np.repeat(np.arange(counts.size), counts)
    within = np.arange(base_op.size) - np.repeat(exclusive_cumsum(counts), counts)
    base_owner = cigars.owner[base_op]
    query_index = cigars.query[base_op] + within
    stored = query_index < reads.sequence_lengths()[rows][base_owner]
    position = cigars.start[base_op] + within
    flat_index = reads.sequence_offsets[rows][base_owner] + query_index
    return base_owner[stored], position[stored], flat_index[stored]


def _overlap_elements(reads: Alignments, first: np.ndarray, second: np.ndarray):
    """Flat indices `(into first mates, into second mates, pair)` of the bases where both
    mates of a pair (neither with a deletion or skip inside the overlap) have an aligned
    base."""
    pair_ids = np.arange(first.size)
    clip_first, clip_second = one_block_clip(reads, first), one_block_clip(reads, second)
    one = (clip_first >= 0) & (clip_second >= 0)
    # One aligned block each: the overlap is one contiguous run of both reads.
    f, s, pair = first[one], second[one], pair_ids[one]
    run = np.maximum(np.minimum(reads.end[f], reads.end[s]) - reads.start[s], 0)
    first_query = clip_first[one] + reads.start[s] - reads.start[f]
    second_query = clip_second[one]
    lengths = reads.sequence_lengths()
    run = np.maximum(
        np.minimum(run, np.minimum(lengths[f] - first_query, lengths[s] - second_query)), 0
    )
    within = np.arange(run.sum()) - np.repeat(exclusive_cumsum(run), run)
    first_flat = np.repeat(reads.sequence_offsets[f] + first_query, run) + within
    second_flat = np.repeat(reads.sequence_offsets[s] + second_query, run) + within
    element_pair = np.repeat(pair, run)
    # Several blocks (insertions, padding): match the aligned bases by position.
    several = np.flatnonzero(~one)
    if several.size:
        a_owner, a_position, a_flat = _aligned_bases(reads, first[several])
        b_owner, b_position, b_flat = _aligned_bases(reads, second[several])
        a_key = a_owner * (1 << 34) + a_position
        b_key = b_owner * (1 << 34) + b_position
        order = np.argsort(a_key, kind="stable")
        a_key, a_flat = a_key[order], a_flat[order]
        where = np.minimum(np.searchsorted(a_key, b_key), max(a_key.size - 1, 0))
        match = (a_key[where] == b_key) if a_key.size else np.zeros(b_key.size, bool)
        first_flat = np.concatenate([first_flat, a_flat[where[match]]])
        second_flat = np.concatenate([second_flat, b_flat[match]])
        element_pair = np.concatenate([element_pair, several[b_owner[match]]])
    return first_flat, second_flat, element_pair


def _resolve(quality: np.ndarray, letters: np.ndarray, first_flat, second_flat, first_keeps):
    """The adjustment itself, for aligned base pairs given by flat indices (no index twice)."""
    qa = quality[first_flat].astype(np.int64)
    qb = quality[second_flat].astype(np.int64)
    same = letters[first_flat] == letters[second_flat]
    summed = np.minimum(qa + qb, 200)
    # C's `0.8 * q` truncated to an integer: the same IEEE doubles in NumPy.
    qa_scaled = (0.8 * qa).astype(np.int64)
    qb_scaled = (0.8 * qb).astype(np.int64)
    a_wins = (qa > qb) | ((qa == qb) & first_keeps)
    quality[first_flat] = np.where(
        same, np.where(first_keeps, summed, 0), np.where(a_wins, qa_scaled, 0)
    )
    quality[second_flat] = np.where(
        same, np.where(first_keeps, 0, summed), np.where(a_wins, 0, qb_scaled)
    )


def adjust_overlaps(reads: Alignments, pairs: Pairs) -> None:
    """Apply the adjustment of every pair to `reads.quality` (in place), as samtools would:
    the pairs of `pairs.first`/`pairs.second` at once, then `pairs.ordered` one by one."""
    _adjust(reads, pairs.first, pairs.second, pairs.previous)
    for first, second, previous in pairs.ordered:
        _adjust(reads, np.array([first]), np.array([second]), np.array([previous]))


def _adjust(reads: Alignments, first, second, previous) -> None:
    lengths = reads.sequence_lengths()
    stored = (lengths[first] > 0) & (lengths[second] > 0)  # SEQ '*': no bases to compare
    first, second, previous = first[stored], second[stored], previous[stored]
    if first.size == 0:
        return
    low = reads.start[second]
    high = np.minimum(reads.end[first], reads.end[second])
    gapped = _gap_inside(reads, first, low, high) | _gap_inside(reads, second, low, high)
    keeps = name_hash_bits(reads.names[first])
    plain = np.flatnonzero(~gapped)
    first_flat, second_flat, pair = _overlap_elements(reads, first[plain], second[plain])
    _resolve(reads.quality, reads.letters, first_flat, second_flat, keeps[plain][pair])
    changed = np.zeros(first.size, dtype=bool)
    changed[plain[pair]] = True
    changed |= gapped
    # The first mate's columns before `previous` were reported with the old qualities.
    mark = first[changed]
    untouched = reads.tweaked_from[mark] < 0
    reads.tweaked_from[mark[untouched]] = previous[changed][untouched]
    for index in np.flatnonzero(gapped).tolist():
        _merge_gapped_overlap(reads, int(first[index]), int(second[index]), bool(keeps[index]))


def _cigar(reads: Alignments, row: int) -> list[tuple[int, int]]:
    begin, end = reads.cigar_offsets[row], reads.cigar_offsets[row + 1]
    return list(zip(reads.ops[begin:end].tolist(), reads.op_lengths[begin:end].tolist()))


def _base_list(reads: Alignments, row: int):
    """For each M/=/X base of a read: its reference position, its query index, whether its
    CIGAR operation comes straight after a deletion (`D`), and the index (in these lists) one
    past the last base of its operation."""
    positions: list[int] = []
    queries: list[int] = []
    after_deletion: list[bool] = []
    block_ends: list[int] = []
    reference, query, previous = int(reads.start[row]), 0, -1
    for op, length in _cigar(reads, row):
        if IS_BASE[op]:
            positions.extend(range(reference, reference + length))
            queries.extend(range(query, query + length))
            after_deletion.extend([previous == DEL] * length)
            block_ends.extend([len(positions)] * length)
        if CONSUMES_REFERENCE[op]:
            reference += length
        if CONSUMES_QUERY[op]:
            query += length
        previous = op
    return positions, queries, after_deletion, block_ends


def _merge_gapped_overlap(reads: Alignments, first: int, second: int, first_keeps: bool) -> None:
    """Overlapping mates with gaps: reproduces the qualities samtools 1.24 reports for them.

    Each mate is reduced to its aligned (M/=/X) bases in reference order (the first mate's
    from the second's start on), each base flagged when its CIGAR operation comes straight
    after a `D` (every base of that operation, not only its first). The two lists are merged
    with one index each: a step takes each mate's next base at or beyond the `frontier`, moves
    the frontier to one past the farther of the two, and stops the merge when a mate has none:

    - same position: the two bases are resolved with the rules of the module docstring;
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
    first_offset, second_offset = (
        int(reads.sequence_offsets[first]),
        int(reads.sequence_offsets[second]),
    )
    first_length = int(reads.sequence_offsets[first + 1]) - first_offset
    second_length = int(reads.sequence_offsets[second + 1]) - second_offset
    first_quality = reads.quality[first_offset : first_offset + first_length].tolist()
    second_quality = reads.quality[second_offset : second_offset + second_length].tolist()
    first_letters = reads.letters[first_offset : first_offset + first_length].tobytes()
    second_letters = reads.letters[second_offset : second_offset + second_length].tobytes()
    first_positions, first_query, first_after_deletion, first_block_end = _base_list(reads, first)
    second_positions, second_query, second_after_deletion, second_block_end = _base_list(
        reads, second
    )
    first_count, second_count = len(first_positions), len(second_positions)

    def penalise(quality: list, index: int, favoured: bool) -> None:
        if index < len(quality):
            quality[index] = int(0.8 * quality[index]) if favoured else 0

    def resolve(first_index: int, second_index: int, count: int) -> None:
        for offset in range(count):
            i, j = first_index + offset, second_index + offset
            a, b = first_quality[i], second_quality[j]
            if first_letters[i] == second_letters[j]:
                total = min(a + b, 200)
                first_quality[i], second_quality[j] = (total, 0) if first_keeps else (0, total)
            elif a > b or (a == b and first_keeps):
                # C's `0.8 * q` truncated to an integer: the same IEEE doubles in Python.
                first_quality[i], second_quality[j] = int(0.8 * a), 0
            else:
                first_quality[i], second_quality[j] = 0, int(0.8 * b)

    def merge() -> None:
        # Each mate's current base: an index into its aligned-base lists.
        first_current = second_current = 0
        frontier = int(reads.start[second])
        while True:
            first_current = bisect.bisect_left(first_positions, frontier, first_current)
            second_current = bisect.bisect_left(second_positions, frontier, second_current)
            if first_current == first_count or second_current == second_count:
                return
            first_at, second_at = first_positions[first_current], second_positions[second_current]
            if first_at == second_at:
                # Same position: so are the next bases, up to the end of either operation;
                # those steps are taken at once.
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
                    bisect.bisect_left(first_positions, second_at, first_current),
                    first_current + 1,
                )
                for base in range(first_current, min(gap_end, first_count)):
                    penalise(first_quality, first_query[base], first_keeps)
                if gap_end >= first_count:
                    return
                first_current = gap_end
            elif first_after_deletion[first_current]:
                # The second mate's bases facing the first's deletion.
                gap_end = max(
                    bisect.bisect_left(second_positions, first_at, second_current),
                    second_current + 1,
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

    merge()
    reads.quality[first_offset : first_offset + first_length] = first_quality
    reads.quality[second_offset : second_offset + second_length] = second_quality

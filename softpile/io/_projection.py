"""CIGAR projection: the reads of a window in reference space, for the whole batch at once.

Column `j` of row `n` is reference position `starts[n] + j`. `M/=/X` give base codes (a `=`
base is the reference's), `D` the gap code, `N` padding; an entry whose quality (the base's,
or for `D`/`N` the next query base's, 0 when none follows) is below `min_baseq` becomes
padding with its insertion flag. Reads with one aligned block (`[S]M[S]`, most short reads)
take a dense path of row slices; the others go through the per-operation projection. Each path
also gives every column the sequencing cycle of the query base it comes from (for `D`, the next
query base, whose quality it takes): the query index on the forward strand, `len(SEQ) - 1 -` it
on the reverse strand, -1 on padding and where no stored base is read.
"""

import types
from collections.abc import Mapping

import numpy as np

from .._encoding import GAP, PAD, N
from ._filters import FLAGS
from ._overlaps import one_block_clip
from ._read_batch import MAX_CYCLE
from ._records import (
    CONSUMES_QUERY,
    CONSUMES_REFERENCE,
    DEL,
    INS,
    IS_BASE,
    PAD_OP,
    Alignments,
    exclusive_cumsum,
)

_EQUALS = 6  # a `=` base until it is replaced by the reference's code
_NO_INSERTIONS = types.MappingProxyType({})  # shared by the reads without an insertion

# Read letters -> codes: A C G T (either case) are bases, `=` the reference base, anything
# else (N, IUPAC) is N.
LETTER_CODES = np.full(256, N, dtype=np.int8)
for _code, _letter in enumerate("ACGT"):
    LETTER_CODES[ord(_letter)] = _code
    LETTER_CODES[ord(_letter.lower())] = _code
LETTER_CODES[ord("=")] = _EQUALS


class Projection:
    """Reference-space arrays of a batch of reads clipped to `[start, end)` (dense, unpadded)."""

    __slots__ = ("starts", "codes", "quality", "insertions", "inserted", "lengths", "cycles")

    def __init__(self, starts, codes, quality, insertions, inserted, lengths, cycles):
        self.starts = starts
        self.codes = codes
        self.quality = quality
        self.insertions = insertions
        self.inserted = inserted
        self.lengths = lengths
        self.cycles = cycles


def project(
    reads: Alignments,
    start: int,
    end: int,
    min_baseq: int,
    reference: str,
    *,
    sequences: bool = True,
    qualities: bool = True,
    cycles: bool = True,
) -> Projection:
    """Project reads into reference space, clipped to `[start, end)`, after the BQ filter.

    `reference`: the letters of positions `[start, end)` (for `=` bases). Without `sequences`
    the inserted bases are not collected; without `qualities` the `quality` array is all
    zeros; without `cycles` the cycles are None (the count table needs none of them).
    """
    count = len(reads)
    clips = one_block_clip(reads, np.arange(count))
    simple = np.flatnonzero(clips >= 0)
    row_starts = np.maximum(reads.start, start)
    row_lengths = np.maximum(np.minimum(reads.end, end) - row_starts, 0)
    width = max(int(row_lengths.max(initial=0)), 1)
    codes = np.full((count, width), PAD, dtype=np.int8)
    quality = np.zeros((count, width), dtype=np.float32)
    insertions = np.zeros((count, width), dtype=np.float32)
    cycle = np.full((count, width), -1, dtype=np.int16) if cycles else None
    # The inserted bases by read, for the few reads with an insertion flag.
    inserted: dict[int, dict[int, str]] | None = {} if sequences else None
    if simple.size:
        _project_one_block(
            reads,
            simple,
            clips[simple],
            row_starts,
            row_lengths,
            min_baseq,
            codes,
            quality,
            qualities,
            cycle,
        )
    walked = _zero_length_reference_ops(reads) & (clips < 0)
    for project_rows, rows in (
        (_project_walked, np.flatnonzero(walked)),
        (_project_general, np.flatnonzero((clips < 0) & ~walked)),
    ):
        if rows.size:
            project_rows(
                reads,
                rows,
                start,
                end,
                row_starts,
                min_baseq,
                codes,
                quality,
                insertions,
                inserted,
                qualities,
                cycle,
            )
    equals = codes == _EQUALS
    if equals.any():
        rows, columns = np.nonzero(equals)
        letters = np.frombuffer(reference.encode("ascii"), dtype=np.uint8)
        codes[rows, columns] = LETTER_CODES[letters[row_starts[rows] - start + columns]]
    by_read: tuple = ()
    if inserted is not None:
        pieces_of: list[Mapping[int, str]] = [_NO_INSERTIONS] * count
        for row, pieces in inserted.items():
            pieces_of[row] = pieces
        by_read = tuple(pieces_of)
    return Projection(row_starts, codes, quality, insertions, by_read, row_lengths, cycle)


def _project_one_block(
    reads, rows, clips, row_starts, row_lengths, min_baseq, codes, quality, qualities, cycle
) -> None:
    """Reads with one aligned block: row `n` is a slice of the read's bases, so each row is
    copied from one long array of all their bases (with `width` padding entries after it, so
    every slice stays inside), then cut at the row's end and at the end of the stored bases."""
    width = codes.shape[1]
    offsets = reads.sequence_offsets
    lengths = offsets[rows + 1] - offsets[rows]
    total = int(offsets[-1])
    # Bases below `min_baseq` become padding: `(code - PAD) * kept + PAD`, branch-free (much
    # faster than `np.where` when the kept bases are scattered).
    kept = (reads.quality >= min_baseq).view(np.int8)
    letter_codes = LETTER_CODES[reads.letters]
    padding = np.full(width, PAD, dtype=np.int8)
    base_codes = np.concatenate([(letter_codes - PAD) * kept + PAD, padding])
    first = clips + row_starts[rows] - reads.start[rows]
    slice_starts = np.minimum(offsets[rows] + first, total)
    windows = np.lib.stride_tricks.sliding_window_view(base_codes, width)[slice_starts]
    columns = np.arange(width)
    row_end = row_lengths[rows, None]
    stored_end = np.minimum(np.maximum(lengths - first, 0)[:, None], row_end)
    block = (windows - PAD) * (columns < stored_end).view(np.int8) + PAD  # as above
    if cycle is not None:  # the columns with a stored base that passed `min_baseq`
        cycle[rows] = _one_block_cycles(reads, rows, first, block != PAD, width)
    if min_baseq <= 0:
        # Beyond the stored bases (SEQ '*', or a CIGAR longer than SEQ) a base reads N with Q0.
        block[(columns >= stored_end) & (columns < row_end)] = N
    codes[rows] = block
    if qualities:
        padded = np.concatenate([reads.quality, np.zeros(width, np.uint8)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, width)[slice_starts]
        keep = (columns < stored_end) & (windows >= min_baseq)
        quality[rows] = windows * keep


def _one_block_cycles(reads, rows, first, stored, width) -> np.ndarray:
    """The cycles of one-block rows (`first`: the query index of column 0), -1 where not
    `stored`: one up per column from the first column's cycle on the forward strand, one
    down on the reverse strand. Like the codes, each row is a slice of one array: a ramp of
    cycles up, then down."""
    reverse = (reads.flag[rows] & FLAGS["REVERSE"]) != 0
    lengths = reads.sequence_offsets[rows + 1] - reads.sequence_offsets[rows]
    # Past the stored bases (`first >= lengths`) no column is stored; clip to stay in range.
    first = np.minimum(first, lengths)
    start = np.where(reverse, lengths - 1 - first, first)  # column 0's cycle, >= -1
    longest = int(lengths.max(initial=0))
    dtype = np.int16 if longest + width < MAX_CYCLE else np.int32
    # One more than each cycle (then times `stored`, minus one): -width .. longest + width.
    ramp = np.arange(-width, longest + width + 1, dtype=dtype)
    index = np.where(reverse, 2 * ramp.size - 1 - (start + 1 + width), start + 1 + width)
    ramps = np.lib.stride_tricks.sliding_window_view(np.concatenate([ramp, ramp[::-1]]), width)
    cycles = ramps[index]
    cycles *= stored
    cycles -= 1
    return cycles if dtype == np.int16 else np.minimum(cycles, MAX_CYCLE).astype(np.int16)


def _zero_length_reference_ops(reads: Alignments) -> np.ndarray:
    """`(N,)` bool: reads with an empty M/=/X/D/N operation (htslib gives it a position)."""
    empty = CONSUMES_REFERENCE[reads.ops] & (reads.op_lengths == 0)
    if not empty.any():
        return np.zeros(len(reads), dtype=bool)
    return np.bincount(reads.op_reads(), empty, len(reads)) > 0


def _project_walked(
    reads,
    rows,
    start,
    end,
    row_starts,
    min_baseq,
    codes,
    quality,
    insertions,
    inserted,
    qualities,
    cycle,
) -> None:
    """Reads with empty M/=/X/D/N operations, walked position by position as htslib's pileup
    does (`resolve_cigar2`): it moves at most one operation per position, so an empty
    operation takes the first position of the next one (an empty `D` reports a deletion
    there, an empty `N` a skip, an empty leading `M` the base at its query offset)."""
    for row in rows.tolist():
        first_op, last_op = reads.cigar_offsets[row], reads.cigar_offsets[row + 1]
        ops = reads.ops[first_op:last_op].tolist()
        lengths = reads.op_lengths[first_op:last_op].tolist()
        offset = int(reads.sequence_offsets[row])
        stored = int(reads.sequence_offsets[row + 1]) - offset
        reverse = bool(reads.flag[row] & FLAGS["REVERSE"])
        read_start, read_end = int(reads.start[row]), int(reads.end[row])
        k, x, y = _next_reference_op(ops, lengths, 0, read_start, 0)
        for position in range(read_start, min(read_end, end)):
            if position > read_start and position - x >= lengths[k]:
                y += lengths[k] if IS_BASE[ops[k]] else 0
                k, x, y = _next_reference_op(ops, lengths, k + 1, x + lengths[k], y)
            op = ops[k]
            query = y + (position - x) if IS_BASE[op] else y
            inserted_op = -1
            if x + lengths[k] - 1 == position:
                inserted_op = _insertion_after(ops, lengths, k)
            if position < start:
                continue
            column = position - row_starts[row]
            in_sequence = query < stored
            value = int(reads.quality[offset + query]) if in_sequence else 0
            if in_sequence and position < reads.tweaked_from[row]:
                value = int(reads.original_quality[offset + query])
            if value < min_baseq:
                continue
            if cycle is not None and in_sequence and (IS_BASE[op] or op == DEL):
                cycle[row, column] = min(stored - 1 - query if reverse else query, MAX_CYCLE)
            if IS_BASE[op]:
                letter = reads.letters[offset + query] if in_sequence else ord("N")
                codes[row, column] = LETTER_CODES[letter]
                if qualities:
                    quality[row, column] = value
            elif op == DEL:
                codes[row, column] = GAP
            if inserted_op >= 0:
                insertions[row, column] = 1.0
                if inserted is not None:
                    begin = offset + y + (lengths[k] if IS_BASE[op] else 0)
                    begin += sum(
                        lengths[j] for j in range(k + 1, inserted_op) if CONSUMES_QUERY[ops[j]]
                    )
                    piece = reads.letters[begin : begin + lengths[inserted_op]]
                    inserted.setdefault(row, {})[column] = piece.tobytes().decode("ascii")


def _next_reference_op(ops, lengths, k, x, y):
    """From operation `k` on, the first M/=/X/D/N one (an empty one too), adding the query
    bases of the I/S operations passed on the way."""
    while k < len(ops) and not CONSUMES_REFERENCE[ops[k]]:
        if CONSUMES_QUERY[ops[k]]:
            y += lengths[k]
        k += 1
    return k, x, y


def _insertion_after(ops, lengths, k) -> int:
    """The insertion right after operation `k` (through padding), or -1."""
    for j in range(k + 1, len(ops)):
        if ops[j] == INS:
            return j if lengths[j] > 0 else -1
        if ops[j] != PAD_OP:
            return -1
    return -1


def _cycles_of(reads: Alignments, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The cycles of query indices `query` (in SEQ) of reads `rows` (at most `MAX_CYCLE`)."""
    reverse = (reads.flag[rows] & FLAGS["REVERSE"]) != 0
    lengths = reads.sequence_offsets[rows + 1] - reads.sequence_offsets[rows]
    return np.minimum(np.where(reverse, lengths - 1 - query, query), MAX_CYCLE)


def _project_general(
    reads,
    rows,
    start,
    end,
    row_starts,
    min_baseq,
    codes,
    quality,
    insertions,
    inserted,
    qualities,
    cycle,
) -> None:
    """Any CIGAR: every operation's columns are laid out with `np.repeat`."""
    count = rows.size
    width = codes.shape[1]
    cigars = reads.cigars(rows)
    op, length, op_read = cigars.ops, cigars.lengths, cigars.owner
    first_op = cigars.offsets[:-1]
    op_start, op_query = cigars.start, cigars.query
    op_end = op_start + cigars.reference_length

    sequence_offsets = reads.sequence_offsets[rows]
    sequence_lengths = reads.sequence_offsets[rows + 1] - sequence_offsets
    letter_codes = LETTER_CODES[reads.letters]

    local_starts = row_starts[rows]

    clipped_start = np.maximum(op_start, start)
    clipped = np.maximum(np.minimum(op_end, end) - clipped_start, 0)
    column_op = np.repeat(np.arange(op.size), clipped)
    position = clipped_start[column_op] + (
        np.arange(column_op.size) - np.repeat(exclusive_cumsum(clipped), clipped)
    )
    row = op_read[column_op]
    column = position - local_starts[row]
    kind = op[column_op]
    is_base = IS_BASE[kind]
    query_index = op_query[column_op] + np.where(is_base, position - op_start[column_op], 0)
    in_sequence = query_index < sequence_lengths[row]
    flat = np.where(in_sequence, sequence_offsets[row] + query_index, 0)
    entry_codes = np.where(
        is_base,
        np.where(in_sequence, letter_codes[flat] if letter_codes.size else N, N),
        np.where(kind == DEL, GAP, PAD),
    ).astype(np.int8)
    current = reads.quality[flat] if reads.quality.size else np.zeros(flat.size, np.uint8)
    entry_quality = np.where(in_sequence, current, 0)
    tweaked_from = reads.tweaked_from[rows]
    if (tweaked_from >= 0).any():
        # Columns reported before the mate arrived keep the qualities from before the overlap
        # adjustment (this matters only for D/N columns, which borrow the next base's quality).
        original = reads.original_quality[flat] if reads.original_quality.size else current
        before = (position < tweaked_from[row]) & in_sequence
        entry_quality = np.where(before, original, entry_quality)
    keep = entry_quality >= min_baseq

    # Insertion flags: an I (run of I/P operations) counts on the last column of the M/=/X/D/N
    # operation right before it; a leading I (nothing reference-consuming before) never counts.
    insertion_ops = np.flatnonzero((op == INS) & (length > 0))
    if insertion_ops.size:
        indices = np.arange(op.size)
        insertion_or_pad = (op == INS) | (op == PAD_OP)
        last_other = np.maximum.accumulate(np.where(insertion_or_pad, -1, indices))
        anchor = last_other[insertion_ops]
        valid = (anchor >= first_op[op_read[insertion_ops]]) & CONSUMES_REFERENCE[
            op[np.maximum(anchor, 0)]
        ]
        insertion_ops, anchor = insertion_ops[valid], anchor[valid]
        anchor_position = op_end[anchor] - 1
        inside = (anchor_position >= start) & (anchor_position < end)
        insertion_ops, anchor = insertion_ops[inside], anchor[inside]
        anchor_rows = op_read[anchor]
        anchor_columns = anchor_position[inside] - local_starts[anchor_rows]
        # The flag lives and dies with the entry it is attached to (same BQ decision).
        entry_keep = np.zeros(count * width, dtype=bool)
        entry_keep[row * width + column] = keep
        kept = entry_keep[anchor_rows * width + anchor_columns]
        insertions[rows[anchor_rows[kept]], anchor_columns[kept]] = 1.0
        if inserted is not None:
            letters = reads.letters
            for i in np.flatnonzero(kept).tolist():
                read_index = int(rows[anchor_rows[i]])
                begin = int(sequence_offsets[anchor_rows[i]] + op_query[insertion_ops[i]])
                stop = min(
                    begin + int(length[insertion_ops[i]]),
                    int(sequence_offsets[anchor_rows[i]] + sequence_lengths[anchor_rows[i]]),
                )
                piece = letters[begin:stop].tobytes().decode("ascii")
                key = int(anchor_columns[i])
                pieces = inserted.setdefault(read_index, {})
                pieces[key] = pieces.get(key, "") + piece

    kept_rows, kept_columns = rows[row[keep]], column[keep]
    kept_codes = entry_codes[keep]
    codes[kept_rows, kept_columns] = kept_codes
    if cycle is not None:
        read = keep & in_sequence & (entry_codes != PAD)
        cycle[rows[row[read]], column[read]] = _cycles_of(reads, rows[row[read]], query_index[read])
    if qualities:
        present = kept_codes != PAD
        quality[kept_rows[present], kept_columns[present]] = entry_quality[keep][present]

"""Alignment records as columns: oxbow decodes BAM/CRAM/SAM into Arrow batches, and each batch
becomes one `Alignments` table of NumPy arrays (CIGARs parsed for the whole batch at once).

No per-read Python: strings (names, CIGARs, bases, qualities) stay in the Arrow buffers and are
read as NumPy views; ragged fields are flat arrays with offsets.
"""

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

# CIGAR operations, in BAM's numbering: M=0 I D N S H P, then `=`=7 and X=8 (the aligned
# bases, with M); the obsolete B=9 consumes nothing.
INS, DEL, SKIP, SOFT, HARD, PAD_OP = 1, 2, 3, 4, 5, 6
CONSUMES_REFERENCE = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
CONSUMES_QUERY = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
IS_BASE = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
_OP_CODES = np.full(256, -1, dtype=np.int8)
for _code, _letter in enumerate("MIDNSHP=XB"):
    _OP_CODES[ord(_letter)] = _code

FIELDS = ["qname", "flag", "rname", "pos", "mapq", "cigar", "rnext", "pnext", "tlen", "seq", "qual"]
"""The SAM fields a pileup needs (oxbow's names)."""

_ZERO = np.zeros(1, dtype=np.int64)


def exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    """`[0, v0, v0 + v1, ...]` without the grand total: each element's start offset."""
    total = np.cumsum(values)
    return total - values


def ragged_index(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the elements of `rows` of a ragged array, and the new offsets."""
    lengths = offsets[rows + 1] - offsets[rows]
    new_offsets = np.concatenate([_ZERO, np.cumsum(lengths)])
    flat = np.arange(new_offsets[-1]) + np.repeat(offsets[rows] - new_offsets[:-1], lengths)
    return flat, new_offsets


class Alignments:
    """A table of alignment records of one contig, in file order (NumPy columns).

    Per read: `start`, `end` (0-based, half-open reference span), `flag`, `mapq`,
    `mate_start` (-1 when unknown), `mate_elsewhere` (the mate is on another contig),
    `template_length`, `names` (fixed-width bytes). Ragged: the CIGAR (`cigar_offsets`,
    `ops`, `op_lengths`), and the bases (`sequence_offsets`, `letters` as ASCII, `quality`
    with QUAL `*` as 255 per base). Overlapping-mate adjustments rewrite `quality`;
    `original_quality` keeps the values before them, used for the columns samtools reported
    before the adjustment (`tweaked_from`, -1 for reads never adjusted).
    """

    PER_READ = (
        "start",
        "end",
        "flag",
        "mapq",
        "mate_start",
        "mate_elsewhere",
        "template_length",
        "names",
        "tweaked_from",
    )
    RAGGED = {
        "cigar_offsets": ("ops", "op_lengths"),
        "sequence_offsets": ("letters", "quality", "original_quality"),
    }

    start: np.ndarray
    end: np.ndarray
    flag: np.ndarray
    mapq: np.ndarray
    mate_start: np.ndarray
    mate_elsewhere: np.ndarray
    template_length: np.ndarray
    names: np.ndarray
    tweaked_from: np.ndarray
    cigar_offsets: np.ndarray
    ops: np.ndarray
    op_lengths: np.ndarray
    sequence_offsets: np.ndarray
    letters: np.ndarray
    quality: np.ndarray
    original_quality: np.ndarray

    def __init__(self, **columns: np.ndarray):
        for name, value in columns.items():
            setattr(self, name, value)

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def select(self, keep: np.ndarray) -> "Alignments":
        """The reads where the `(N,)` bool mask `keep` is true, in order."""
        columns = {name: getattr(self, name)[keep] for name in self.PER_READ}
        for offsets_name, flat_names in self.RAGGED.items():
            offsets = getattr(self, offsets_name)
            lengths = np.diff(offsets)
            columns[offsets_name] = np.concatenate([_ZERO, np.cumsum(lengths[keep])])
            flat = np.repeat(keep, lengths)
            for name in flat_names:
                columns[name] = getattr(self, name)[flat]
        return Alignments(**columns)

    def slice(self, first: int, last: int) -> "Alignments":
        """Reads `first` to `last - 1`, sharing this table's memory (a view)."""
        columns = {name: getattr(self, name)[first:last] for name in self.PER_READ}
        for offsets_name, flat_names in self.RAGGED.items():
            offsets = getattr(self, offsets_name)[first : last + 1]
            columns[offsets_name] = offsets - offsets[0]
            for name in flat_names:
                columns[name] = getattr(self, name)[offsets[0] : offsets[-1]]
        return Alignments(**columns)

    @staticmethod
    def concat(parts: list["Alignments"]) -> "Alignments":
        parts = [part for part in parts if len(part)] or parts[:1]
        if len(parts) == 1:
            return parts[0]
        columns = {
            name: np.concatenate([getattr(part, name) for part in parts])
            for name in Alignments.PER_READ
            + ("ops", "op_lengths", "letters", "quality", "original_quality")
        }
        for name in ("cigar_offsets", "sequence_offsets"):
            pieces, shift = [_ZERO], 0
            for part in parts:
                offsets = getattr(part, name)
                pieces.append(offsets[1:] + shift)
                shift += offsets[-1]
            columns[name] = np.concatenate(pieces)
        return Alignments(**columns)

    @staticmethod
    def empty() -> "Alignments":
        integers = np.zeros(0, dtype=np.int64)
        columns = {name: integers for name in Alignments.PER_READ}
        columns.update(names=np.zeros(0, dtype="S1"), mate_elsewhere=np.zeros(0, dtype=bool))
        return Alignments(
            **columns,
            cigar_offsets=_ZERO,
            ops=np.zeros(0, dtype=np.int8),
            op_lengths=integers,
            sequence_offsets=_ZERO,
            letters=np.zeros(0, dtype=np.uint8),
            quality=np.zeros(0, dtype=np.uint8),
            original_quality=np.zeros(0, dtype=np.uint8),
        )

    def sequence_lengths(self) -> np.ndarray:
        return np.diff(self.sequence_offsets)

    def cigars(self, rows: np.ndarray) -> "Cigars":
        """The CIGAR operations of the reads `rows`, laid out flat (see `Cigars`)."""
        flat, offsets = ragged_index(self.cigar_offsets, rows)
        ops, lengths = self.ops[flat].astype(np.int64), self.op_lengths[flat]
        owner = np.repeat(np.arange(rows.size), np.diff(offsets))
        reference = np.where(CONSUMES_REFERENCE[ops], lengths, 0)
        query = np.where(CONSUMES_QUERY[ops], lengths, 0)
        return Cigars(
            ops=ops,
            lengths=lengths,
            offsets=offsets,
            owner=owner,
            start=self.start[rows][owner] + within_reads(reference, offsets),
            query=within_reads(query, offsets),
            reference_length=reference,
        )

    def op_reads(self) -> np.ndarray:
        """The read of each CIGAR operation."""
        return np.repeat(np.arange(len(self)), np.diff(self.cigar_offsets))


class Cigars:
    """CIGAR operations of some reads, flat: `ops`, `lengths`; `offsets` (the first operation
    of each read, and the total at the end); `owner` (each operation's read, as an index into
    the reads asked for); `start` (each operation's first reference position), `query` (its
    first query index) and `reference_length` (the reference positions it covers)."""

    ops: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray
    owner: np.ndarray
    start: np.ndarray
    query: np.ndarray
    reference_length: np.ndarray

    def __init__(self, **fields: np.ndarray):
        for name, value in fields.items():
            setattr(self, name, value)


def within_reads(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The exclusive cumulative sum of `values`, restarted at each read's first element
    (`offsets` as in a ragged array)."""
    total = exclusive_cumsum(values)
    counts = np.diff(offsets)
    return total - np.repeat(np.append(total, 0)[offsets[:-1]], counts)


def _strings(column: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets `(n + 1,)` int64, bytes, and validity of a string column, as NumPy views."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_large_string(column.type):
        offset_type = np.int64
    else:
        column = column.cast(pa.string())
        offset_type = np.int32
    buffers = column.buffers()
    size = len(column)
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[column.offset : column.offset + size + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, np.uint8)
    )
    valid = (
        np.ones(size, dtype=bool)
        if column.null_count == 0
        else column.is_valid().to_numpy(zero_copy_only=False)
    )
    start = int(offsets[0]) if size else 0
    return (
        offsets.astype(np.int64) - start,
        data[start : start + int(offsets[-1] - start) if size else 0],
        valid,
    )


def _integers(column: pa.Array, missing: int) -> np.ndarray:
    return column.fill_null(missing).to_numpy(zero_copy_only=False).astype(np.int64)


def fixed_width_names(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Ragged ASCII strings -> a NumPy `S<width>` array (fast to sort and compare)."""
    lengths = np.diff(offsets)
    width = max(int(lengths.max()) if lengths.size else 1, 1)
    columns = np.arange(width)
    inside = columns < lengths[:, None]
    index = np.where(inside, offsets[:-1, None] + columns, 0)
    grid = np.where(inside, data[index] if data.size else 0, 0).astype(np.uint8)
    return np.ascontiguousarray(grid).view(f"S{width}").ravel()


def parse_cigars(
    offsets: np.ndarray, data: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIGAR strings of a whole batch -> `(cigar_offsets (n + 1,), ops, lengths)`, at once.

    Each operation letter ends a run of digits (its length); `*` (no CIGAR) gives no operation.
    """
    codes = _OP_CODES[data]
    op_positions = np.flatnonzero(codes >= 0)
    digit_positions = np.flatnonzero((data >= 48) & (data <= 57))
    # Each digit belongs to the next operation letter; its weight is 10 ** (letters to go).
    owner = np.searchsorted(op_positions, digit_positions)
    if owner.size and owner.max(initial=0) >= op_positions.size:
        raise ValueError("malformed CIGAR: digits after the last operation")
    exponent = op_positions[owner] - digit_positions - 1
    values = (data[digit_positions].astype(np.int64) - 48) * 10**exponent
    lengths = np.bincount(owner, weights=values, minlength=op_positions.size)
    read_of_op = np.searchsorted(offsets, op_positions, side="right") - 1
    counts = np.bincount(read_of_op, minlength=offsets.size - 1)
    cigar_offsets = np.concatenate([_ZERO, np.cumsum(counts)])
    return cigar_offsets, codes[op_positions], np.rint(lengths).astype(np.int64)


def alignments_of(batch, contig: str) -> Alignments:
    """One Arrow record batch (oxbow's fields `FIELDS`) -> an `Alignments` table."""
    batch = pa.record_batch(batch)
    column = batch.column
    flag = _integers(column("flag"), 0)
    start = _integers(column("pos"), 0) - 1  # oxbow's positions are 1-based
    cigar_offsets, ops, op_lengths = parse_cigars(*_strings(column("cigar"))[:2])
    read_of_op = np.repeat(np.arange(len(flag)), np.diff(cigar_offsets))
    span = np.bincount(
        read_of_op, weights=np.where(CONSUMES_REFERENCE[ops], op_lengths, 0), minlength=len(flag)
    )
    sequence_offsets, letters, _ = _strings(column("seq"))
    quality_offsets, stored, has_quality = _strings(column("qual"))
    lengths = np.diff(sequence_offsets)
    quality = stored - np.uint8(33)
    if not has_quality.all() or not np.array_equal(np.diff(quality_offsets), lengths):
        # QUAL `*`: htslib stores 255 for every base.
        quality = np.full(letters.size, 255, dtype=np.uint8)
        rows = np.flatnonzero(has_quality & (np.diff(quality_offsets) == lengths))
        flat, _ = ragged_index(sequence_offsets, rows)
        source, _ = ragged_index(quality_offsets, rows)
        quality[flat] = stored[source] - np.uint8(33)
    index, dictionary = _dictionary(column("rnext"))
    elsewhere = np.array([name != contig for name in dictionary] + [False], dtype=bool)
    mate_elsewhere = elsewhere[index]  # index -1 (no mate contig): the last entry, False
    return Alignments(
        start=start,
        end=start + span.astype(np.int64),
        flag=flag,
        mapq=_integers(column("mapq"), 255),
        mate_start=_integers(column("pnext"), 0) - 1,
        mate_elsewhere=mate_elsewhere,
        template_length=_integers(column("tlen"), 0),
        names=fixed_width_names(*_strings(column("qname"))[:2]),
        tweaked_from=np.full(len(flag), -1, dtype=np.int64),
        cigar_offsets=cigar_offsets,
        ops=ops,
        op_lengths=op_lengths,
        sequence_offsets=sequence_offsets,
        letters=letters,
        quality=quality.copy(),  # rewritten where mates overlap
        original_quality=quality,
    )


def _dictionary(column) -> tuple[np.ndarray, list]:
    """A dictionary-encoded (or plain) string column -> int indices (-1 for null) and the
    dictionary's strings."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    index = column.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return index, column.dictionary.to_pylist()


def contig_batches(batches: Iterator) -> Iterator:
    """Split Arrow batches of a whole coordinate-sorted file into runs of one contig:
    `(contig or None for unplaced reads, batch)`, in file order."""
    for batch in batches:
        batch = pa.record_batch(batch)
        if batch.num_rows == 0:
            continue
        index, dictionary = _dictionary(batch.column("rname"))
        change = np.flatnonzero(index[1:] != index[:-1]) + 1
        bounds = np.concatenate([[0], change, [index.size]])
        for first, last in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            contig = dictionary[index[first]] if index[first] >= 0 else None
            yield contig, batch.slice(first, last - first)

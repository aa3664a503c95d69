"""The per-position part of calling: pileup and genotype scores of a window's reads, computed by
one compiled program of a fixed shape, chunk after chunk.

The program takes `CHUNK_ROWS` rows of `width` columns and `CHUNK_POSITIONS` positions, so a
run compiles it once (once more only for a window deeper than `CHUNK_ROWS` reads, or for reads
wider than usual), whatever the number of reads of each window. A window is cut into ranges of
positions that each overlap at most `CHUNK_ROWS` rows; each range is piled up from the rows
that overlap it, in their order, and only its own positions are kept. Every position's sum thus
adds the same values in the same order as a pileup of the whole window, and padding adds zeros,
so the scores are those of one pileup of the whole window, bit for bit.
"""

import dataclasses
import functools
from collections.abc import Iterator, Sequence

import jax
import numpy as np

from .._encoding import PAD, N, one_hot_valid
from .._pileup import pileup
from .._quality import soft_quality_filter
from .._read_model import UNAVAILABLE_MAPQ, cap_at_mapq, read_evidence
from .._variants import VariantModel, _variant_scores

CHUNK_ROWS = 2048
"""Rows (reads, or pieces of reads wider than the chunk) per program call. A 50 kb window of
a 30x BAM of 150 bp reads has about 10,000, so five calls; fewer rows waste less padding on a
window's last range, more rows make fewer calls."""

CHUNK_POSITIONS = 16_384
"""Positions per program call: the longest range of positions one call covers (about 10,000
are covered by `CHUNK_ROWS` reads of 150 bp at 30x; shallower windows use the whole range)."""

_WIDTH_STEP = 32
"""Row widths are multiples of this."""


@dataclasses.dataclass(frozen=True)
class SampleArrays:
    """One sample's reads for `score_positions` (NumPy): `codes`, `quality` (reported),
    `insertions` and `cycles` `(N, L)`; `weights`, `starts` (relative to position 0) and `mapq`
    `(N,)`. `cycles` may be None (no cycle shift)."""

    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    weights: np.ndarray
    starts: np.ndarray
    mapq: np.ndarray
    cycles: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class _Rows:
    """One sample's reads as rows of at most `width` columns (wider reads cut into pieces, each
    at its own start, next to each other), in the order of the reads; `ends` is past each
    row's last column that is not padding."""

    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    cycles: np.ndarray
    weights: np.ndarray
    mapq: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


def _widths(codes: np.ndarray) -> np.ndarray:
    """Columns up to the last one that is not padding, per read."""
    if codes.shape[1] == 0:
        return np.zeros(len(codes), dtype=np.int64)
    occupied = codes != PAD
    last = codes.shape[1] - np.argmax(occupied[:, ::-1], axis=1)
    return np.where(occupied.any(axis=1), last, 0)


def row_width(widths: Sequence[np.ndarray]) -> int:
    """Columns per row: the 99th percentile of the reads' widths, rounded up to a multiple of
    `_WIDTH_STEP` (the rare wider read is cut into pieces rather than widening every row)."""
    occupied = np.concatenate([w[w > 0] for w in widths])
    if occupied.size == 0:
        return _WIDTH_STEP
    return int(-(-np.percentile(occupied, 99, method="higher") // _WIDTH_STEP) * _WIDTH_STEP)


def _rows(sample: SampleArrays, widths: np.ndarray, width: int) -> _Rows:
    cycles = np.full(sample.codes.shape, -1, np.int16) if sample.cycles is None else sample.cycles
    if widths.max(initial=0) <= width:  # the common case: one row per read, no copy
        return _Rows(
            codes=sample.codes[:, :width],
            quality=sample.quality[:, :width],
            insertions=sample.insertions[:, :width],
            cycles=cycles[:, :width],
            weights=sample.weights,
            mapq=sample.mapq,
            starts=sample.starts,
            ends=sample.starts + widths,
        )
    pieces = -(-widths // width)
    read = np.repeat(np.arange(len(sample.codes)), pieces)
    piece = np.arange(read.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    columns = piece[:, None] * width + np.arange(width)
    inside = columns < sample.codes.shape[1]
    columns = np.minimum(columns, sample.codes.shape[1] - 1)
    row_starts = sample.starts[read] + piece * width

    def cut(array, padding):
        return np.where(inside, array[read[:, None], columns], padding)

    return _Rows(
        codes=cut(sample.codes, PAD),
        quality=cut(sample.quality, 0.0),
        insertions=cut(sample.insertions, 0.0),
        cycles=cut(cycles, -1),
        weights=sample.weights[read],
        mapq=sample.mapq[read],
        starts=row_starts,
        ends=row_starts + np.minimum(widths[read] - piece * width, width),
    )


def _capacity(rows: Sequence[_Rows], length: int) -> int:
    """`CHUNK_ROWS`, or the power of two that holds the rows over the deepest position."""
    deepest = 0
    for sample in rows:
        change = np.bincount(np.clip(sample.starts, 0, length), minlength=length + 1)
        change -= np.bincount(np.clip(sample.ends, 0, length), minlength=length + 1)
        deepest = max(deepest, int(np.cumsum(change).max(initial=0)))
    return max(CHUNK_ROWS, 1 << (deepest - 1).bit_length())


def _ranges(rows: Sequence[_Rows], length: int, capacity: int) -> list[tuple[int, int]]:
    """Ranges of positions covering `[0, length)`, each overlapped by at most `capacity` rows
    of every sample and at most `CHUNK_POSITIONS` long."""
    starts = [np.sort(sample.starts) for sample in rows]
    ends = [np.sort(sample.ends) for sample in rows]
    ranges, first = [], 0
    while first < length:
        last = min(first + CHUNK_POSITIONS, length)
        for sample_starts, sample_ends in zip(starts, ends):
            # Rows ending by `first` are done; the next `capacity` ones may start before `last`.
            done = int(np.searchsorted(sample_ends, first, side="right"))
            if done + capacity < sample_starts.size:
                last = min(last, int(sample_starts[done + capacity]))
        ranges.append((first, last))
        first = last
    return ranges


def _fits_uint8(quality: np.ndarray) -> bool:
    return bool(np.all((quality >= 0) & (quality <= 255) & (quality == np.floor(quality))))


@dataclasses.dataclass(frozen=True)
class Chunk:
    """The input of one program call: positions `[first, last)` (relative to position 0) and
    the rows of every sample that overlap them, `(samples, rows, width)` padded, with starts
    relative to `first`; `reference` covers `CHUNK_POSITIONS` positions from `first`."""

    first: int
    last: int
    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    cycles: np.ndarray
    weights: np.ndarray
    mapq: np.ndarray
    starts: np.ndarray
    reference: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arguments of `chunk_scores` after the parameters."""
        return (
            self.codes,
            self.quality,
            self.insertions,
            self.cycles,
            self.weights,
            self.mapq,
            self.starts,
            self.reference,
        )


def chunk_scores(
    variant_model,
    quality_filter,
    read_model,
    codes,
    quality,
    insertions,
    cycles,
    weights,
    mapq,
    starts,
    reference,
):
    """Pileups and `VariantScores` of one `Chunk`'s arrays (a leading sample axis), a pure
    function of the parameters: what calling runs, compiled, and what training differentiates.

    Without a `read_model` each base quality is capped at its read's MAPQ (255 caps nothing),
    as bcftools does; with one, `read_evidence` gives the qualities and read weights.
    """
    if read_model is None:
        quality = cap_at_mapq(quality, mapq)
    else:
        quality, mapq_weights = read_evidence(read_model, quality, cycles, mapq)
        weights = weights * mapq_weights
    # The engine's codes and reference are valid by construction, so the program skips the
    # checks of `one_hot_reads` and `variant_scores`: checks run on the host, and a program
    # with host callbacks cannot be kept in JAX's compilation cache between runs.
    reads = one_hot_valid(codes, gaps=True)
    if quality_filter is not None:
        reads, _ = soft_quality_filter(quality_filter, reads, quality.astype(reads.dtype))

    def one_sample(reads, starts, quality, insertions, weights):
        return pileup(
            reads,
            starts,
            CHUNK_POSITIONS,
            quality=quality,
            read_weights=weights,
            insertions=insertions,
            quality_weighting=False,
        )

    piled = jax.vmap(one_sample)(reads, starts, quality, insertions, weights)
    scores = jax.vmap(_variant_scores, in_axes=(None, 0, None))(
        variant_model, piled.log_likelihoods, reference
    )
    return piled, scores


_score_chunk = jax.jit(chunk_scores)


@functools.cache
def output_structures():
    """The tree structures of the `Pileup` and the `VariantScores` of `score_positions`
    (traced, nothing computed): a process that receives their arrays rebuilds them with it."""
    rows = (1, 1, _WIDTH_STEP)
    piled, scores = jax.eval_shape(
        chunk_scores,
        VariantModel(),
        None,
        None,
        jax.ShapeDtypeStruct(rows, np.int32),
        jax.ShapeDtypeStruct(rows, np.float32),
        jax.ShapeDtypeStruct(rows, np.float32),
        jax.ShapeDtypeStruct(rows, np.int16),
        jax.ShapeDtypeStruct(rows[:2], np.float32),
        jax.ShapeDtypeStruct(rows[:2], np.int32),
        jax.ShapeDtypeStruct(rows[:2], np.int32),
        jax.ShapeDtypeStruct((CHUNK_POSITIONS,), np.int32),
    )
    return jax.tree.structure(piled), jax.tree.structure(scores)


def chunks(
    samples: Sequence[SampleArrays], reference: np.ndarray, length: int, integral: bool
) -> Iterator[Chunk]:
    """The `Chunk`s that cover positions `[0, length)` of `samples`, in order. `integral`
    sends qualities as uint8 (they must be integers in 0..255), else as float32."""
    widths = [_widths(sample.codes) for sample in samples]
    width = row_width(widths)
    rows = [_rows(sample, w, width) for sample, w in zip(samples, widths)]
    capacity = _capacity(rows, length)
    shape = (len(rows), capacity, width)
    quality_dtype = np.uint8 if integral else np.float32
    for first, last in _ranges(rows, length, capacity):
        codes = np.full(shape, PAD, dtype=np.int32)
        quality, insertions = np.zeros(shape, quality_dtype), np.zeros(shape, np.float32)
        cycles = np.full(shape, -1, np.int16)
        starts, weights = np.zeros(shape[:2], np.int32), np.zeros(shape[:2], np.float32)
        mapq = np.full(shape[:2], UNAVAILABLE_MAPQ, np.int32)
        for index, sample in enumerate(rows):
            chosen = np.flatnonzero((sample.starts < last) & (sample.ends > first))
            count, columns = chosen.size, sample.codes.shape[1]
            codes[index, :count, :columns] = sample.codes[chosen]
            quality[index, :count, :columns] = sample.quality[chosen]
            insertions[index, :count, :columns] = sample.insertions[chosen]
            cycles[index, :count, :columns] = sample.cycles[chosen]
            starts[index, :count] = sample.starts[chosen] - first
            weights[index, :count] = sample.weights[chosen]
            mapq[index, :count] = sample.mapq[chosen]
        reference_chunk = np.full(CHUNK_POSITIONS, N, dtype=np.int32)
        piece = reference[first : min(first + CHUNK_POSITIONS, reference.size)]
        reference_chunk[: piece.size] = piece
        yield Chunk(
            first, last, codes, quality, insertions, cycles, weights, mapq, starts, reference_chunk
        )


def score_positions(
    samples: Sequence[SampleArrays],
    reference: np.ndarray,
    length: int,
    variant_model,
    quality_filter,
    read_model=None,
):
    """Pileups and `VariantScores` (NumPy, leading sample axis) of positions `[0, length)`;
    `reference` covers at least `[0, length)`."""
    # Integer qualities (as read from BAM files) go as uint8: the genotype statistics then look
    # their logs up in a table instead of computing them. The soft filter and a read model
    # need floats.
    integral = (
        quality_filter is None
        and read_model is None
        and all(_fits_uint8(sample.quality) for sample in samples)
    )
    out = None
    for chunk in chunks(samples, reference, length, integral):
        result = _score_chunk(variant_model, quality_filter, read_model, *chunk.arrays())
        first, last = chunk.first, chunk.last
        result = jax.tree.map(lambda x: np.asarray(x)[:, : last - first], result)
        if out is None:
            out = jax.tree.map(
                lambda x: np.empty((x.shape[0], length, *x.shape[2:]), x.dtype), result
            )
        for whole, part in zip(jax.tree.leaves(out), jax.tree.leaves(result)):
            whole[:, first:last] = part
    assert out is not None, "positions [0, length) make at least one range"
    return out

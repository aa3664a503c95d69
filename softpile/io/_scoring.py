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
from collections.abc import Sequence

import jax
import numpy as np

from .._encoding import PAD, N, one_hot_reads
from .._pileup import pileup
from .._quality import soft_quality_filter
from .._variants import VariantModel, variant_scores

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
class _Rows:
    """One sample's reads as rows of at most `width` columns (wider reads cut into pieces, each
    at its own start, next to each other), in the order of the reads; `ends` is past each
    row's last column that is not padding."""

    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    weights: np.ndarray
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


def _rows(codes, quality, insertions, weights, starts, widths, width: int) -> _Rows:
    if widths.max(initial=0) <= width:  # the common case: one row per read, no copy
        return _Rows(
            codes=codes[:, :width],
            quality=quality[:, :width],
            insertions=insertions[:, :width],
            weights=weights,
            starts=starts,
            ends=starts + widths,
        )
    pieces = -(-widths // width)
    read = np.repeat(np.arange(len(codes)), pieces)
    piece = np.arange(read.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    columns = piece[:, None] * width + np.arange(width)
    inside = columns < codes.shape[1]
    columns = np.minimum(columns, codes.shape[1] - 1)
    row_starts = starts[read] + piece * width
    return _Rows(
        codes=np.where(inside, codes[read[:, None], columns], PAD),
        quality=np.where(inside, quality[read[:, None], columns], 0.0),
        insertions=np.where(inside, insertions[read[:, None], columns], 0.0),
        weights=weights[read],
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


@jax.jit
def _score_chunk(
    variant_model, quality_filter, codes, quality, insertions, starts, weights, reference
):
    reads = one_hot_reads(codes, gaps=True)
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
    scores = jax.vmap(variant_scores, in_axes=(None, 0, None))(variant_model, piled, reference)
    return piled, scores


@functools.cache
def output_structures():
    """The tree structures of the `Pileup` and the `VariantScores` of `score_positions`
    (traced, nothing computed): a process that receives their arrays rebuilds them with it."""
    rows = (1, 1, _WIDTH_STEP)
    piled, scores = jax.eval_shape(
        _score_chunk,
        VariantModel(),
        None,
        jax.ShapeDtypeStruct(rows, np.int32),
        jax.ShapeDtypeStruct(rows, np.float32),
        jax.ShapeDtypeStruct(rows, np.float32),
        jax.ShapeDtypeStruct(rows[:2], np.int32),
        jax.ShapeDtypeStruct(rows[:2], np.float32),
        jax.ShapeDtypeStruct((CHUNK_POSITIONS,), np.int32),
    )
    return jax.tree.structure(piled), jax.tree.structure(scores)


def score_positions(samples, reference: np.ndarray, length: int, variant_model, quality_filter):
    """Pileups and `VariantScores` (NumPy, leading sample axis) of positions `[0, length)`.

    `samples` holds per sample `(codes, quality, insertions, weights, starts)` with `starts`
    relative to position 0; `reference` covers at least `[0, length)`.
    """
    widths = [_widths(codes) for codes, *_ in samples]
    width = row_width(widths)
    rows = [
        _rows(codes, quality, insertions, weights, starts, sample_widths, width)
        for (codes, quality, insertions, weights, starts), sample_widths in zip(samples, widths)
    ]
    capacity = _capacity(rows, length)
    shape = (len(rows), capacity, width)
    # Integer qualities (as read from BAM files) go as uint8: the genotype statistics then look
    # their logs up in a table instead of computing them. The soft filter needs floats.
    integral = quality_filter is None and all(_fits_uint8(sample.quality) for sample in rows)
    quality_dtype = np.uint8 if integral else np.float32
    reference_chunk = np.full(CHUNK_POSITIONS, N, dtype=np.int32)
    out = None
    for first, last in _ranges(rows, length, capacity):
        codes = np.full(shape, PAD, dtype=np.int32)
        quality, insertions = np.zeros(shape, quality_dtype), np.zeros(shape, np.float32)
        starts, weights = np.zeros(shape[:2], np.int32), np.zeros(shape[:2], np.float32)
        for index, sample in enumerate(rows):
            chosen = np.flatnonzero((sample.starts < last) & (sample.ends > first))
            count, columns = chosen.size, sample.codes.shape[1]
            codes[index, :count, :columns] = sample.codes[chosen]
            quality[index, :count, :columns] = sample.quality[chosen]
            insertions[index, :count, :columns] = sample.insertions[chosen]
            starts[index, :count] = sample.starts[chosen] - first
            weights[index, :count] = sample.weights[chosen]
        reference_chunk[:] = N
        piece = reference[first : min(first + CHUNK_POSITIONS, reference.size)]
        reference_chunk[: piece.size] = piece
        chunk = _score_chunk(
            variant_model,
            quality_filter,
            codes,
            quality,
            insertions,
            starts,
            weights,
            reference_chunk,
        )
        chunk = jax.tree.map(lambda x: np.asarray(x)[:, : last - first], chunk)
        if out is None:
            out = jax.tree.map(
                lambda x: np.empty((x.shape[0], length, *x.shape[2:]), x.dtype), chunk
            )
        for whole, part in zip(jax.tree.leaves(out), jax.tree.leaves(chunk)):
            whole[:, first:last] = part
    assert out is not None, "positions [0, length) make at least one range"
    return out

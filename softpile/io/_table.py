"""The exact count table (`softpile pileup`): samtools' counts as TSV, computed by `pileup`."""

import functools
import os
from collections.abc import Iterator

import jax
import numpy as np

from ._filters import Filters
from ._inputs import Inputs
from ._projection import project
from ._reads import _bucket, _exact_counts, _pad
from ._regions import DEFAULT_WINDOW
from ._windows import Window, stream_windows

HEADER = "#chrom\tpos\tref\tdepth\tA\tC\tG\tT\tN\tdel\tins\n"
"""The TSV header: `pos` is 1-based; counts after samtools mpileup's filters."""

# Channel order of `one_hot_reads(..., gaps=True, n_channel=True)` and the TSV's column order.
_A, _C, _G, _T, _GAP, _N = range(6)
_COLUMN_CHANNELS = (_A, _C, _G, _T, _N, _GAP)

CHUNK = 4096
"""Reads per `pileup` call in the table path (the last chunk of a window is padded)."""


def count_windows(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple | None,
    *,
    window_size: int = DEFAULT_WINDOW,
    filters: Filters,
    progress: bool | None = None,
) -> Iterator[tuple[str, int, str, np.ndarray, np.ndarray]]:
    """Yield `(contig, start, reference letters, depth (R,), counts (R, 7))` per window.

    `counts` columns: A, C, G, T, N, del, ins, exact integers (the `pileup` of one-hot reads
    with channels A,C,G,T,-,N and quality weighting off).
    """
    with Inputs(bam, reference) as inputs:
        windows = stream_windows(
            [inputs], region, window_size=window_size, filters=filters, progress=progress
        )
        # One window in flight: JAX computes window k (asynchronously, on its own threads)
        # while Python reads and projects window k + 1.
        pending = None
        for window in windows:
            result = _count(window, window_size, filters.min_baseq)
            if pending is not None:
                yield _finish(*pending)
            pending = (
                window.contig,
                window.start,
                window.letters,
                window.end - window.start,
                result,
            )
        if pending is not None:
            yield _finish(*pending)


def _count(window: Window, window_size: int, min_baseq: int):
    """Start the exact counts of one window (None when no read covers it)."""
    reads = window.reads[0]
    if not len(reads):
        return None
    length = window.end - window.start
    projection = project(
        reads, window.start, window.end, min_baseq, window.letters, sequences=False, qualities=False
    )
    columns = _bucket(projection.codes.shape[1])
    positions = min(_bucket(length), _bucket(window_size))
    offsets = projection.starts - window.start
    dtype = jax.dtypes.canonicalize_dtype(float)  # float32 unless x64 is on
    result = _zero_counts(positions, columns, dtype)
    # Fixed-size chunks of reads: one compiled shape, sums kept on device. NumPy arrays go to
    # the compiled function as they are (no conversions to compile).
    for first in range(0, len(reads), CHUNK):
        rows = slice(first, first + CHUNK)
        result = _add_exact_counts(
            result,
            _pad(projection.codes[rows], (CHUNK, columns), -1),
            _pad(offsets[rows], (CHUNK,), 0),
            _pad(projection.insertions[rows], (CHUNK, columns), 0).astype(dtype),
            reference_length=positions,
        )
    return result


@functools.partial(jax.jit, static_argnames=("reference_length",))
def _add_exact_counts(totals, codes, starts, insertions, *, reference_length):
    """`totals` plus the `_exact_counts` of one chunk of reads: one compiled function."""
    part = _exact_counts(codes, starts, insertions, reference_length=reference_length)
    return tuple(total + value for total, value in zip(totals, part))


@functools.lru_cache(maxsize=8)
def _zero_counts(reference_length, columns, dtype):
    """Zero `_exact_counts` results (NumPy, never written to) to start a window's sums."""
    shapes = jax.eval_shape(
        functools.partial(_exact_counts, reference_length=reference_length),
        jax.ShapeDtypeStruct((CHUNK, columns), np.int8),
        jax.ShapeDtypeStruct((CHUNK,), np.int64),
        jax.ShapeDtypeStruct((CHUNK, columns), dtype),
    )
    return tuple(np.zeros(shape.shape, shape.dtype) for shape in shapes)


def _finish(contig, start, letters, length, result):
    table = np.zeros((length, 7), dtype=np.int64)
    if result is None:
        return contig, start, letters, table[:, 0], table
    counts, depth, insertions = result
    counts = np.asarray(counts)[:length]
    table[:, :6] = np.rint(counts[:, _COLUMN_CHANNELS])
    table[:, 6] = np.rint(np.asarray(insertions)[:length])
    return contig, start, letters, np.asarray(depth)[:length], table


def _decimal(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ASCII decimal digits of non-negative ints, right-aligned in `(R, width)` bytes, and which
    of those bytes to keep (no leading zeros; 0 keeps its one digit)."""
    values = np.asarray(values, dtype=np.int64)
    width = len(str(int(values.max()))) if values.size else 1
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    keep = (values[:, None] >= powers) | (powers == 1)
    return digits, keep


def _count_fields(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The `(R, K)` counts as `K` tab-terminated decimal fields per row: `(R, K * (width + 1))`
    bytes and the bytes to keep. Counts are small, so each distinct value is formatted once."""
    digits, keep = _decimal(np.arange(int(counts.max()) + 1 if counts.size else 1))
    tab = np.full((digits.shape[0], 1), ord("\t"), dtype=np.uint8)
    # `np.take` along axis 0: much faster than fancy indexing for short rows.
    digits = np.take(np.concatenate([digits, tab], axis=1), counts, axis=0)
    keep = np.take(np.concatenate([keep, np.ones_like(tab, dtype=bool)], axis=1), counts, axis=0)
    rows = counts.shape[0]
    return digits.reshape(rows, -1), keep.reshape(rows, -1)


def _text_rows(pieces: list[tuple[np.ndarray, np.ndarray | None]]) -> str:
    """Rows of text from `(R, w)` byte pieces put side by side, each with the mask of the bytes
    to keep (None: all), so that a whole table is formatted without a loop over rows."""
    data = np.concatenate([piece for piece, _ in pieces], axis=1)
    keep = np.concatenate(
        [np.ones(piece.shape, dtype=bool) if mask is None else mask for piece, mask in pieces],
        axis=1,
    )
    return data[keep].tobytes().decode()


def write_table(
    output,  # any writable text stream (a file, sys.stdout, io.StringIO)
    windows: Iterator[tuple[str, int, str, np.ndarray, np.ndarray]],
    *,
    all_positions: bool = False,
) -> int:
    """Write the TSV (header first); rows with depth 0 only with `all_positions`.

    Returns the number of rows written.
    """
    output.write(HEADER)
    rows = 0
    for contig, start, letters, depth, table in windows:
        if all_positions:
            where = np.arange(depth.shape[0])
        else:
            where = np.flatnonzero(depth > 0)
        count = where.size
        if count == 0:
            continue
        name = np.frombuffer((contig + "\t").encode(), dtype=np.uint8)
        reference = np.frombuffer(letters.encode("ascii"), dtype=np.uint8)[where, None]
        tab = np.full((count, 1), ord("\t"), dtype=np.uint8)
        counts, counts_keep = _count_fields(np.concatenate([depth[where, None], table[where]], 1))
        counts[:, -1] = ord("\n")  # the last field ends the line
        position, position_keep = _decimal(where + start + 1)
        pieces = [
            (np.broadcast_to(name, (count, name.size)), None),
            (position, position_keep),
            (tab, None),
            (reference, None),
            (tab, None),
            (counts, counts_keep),
        ]
        output.write(_text_rows(pieces))
        rows += int(count)
    return rows

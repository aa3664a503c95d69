"""The exact count table (`softpile pileup`): samtools' counts as TSV, computed by the kernel of
`pileup`."""

import functools
import os
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from .. import _kernel
from .._encoding import _encoding_table
from . import _shards
from ._filters import Filters
from ._inputs import Inputs
from ._prefetch import prefetched
from ._progress import Progress
from ._projection import project
from ._read_batch import _bucket, _pad
from ._regions import DEFAULT_WINDOW
from ._threads import check_threads
from ._windows import Window, stream_windows

HEADER = "#chrom\tpos\tref\tdepth\tA\tC\tG\tT\tN\tdel\tins\n"
"""The TSV header: `pos` is 1-based; counts after samtools mpileup's filters."""

# Channel order of `one_hot_reads(..., gaps=True, n_channel=True)` plus the insertion flags,
# and the TSV's column order.
_A, _C, _G, _T, _GAP, _N, _INSERTION = range(7)
_COLUMN_CHANNELS = (_A, _C, _G, _T, _N, _GAP, _INSERTION)

CHUNK = 4096
"""Reads per `pileup` call in the table path (the last chunk of a window is padded)."""


def table_text(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple | None,
    *,
    filters: Filters,
    all_positions: int = 0,
    window_size: int = DEFAULT_WINDOW,
    threads: int = 1,
    progress: bool | None = None,
) -> Iterator[str]:
    """The TSV, header first, as pieces of text in reference order.

    Rows are the positions with depth > 0; with `all_positions` 1 (samtools' `-a`) also every
    other position of the contigs (of the region) where some read passed the read filters,
    and with 2 (`-aa`) every position of the region, or of every contig without one. With
    `threads` > 1, an indexed file and at least 5 Mb, the region is counted by that many
    processes; the text is the same for any number.
    """
    check_threads(threads)
    with Inputs(bam, reference) as inputs:
        regions = inputs.regions(region)  # a bad region fails before any text
        yield HEADER
        count = functools.partial(_window_text, window_size, filters.min_baseq, all_positions)
        length = sum(end - start for _, start, end in regions)
        bar = Progress(length, progress)
        if threads > 1 and inputs.indexed and length >= _shards.MIN_SHARDED_LENGTH:
            results = _shards.sharded_results(
                [inputs],
                regions,
                count,
                window_size=window_size,
                filters=filters,
                processes=threads,
                progress=bar.advance,
            )
        else:
            windows = stream_windows(
                [inputs], region, window_size=window_size, filters=filters, progress=False
            )
            results = _counted(windows, count, bar)
        held: list[str] = []  # `-a`: a contig's leading empty windows, until a read shows up
        contig, seen = None, False
        for window_contig, has_reads, text in results:
            if window_contig != contig:
                contig, seen, held = window_contig, False, []
            if all_positions == 1 and not seen:
                if not has_reads:
                    held.append(text)
                    continue
                seen = True
                yield from held
                held = []
            if text:
                yield text
        bar.close()


def _counted(windows, count, bar: Progress):
    """`count` of each window, advancing `bar` as the windows are done."""
    for window in prefetched(windows):
        yield count(window)
        bar.advance(window.end - window.start)


def _window_text(window_size: int, min_baseq: int, all_positions: int, window: Window):
    """`(contig, whether a read passed the filters, rows of text)` of one window; empty rows
    are written when `all_positions` asks for them."""
    depth, table = _window_counts(window, window_size, min_baseq)
    where = np.arange(depth.shape[0]) if all_positions else np.flatnonzero(depth > 0)
    return window.contig, len(window.reads[0]) > 0, _rows(window, where, depth, table)


def _window_counts(window: Window, window_size: int, min_baseq: int):
    """Depth `(R,)` and the count columns `(R, 7)` (A, C, G, T, N, del, ins) of one window."""
    length = window.end - window.start
    table = np.zeros((length, 7), dtype=np.int64)
    reads = window.reads[0]
    if not len(reads):
        return table[:, 0], table
    counts = np.asarray(_count(window, window_size, min_baseq))[:length].astype(np.int64)
    table[:] = counts[:, _COLUMN_CHANNELS]
    # One-hot columns: each entry (base, N or gap) adds 1 to exactly one symbol channel.
    return counts[:, :_INSERTION].sum(axis=1), table


def _count(window: Window, window_size: int, min_baseq: int):
    """The exact counts of one window's reads, from `softpile.pileup` (padded arrays)."""
    reads = window.reads[0]
    length = window.end - window.start
    projection = project(
        reads,
        window.start,
        window.end,
        min_baseq,
        window.letters,
        sequences=False,
        qualities=False,
        cycles=False,
    )
    columns = _bucket(projection.codes.shape[1])
    positions = min(_bucket(length), _bucket(window_size))
    offsets = projection.starts - window.start
    result = np.zeros((positions, _INSERTION + 1), np.int32)
    # Fixed-size chunks of reads: one compiled shape, sums kept on device. NumPy arrays go to
    # the compiled function as they are (no conversions to compile).
    for first in range(0, len(reads), CHUNK):
        rows = slice(first, first + CHUNK)
        result = _add_exact_counts(
            result,
            _pad(projection.codes[rows], (CHUNK, columns), -1),
            _pad(offsets[rows], (CHUNK,), 0),
            _pad(projection.insertions[rows], (CHUNK, columns), 0),
            reference_length=positions,
        )
    return result


@functools.partial(jax.jit, static_argnames=("reference_length",))
def _add_exact_counts(totals, codes, starts, insertions, *, reference_length):
    """`totals` plus the exact counts of one chunk of reads: the `softpile.pileup` counts of
    one-hot reads with channels A, C, G, T, -, N and the insertion flags as a seventh channel,
    quality weighting off, summed as integers by `pileup`'s kernel. The one-hot columns are
    made inside the kernel's loop from the 1-byte codes, a block of reads at a time, rather
    than as a float `(reads, length, 7)` array first. One compiled function per shape,
    without host callbacks (the reader's codes are valid), so that JAX's compilation cache
    can keep it."""
    sums = _kernel.block_sums(_exact_columns, (codes, insertions), starts, reference_length)
    return totals + sums[0]


def _exact_columns(codes, insertions):
    """`(reads, length, 7)` int32 one-hot columns of codes, with the insertion flags as the
    seventh channel."""
    symbols = _encoding_table(gaps=True, n_channel=True, dtype=np.int32)
    table = np.pad(symbols, ((0, 0), (0, 1)))  # a zero insertion channel, set below
    columns = jnp.asarray(table)[codes.astype(jnp.int32) + 1]
    return (columns.at[..., _INSERTION].set(insertions.astype(jnp.int32)),)


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


def _rows(window: Window, where: np.ndarray, depth: np.ndarray, table: np.ndarray) -> str:
    """The TSV rows of positions `where` (indices into the window), formatted at once."""
    count = where.size
    if count == 0:
        return ""
    name = np.frombuffer((window.contig + "\t").encode(), dtype=np.uint8)
    reference = np.frombuffer(window.letters.encode("ascii"), dtype=np.uint8)[where, None]
    tab = np.full((count, 1), ord("\t"), dtype=np.uint8)
    counts, counts_keep = _count_fields(np.concatenate([depth[where, None], table[where]], 1))
    counts[:, -1] = ord("\n")  # the last field ends the line
    position, position_keep = _decimal(where + window.start + 1)
    pieces = [
        (np.broadcast_to(name, (count, name.size)), None),
        (position, position_keep),
        (tab, None),
        (reference, None),
        (tab, None),
        (counts, counts_keep),
    ]
    return _text_rows(pieces)

"""The exact count table (`softpile pileup`): samtools' counts as TSV, computed by `pileup`."""

import os
from collections.abc import Iterator

import jax.numpy as jnp
import numpy as np

from ._engine import DEFAULT_WINDOW, ContigReads, Filters, project
from ._reads import _bucket, _exact_counts, _Inputs, _pad, _Progress
from ._regions import parse_region

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
    with _Inputs(bam, reference) as inputs:
        regions = parse_region(region, inputs.lengths)
        bar = _Progress(sum(end - start for _, start, end in regions), progress)
        # One window in flight: JAX computes window k (asynchronously, on its own threads)
        # while Python reads and projects window k + 1.
        pending = None
        for contig, start, end, reads in inputs.streams(region):
            stream = ContigReads(reads, contig, filters, inputs.bam_path)
            for window_start in range(start, end, window_size):
                window_end = min(window_start + window_size, end)
                reads = stream.window(window_start, window_end)
                length = window_end - window_start
                letters = inputs.sequence(contig, window_start, window_end)
                if reads:
                    projection = project(
                        reads, window_start, window_end, filters.min_baseq, sequences=False
                    )
                    columns = _bucket(projection.codes.shape[1])
                    positions = min(_bucket(length), _bucket(window_size))
                    dtype = jnp.zeros((), float).dtype
                    offsets = projection.starts - window_start
                    result = None
                    # Fixed-size chunks of reads: one compiled shape, sums added on device.
                    for first in range(0, len(reads), CHUNK):
                        rows = slice(first, first + CHUNK)
                        part = _exact_counts(
                            jnp.asarray(_pad(projection.codes[rows], (CHUNK, columns), -1)),
                            jnp.asarray(_pad(offsets[rows], (CHUNK,), 0)),
                            jnp.asarray(
                                _pad(projection.insertions[rows], (CHUNK, columns), 0), dtype
                            ),
                            reference_length=positions,
                        )
                        result = part if result is None else tuple(map(jnp.add, result, part))
                else:
                    result = None
                if pending is not None:
                    yield _finish(*pending)
                    bar.advance(pending[3])
                pending = (contig, window_start, letters, length, result)
        if pending is not None:
            yield _finish(*pending)
            bar.advance(pending[3])
        bar.close()


def _finish(contig, start, letters, length, result):
    table = np.zeros((length, 7), dtype=np.int64)
    if result is None:
        return contig, start, letters, table[:, 0], table
    counts, depth, insertions = result
    counts = np.asarray(counts)[:length]
    table[:, :6] = np.rint(counts[:, _COLUMN_CHANNELS])
    table[:, 6] = np.rint(np.asarray(insertions)[:length])
    return contig, start, letters, np.asarray(depth)[:length], table


def _integer_strings(values: np.ndarray, cache: list[str]) -> list[str]:
    """`str` of small non-negative ints via a growing lookup table (much faster than `str`)."""
    if values.size == 0:
        return []
    largest = int(values.max())
    if largest >= len(cache):
        cache.extend(str(i) for i in range(len(cache), largest + 1))
    return np.asarray(cache, dtype=object)[values].tolist()


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
    cache: list[str] = []
    rows = 0
    for contig, start, letters, depth, table in windows:
        if all_positions:
            where = np.arange(depth.shape[0])
        else:
            where = np.flatnonzero(depth > 0)
        if where.size == 0:
            continue
        positions = [str(p) for p in (where + start + 1).tolist()]
        reference = np.frombuffer(letters.encode("ascii"), dtype="S1")[where]
        reference = reference.astype(str).tolist()
        columns = [_integer_strings(depth[where], cache)] + [
            _integer_strings(table[where, k], cache) for k in range(table.shape[1])
        ]
        prefix = contig + "\t"
        output.write(
            "".join(
                prefix + "\t".join(fields) + "\n" for fields in zip(positions, reference, *columns)
            )
        )
        rows += int(where.size)
    return rows

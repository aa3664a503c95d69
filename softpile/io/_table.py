"""The exact count table (`softpile pileup`): samtools' counts as TSV, computed by `pileup`."""

import os
from collections.abc import Iterator
from typing import TextIO

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
        for contig, start, end, reads in inputs.streams(region):
            stream = ContigReads(reads, contig, filters)
            for window_start in range(start, end, window_size):
                window_end = min(window_start + window_size, end)
                reads = stream.window(window_start, window_end)
                length = window_end - window_start
                letters = inputs.sequence(contig, window_start, window_end)
                if not reads:
                    table = np.zeros((length, 7), dtype=np.int64)
                    yield contig, window_start, letters, table[:, 0], table
                    bar.advance(length)
                    continue
                projection = project(
                    reads, window_start, window_end, filters.min_baseq, sequences=False
                )
                rows = _bucket(len(reads))
                columns = _bucket(projection.codes.shape[1])
                positions = min(_bucket(length), _bucket(window_size))
                counts, depth, insertions = _exact_counts(
                    jnp.asarray(_pad(projection.codes, (rows, columns), -1)),
                    jnp.asarray(_pad(projection.starts - window_start, (rows,), 0)),
                    jnp.asarray(
                        _pad(projection.insertions, (rows, columns), 0),
                        jnp.zeros((), float).dtype,
                    ),
                    reference_length=positions,
                )
                counts = np.asarray(counts)[:length]
                table = np.empty((length, 7), dtype=np.int64)
                table[:, :6] = np.rint(counts[:, _COLUMN_CHANNELS])
                table[:, 6] = np.rint(np.asarray(insertions)[:length])
                yield contig, window_start, letters, np.asarray(depth)[:length], table
                bar.advance(length)
        bar.close()


def _integer_strings(values: np.ndarray, cache: list[str]) -> list[str]:
    """`str` of small non-negative ints via a growing lookup table (much faster than `str`)."""
    if values.size == 0:
        return []
    largest = int(values.max())
    if largest >= len(cache):
        cache.extend(str(i) for i in range(len(cache), largest + 1))
    return np.asarray(cache, dtype=object)[values].tolist()


def write_table(
    output: TextIO,
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

"""Real data in: BAM/CRAM + FASTA -> `ReadBatch` (reference space) -> `Pileup`."""

import os
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from .._encoding import encode_sequence
from .._pileup import Pileup
from ._filters import DEFAULT_EXCLUDED, DEFAULT_MAX_DEPTH, DEFAULT_MIN_BASEQ, FLAGS, Filters
from ._inputs import Inputs
from ._projection import project
from ._read_batch import ReadBatch
from ._records import Alignments
from ._regions import DEFAULT_WINDOW, parse_region
from ._windows import Window, stream_windows


def _filters(min_mapq, min_baseq, excl_flags, count_orphans, overlap_removal, max_depth) -> Filters:
    return Filters(
        min_mapq=min_mapq,
        min_baseq=min_baseq,
        excl_flags=excl_flags,
        count_orphans=count_orphans,
        overlap_removal=overlap_removal,
        max_depth=max_depth,
    )


def batch_of(window: Window, reads: Alignments, min_baseq: int) -> ReadBatch:
    """The `ReadBatch` of one input's reads in a window (over `[start, read_end)`)."""
    contig, start, end, letters = window.contig, window.start, window.read_end, window.letters
    projection = project(reads, start, end, min_baseq, letters)
    return ReadBatch(
        contig=contig,
        region_start=start,
        region_end=end,
        starts=projection.starts,
        codes=projection.codes,
        quality=projection.quality,
        insertions=projection.insertions,
        inserted_sequences=projection.inserted,
        cycles=projection.cycles,
        mapq=reads.mapq,
        reverse=(reads.flag & FLAGS["REVERSE"]) != 0,
        names=tuple(np.char.decode(reads.names, "ascii").tolist()),
        reference=np.asarray(encode_sequence(letters)),
    )


def read_region(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple,
    *,
    min_mapq: int = 0,
    min_baseq: int = DEFAULT_MIN_BASEQ,
    excl_flags: int | str = DEFAULT_EXCLUDED,
    count_orphans: bool = False,
    overlap_removal: bool = True,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ReadBatch:
    """Read the alignments of one region into reference space, with samtools' filters.

    The filters and their defaults are those of `samtools mpileup -B` (BAQ off), so the exact
    pileup of the result equals samtools' counts (see docs/real-data.md for each quirk).

    **Arguments:**

    - `bam`: an indexed, coordinate-sorted BAM or CRAM (CRAM is decoded with `reference`).
    - `reference`: the FASTA the reads were aligned to (`.fai` created if missing).
    - `region`: a samtools string (`"chr1"`, `"chr1:1,001-2,000"`, 1-based inclusive) or a
      0-based half-open tuple `("chr1", 1000, 2000)`.
    - `min_mapq` (`-q`): drop reads with mapping quality below it.
    - `min_baseq` (`-Q`): drop entries whose base quality is below it (a deletion uses the
      quality of the next query base).
    - `excl_flags` (`--ff`): an int or samtools flag names, e.g. `"UNMAP,SECONDARY"`.
    - `count_orphans` (`-A`): keep paired reads without the proper-pair flag.
    - `overlap_removal` (off with `-x`): adjust qualities where mates overlap, as samtools.
    - `max_depth` (`-d`): cap of samtools' read buffer; 0 means no cap.

    **Returns:**

    A [`softpile.io.ReadBatch`][] whose reads are clipped to the region.

    ```python
    >>> import tempfile
    >>> import softpile.io
    >>> from softpile.io._example import write_example
    >>> bam, fasta = write_example(tempfile.mkdtemp())
    >>> batch = softpile.io.read_region(bam, fasta, "chr1:3-12")  # 0-based [2, 12)
    >>> batch.names, batch.starts.tolist()
    (('r1', 'r2', 'r3'), [2, 4, 6])
    >>> batch.codes[0].tolist()  # 3M2I2M1D3M: G T A C G - A C G
    [2, 3, 0, 1, 2, 4, 0, 1, 2]
    >>> batch.insertions[0].tolist()[:4], batch.inserted_sequences[0]
    ([0.0, 0.0, 1.0, 0.0], {2: 'TT'})

    ```
    """
    filters = _filters(min_mapq, min_baseq, excl_flags, count_orphans, overlap_removal, max_depth)
    with Inputs(bam, reference) as inputs:
        regions = parse_region(region, inputs.lengths)
        if len(regions) != 1:
            raise ValueError(f"read_region: expected one region, got {region!r}.")
        _, start, end = regions[0]
        (window,) = stream_windows(
            [inputs], regions[0], window_size=end - start, filters=filters, progress=False
        )
        return batch_of(window, window.reads[0], filters.min_baseq)


def iter_windows(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple | None = None,
    *,
    window_size: int = DEFAULT_WINDOW,
    min_mapq: int = 0,
    min_baseq: int = DEFAULT_MIN_BASEQ,
    excl_flags: int | str = DEFAULT_EXCLUDED,
    count_orphans: bool = False,
    overlap_removal: bool = True,
    max_depth: int = DEFAULT_MAX_DEPTH,
    progress: bool | None = None,
) -> Iterator[ReadBatch]:
    """Stream a region (or every contig) as `ReadBatch`es of at most `window_size` positions.

    Reads are taken from one pass over the file; a read spanning several windows appears,
    clipped, in each. The filters carry over window boundaries, so the windows of a region
    together give exactly the same pileup as one `read_region` call, whatever `window_size`.
    Memory is bounded by a window's reads. Arguments as in `read_region`; `region=None` means
    every contig of the BAM header, in order; `progress` shows a progress bar on stderr
    (default: when stderr is a terminal).

    **Returns:**

    An iterator of [`softpile.io.ReadBatch`][], in reference order.

    ```python
    >>> import tempfile
    >>> import softpile.io
    >>> from softpile.io._example import write_example
    >>> bam, fasta = write_example(tempfile.mkdtemp())
    >>> windows = softpile.io.iter_windows(bam, fasta, "chr1", window_size=16)
    >>> [(window.region_start, window.region_end, window.num_reads) for window in windows]
    [(0, 16, 3), (16, 32, 0), (32, 40, 0)]

    ```
    """
    filters = _filters(min_mapq, min_baseq, excl_flags, count_orphans, overlap_removal, max_depth)
    with Inputs(bam, reference) as inputs:
        windows = stream_windows(
            [inputs], region, window_size=window_size, filters=filters, progress=progress
        )
        for window in windows:
            yield batch_of(window, window.reads[0], filters.min_baseq)


def pileup_region(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple,
    *,
    window_size: int = DEFAULT_WINDOW,
    gaps: bool = True,
    n_channel: bool = False,
    quality_weighting: bool = True,
    **filters,
) -> Pileup:
    """One call from a BAM/CRAM region to a `softpile.Pileup` (position 0 = region start).

    Streams the region in windows of `window_size` (see `iter_windows`) and joins the
    per-window pileups; `gaps`, `n_channel` and `quality_weighting` are passed to
    `ReadBatch.pileup`, the filters (`min_mapq`, `min_baseq`, ...) to `read_region`. With
    `n_channel=True, quality_weighting=False`, `counts` are samtools' exact counts
    (channels A, C, G, T, -, N).

    **Returns:**

    A [`softpile.Pileup`][] with one row per position of the region.

    ```python
    >>> import tempfile
    >>> import softpile.io
    >>> from softpile.io._example import write_example
    >>> bam, fasta = write_example(tempfile.mkdtemp())
    >>> exact = softpile.io.pileup_region(
    ...     bam, fasta, "chr1:5-8", n_channel=True, quality_weighting=False
    ... )
    >>> exact.counts.astype(int).tolist()  # A, C, G, T, -, N at positions 5..8 (1-based)
    [[2, 0, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0], [0, 0, 3, 0, 0, 0], [0, 0, 0, 2, 1, 0]]
    >>> exact.depth.tolist(), exact.insertions.tolist()
    ([2, 2, 3, 3], [1.0, 0.0, 0.0, 0.0])

    ```
    """
    pieces = [
        batch.pileup(gaps=gaps, n_channel=n_channel, quality_weighting=quality_weighting)
        for batch in iter_windows(bam, reference, region, window_size=window_size, **filters)
    ]
    if len(pieces) == 1:
        return pieces[0]
    return jax.tree.map(lambda *fields: jnp.concatenate(fields), *pieces)

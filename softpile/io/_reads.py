"""Real data in: BAM/CRAM + FASTA -> `ReadBatch` (reference space) -> `Pileup`."""

import dataclasses
import functools
import os
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from .._encoding import encode_sequence, one_hot_reads
from .._pileup import Pileup, pileup
from ._filters import DEFAULT_EXCLUDED, DEFAULT_MAX_DEPTH, DEFAULT_MIN_BASEQ, FLAGS, Filters
from ._inputs import Inputs
from ._projection import project
from ._records import Alignments
from ._regions import DEFAULT_WINDOW, parse_region
from ._windows import Window, stream_windows


@dataclasses.dataclass(frozen=True, eq=False)
class ReadBatch:
    """The reads of one region in reference space (NumPy arrays), after samtools' filters.

    Column `j` of read `n` lies at the 0-based reference position `starts[n] + j`. Reads are
    clipped to the region, so `region_start <= starts[n]` and every column is inside it.

    **Fields** (`N` reads, `L` columns):

    - `contig`, `region_start`, `region_end`: the region, 0-based half-open.
    - `starts`: `(N,)` int64, absolute 0-based position of each row's first column.
    - `codes`: `(N, L)` int8: `0..3` A, C, G, T; `4` gap (a `D`); `5` N; `-1` padding (a
      reference skip `N`, a base that failed `min_baseq`, or past the read's end).
    - `quality`: `(N, L)` float32 Phred after the overlapping-mate adjustment (a gap carries
      the quality samtools filters it by: the next query base's); 0 on padding.
    - `insertions`: `(N, L)` float32, 1 on the column right before an insertion.
    - `inserted_sequences`: per read, `{column: inserted bases}` for each insertion flag.
    - `mapq`: `(N,)` int, `reverse`: `(N,)` bool, `names`: the `N` read names.
    - `reference`: `(region_end - region_start,)` int codes of the reference (see
      `softpile.encode_sequence`).

    Made by `read_region` and `iter_windows`:

    ```python
    >>> import tempfile
    >>> import softpile.io
    >>> from softpile.io._example import write_example
    >>> bam, fasta = write_example(tempfile.mkdtemp())
    >>> batch = softpile.io.read_region(bam, fasta, ("chr1", 0, 40))
    >>> batch.num_reads, batch.codes.shape, batch.one_hot().shape
    (3, (3, 10), (3, 10, 5))
    >>> piled = batch.pileup(quality_weighting=False)
    >>> piled.depth[:8].tolist(), piled.insertions[:8].tolist()
    ([0, 0, 1, 1, 2, 2, 3, 3], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])

    ```
    """

    contig: str
    region_start: int
    region_end: int
    starts: np.ndarray
    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    inserted_sequences: tuple
    mapq: np.ndarray
    reverse: np.ndarray
    names: tuple
    reference: np.ndarray

    @property
    def num_reads(self) -> int:
        return int(self.starts.shape[0])

    def one_hot(self, gaps: bool = True, n_channel: bool = False) -> jax.Array:
        """`softpile.one_hot_reads` of `codes`.

        **Arguments:** `gaps` adds the gap channel `-`; `n_channel` gives `N` its own channel
        (channels A, C, G, T, -, N), for exact counts.

        **Returns:** `(N, L, C)` floats with `C = 4 + gaps + n_channel`.
        """
        return one_hot_reads(self.codes, gaps=gaps, n_channel=n_channel)

    def pileup(
        self,
        *,
        gaps: bool = True,
        n_channel: bool = False,
        quality_weighting: bool = True,
        read_weights: np.ndarray | None = None,
    ) -> Pileup:
        """`softpile.pileup` of these reads over the region (position 0 = `region_start`).

        Reads and columns are padded to a few bucket sizes (padding adds nothing), so a stream
        of windows compiles a handful of shapes.

        **Arguments:**

        - `gaps`, `n_channel`: the channels, as in `one_hot`.
        - `quality_weighting`: weight counts by `1 - e` of `quality` (as `softpile.pileup`).
        - `read_weights`: `(N,)` per-read weights (e.g. from `mapq`), default 1.

        **Returns:**

        A [`softpile.Pileup`][] with `region_end - region_start` positions.
        """
        length = self.region_end - self.region_start
        reads = _bucket(self.num_reads)
        columns = _bucket(self.codes.shape[1])
        positions = _bucket(length)
        codes = _pad(self.codes, (reads, columns), -1)
        quality = _pad(self.quality, (reads, columns), 0)
        insertions = _pad(self.insertions, (reads, columns), 0)
        starts = _pad(self.starts - self.region_start, (reads,), 0)
        weights = None
        if read_weights is not None:
            weights = _pad(np.asarray(read_weights, dtype=np.float32), (reads,), 0)
        dtype = jnp.zeros((), float).dtype
        result = _pileup_of_codes(
            jnp.asarray(codes),
            jnp.asarray(starts),
            jnp.asarray(quality, dtype),
            jnp.asarray(insertions, dtype),
            None if weights is None else jnp.asarray(weights, dtype),
            reference_length=positions,
            gaps=gaps,
            n_channel=n_channel,
            quality_weighting=quality_weighting,
        )
        return jax.tree.map(lambda field: field[:length], result)


def _bucket(size: int) -> int:
    """Round up to 16, or to a power of two times 1, 1.25, 1.5 or 1.75: few distinct shapes
    (four per doubling), at most 25% padding."""
    if size <= 16:
        return 16
    power = 1 << (int(size) - 1).bit_length() - 1
    for step in (power + power // 4, power + power // 2, power + 3 * power // 4):
        if size <= step:
            return step
    return 2 * power


def _pad(array: np.ndarray, shape: tuple[int, ...], value) -> np.ndarray:
    widths = [(0, target - current) for current, target in zip(array.shape, shape)]
    return np.pad(array, widths, constant_values=value)


@functools.partial(
    jax.jit, static_argnames=("reference_length", "gaps", "n_channel", "quality_weighting")
)
def _pileup_of_codes(
    codes,
    starts,
    quality,
    insertions,
    weights,
    *,
    reference_length,
    gaps,
    n_channel,
    quality_weighting,
):
    reads = one_hot_reads(codes, gaps=gaps, n_channel=n_channel)
    return pileup(
        reads,
        starts,
        reference_length,
        quality=quality,
        read_weights=weights,
        insertions=insertions,
        quality_weighting=quality_weighting,
    )


# --- the public API ------------------------------------------------------------------------


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

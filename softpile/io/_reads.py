"""Real data in: BAM/CRAM + FASTA -> `ReadBatch` (reference space) -> `Pileup`."""

import dataclasses
import functools
import os
import sys
import time
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pysam

from .._encoding import encode_sequence, one_hot_reads
from .._pileup import Pileup, pileup
from ._engine import DEFAULT_EXCLUDED, DEFAULT_WINDOW, ContigReads, Filters, project
from ._regions import parse_region


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
        """`softpile.one_hot_reads` of `codes`: `(N, L, C)`, `C = 4 + gaps + n_channel`."""
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
        of windows compiles a handful of shapes. `read_weights` is `(N,)` (e.g. from `mapq`).
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
    """The next power of two (at least 16): few distinct shapes, at most 2x padding."""
    return max(16, 1 << max(int(size) - 1, 0).bit_length())


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


@functools.partial(jax.jit, static_argnames=("reference_length",))
def _exact_counts(codes, starts, insertions, *, reference_length):
    """Exact per-symbol counts (A,C,G,T,-,N), depth and insertions: the samtools table."""
    reads = one_hot_reads(codes, gaps=True, n_channel=True)
    result = pileup(reads, starts, reference_length, insertions=insertions, quality_weighting=False)
    return result.counts, result.depth, result.insertions


# --- opening files -------------------------------------------------------------------------


class _Inputs:
    """An open BAM/CRAM and FASTA whose contigs agree; closes both."""

    def __init__(self, bam: str | os.PathLike, reference: str | os.PathLike):
        self.bam_path = os.fspath(bam)
        self.reference_path = os.fspath(reference)
        self.fasta = _open_fasta(self.reference_path)
        try:
            self.bam = _open_alignments(self.bam_path, self.reference_path)
        except BaseException:
            self.fasta.close()
            raise
        self.lengths = dict(zip(self.bam.references, self.bam.lengths))

    def check_contig(self, contig: str) -> None:
        fasta_lengths = dict(zip(self.fasta.references, self.fasta.lengths))
        if contig not in fasta_lengths:
            raise ValueError(
                f"reference {self.reference_path!r} has no contig {contig!r}, which the BAM "
                f"header of {self.bam_path!r} lists; pass the FASTA the reads were aligned to."
            )
        if fasta_lengths[contig] != self.lengths[contig]:
            raise ValueError(
                f"reference {self.reference_path!r} does not match the BAM header: contig "
                f"{contig!r} has length {fasta_lengths[contig]} in the FASTA but "
                f"{self.lengths[contig]} in {self.bam_path!r}; pass the FASTA the reads were "
                "aligned to."
            )

    def reads(self, contig: str, start: int, end: int) -> Iterator:
        if not self.bam.has_index():
            raise ValueError(
                f"{self.bam_path!r} has no index (.bai/.csi/.crai); run `samtools index` on "
                "it to read a region."
            )
        return _guarded(self.bam.fetch(contig, start, end), self.bam_path)

    def streams(self, region) -> Iterator[tuple[str, int, int, Iterator]]:
        """`(contig, start, end, reads)` for each contig range of `region` (None: every contig).

        A region needs the index; the whole file is read in one sequential pass (no index
        needed), split by contig in header order.
        """
        regions = parse_region(region, self.lengths)
        for contig, _, _ in regions:
            self.check_contig(contig)
        if region is not None:
            for contig, start, end in regions:
                yield contig, start, end, self.reads(contig, start, end)
            return
        sequential = _Sequential(_guarded(self.bam.fetch(until_eof=True), self.bam_path))
        for tid, (contig, start, end) in enumerate(regions):
            yield contig, start, end, sequential.contig(tid, contig)

    def sequence(self, contig: str, start: int, end: int) -> str:
        return self.fasta.fetch(contig, start, end)

    def close(self) -> None:
        self.bam.close()
        self.fasta.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Sequential:
    """One pass over a coordinate-sorted file, handed out contig by contig."""

    def __init__(self, reads: Iterator):
        self._reads = reads
        self._pending = None

    def contig(self, tid: int, contig: str) -> Iterator:
        while True:
            read = self._pending if self._pending is not None else next(self._reads, None)
            self._pending = None
            if read is None:
                return
            read_tid = read.reference_id
            if read_tid == tid:
                yield read
                continue
            if 0 <= read_tid < tid:
                raise ValueError(
                    f"the BAM file is not sorted by coordinate ({read.query_name!r} on "
                    f"{read.reference_name!r} comes after reads on {contig!r}); run "
                    "`samtools sort`."
                )
            self._pending = read  # a later contig, or unplaced reads at the end
            return


def _open_fasta(path: str) -> pysam.FastaFile:
    if not os.path.exists(path):
        raise FileNotFoundError(f"reference FASTA {path!r} does not exist.")
    try:
        return pysam.FastaFile(path)
    except (OSError, ValueError) as error:
        raise OSError(
            f"cannot open reference FASTA {path!r} ({error}); it must be a readable FASTA "
            "(plain or bgzip), with a .fai index or a writable directory to create one."
        ) from None


def _open_alignments(path: str, reference: str) -> pysam.AlignmentFile:
    if not os.path.exists(path):
        raise FileNotFoundError(f"alignment file {path!r} does not exist.")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"alignment file {path!r} is not readable.")
    try:
        return pysam.AlignmentFile(path, "r", reference_filename=reference)
    except (OSError, ValueError) as error:
        raise OSError(
            f"cannot read {path!r} as BAM/CRAM/SAM ({error}); is it truncated or corrupt?"
        ) from None


def _guarded(iterator: Iterator, path: str) -> Iterator:
    """Turn htslib read errors (truncated/corrupt data) into one clear `OSError`."""
    try:
        yield from iterator
    except (OSError, ValueError) as error:
        if "not sorted" in str(error):
            raise
        raise OSError(
            f"error reading {path!r}: {error}; the file looks truncated or corrupt."
        ) from None


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


def _batch(inputs: _Inputs, contig, start, end, reads, filters, reference=None) -> ReadBatch:
    projection = project(reads, start, end, filters.min_baseq)
    if reference is None:
        reference = inputs.sequence(contig, start, end)
    return ReadBatch(
        contig=contig,
        region_start=start,
        region_end=end,
        starts=projection.starts,
        codes=projection.codes,
        quality=projection.quality,
        insertions=projection.insertions,
        inserted_sequences=projection.inserted,
        mapq=np.fromiter((read.mapq for read in reads), np.int64, len(reads)),
        reverse=np.fromiter((read.reverse for read in reads), bool, len(reads)),
        names=tuple(read.name for read in reads),
        reference=np.asarray(encode_sequence(reference)),
    )


def read_region(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple,
    *,
    min_mapq: int = 0,
    min_baseq: int = 13,
    excl_flags: int | str = DEFAULT_EXCLUDED,
    count_orphans: bool = False,
    overlap_removal: bool = True,
    max_depth: int = 8000,
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
    >>> import softpile.io
    >>> softpile.io.read_region  # doctest: +ELLIPSIS
    <function read_region at ...>

    ```
    """
    filters = _filters(min_mapq, min_baseq, excl_flags, count_orphans, overlap_removal, max_depth)
    with _Inputs(bam, reference) as inputs:
        regions = parse_region(region, inputs.lengths)
        if len(regions) != 1:
            raise ValueError(f"read_region: expected one region, got {region!r}.")
        contig, start, end = regions[0]
        inputs.check_contig(contig)
        stream = ContigReads(inputs.reads(contig, start, end), contig, filters)
        return _batch(inputs, contig, start, end, stream.window(start, end), filters)


def iter_windows(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    region: str | tuple | None = None,
    *,
    window_size: int = DEFAULT_WINDOW,
    min_mapq: int = 0,
    min_baseq: int = 13,
    excl_flags: int | str = DEFAULT_EXCLUDED,
    count_orphans: bool = False,
    overlap_removal: bool = True,
    max_depth: int = 8000,
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
    """
    if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
        raise ValueError(f"window_size must be a positive int, got {window_size!r}.")
    filters = _filters(min_mapq, min_baseq, excl_flags, count_orphans, overlap_removal, max_depth)
    with _Inputs(bam, reference) as inputs:
        regions = parse_region(region, inputs.lengths)
        bar = _Progress(sum(end - start for _, start, end in regions), progress)
        for contig, start, end, reads in inputs.streams(region):
            stream = ContigReads(reads, contig, filters)
            for window_start in range(start, end, window_size):
                window_end = min(window_start + window_size, end)
                reads = stream.window(window_start, window_end)
                yield _batch(inputs, contig, window_start, window_end, reads, filters)
                bar.advance(window_end - window_start)
        bar.close()


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
    """
    pieces = [
        batch.pileup(gaps=gaps, n_channel=n_channel, quality_weighting=quality_weighting)
        for batch in iter_windows(bam, reference, region, window_size=window_size, **filters)
    ]
    if len(pieces) == 1:
        return pieces[0]
    return jax.tree.map(lambda *fields: jnp.concatenate(fields), *pieces)


class _Progress:
    """A one-line progress bar on stderr, shown only for terminals and long work."""

    def __init__(self, total: int, enabled: bool | None):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.shown = False

    def advance(self, amount: int) -> None:
        self.done += amount
        if not self.enabled or time.monotonic() - self.started < 1.0:
            return
        fraction = self.done / self.total
        bar = "#" * int(30 * fraction)
        print(
            f"\rsoftpile: [{bar:<30}] {100 * fraction:5.1f}% {self.done:,}/{self.total:,} bp",
            end="",
            file=sys.stderr,
            flush=True,
        )
        self.shown = True

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr, flush=True)

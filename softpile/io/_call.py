"""Variant calling from BAM/CRAM files: windows of reads -> `call_reads` -> records.

The reads of each window come from the one window loop (samtools' filters, each BAM read once),
extended by a margin on the right so that an indel near the end of a window is seen whole; the
positions of the window itself are called. Several BAMs are called together, one VCF column
each.
"""

import contextlib
import dataclasses
import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import jax
import numpy as np
import pysam

from .._quality import QualityFilter
from .._read_model import ReadModel
from .._variants import VariantModel
from . import _scoring, _shards
from ._call_reads import call_reads
from ._call_types import CallResult
from ._filters import DEFAULT_EXCLUDED, DEFAULT_MAX_DEPTH, Filters
from ._inputs import Inputs
from ._reads import batch_of
from ._regions import parse_region
from ._threads import check_threads
from ._windows import stream_windows

CALL_WINDOW = 50_000
"""Positions called per window (memory is bounded by one window's reads)."""

CALL_MIN_BASEQ = 0
"""Default base-quality cut for calling. Unlike `samtools mpileup` (13), keep every base: the
genotype model weighs each base by its error probability, so a low-quality base adds little
but true evidence (benchmarks/accuracy.py: higher SNV and indel F1 at 8x than with 13)."""

CALL_MARGIN = 200
"""Extra positions read past each window so that indels at its end are seen whole."""


def sample_name(bam: str | os.PathLike) -> str:
    """The sample of a BAM/CRAM: its read groups' `SM`, else the file name without extension.

    ```python
    >>> import tempfile
    >>> from softpile.simulate import simulate
    >>> from softpile.io import sample_name, write_simulation
    >>> files = write_simulation(simulate(0, reference_length=200, read_length=50),
    ...                          tempfile.mkdtemp(), sample="NA12878")
    >>> sample_name(files.reads)
    'NA12878'

    ```
    """
    if not Path(bam).is_file():
        raise ValueError(f"BAM/CRAM {str(bam)!r} does not exist.")
    with pysam.AlignmentFile(str(bam), require_index=False) as alignments:
        groups = alignments.header.to_dict().get("RG", [])
    names = sorted({group["SM"] for group in groups if group.get("SM")})
    if len(names) > 1:
        raise ValueError(
            f"{bam}: its read groups name {len(names)} samples ({', '.join(names)}); softpile "
            "calls one sample per file. Split it, e.g. with `samtools split`."
        )
    if names:
        return names[0]
    name = Path(bam).name
    for suffix in (".bam", ".cram", ".sam"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _contig_lengths(bams: Sequence[str | os.PathLike]) -> dict[str, int]:
    lengths: dict[str, int] = {}
    for index, bam in enumerate(bams):
        with pysam.AlignmentFile(str(bam), require_index=False) as alignments:
            these = dict(zip(alignments.references, alignments.lengths))
        if index == 0:
            lengths = these
        elif these != lengths:
            raise ValueError(
                f"{bam}: its contigs differ from those of {bams[0]}; every BAM must be aligned "
                "to the same reference."
            )
    return lengths


@dataclasses.dataclass(frozen=True)
class _Plan:
    lengths: dict[str, int]
    regions: list[tuple[str, int, int]]


def _plan(bams, region) -> _Plan:
    if not bams:
        raise ValueError("call: no BAM given; pass one or more BAM/CRAM files.")
    for bam in bams:
        if not Path(bam).is_file():
            raise ValueError(f"BAM/CRAM {str(bam)!r} does not exist.")
    lengths = _contig_lengths([str(b) for b in bams])
    return _Plan(lengths, parse_region(region, lengths))


def iter_calls(
    bams: Sequence[str | os.PathLike],
    reference: str | os.PathLike,
    region: str | tuple[str, int, int] | None = None,
    *,
    window_size: int = CALL_WINDOW,
    variant_model: VariantModel | None = None,
    quality_filter: QualityFilter | None = None,
    read_model: ReadModel | None = None,
    min_mapq: int = 0,
    min_baseq: int = CALL_MIN_BASEQ,
    excl_flags: int | str = DEFAULT_EXCLUDED,
    count_orphans: bool = False,
    overlap_removal: bool = True,
    max_depth: int = DEFAULT_MAX_DEPTH,
    threads: int = 1,
    progress=None,
    arrays: bool = True,
) -> Iterator[CallResult]:
    """Call a region (or every contig) window by window: one `CallResult` per window.

    Memory is bounded by the windows in flight. Arguments as in `call_region`, but
    `region=None` means every contig of the BAM header; `progress`, if given, is called with
    the number of positions done after each window. With `threads` > 1, indexed BAMs and at
    least 5 Mb, windows are called by that many worker processes (see `softpile pileup
    --threads`); the results are the same for any number. `arrays=False` keeps only the
    records (`scores` and `pileups` are None), as `softpile call` does: worker processes then
    send back a few kB per window instead of the window's arrays (megabytes).

    **Returns:**

    An iterator of `CallResult`s in reference order; each one's arrays cover its window.

    ```python
    >>> import tempfile
    >>> from softpile.simulate import simulate
    >>> from softpile.io import iter_calls, write_simulation
    >>> files = write_simulation(simulate(0, reference_length=400, read_length=50),
    ...                          tempfile.mkdtemp())
    >>> [(w.start, w.scores.quality.shape) for w in iter_calls([files.reads], files.reference,
    ...                                                       window_size=300)]
    [(0, (1, 300)), (300, (1, 100))]

    ```
    """
    _plan(bams, region)
    filters = Filters(
        min_mapq=min_mapq,
        min_baseq=min_baseq,
        excl_flags=excl_flags,
        count_orphans=count_orphans,
        overlap_removal=overlap_removal,
        max_depth=max_depth,
    )
    check_threads(threads)
    call = functools.partial(
        _call_window, window_size, min_baseq, variant_model, quality_filter, read_model, arrays
    )
    done = progress if progress is not None else (lambda positions: None)
    with contextlib.ExitStack() as stack:
        inputs = [stack.enter_context(Inputs(bam, reference)) for bam in bams]
        regions = inputs[0].regions(region)
        length = sum(end - start for _, start, end in regions)
        indexed = all(source.indexed for source in inputs)
        if threads > 1 and indexed and length >= _shards.MIN_SHARDED_LENGTH:
            results = _shards.sharded_results(
                inputs,
                regions,
                functools.partial(_shipped, call) if arrays else call,
                window_size=window_size,
                filters=filters,
                processes=threads,
                progress=done,
                margin=CALL_MARGIN,
            )
            yield from map(_received, results) if arrays else results
            return
        windows = stream_windows(
            inputs,
            region,
            window_size=window_size,
            filters=filters,
            margin=CALL_MARGIN,
            progress=False,
        )
        for window in windows:
            yield call(window)
            done(window.end - window.start)


def _shipped(call, window) -> tuple[CallResult, list, list]:
    """`call(window)` without its `scores` and `pileups`, and their arrays, as a worker process
    sends it back. Unpickling an `eqx.Module` would leak it: equinox registers every instance
    its `__new__` makes as being initialised, and only a normal construction (not pickle's)
    unregisters it, so each window's arrays would stay in memory for good."""
    result = call(window)
    records = dataclasses.replace(result, scores=None, pileups=None)
    return records, jax.tree.leaves(result.scores), jax.tree.leaves(result.pileups)


def _received(shipped: tuple[CallResult, list, list]) -> CallResult:
    """The `CallResult` of a `_shipped` one."""
    result, scores, pileups = shipped
    pileups_structure, scores_structure = _scoring.output_structures()
    return dataclasses.replace(
        result,
        scores=jax.tree.unflatten(scores_structure, scores),
        pileups=jax.tree.unflatten(pileups_structure, pileups),
    )


def _call_window(
    window_size, min_baseq, variant_model, quality_filter, read_model, arrays, window
) -> CallResult:
    """`call_reads` on the reads of one window (one `ReadBatch` per input); without `arrays`,
    its records only."""
    batches = [batch_of(window, reads, min_baseq) for reads in window.reads]
    reference = batches[0].reference
    assert reference is not None, "a batch read from a BAM has its reference"
    # Pad the reference to a whole window so the last window compiles no new shape.
    codes = np.full(window_size + CALL_MARGIN, 5, dtype=np.int32)
    codes[: window.read_end - window.start] = reference
    result = call_reads(
        batches,
        codes,
        contig=window.contig,
        offset=window.start,
        call_length=window.end - window.start,
        variant_model=variant_model,
        quality_filter=quality_filter,
        read_model=read_model,
    )
    return result if arrays else dataclasses.replace(result, scores=None, pileups=None)


def call_region(
    bams: str | os.PathLike | Sequence[str | os.PathLike],
    reference: str | os.PathLike,
    region: str | tuple[str, int, int] | None = None,
    *,
    window_size: int = CALL_WINDOW,
    variant_model: VariantModel | None = None,
    quality_filter: QualityFilter | None = None,
    read_model: ReadModel | None = None,
    **filters,
) -> CallResult:
    """Call SNVs and indels in a region of one or several BAM/CRAM files.

    Reads are selected with the filters of `softpile.io.read_region` (samtools' names and
    defaults), piled up and scored as in `softpile.io.call_reads`: `variant_scores` for
    SNVs (vmapped over samples), the gap channel and insertion flags for indels. The
    per-position arrays of every window are joined, so memory grows with the region; the
    `softpile call` command streams windows instead.

    **Arguments:**

    - `bams`: one path or a list of paths, one sample each.
    - `reference`: the FASTA the reads were aligned to.
    - `region`: a samtools string or a 0-based half-open `(contig, start, end)`; None for one
      contig (the BAM's only one).
    - `window_size`: positions per window.
    - `variant_model`, `quality_filter`, `read_model`: parameters (trained ones, e.g. from
      `load_caller`).
    - `**filters`: `min_mapq`, `min_baseq`, `excl_flags`, `count_orphans`, `overlap_removal`,
      `max_depth`, as in `read_region`, except that `min_baseq` defaults to 0
      (`CALL_MIN_BASEQ`): the model weighs bases by their quality instead of dropping them.

    **Returns:**

    A `CallResult`: `scores` and `pileups` with a leading sample axis over the region's
    positions (position 0 = the region start), and the `records`.

    ```python
    >>> import tempfile
    >>> from softpile.simulate import simulate
    >>> from softpile.io import call_region, write_simulation
    >>> sample = simulate(0, reference_length=400, read_length=50, snv_positions=[200],
    ...                   heterozygous=[True])
    >>> files = write_simulation(sample, tempfile.mkdtemp())
    >>> result = call_region(files.reads, files.reference, "sim:101-300")
    >>> result.scores.quality.shape
    (1, 200)
    >>> [(r.position, r.samples[0].genotype) for r in result.records if r.quality >= 20]
    [(200, (0, 1))]

    ```
    """
    if isinstance(bams, str | os.PathLike):
        bams = [bams]
    plan = _plan(bams, region)
    if len(plan.regions) != 1:
        raise ValueError(
            f"call_region: the BAM has {len(plan.regions)} contigs; pass a region "
            "(e.g. 'chr1' or 'chr1:1-10,000'), or use iter_calls for several."
        )
    windows = list(
        iter_calls(
            bams,
            reference,
            plan.regions[0],
            window_size=window_size,
            variant_model=variant_model,
            quality_filter=quality_filter,
            read_model=read_model,
            **filters,
        )
    )
    join = lambda *fields: np.concatenate(fields, axis=1)  # noqa: E731
    return CallResult(
        scores=jax.tree.map(join, *(w.scores for w in windows)),
        pileups=jax.tree.map(join, *(w.pileups for w in windows)),
        records=[record for w in windows for record in w.records],
        contig=plan.regions[0][0],
        start=plan.regions[0][1],
    )

"""Training data from real files: the chunks that calling scores, with the true genotype of
every position from a truth VCF (and a BED of the confident regions)."""

import dataclasses
import os
from collections.abc import Iterator, Sequence

import numpy as np
import pysam

from .._encoding import N
from .._genotypes import GENOTYPES, HOM_REF
from ._call import CALL_MARGIN, CALL_MIN_BASEQ, CALL_WINDOW
from ._call_reads import _sample_arrays
from ._filters import Filters
from ._inputs import Inputs
from ._reads import batch_of
from ._scoring import CHUNK_POSITIONS, Chunk, chunks
from ._windows import stream_windows

UNLABELLED = -1
"""The label of a position that training ignores: outside the confident regions, an N in the
reference, or next to a true indel (where the pileup's bases do not show SNV genotypes)."""

INDEL_FLANK = 5
"""Positions on each side of a true indel that are left unlabelled."""

_GENOTYPE_OF = {genotype: index for index, genotype in enumerate(GENOTYPES)}


class Truth:
    """A truth VCF (bgzipped and indexed; its first sample) and, optionally, a BED of the
    regions where it is complete; outside them nothing is labelled."""

    def __init__(self, vcf: str | os.PathLike, confident: str | os.PathLike | None = None):
        self.vcf = os.fspath(vcf)
        self.confident: dict[str, tuple[np.ndarray, ...]] | None = None
        if confident is not None:
            intervals: dict[str, list[tuple[int, int]]] = {}
            with open(confident) as lines:
                for row in pysam.tabix_iterator(lines, pysam.asBed()):  # pyright: ignore[reportArgumentType]
                    intervals.setdefault(row.contig, []).append((row.start, row.end))
            # Per contig, the intervals sorted by start, each ending at the largest end so far
            # (the same union, and sorted ends): a window finds the intervals that reach it by
            # two binary searches.
            self.confident = {}
            for contig, pairs in intervals.items():
                starts, ends = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2).T
                self.confident[contig] = (starts, np.maximum.accumulate(ends))

    def labels(self, contig: str, start: int, reference: np.ndarray) -> np.ndarray:
        """`(len(reference),)` the index in `softpile.GENOTYPES` of the true genotype at
        positions `start, start + 1, ...` (`reference` their codes), or `UNLABELLED`."""
        end = start + reference.size
        labels = np.asarray(HOM_REF)[np.where(reference == N, 0, reference)]
        labels[reference == N] = UNLABELLED
        with pysam.VariantFile(self.vcf) as variants:
            for record in variants.fetch(contig, max(start - INDEL_FLANK, 0), end):
                _label(labels, record, start)
        if self.confident is not None:
            labels[~self._inside(contig, start, end)] = UNLABELLED
        return labels

    def _inside(self, contig: str, start: int, end: int) -> np.ndarray:
        """`(end - start,)` whether each position is in some confident interval."""
        assert self.confident is not None
        empty = np.zeros(0, np.int64)
        starts, ends = self.confident.get(contig, (empty, empty))
        # The intervals that start before `end`, after the last one ending by `start`.
        first = int(np.searchsorted(ends, start, side="right"))
        last = int(np.searchsorted(starts, end, side="left"))
        size = end - start
        cover = np.zeros(size + 1, dtype=np.int64)
        np.add.at(cover, np.clip(starts[first:last] - start, 0, size), 1)
        np.add.at(cover, np.clip(ends[first:last] - start, 0, size), -1)
        return np.cumsum(cover[:-1]) > 0


def _label(labels: np.ndarray, record, start: int) -> None:
    alleles: tuple[str, ...] = tuple(record.alleles or ("N",))
    sample = record.samples[0] if len(record.samples) else None
    genotype = sample["GT"] if sample is not None else None
    position = record.start - start
    if all(len(allele) == 1 for allele in alleles) and genotype and None not in genotype:
        letters = "".join(sorted(alleles[g] for g in genotype))
        if 0 <= position < labels.size and letters in _GENOTYPE_OF:
            labels[position] = _GENOTYPE_OF[letters]
        return
    first = max(position - INDEL_FLANK, 0)
    last = min(position + len(alleles[0]) + INDEL_FLANK, labels.size)
    labels[first : max(last, 0)] = UNLABELLED


@dataclasses.dataclass(frozen=True)
class TrainingChunk:
    """One sample's reads over up to `CHUNK_POSITIONS` positions, as calling scores them
    (`chunk`), and `labels`: the index in `softpile.GENOTYPES` of the true genotype of each
    position, or `UNLABELLED` (-1: outside the confident regions, an N in the reference, next
    to a true indel, or past the chunk's own positions)."""

    chunk: Chunk
    labels: np.ndarray
    contig: str
    start: int
    """Absolute 0-based position of the chunk's first position."""


def training_chunks(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    truth: str | os.PathLike,
    region: str | tuple[str, int, int] | None = None,
    *,
    confident: str | os.PathLike | None = None,
    **filters,
) -> Iterator[TrainingChunk]:
    """The training data of one BAM: what calling scores, chunk by chunk, with the true
    genotype of every position. `softpile.io.genotype_loss` of a chunk is differentiable with
    respect to every learnable parameter; `softpile train` minimises it.

    **Arguments:** `bam`, `reference` and `region` as in `call_region` (None: every contig);
    `truth` a bgzipped, indexed VCF (its first sample); `confident` a BED of the regions where
    the truth is complete (elsewhere positions are `UNLABELLED`); `**filters` as in
    `call_region`.

    **Returns:** an iterator of `TrainingChunk`s in reference order; memory is bounded by a
    window of reads.

    ```python
    >>> import tempfile, jax, softpile
    >>> from softpile.simulate import simulate
    >>> from softpile.io import CallerParams, genotype_loss, training_chunks, write_simulation
    >>> files = write_simulation(simulate(0, reference_length=2000, read_length=50),
    ...                          tempfile.mkdtemp())
    >>> chunk = next(training_chunks(files.reads, files.reference, files.truth))
    >>> grads = jax.grad(genotype_loss)(CallerParams(), chunk)
    >>> grads.read_model.quality_shift.shape, grads.read_model.cycle_shift.shape
    ((13,), (16,))

    ```
    """
    yield from chunks_of(bam, reference, Truth(truth, confident), [region], call_filters(**filters))


def call_filters(**filters) -> Filters:
    """The read filters of calling: samtools' defaults, except `min_baseq` 0."""
    return Filters(**{"min_baseq": CALL_MIN_BASEQ, **filters})


def chunks_of(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    truth: Truth,
    regions: Sequence[str | tuple[str, int, int] | None],
    filters: Filters,
) -> Iterator[TrainingChunk]:
    """The `TrainingChunk`s of `bam` over `regions` (each as `stream_windows` takes it: 0-based
    half-open, a samtools string, or None for every contig), read window by window through the
    engine that calling uses."""
    with Inputs(bam, reference) as source:
        for region in regions:
            windows = stream_windows(
                [source],
                region,
                window_size=CALL_WINDOW,
                filters=filters,
                margin=CALL_MARGIN,
                progress=False,
            )
            for window in windows:
                batch = batch_of(window, window.reads[0], filters.min_baseq)
                codes = batch.reference
                assert codes is not None, "a batch read from a BAM has its reference"
                length = window.end - window.start
                labels = truth.labels(window.contig, window.start, codes[:length])
                samples = [_sample_arrays(batch, window.start)]
                for chunk in chunks(samples, codes.astype(np.int32), length, False):
                    chunk_labels = np.full(CHUNK_POSITIONS, UNLABELLED, dtype=np.int32)
                    chunk_labels[: chunk.last - chunk.first] = labels[chunk.first : chunk.last]
                    yield TrainingChunk(
                        chunk, chunk_labels, window.contig, window.start + chunk.first
                    )

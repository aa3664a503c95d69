"""Variant calling on reads in reference space: the records of a VCF, from the genotype model.

SNVs come from `variant_scores` on a pileup of the reads; insertions and
deletions come from the gap channel and the insertion flags (`_indels`). Several samples are
piled up and scored at once with `jax.vmap`, in chunks of a fixed shape (`_scoring`). No pysam
here: the rest of `softpile.io` reads BAM files into `ReadBatch`es and writes the records as VCF.
"""

from collections.abc import Sequence

import numpy as np
from jaxtyping import Int

from .._encoding import N
from .._genotypes import ALLELE_1, ALLELE_2, HOM_REF
from .._quality import QualityFilter
from .._read_model import UNAVAILABLE_MAPQ, ReadModel
from .._typing import ArrayLike
from .._variants import MAX_QUALITY, VariantModel
from ._call_types import CallResult, SampleCall, VariantRecord
from ._genotype_fields import LETTERS, genotype_quality, phred, vcf_genotypes
from ._indels import indel_records
from ._read_batch import ReadBatch
from ._scoring import SampleArrays, score_positions

# _PAIR_INDEX[a, b]: index in GENOTYPES of the unordered pair of bases a, b.
_PAIR_INDEX = np.zeros((4, 4), dtype=np.int64)
for _g, (_a, _b) in enumerate(zip(ALLELE_1, ALLELE_2)):
    _PAIR_INDEX[_a, _b] = _PAIR_INDEX[_b, _a] = _g


def call_reads(
    samples: Sequence[ReadBatch],
    reference: Int[ArrayLike, " positions"],
    *,
    contig: str = "chr",
    offset: int = 0,
    call_length: int | None = None,
    variant_model: VariantModel | None = None,
    quality_filter: QualityFilter | None = None,
    read_model: ReadModel | None = None,
) -> CallResult:
    r"""Call SNVs and indels in several samples at once.

    SNVs: the reads of each sample are one-hot encoded (with a gap channel), optionally passed
    through `soft_quality_filter`, piled up without quality weighting (so `counts` are read
    counts and `AD` is exact) and scored with `variant_scores`; samples are `jax.vmap`ped.
    A record is made wherever some sample's most likely genotype is not hom-ref; its ALT
    alleles are the non-reference alleles of those genotypes, `PL` comes from the genotype
    log-likelihoods and `GT`/`GQ` from the posteriors restricted to the record's alleles.

    Indels: every deletion (a run of gap columns between two bases) and insertion (a flagged
    column) of every read is left-aligned against the reference; at each anchor the most
    supported event is scored. With $a$ reads (weights) showing the event and $r$ spanning the
    site without it, and $\epsilon$ = `INDEL_ERROR`,
    $\log L(0/0) = a \log\epsilon + r \log(1-\epsilon)$,
    $\log L(0/1) = (a + r) \log\tfrac12$, $\log L(1/1) = a \log(1-\epsilon) + r \log\epsilon$,
    with prior het $\theta_i$, hom-alt $\theta_i/2$, $\theta_i$ = `INDEL_PRIOR_FRACTION`
    $\cdot\,\theta$.

    **Arguments:**

    - `samples`: one [`softpile.io.ReadBatch`][] per sample; their `quality`, capped at
      `mapq`, `read_weights` and `names` are used (see `ReadBatch`).
    - `reference`: `(R + margin,)` reference codes (`A=0 C=1 G=2 T=3 N=5`) from `offset` on;
      positions past `call_length` are only context (a deletion may reach into them).
    - `contig`: contig name of the records.
    - `offset`: absolute 0-based position of `reference[0]`.
    - `call_length`: call positions `offset .. offset + call_length - 1` (default: all).
    - `variant_model`: a [`softpile.VariantModel`][] (default parameters if None).
    - `quality_filter`: a [`softpile.QualityFilter`][] applied to the reads, or None.
    - `read_model`: a [`softpile.ReadModel`][] (recalibrated qualities and MAPQ read weights
      for the SNV scores), or None: each base quality capped at its read's MAPQ.

    **Returns:**

    A `CallResult`.

    ```python
    >>> from softpile.io import ReadBatch, call_reads
    >>> from softpile.simulate import simulate
    >>> sample = simulate(0, reference_length=300, read_length=50, snv_positions=[100],
    ...                   heterozygous=[False])
    >>> result = call_reads([ReadBatch.from_simulation(sample)], sample.reference)
    >>> [(r.position, r.alleles, r.samples[0].genotype) for r in result.records]
    [(100, ('C', 'G'), (1, 1))]

    ```
    """
    if not samples:
        raise ValueError("call_reads: `samples` is empty; pass one ReadBatch per sample.")
    reference = np.asarray(reference)
    if reference.ndim != 1 or not np.issubdtype(reference.dtype, np.integer):
        raise ValueError(
            f"call_reads: `reference` must be 1-D integer codes, got shape {reference.shape} "
            f"and dtype {reference.dtype}; make it with softpile.encode_sequence."
        )
    if call_length is None:
        call_length = reference.size
    if not 0 < call_length <= reference.size:
        raise ValueError(
            f"call_reads: `call_length` must be in 1..{reference.size} (the reference given), "
            f"got {call_length}."
        )
    variant_model = VariantModel() if variant_model is None else variant_model

    piled, scores = score_positions(
        [_sample_arrays(sample, offset) for sample in samples],
        reference.astype(np.int32),
        call_length,
        variant_model,
        quality_filter,
        read_model,
    )
    indels = indel_records(
        samples, reference, piled, variant_model, quality_filter, contig, offset, call_length
    )
    records = _outside_homozygous_deletions(
        _snv_records(scores, piled, reference[:call_length], contig, offset), indels
    )
    records += indels
    records.sort(key=lambda record: (record.position, record.is_indel))
    return CallResult(scores=scores, pileups=piled, records=records, contig=contig, start=offset)


def _outside_homozygous_deletions(snvs: list, indels: list) -> list:
    """The SNV records whose base is not removed from both haplotypes of every sample by a
    called deletion: no sample can carry a variant of a base it does not have. (The SNV model
    sees only the reads with a base at a position; at a homozygous deletion those are the few
    misaligned read ends, and a handful of them can look like a variant.)"""
    deleted = set()
    for record in indels:
        reference, alternate = record.alleles[0], record.alleles[1]
        if len(reference) > len(alternate) and all(
            call.genotype == (1, 1) for call in record.samples
        ):
            deleted.update(
                range(record.position + len(alternate), record.position + len(reference))
            )
    return [record for record in snvs if record.position not in deleted]


def _sample_arrays(sample: ReadBatch, offset: int) -> SampleArrays:
    """The arrays of `score_positions`, with starts relative to `offset`."""
    weights = 1.0 if sample.read_weights is None else sample.read_weights
    count = len(sample.codes)
    mapq = UNAVAILABLE_MAPQ if sample.mapq is None else sample.mapq
    return SampleArrays(
        codes=np.asarray(sample.codes, dtype=np.int32),
        quality=np.asarray(sample.quality, dtype=np.float32),
        insertions=(np.asarray(sample.insertions) != 0).astype(np.float32),
        weights=np.broadcast_to(np.asarray(weights, dtype=np.float32), (count,)),
        starts=np.asarray(sample.starts, dtype=np.int64) - offset,
        mapq=np.broadcast_to(np.asarray(mapq, dtype=np.int32), (count,)),
        cycles=sample.cycles,
    )


def _snv_records(scores, piled, reference: np.ndarray, contig: str, offset: int):
    genotype = np.asarray(scores.genotype)
    hom_ref = np.asarray(HOM_REF)[np.where(reference == N, 0, reference)]
    candidate = np.any(genotype != hom_ref[None, :], axis=0) & (reference != N)
    positions = np.flatnonzero(candidate)
    if positions.size == 0:
        return []
    posteriors = np.asarray(scores.posteriors[:, positions], dtype=np.float64)
    log_likelihoods = np.asarray(scores.log_likelihoods[:, positions], dtype=np.float64)
    quality = np.asarray(scores.quality[:, positions], dtype=np.float64)
    depth = np.asarray(piled.depth[:, positions])
    counts = np.asarray(piled.counts[:, positions, :4], dtype=np.float64)
    allele_1, allele_2 = np.asarray(ALLELE_1), np.asarray(ALLELE_2)
    records = []
    for k, position in enumerate(positions.tolist()):
        base = int(reference[position])
        best = genotype[:, position]
        alternates = {int(a) for g in best for a in (allele_1[g], allele_2[g])} - {base}
        # Order ALT alleles by their total posterior mass over the samples.
        mass = posteriors[:, k] @ (0.5 * (np.eye(4)[allele_1] + np.eye(4)[allele_2]))
        alleles = [base] + sorted(alternates, key=lambda a: -mass[:, a].sum())
        pairs = vcf_genotypes(len(alleles))
        indices = np.array([_PAIR_INDEX[alleles[i], alleles[j]] for i, j in pairs])
        calls = []
        for s in range(len(best)):
            allowed = posteriors[s, k, indices]
            calls.append(
                SampleCall(
                    genotype=pairs[int(np.argmax(allowed))] if depth[s, k] > 0 else None,
                    genotype_quality=genotype_quality(allowed) if depth[s, k] > 0 else 0,
                    depth=int(depth[s, k]),
                    allele_depths=tuple(int(np.rint(counts[s, k, a])) for a in alleles),
                    phred_likelihoods=tuple(phred(log_likelihoods[s, k, indices]).tolist()),
                )
            )
        records.append(
            VariantRecord(
                contig=contig,
                position=offset + position,
                alleles=tuple(LETTERS[a].decode("ascii") for a in alleles),
                quality=float(min(quality[:, k].sum(), MAX_QUALITY)),
                samples=tuple(calls),
            )
        )
    return records

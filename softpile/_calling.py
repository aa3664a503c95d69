"""Variant calling on reads in reference space: the records of a VCF, from the genotype model.

SNVs come from `variant_scores` (DESIGN.md §6) on a pileup of the reads; insertions and
deletions come from the gap channel and the insertion flags, with their alleles taken from the
reads and scored by a biallelic diploid model (below). Several samples are piled up and scored
at once with `jax.vmap`, padded to the same number of reads. No pysam here: `softpile.io` reads
BAM files into `SampleReads` and writes the records as VCF.
"""

import dataclasses
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._encoding import GAP, N
from ._pileup import _ALLELE_1, _ALLELE_2, Pileup
from ._quality import QualityFilter, soft_quality_filter
from ._typing import ArrayLike
from ._variants import (
    _HOM_REF,
    MAX_GENOTYPE_QUALITY,
    MAX_QUALITY,
    VariantModel,
    VariantScores,
)
from .io._scoring import score_positions

INDEL_ERROR = 1e-4
"""Probability that a read shows an indel it does not carry, or misses one it carries: Q40,
bcftools mpileup's default gap-open error (`--open-prob 40`). Repeats are not modelled."""

INDEL_PRIOR_FRACTION = 1.0 / 8.0
"""Indel heterozygosity as a fraction of `VariantModel.heterozygosity` (indels are about one
in eight small variants in human genomes)."""

_LN10 = float(np.log(10.0))
_LETTERS = np.array(list("ACGT-N"))
# _PAIR_INDEX[a, b]: index in GENOTYPES of the unordered pair of bases a, b.
_PAIR_INDEX = np.zeros((4, 4), dtype=np.int64)
for _g, (_a, _b) in enumerate(zip(_ALLELE_1, _ALLELE_2)):
    _PAIR_INDEX[_a, _b] = _PAIR_INDEX[_b, _a] = _g


@dataclasses.dataclass(frozen=True)
class SampleReads:
    """One sample's reads in reference space (NumPy), the input of `call_reads`.

    - `codes`: `(N, L)` int, `0..3` bases, `4` gap (deleted base), `5` N, `-1` padding.
    - `quality`: `(N, L)` Phred qualities.
    - `insertions`: `(N, L)` nonzero on a column followed by inserted bases.
    - `inserted_sequences`: per read, `{column: inserted bases}` for its flagged columns.
    - `starts`: `(N,)` absolute 0-based reference position of column 0.
    - `read_weights`: `(N,)` per-read weights of the pileup, or None for 1.
    - `mapq`: `(N,)` mapping qualities, or None. Each base quality is capped at its read's
      MAPQ (as bcftools does; 255, "unavailable", caps nothing), so a MAPQ 0 read carries no
      evidence; indel support is weighted by $1 - 10^{-\text{MAPQ}/10}$.
    - `names`: the `N` read names, or None. Reads with the same name (the two mates of a
      pair) count once as indel support, so overlapping mates are not double evidence.
    """

    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    inserted_sequences: Sequence[Mapping[int, str]]
    starts: np.ndarray
    read_weights: np.ndarray | None = None
    mapq: np.ndarray | None = None
    names: Sequence[str] | None = None

    def __post_init__(self):
        codes = np.asarray(self.codes)
        if codes.ndim != 2:
            raise ValueError(f"SampleReads: `codes` must be (reads, length), got {codes.shape}.")
        for name in ("quality", "insertions"):
            if np.shape(getattr(self, name)) != codes.shape:
                raise ValueError(
                    f"SampleReads: `{name}` must have the shape of `codes` {codes.shape}, got "
                    f"{np.shape(getattr(self, name))}."
                )
        per_read = {"starts": self.starts, "inserted_sequences": self.inserted_sequences}
        per_read.update(read_weights=self.read_weights, mapq=self.mapq, names=self.names)
        for name, value in per_read.items():
            if value is not None and len(value) != len(codes):
                raise ValueError(
                    f"SampleReads: `{name}` needs one entry per read ({len(codes)}), got "
                    f"{len(value)}."
                )

    def capped_quality(self) -> np.ndarray:
        """`quality` capped at each read's MAPQ (255 caps nothing)."""
        quality = np.asarray(self.quality, dtype=np.float32)
        if self.mapq is None:
            return quality
        mapq = np.asarray(self.mapq, dtype=np.float32)
        return np.minimum(quality, np.where(mapq == 255, np.inf, mapq)[:, None])

    def templates(self) -> np.ndarray:
        """`(N,)` an id per read name (mates share one), or one id per read without names."""
        if self.names is None:
            return np.arange(len(self.codes))
        return np.unique(np.asarray(self.names, dtype=object), return_inverse=True)[1]

    @classmethod
    def from_simulation(cls, simulation) -> "SampleReads":
        """The reads of a `softpile.simulate.Simulation`."""
        return cls(
            codes=simulation.reads,
            quality=simulation.quality,
            insertions=simulation.insertions,
            inserted_sequences=simulation.inserted_sequences,
            starts=simulation.starts,
        )


@dataclasses.dataclass(frozen=True)
class SampleCall:
    """One sample's FORMAT fields in a `VariantRecord`.

    - `genotype`: allele indices (`(0, 1)` is a het), or `None` for no call (`./.`).
    - `genotype_quality`: GQ, Phred-scaled probability that the genotype is wrong.
    - `depth`: DP, reads covering the site.
    - `allele_depths`: AD, reads supporting each allele (reference first).
    - `phred_likelihoods`: PL, Phred-scaled genotype likelihoods normalised to a minimum of 0,
      in VCF order (`0/0, 0/1, 1/1, 0/2, 1/2, 2/2, ...`).
    """

    genotype: tuple[int, int] | None
    genotype_quality: int
    depth: int
    allele_depths: tuple[int, ...]
    phred_likelihoods: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class VariantRecord:
    """One VCF record: a site, its alleles, its quality and one `SampleCall` per sample.

    `position` is 0-based (`POS - 1`); `alleles` starts with the reference allele; `quality` is
    QUAL, $-10 \\log_{10} P(\\text{every sample is hom-ref})$.
    """

    contig: str
    position: int
    alleles: tuple[str, ...]
    quality: float
    samples: tuple[SampleCall, ...]

    @property
    def is_indel(self) -> bool:
        return any(len(allele) != len(self.alleles[0]) for allele in self.alleles[1:])


@dataclasses.dataclass(frozen=True)
class CallResult:
    """What `call_reads` (and `softpile.io.call_region`) return.

    - `scores`: [`softpile.VariantScores`][] with a leading sample axis, `(S, R, ...)`, for
      the `R` positions called; the differentiable part, for research code.
    - `pileups`: the [`softpile.Pileup`][]s they came from, `(S, R, ...)`.
    - `records`: the `VariantRecord`s, sorted by position; every site where some sample's most
      likely genotype is not hom-ref (a caller keeps those with QUAL >= its threshold).
    - `contig`, `start`: where position 0 of the arrays lies (0-based).
    """

    scores: VariantScores
    pileups: Pileup
    records: list[VariantRecord]
    contig: str
    start: int


def call_reads(
    samples: Sequence[SampleReads],
    reference: Int[ArrayLike, " positions"],
    *,
    contig: str = "chr",
    offset: int = 0,
    call_length: int | None = None,
    variant_model: VariantModel | None = None,
    quality_filter: QualityFilter | None = None,
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

    - `samples`: one `SampleReads` per sample.
    - `reference`: `(R + margin,)` reference codes (`A=0 C=1 G=2 T=3 N=5`) from `offset` on;
      positions past `call_length` are only context (a deletion may reach into them).
    - `contig`: contig name of the records.
    - `offset`: absolute 0-based position of `reference[0]`.
    - `call_length`: call positions `offset .. offset + call_length - 1` (default: all).
    - `variant_model`: a [`softpile.VariantModel`][] (default parameters if None).
    - `quality_filter`: a [`softpile.QualityFilter`][] applied to the reads, or None.

    **Returns:**

    A `CallResult`.

    ```python
    >>> from softpile.io import SampleReads, call_reads
    >>> from softpile.simulate import simulate
    >>> sample = simulate(0, reference_length=300, read_length=50, snv_positions=[100],
    ...                   heterozygous=[False])
    >>> result = call_reads([SampleReads.from_simulation(sample)], sample.reference)
    >>> [(r.position, r.alleles, r.samples[0].genotype) for r in result.records]
    [(100, ('C', 'G'), (1, 1))]

    ```
    """
    if not samples:
        raise ValueError("call_reads: `samples` is empty; pass one SampleReads per sample.")
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
    )
    records = _snv_records(scores, piled, reference[:call_length], contig, offset)
    records += _indel_records(
        samples, reference, piled, variant_model, quality_filter, contig, offset, call_length
    )
    records.sort(key=lambda record: (record.position, record.is_indel))
    return CallResult(scores=scores, pileups=piled, records=records, contig=contig, start=offset)


def _sample_arrays(sample: SampleReads, offset: int):
    """The arrays of `score_positions`: codes, capped qualities, insertion flags, read weights
    and starts relative to `offset`."""
    weights = 1.0 if sample.read_weights is None else sample.read_weights
    return (
        np.asarray(sample.codes, dtype=np.int32),
        sample.capped_quality(),
        (np.asarray(sample.insertions) != 0).astype(np.float32),
        np.broadcast_to(np.asarray(weights, dtype=np.float32), (len(sample.codes),)),
        np.asarray(sample.starts, dtype=np.int64) - offset,
    )


def _phred(log_values: np.ndarray) -> np.ndarray:
    """Natural-log likelihoods to PL: Phred-scaled, normalised to a minimum of 0, rounded."""
    scaled = -10.0 / _LN10 * (log_values - np.max(log_values, axis=-1, keepdims=True))
    return np.rint(np.minimum(scaled, 2**31 - 1)).astype(np.int64)


def _genotype_quality(posteriors: np.ndarray) -> int:
    """GQ of the most likely genotype among `posteriors` (renormalised), capped at 99."""
    posteriors = posteriors / np.sum(posteriors)
    best = int(np.argmax(posteriors))
    wrong = float(np.sum(np.delete(posteriors, best)))
    if wrong <= 0:
        return int(MAX_GENOTYPE_QUALITY)
    return int(min(np.rint(-10.0 * np.log10(wrong)), MAX_GENOTYPE_QUALITY))


def _vcf_genotypes(allele_count: int) -> list[tuple[int, int]]:
    """Genotypes over `allele_count` alleles in VCF order: 0/0, 0/1, 1/1, 0/2, 1/2, 2/2, ..."""
    return [(i, j) for j in range(allele_count) for i in range(j + 1)]


def _snv_records(scores, piled, reference: np.ndarray, contig: str, offset: int):
    genotype = np.asarray(scores.genotype)
    hom_ref = _HOM_REF[np.where(reference == N, 0, reference)]
    candidate = np.any(genotype != hom_ref[None, :], axis=0) & (reference != N)
    positions = np.flatnonzero(candidate)
    if positions.size == 0:
        return []
    posteriors = np.asarray(scores.posteriors[:, positions], dtype=np.float64)
    log_likelihoods = np.asarray(scores.log_likelihoods[:, positions], dtype=np.float64)
    quality = np.asarray(scores.quality[:, positions], dtype=np.float64)
    depth = np.asarray(piled.depth[:, positions])
    counts = np.asarray(piled.counts[:, positions, :4], dtype=np.float64)
    allele_1, allele_2 = np.asarray(_ALLELE_1), np.asarray(_ALLELE_2)
    records = []
    for k, position in enumerate(positions.tolist()):
        base = int(reference[position])
        best = genotype[:, position]
        alternates = {int(a) for g in best for a in (allele_1[g], allele_2[g])} - {base}
        # Order ALT alleles by their total posterior mass over the samples.
        mass = posteriors[:, k] @ (0.5 * (np.eye(4)[allele_1] + np.eye(4)[allele_2]))
        alleles = [base] + sorted(alternates, key=lambda a: -mass[:, a].sum())
        pairs = _vcf_genotypes(len(alleles))
        indices = np.array([_PAIR_INDEX[alleles[i], alleles[j]] for i, j in pairs])
        calls = []
        for s in range(len(best)):
            allowed = posteriors[s, k, indices]
            calls.append(
                SampleCall(
                    genotype=pairs[int(np.argmax(allowed))] if depth[s, k] > 0 else None,
                    genotype_quality=_genotype_quality(allowed) if depth[s, k] > 0 else 0,
                    depth=int(depth[s, k]),
                    allele_depths=tuple(int(np.rint(counts[s, k, a])) for a in alleles),
                    phred_likelihoods=tuple(_phred(log_likelihoods[s, k, indices]).tolist()),
                )
            )
        records.append(
            VariantRecord(
                contig=contig,
                position=offset + position,
                alleles=tuple(str(_LETTERS[a]) for a in alleles),
                quality=float(min(quality[:, k].sum(), MAX_QUALITY)),
                samples=tuple(calls),
            )
        )
    return records


def indel_scores(
    variant_model: VariantModel,
    alternate_weight: Float[ArrayLike, "*sites"] | float,
    reference_weight: Float[ArrayLike, "*sites"] | float,
) -> tuple[Float[Array, "*sites 3"], Float[Array, "*sites 3"], Float[Array, "*sites"]]:
    r"""Biallelic diploid genotype model of an indel from read support (differentiable).

    With $a$ = `alternate_weight` and $r$ = `reference_weight` (read counts, or sums of read
    weights), $\epsilon$ = `INDEL_ERROR` and $\theta_i$ = `INDEL_PRIOR_FRACTION` times the
    model's heterozygosity:
    $\log L(0/0) = a\log\epsilon + r\log(1-\epsilon)$, $\log L(0/1) = (a+r)\log\tfrac12$,
    $\log L(1/1) = a\log(1-\epsilon) + r\log\epsilon$; priors $1 - \tfrac32\theta_i$,
    $\theta_i$, $\theta_i/2$.

    **Returns:**

    `(log_likelihoods, posteriors, quality)`: `(..., 3)` in the order 0/0, 0/1, 1/1, and QUAL
    $= -10\log_{10} P(0/0)$, capped at 999.

    ```python
    >>> import softpile
    >>> from softpile.io import indel_scores
    >>> _, posteriors, quality = indel_scores(softpile.VariantModel(), 10.0, 10.0)
    >>> int(posteriors.argmax()), bool(quality > 100)
    (1, True)

    ```
    """
    alternate = jnp.asarray(alternate_weight, dtype=float)
    reference = jnp.asarray(reference_weight, dtype=float)
    log_error, log_right = float(np.log(INDEL_ERROR)), float(np.log1p(-INDEL_ERROR))
    log_likelihoods = jnp.stack(
        [
            alternate * log_error + reference * log_right,
            (alternate + reference) * float(np.log(0.5)),
            alternate * log_right + reference * log_error,
        ],
        axis=-1,
    )
    theta = variant_model.heterozygosity * INDEL_PRIOR_FRACTION
    log_prior = jnp.stack([jnp.log1p(-1.5 * theta), jnp.log(theta), jnp.log(theta / 2.0)])
    log_prior = jnp.broadcast_to(log_prior.astype(alternate.dtype), log_likelihoods.shape)
    log_posteriors = jax.nn.log_softmax(log_likelihoods + log_prior, axis=-1)
    quality = jnp.minimum(-10.0 / _LN10 * log_posteriors[..., 0], MAX_QUALITY)
    return log_likelihoods, jnp.exp(log_posteriors), quality


_jitted_indel_scores = jax.jit(indel_scores)

INDEL_SITES = 256
"""Indel sites per call of the compiled `indel_scores` (a fixed shape: one compile per run)."""


def _scored_sites(variant_model, alternate: np.ndarray, reference: np.ndarray):
    """`indel_scores` of `(samples, sites)` weights, `INDEL_SITES` sites at a time (padded;
    each site is scored alone, so the padding changes nothing), as float64 NumPy arrays."""
    sites = alternate.shape[1]
    padding = ((0, 0), (0, -sites % INDEL_SITES))
    alternate, reference = np.pad(alternate, padding), np.pad(reference, padding)
    chunks = [
        _jitted_indel_scores(
            variant_model,
            alternate[:, first : first + INDEL_SITES].astype(np.float32),
            reference[:, first : first + INDEL_SITES].astype(np.float32),
        )
        for first in range(0, alternate.shape[1], INDEL_SITES)
    ]
    return tuple(
        np.concatenate([np.asarray(chunk[i], dtype=np.float64) for chunk in chunks], axis=1)[
            :, :sites
        ]
        for i in range(3)
    )


def _indel_events(sample: SampleReads, reference: np.ndarray, offset: int, column_weights):
    """Every indel in the reads, left-aligned: `{(anchor, ref, alt): (count, weight)}` and
    `{anchor: templates carrying some event there}` (anchors absolute, 0-based)."""
    codes = np.asarray(sample.codes)
    starts = np.asarray(sample.starts, dtype=np.int64)
    is_gap = codes == GAP
    is_base = (codes >= 0) & ~is_gap
    letters = "".join(_LETTERS[np.where(reference < 0, N, reference)])
    templates = sample.templates()
    # Per event, the largest weight of each template (mates count once).
    support: dict[tuple[int, str, str], dict[int, float]] = {}
    carriers: dict[int, set[int]] = {}

    def add(read: int, column: int, anchor: int, ref_allele: str, alt_allele: str):
        template = int(templates[read])
        entry = support.setdefault((anchor, ref_allele, alt_allele), {})
        entry[template] = max(entry.get(template, 0.0), float(column_weights[read, column]))
        carriers.setdefault(anchor, set()).add(template)

    width = codes.shape[1]
    for read, column in np.argwhere(is_gap[:, 1:] & is_base[:, :-1]).tolist():
        first = column + 1
        end = first
        while end < width and is_gap[read, end]:
            end += 1
        if end == width or not is_base[read, end]:
            continue  # the read ends inside the deletion: its length is unknown
        size = end - first
        anchor = int(starts[read]) + column - offset
        if anchor < 0 or anchor + size >= reference.size:
            continue
        while anchor > 0 and letters[anchor] == letters[anchor + size]:
            anchor -= 1
        ref_allele = "".join(letters[anchor : anchor + size + 1])
        add(read, column, anchor + offset, ref_allele, ref_allele[0])

    flagged = np.argwhere(np.asarray(sample.insertions) != 0)
    for read, column in flagged.tolist():
        inserted = sample.inserted_sequences[read].get(column, "").upper()
        anchor = int(starts[read]) + column - offset
        if not inserted or not 0 <= anchor < reference.size:
            continue
        while anchor > 0 and inserted[-1] == letters[anchor]:
            inserted = letters[anchor] + inserted[:-1]
            anchor -= 1
        add(read, column, anchor + offset, letters[anchor], letters[anchor] + inserted)
    events = {
        key: (float(len(weights)), float(sum(weights.values()))) for key, weights in support.items()
    }
    return events, carriers


def _column_weights(sample: SampleReads, quality_filter: QualityFilter | None) -> np.ndarray:
    codes = np.asarray(sample.codes)
    weights = np.ones(codes.shape, dtype=np.float64)
    if sample.read_weights is not None:
        weights *= np.asarray(sample.read_weights, dtype=np.float64)[:, None]
    if sample.mapq is not None:
        mapq = np.asarray(sample.mapq, dtype=np.float64)
        weights *= np.where(mapq == 255, 1.0, 1.0 - 10.0 ** (-mapq / 10.0))[:, None]
    if quality_filter is not None:
        ones = jnp.ones(codes.shape + (1,))
        _, filter_weights = soft_quality_filter(
            quality_filter, ones, jnp.asarray(sample.capped_quality(), dtype=float)
        )
        weights *= np.asarray(filter_weights, dtype=np.float64)
    return weights


class _ReferenceSupport:
    """Counts the reads that show the reference allele at an indel site.

    A read shows it when it has bases on all of `anchor .. anchor + span` and no insertion
    before the last of them. Prefix sums over each row make every query O(reads).
    """

    def __init__(self, sample: SampleReads, weights: np.ndarray):
        codes = np.asarray(sample.codes)
        is_base = (codes >= 0) & (codes != GAP)
        self.base_prefix = np.pad(np.cumsum(is_base, axis=1), ((0, 0), (1, 0)))
        self.insertion_prefix = np.pad(
            np.cumsum(np.asarray(sample.insertions) != 0, axis=1), ((0, 0), (1, 0))
        )
        self.starts = np.asarray(sample.starts, dtype=np.int64)
        self.width = codes.shape[1]
        self.rows = np.arange(codes.shape[0])
        self.weights = weights
        self.templates = sample.templates()

    def __call__(self, anchor: int, span: int, carriers: set[int]) -> tuple[float, float]:
        first = anchor - self.starts
        inside = (first >= 0) & (first + span < self.width)
        first = np.where(inside, first, 0)
        rows = self.rows
        bases = self.base_prefix[rows, first + span + 1] - self.base_prefix[rows, first]
        inserted = self.insertion_prefix[rows, first + span] - self.insertion_prefix[rows, first]
        supports = inside & (bases == span + 1) & (inserted == 0)
        supports &= ~np.isin(self.templates, list(carriers))
        # Mates count once, with the larger of their weights.
        unique, inverse = np.unique(self.templates[supports], return_inverse=True)
        best = np.zeros(unique.size)
        np.maximum.at(best, inverse, self.weights[rows[supports], first[supports]])
        return float(unique.size), float(best.sum())


def _indel_records(
    samples, reference, piled, variant_model, quality_filter, contig, offset, call_length
):
    weights = [_column_weights(sample, quality_filter) for sample in samples]
    found = [_indel_events(sample, reference, offset, w) for sample, w in zip(samples, weights)]
    totals: dict[tuple[int, str, str], float] = {}
    for events, _ in found:
        for key, (count, _) in events.items():
            totals[key] = totals.get(key, 0.0) + count
    # The most supported event at each anchor inside the called range.
    chosen: dict[int, tuple[int, str, str]] = {}
    for key, total in sorted(totals.items()):
        anchor = key[0]
        inside = offset <= anchor < offset + call_length
        if inside and (anchor not in chosen or total > totals[chosen[anchor]]):
            chosen[anchor] = key
    if not chosen:
        return []
    keys = [chosen[anchor] for anchor in sorted(chosen)]
    alternate = np.zeros((len(samples), len(keys), 2))
    reference_side = np.zeros((len(samples), len(keys), 2))
    for s, (sample, (events, carriers)) in enumerate(zip(samples, found)):
        reference_support = _ReferenceSupport(sample, weights[s])
        for k, key in enumerate(keys):
            anchor, ref_allele, _ = key
            alternate[s, k] = events.get(key, (0.0, 0.0))
            reference_side[s, k] = reference_support(
                anchor, len(ref_allele), carriers.get(anchor, set())
            )
    log_likelihoods, posteriors, quality = _scored_sites(
        variant_model, alternate[..., 1], reference_side[..., 1]
    )
    depth = np.asarray(piled.depth)
    records = []
    pairs = _vcf_genotypes(2)
    for k, (anchor, ref_allele, alt_allele) in enumerate(keys):
        best = np.argmax(posteriors[:, k], axis=-1)
        if not np.any(best != 0):
            continue
        calls = []
        for s in range(len(samples)):
            covered = alternate[s, k, 0] + reference_side[s, k, 0] > 0
            calls.append(
                SampleCall(
                    genotype=pairs[int(best[s])] if covered else None,
                    genotype_quality=_genotype_quality(posteriors[s, k]) if covered else 0,
                    depth=int(depth[s, anchor - offset]),
                    allele_depths=(int(reference_side[s, k, 0]), int(alternate[s, k, 0])),
                    phred_likelihoods=tuple(_phred(log_likelihoods[s, k]).tolist()),
                )
            )
        records.append(
            VariantRecord(
                contig=contig,
                position=anchor,
                alleles=(ref_allele, alt_allele),
                quality=float(min(quality[:, k].sum(), MAX_QUALITY)),
                samples=tuple(calls),
            )
        )
    return records

"""Indels from the gap channel and the insertion flags: events left-aligned against the
reference, read support (mates once), a biallelic diploid model (`indel_scores`) and records."""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._encoding import GAP, N
from .._quality import QualityFilter, soft_quality_filter
from .._read_model import UNAVAILABLE_MAPQ
from .._typing import ArrayLike
from .._variants import _LN10, MAX_QUALITY, VariantModel
from ._call_types import SampleCall, VariantRecord
from ._genotype_fields import LETTERS, genotype_quality, phred, vcf_genotypes
from ._read_batch import ReadBatch

INDEL_ERROR = 1e-4
"""Probability that a read shows an indel it does not carry, or misses one it carries: Q40,
bcftools mpileup's default gap-open error (`--open-prob 40`). Repeats are not modelled."""

INDEL_PRIOR_FRACTION = 1.0 / 8.0
"""Indel heterozygosity as a fraction of `VariantModel.heterozygosity` (indels are about one
in eight small variants in human genomes)."""


def indel_scores(
    variant_model: VariantModel,
    alternate_weight: Float[ArrayLike, "*sites"] | float,
    reference_weight: Float[ArrayLike, "*sites"] | float,
    alternate_reads: Float[ArrayLike, "*sites"] | float | None = None,
    reference_reads: Float[ArrayLike, "*sites"] | float | None = None,
) -> tuple[Float[Array, "*sites 3"], Float[Array, "*sites 3"], Float[Array, "*sites"]]:
    r"""Biallelic diploid genotype model of an indel from read support (differentiable).

    With $a$ = `alternate_weight` and $r$ = `reference_weight` (templates, i.e. read pairs
    counted once, or sums of their weights), $a'$ = `alternate_reads` and $r'$ =
    `reference_reads` (the same over reads, both mates counted where they overlap the site;
    default $a$ and $r$), $\epsilon$ = `INDEL_ERROR` and $\theta_i$ = `INDEL_PRIOR_FRACTION`
    times the model's heterozygosity:
    $\log L(0/0) = a'\log\epsilon + r'\log(1-\epsilon)$, $\log L(0/1) = (a+r)\log\tfrac12$,
    $\log L(1/1) = a'\log(1-\epsilon) + r'\log\epsilon$; priors $1 - \tfrac32\theta_i$,
    $\theta_i$, $\theta_i/2$. A template comes from one haplotype (so it is drawn once),
    while each of its reads makes its own sequencing errors: an indel that both mates show is
    an error of both.

    **Returns:**

    `(log_likelihoods, posteriors, quality)`: `(..., 3)` in the order 0/0, 0/1, 1/1, and QUAL
    $= -10\log_{10} P(0/0)$, capped at 999.

    ```python
    >>> import softpile
    >>> from softpile.io import indel_scores
    >>> _, posteriors, quality = indel_scores(softpile.VariantModel(), 10.0, 10.0)
    >>> int(posteriors.argmax()), bool(quality > 100)
    (1, True)
    >>> _, _, one_read = indel_scores(softpile.VariantModel(), 1.0, 6.0)
    >>> _, _, both_mates = indel_scores(softpile.VariantModel(), 1.0, 6.0, 2.0, 6.0)
    >>> bool(one_read < 10 < both_mates)
    True

    ```
    """
    alternate = jnp.asarray(alternate_weight, dtype=float)
    reference = jnp.asarray(reference_weight, dtype=float)
    alternate_reads = alternate if alternate_reads is None else jnp.asarray(alternate_reads, float)
    reference_reads = reference if reference_reads is None else jnp.asarray(reference_reads, float)
    log_error, log_right = float(np.log(INDEL_ERROR)), float(np.log1p(-INDEL_ERROR))
    log_likelihoods = jnp.stack(
        [
            alternate_reads * log_error + reference_reads * log_right,
            (alternate + reference) * float(np.log(0.5)),
            alternate_reads * log_right + reference_reads * log_error,
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
    """`indel_scores` of `(samples, sites, 2)` support (template weights, read weights),
    `INDEL_SITES` sites at a time (padded; each site is scored alone, so the padding changes
    nothing), as float64 NumPy arrays."""
    sites = alternate.shape[1]
    padding = ((0, 0), (0, -sites % INDEL_SITES), (0, 0))
    alternate = np.pad(alternate, padding).astype(np.float32)
    reference = np.pad(reference, padding).astype(np.float32)
    chunks = [
        _jitted_indel_scores(
            variant_model,
            alternate[:, first : first + INDEL_SITES, 0],
            reference[:, first : first + INDEL_SITES, 0],
            alternate[:, first : first + INDEL_SITES, 1],
            reference[:, first : first + INDEL_SITES, 1],
        )
        for first in range(0, alternate.shape[1], INDEL_SITES)
    ]
    return tuple(
        np.concatenate([np.asarray(chunk[i], dtype=np.float64) for chunk in chunks], axis=1)[
            :, :sites
        ]
        for i in range(3)
    )


def _indel_events(sample: ReadBatch, reference: np.ndarray, offset: int, column_weights, templates):
    """Every indel in the reads, left-aligned: `{(anchor, ref, alt): (templates, template
    weight, read weight)}` and `{anchor: templates carrying some event there}` (anchors
    absolute, 0-based; `templates` as `sample.templates()`). A template's weight is the larger
    of its mates'; the read weight sums every read that shows the event."""
    codes = np.asarray(sample.codes)
    starts = np.asarray(sample.starts, dtype=np.int64)
    is_gap = codes == GAP
    is_base = (codes >= 0) & ~is_gap
    letters = LETTERS[np.where(reference < 0, N, reference)].tobytes().decode("ascii")
    # Per event and template, the largest weight of its reads and their sum.
    support: dict[tuple[int, str, str], dict[int, tuple[float, float]]] = {}
    carriers: dict[int, set[int]] = {}

    def add(read: int, column: int, anchor: int, ref_allele: str, alt_allele: str):
        template = int(templates[read])
        entry = support.setdefault((anchor, ref_allele, alt_allele), {})
        weight = float(column_weights[read, column])
        largest, total = entry.get(template, (0.0, 0.0))
        entry[template] = (max(largest, weight), total + weight)
        carriers.setdefault(anchor, set()).add(template)

    width = codes.shape[1]
    gapped = np.flatnonzero(is_gap.any(axis=1))  # few reads have a deletion
    opened = is_gap[gapped, 1:] & is_base[gapped, :-1]
    for row, column in np.argwhere(opened).tolist():
        read = int(gapped[row])
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
        ref_allele = letters[anchor : anchor + size + 1]
        add(read, column, anchor + offset, ref_allele, ref_allele[0])

    insertions = np.asarray(sample.insertions)
    inserting = np.flatnonzero(insertions.any(axis=1))
    for row, column in np.argwhere(insertions[inserting] != 0).tolist():
        read = int(inserting[row])
        inserted = sample.inserted_sequences[read].get(column, "").upper()
        anchor = int(starts[read]) + column - offset
        if not inserted or not 0 <= anchor < reference.size:
            continue
        while anchor > 0 and inserted[-1] == letters[anchor]:
            inserted = letters[anchor] + inserted[:-1]
            anchor -= 1
        add(read, column, anchor + offset, letters[anchor], letters[anchor] + inserted)
    events = {
        key: (
            float(len(weights)),
            float(sum(largest for largest, _ in weights.values())),
            float(sum(total for _, total in weights.values())),
        )
        for key, weights in support.items()
    }
    return events, carriers


def _column_weights(sample: ReadBatch, quality_filter: QualityFilter | None) -> np.ndarray:
    codes = np.asarray(sample.codes)
    weights = np.ones(codes.shape, dtype=np.float64)
    if sample.read_weights is not None:
        weights *= np.asarray(sample.read_weights, dtype=np.float64)[:, None]
    if sample.mapq is not None:
        mapq = np.asarray(sample.mapq, dtype=np.float64)
        weights *= np.where(mapq == UNAVAILABLE_MAPQ, 1.0, 1.0 - 10.0 ** (-mapq / 10.0))[:, None]
    if quality_filter is not None:
        ones = jnp.ones(codes.shape + (1,))
        _, filter_weights = soft_quality_filter(
            quality_filter, ones, jnp.asarray(sample.capped_quality(), dtype=float)
        )
        weights *= np.asarray(filter_weights, dtype=np.float64)
    return weights


def _reference_support(
    sample: ReadBatch,
    weights: np.ndarray,
    templates: np.ndarray,
    sites: list[tuple[int, int]],
    carriers: dict[int, set[int]],
) -> np.ndarray:
    """`(sites, 3)`: how many templates show the reference allele at each `(anchor, span)`
    site, the sum of their weights (mates count once, with the larger weight), and the sum of
    the weights of every read that shows it.

    A read shows it when it has bases on all of `anchor .. anchor + span`, no insertion before
    the last of them, and its template carries no indel event at `anchor`. All sites are
    looked up at once: the reads that can cover a site are a range of the reads sorted by
    start.
    """
    support = np.zeros((len(sites), 3))
    codes = np.asarray(sample.codes)
    if not sites or not codes.size:
        return support
    width = codes.shape[1]
    anchors = np.array([anchor for anchor, _ in sites], dtype=np.int64)
    spans = np.array([span for _, span in sites], dtype=np.int64)
    starts = np.asarray(sample.starts, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]
    # Candidate (site, read) pairs: reads starting in [anchor + span - width + 1, anchor].
    low = np.searchsorted(sorted_starts, anchors + spans - width + 1, side="left")
    high = np.searchsorted(sorted_starts, anchors, side="right")
    counts = np.maximum(high - low, 0)
    site = np.repeat(np.arange(len(sites)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    read = order[np.repeat(low, counts) + within]
    first = anchors[site] - starts[read]
    # Columns first .. first + span of each pair (spans differ: columns past one are ignored).
    columns = first[:, None] + np.arange(spans.max() + 1)
    used = columns <= (first + spans[site])[:, None]
    columns = np.minimum(columns, width - 1)
    pair_codes = codes[read[:, None], columns]
    bases = np.where(used, (pair_codes >= 0) & (pair_codes != GAP), True).all(axis=1)
    inserted = np.asarray(sample.insertions)[read[:, None], columns] != 0
    # An insertion after the last base does not break the reference allele.
    inserted &= columns < (first + spans[site])[:, None]
    shows = bases & ~np.where(used, inserted, False).any(axis=1)
    carried = np.array(
        [(k, t) for k, (anchor, _) in enumerate(sites) for t in carriers.get(anchor, ())],
        dtype=np.int64,
    ).reshape(-1, 2)
    total = int(templates.max()) + 1
    pair_keys = site * total + templates[read]
    shows &= ~np.isin(pair_keys, carried[:, 0] * total + carried[:, 1])
    unique, inverse = np.unique(pair_keys[shows], return_inverse=True)
    shown = weights[read[shows], first[shows]]
    best = np.zeros(unique.size)
    np.maximum.at(best, inverse, shown)
    np.add.at(support[:, 0], unique // total, 1.0)
    np.add.at(support[:, 1], unique // total, best)
    np.add.at(support[:, 2], site[shows], shown)
    return support


def indel_records(
    samples, reference, piled, variant_model, quality_filter, contig, offset, call_length
):
    weights = [_column_weights(sample, quality_filter) for sample in samples]
    templates = [sample.templates() for sample in samples]
    found = [
        _indel_events(sample, reference, offset, w, t)
        for sample, w, t in zip(samples, weights, templates)
    ]
    totals: dict[tuple[int, str, str], float] = {}
    for events, _ in found:
        for key, (count, *_) in events.items():
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
    alternate = np.zeros((len(samples), len(keys), 3))
    reference_side = np.zeros((len(samples), len(keys), 3))
    sites = [(anchor, len(ref_allele)) for anchor, ref_allele, _ in keys]
    for s, (sample, (events, carriers)) in enumerate(zip(samples, found)):
        for k, key in enumerate(keys):
            alternate[s, k] = events.get(key, (0.0, 0.0, 0.0))
        reference_side[s] = _reference_support(sample, weights[s], templates[s], sites, carriers)
    log_likelihoods, posteriors, quality = _scored_sites(
        variant_model, alternate[..., 1:], reference_side[..., 1:]
    )
    depth = np.asarray(piled.depth)
    records = []
    pairs = vcf_genotypes(2)
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
                    genotype_quality=genotype_quality(posteriors[s, k]) if covered else 0,
                    depth=int(depth[s, anchor - offset]),
                    allele_depths=(int(reference_side[s, k, 0]), int(alternate[s, k, 0])),
                    phred_likelihoods=tuple(phred(log_likelihoods[s, k]).tolist()),
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

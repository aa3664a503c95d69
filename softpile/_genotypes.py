r"""The diploid genotype model: the ten genotypes, their likelihoods and their priors.

A base of error probability $e$ shows the true base with probability $1-e$ and each other base
with $e/3$; a diploid genotype $\{a, b\}$ is an equal mixture of its two alleles; the prior
given the reference base has one parameter, the heterozygosity $\theta$. The sources of the
model are cited in the docstring of `softpile.variant_scores`.
"""

import jax
import jax.custom_batching
import jax.numpy as jnp
import numpy as np

from . import _kernel
from ._encoding import N
from ._numerics import safe_divide, sum_channels
from ._quality import MAX_TABLE_PHRED, error_probabilities, phred_to_error

GENOTYPES = ("AA", "AC", "AG", "AT", "CC", "CG", "CT", "GG", "GT", "TT")
"""The ten diploid genotypes over A, C, G, T, in the fixed order of every `(..., 10)` array."""

ALLELE_1 = tuple("ACGT".index(g[0]) for g in GENOTYPES)
ALLELE_2 = tuple("ACGT".index(g[1]) for g in GENOTYPES)
"""Code of the first and second allele of each genotype (`ALLELE_1[g] <= ALLELE_2[g]`)."""

HOM_REF = tuple(GENOTYPES.index(base * 2) for base in "ACGT")
"""Index of the homozygous genotype of each base: AA, CC, GG, TT."""

DEFAULT_ERROR = 1e-3
"""Error probability (Q30) used by the genotype statistics when `quality=None`."""

# Smallest per-read likelihood: keeps log() finite for absurd qualities (Q > 300).
_TINY = 1e-30


def column_log_likelihoods(reads, error):
    r"""Log-likelihood of one column under each diploid genotype, `(..., 10)`.

    With $p = x / \sum_c x_c$ over A, C, G, T and error probability $e$,
    $P(\text{obs} \mid t) = p_t (1-e) + (1-p_t)\,e/3$ and
    $\log L(\{a,b\}) = \log\left(\tfrac12 P(\text{obs}\mid a)
    + \tfrac12 P(\text{obs}\mid b)\right)$.
    Empty columns give finite values (their weight is 0 in `pileup`).
    """
    # Base by base and genotype by genotype (no broadcasts, gathers or reductions over the
    # channel axis): their transposes would be reductions whose order XLA may vectorise
    # differently on different device counts, and gradients must be bit-identical.
    total = reads[..., 0] + reads[..., 1] + reads[..., 2] + reads[..., 3]
    given_base = []
    for base in range(4):
        p = safe_divide(reads[..., base], total, 0.25)
        given_base.append(p * (1.0 - error) + (1.0 - p) * error / 3.0)
    mix = [0.5 * (given_base[a] + given_base[b]) for a, b in zip(ALLELE_1, ALLELE_2)]
    return jnp.log(jnp.maximum(jnp.stack(mix, axis=-1), _TINY))


def genotype_log_likelihoods(reads, starts, reference_length: int, quality, read_weights):
    r"""`(R, 10)` sums over the columns at each position of `s * column_log_likelihoods`.

    The strength of a column is $s = \text{read\_weight} \cdot \sum_c \text{reads}_c$ over
    A, C, G, T (the filter's weight for a one-hot base, 1 for N, 0 for padding and gaps); the
    error probability comes from `quality`, or is `DEFAULT_ERROR` when `quality` is None.
    """
    read_columns = read_weights[:, None]
    if quality is None:
        return _kernel.mapped_window_sum(
            _default_error_log_likelihoods,
            _default_error_fast_sum,
            (reads, read_columns),
            starts,
            reference_length,
        )
    return _kernel.mapped_window_sum(
        _quality_log_likelihoods,
        _quality_fast_sum,
        (reads, quality, read_columns),
        starts,
        reference_length,
    )


def _strength_log_likelihoods(reads, error, read_weights):
    bases = reads[..., :4]
    strength = read_weights * sum_channels(bases)
    return strength[..., None] * column_log_likelihoods(bases, error)


def _quality_log_likelihoods(reads, quality, read_weights):
    return _strength_log_likelihoods(reads, error_probabilities(quality, reads.dtype), read_weights)


def _default_error_log_likelihoods(reads, read_weights):
    error = jnp.full(reads.shape[:2], DEFAULT_ERROR, reads.dtype)
    return _strength_log_likelihoods(reads, error, read_weights)


def _called_columns(bases):
    """Per column: `called`, exactly one base channel non-zero (a called base, possibly
    down-weighted by a filter) or none (padding, gap); `is_n`, all four equal and non-zero."""
    nonzero = [bases[..., c] != 0 for c in range(4)]
    count = (
        nonzero[0].astype(jnp.int32)
        + nonzero[1].astype(jnp.int32)
        + nonzero[2].astype(jnp.int32)
        + nonzero[3].astype(jnp.int32)
    )
    is_n = (
        (bases[..., 0] == bases[..., 1])
        & (bases[..., 1] == bases[..., 2])
        & (bases[..., 2] == bases[..., 3])
        & nonzero[0]
    )
    return count <= 1, is_n


def _called_logs(error):
    """The three log-likelihood values of a called base (see `_fast_sum`)."""
    hit = 1.0 - error
    miss = error / 3.0
    return [jnp.log(jnp.maximum(v, _TINY)) for v in (hit, 0.5 * (hit + miss), miss)]


def _terms(bases, logs, strength, n_term):
    """Per-column terms of the log-likelihoods of called-base columns (see `_fast_sum`):
    `strength * one_hot * log(...)` for the three values, and the N term."""
    return (*(bases * (strength * value)[..., None] for value in logs), n_term[..., None])


def _called_terms(bases, error, strength, n_term):
    return _terms(bases, _called_logs(error), strength, n_term)


def _quality_called_terms(bases, quality, strength, n_term):
    if jnp.issubdtype(quality.dtype, jnp.integer):
        # Integer qualities: the three logs of every Phred value, looked up (same values).
        phred = jnp.arange(MAX_TABLE_PHRED + 1, dtype=bases.dtype)
        tables = _called_logs(phred_to_error(phred))
        logs = [jnp.take(table, quality, mode="clip") for table in tables]
        return _terms(bases, logs, strength, n_term)
    return _called_terms(bases, error_probabilities(quality, bases.dtype), strength, n_term)


def _quality_fast_sum(inputs, starts, reference_length):
    reads, quality, _ = inputs
    return _fast_sum(
        _quality_called_terms,
        _quality_log_likelihoods,
        inputs,
        quality,
        error_probabilities(quality, reads.dtype),
        starts,
        reference_length,
    )


def _default_error_fast_sum(inputs, starts, reference_length):
    reads, _ = inputs
    error = jnp.full(reads.shape[:2], DEFAULT_ERROR, reads.dtype)
    return _fast_sum(
        _called_terms,
        _default_error_log_likelihoods,
        inputs,
        error,
        error,
        starts,
        reference_length,
    )


def _fast_sum(terms_fn, column_fn, inputs, term_input, error, starts, reference_length):
    r"""`sum strength * column_log_likelihoods` by position, fast for one-hot reads.

    If every column is a called base (one non-zero base channel), N or padding, as from
    `one_hot_reads` (also after `soft_quality_filter`), the ten genotype log-likelihoods of
    a called column take only three values: $\log(1-e)$ (hom x/x), $\log((1-e)/2 + e/6)$ (het
    with x) and $\log(e/3)$ (x absent). So three `(positions, 4)` sums of
    `strength * one_hot(x) * value` carry everything, and the ten per-position sums are
    combined from them afterwards; an N column adds the same value to every genotype (a fourth,
    `(positions, 1)` sum). Each log is the same float expression as in
    `column_log_likelihoods`, so only the order of the sums differs. Otherwise (soft reads)
    the general per-column path of `column_fn` runs.
    """

    def simple_of(inputs):
        called, is_n = _called_columns(inputs[0][..., :4])
        return jnp.all(called | is_n)

    def fast(inputs, term_input, error, starts):
        bases = inputs[0][..., :4]
        read_weights = inputs[-1]
        called, is_n = _called_columns(bases)
        # Masks and the N term are made outside the loop: per-column selects fused into the
        # scatters inside it ran element by element, several times slower.
        strength = jnp.where(called & ~is_n, read_weights, 0.0)
        total = sum_channels(bases)
        p = safe_divide(bases[..., 0], total, 0.25)
        given = p * (1.0 - error) + (1.0 - p) * error / 3.0
        mix = 0.5 * (given + given)
        n_term = jnp.where(is_n, read_weights * total * jnp.log(jnp.maximum(mix, _TINY)), 0.0)
        hom, het, absent, n_sum = _kernel.block_sums(
            terms_fn, (bases, term_input, strength, n_term), starts, reference_length
        )
        out = []
        for a, b in zip(ALLELE_1, ALLELE_2):
            value = hom[:, a] if a == b else het[:, a] + het[:, b]
            for x in range(4):
                if x not in (a, b):
                    value = value + absent[:, x]
            out.append(value + n_sum[:, 0])
        return jnp.stack(out, axis=-1)

    def general(inputs, term_input, error, starts):
        del term_input, error
        (table,) = _kernel.block_sums(lambda *x: (column_fn(*x),), inputs, starts, reference_length)
        return table

    @jax.custom_batching.custom_vmap
    def choose(inputs, term_input, error, starts):
        return jax.lax.cond(simple_of(inputs), fast, general, inputs, term_input, error, starts)

    @choose.def_vmap
    def choose_batched(axis_size, in_batched, inputs, term_input, error, starts):
        # Under jax.vmap a cond on a per-sample predicate would run both branches for every
        # sample; take the fast branch for the whole batch when every sample allows it.
        arguments = jax.tree.map(
            lambda x, batched: x if batched else jnp.broadcast_to(x, (axis_size, *x.shape)),
            (inputs, term_input, error, starts),
            tuple(in_batched),
        )
        simple = jnp.all(jax.vmap(simple_of)(arguments[0]))
        out = jax.lax.cond(simple, jax.vmap(fast), jax.vmap(general), *arguments)
        return out, True

    return choose(inputs, term_input, error, starts)


def _prior_classes() -> np.ndarray:
    """`classes[ref, g]`: 0 hom-ref, 1 het ref/x, 2 hom x/x, 3 het x/y (x, y != ref)."""
    classes = np.zeros((4, 10), dtype=np.int32)
    for ref in range(4):
        for g, (a, b) in enumerate(zip(ALLELE_1, ALLELE_2)):
            if a == b:
                classes[ref, g] = 0 if a == ref else 2
            else:
                classes[ref, g] = 1 if ref in (a, b) else 3
    return classes


_PRIOR_CLASSES = _prior_classes()


def genotype_log_prior(heterozygosity, reference):
    r"""`(R, 10)` log prior of the ten genotypes at each position, given the reference base.

    With reference base $r$ and $\theta$ = `heterozygosity`: each het $r/x$ has prior
    $\theta/3$, each hom $x/x$ $\theta/6$, each het $x/y$ ($x, y \ne r$) $\theta^2/3$, and
    hom-ref the rest, $1 - \tfrac32\theta - \theta^2$. An N reference gets the prior of A (its
    scores are masked out by `variant_scores`).
    """
    theta = heterozygosity
    per_class = jnp.stack(
        [
            jnp.log1p(-1.5 * theta - theta**2),
            jnp.log(theta / 3.0),
            jnp.log(theta / 6.0),
            2.0 * jnp.log(theta) - jnp.log(3.0),
        ]
    )
    base = jnp.where(reference == N, 0, reference)
    return per_class[jnp.asarray(_PRIOR_CLASSES)[base]]

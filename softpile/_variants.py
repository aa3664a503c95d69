"""Variant scores: genotype posteriors, the variant probability and Phred qualities."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from beartype import beartype
from jax.core import Tracer
from jaxtyping import Array, Float, Int, jaxtyped

from ._encoding import N
from ._genotypes import ALLELE_1, ALLELE_2, HOM_REF, genotype_log_prior
from ._pileup import Pileup
from ._quality import _as_float_scalar
from ._typing import ArrayLike, ScalarLike

MAX_QUALITY = 999.0
MAX_GENOTYPE_QUALITY = 99.0
_LN10 = float(np.log(10.0))


class VariantModel(eqx.Module):
    r"""Parameters of the diploid genotype model (learnable).

    **Fields:**

    - `heterozygosity`: $\theta$, the prior rate of variant sites (default $10^{-3}$).
      With reference base $r$: each het $r/x$ has prior $\theta/3$, each hom $x/x$
      $\theta/6$, each het $x/y$ ($x, y \ne r$) $\theta^2/3$, and hom-ref the rest,
      $1 - \tfrac32\theta - \theta^2$.

    ```python
    >>> import softpile
    >>> softpile.VariantModel().heterozygosity.item()
    0.0010000000474974513

    ```
    """

    heterozygosity: Float[Array, ""]

    def __init__(self, heterozygosity: ScalarLike = 1e-3):
        self.heterozygosity = _as_float_scalar(heterozygosity, "heterozygosity")

    def __check_init__(self):
        theta = self.heterozygosity
        if not isinstance(theta, Tracer) and not bool((theta > 0) & (theta < 0.5)):
            raise ValueError(
                f"VariantModel: heterozygosity must be in (0, 0.5), got {float(theta)}; "
                "it is the prior probability that a site is variant (e.g. 1e-3 for humans)."
            )


class VariantScores(eqx.Module):
    """What `variant_scores` returns (a pytree), one entry per position.

    **Fields:**

    - `log_likelihoods`: `(R, 10)` genotype log-likelihoods (order of `softpile.GENOTYPES`).
    - `posteriors`: `(R, 10)` genotype posteriors; each row sums to 1.
    - `p_variant`: `(R,)` $1 - P(\\text{hom-ref})$; 0 where the reference is N.
    - `genotype`: `(R,)` index of the most likely genotype; -1 where the reference is N.
    - `alt_allele`: `(R,)` code of the most likely non-reference base (largest posterior
      allele mass); -1 where the reference is N.
    - `quality`: `(R,)` $-10\\log_{10} P(\\text{hom-ref})$, capped at 999; 0 where N.
    - `genotype_quality`: `(R,)` $-10\\log_{10}(1 - P(\\text{best}))$, capped at 99; 0 where N.
    """

    log_likelihoods: Float[Array, "positions 10"]
    posteriors: Float[Array, "positions 10"]
    p_variant: Float[Array, " positions"]
    genotype: Int[Array, " positions"]
    alt_allele: Int[Array, " positions"]
    quality: Float[Array, " positions"]
    genotype_quality: Float[Array, " positions"]


def _check_reference(reference, positions: int, caller: str):
    reference = jnp.asarray(reference)
    if reference.shape != (positions,):
        raise ValueError(
            f"{caller}: `reference` must have shape ({positions},) to match the pileup, got "
            f"{reference.shape}; make it with softpile.encode_sequence."
        )
    return eqx.error_if(
        reference,
        (reference < 0) | (reference > N) | (reference == 4),
        f"{caller}: `reference` codes must be 0..3 (A, C, G, T) or 5 (N).",
    )


@jaxtyped(typechecker=beartype)
def variant_scores(
    params: VariantModel, pileup: Pileup, reference: Int[ArrayLike, " positions"]
) -> VariantScores:
    r"""Genotype posteriors and variant scores from a pileup.

    The posterior of genotype $g$ at position $r$ is
    $P(g \mid \text{reads}) \propto \pi_{\text{ref}_r}(g)\, \exp \log L_r(g)$, with the
    log-likelihoods that `pileup` summed over the reads and the prior of
    [`softpile.VariantModel`][]. Everything is differentiable with respect to the pileup and
    the heterozygosity.

    **Sources.** The per-base likelihood (a base of error probability $e$ shows the true
    base with probability $1-e$, each other base with $e/3$) and the diploid genotype as an
    equal mixture of its two alleles are those of MAQ (Li, Ruan and Durbin 2008, *Genome
    Research* 18:1851), of GATK's UnifiedGenotyper (DePristo et al. 2011, *Nature Genetics*
    43:491) and of samtools/bcftools at ploidy 2 (Li 2011, *Bioinformatics* 27:2987), here
    without bcftools' correction for dependent errors. The Phred scale is that of Ewing and
    Green 1998 (*Genome Research* 8:186). The one-parameter prior in the heterozygosity plays
    the role of `bcftools call -P`.

    **Arguments:**

    - `params`: a [`softpile.VariantModel`][].
    - `pileup`: a [`softpile.Pileup`][] over `R` positions.
    - `reference`: `(R,)` integer codes (`A=0 C=1 G=2 T=3 N=5`), e.g. from
      `softpile.encode_sequence`.

    **Returns:**

    A [`softpile.VariantScores`][].

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> reads = softpile.one_hot_reads(["G"] * 10)
    >>> piled = softpile.pileup(reads, np.zeros(10, dtype=int), 1)
    >>> scores = softpile.variant_scores(
    ...     softpile.VariantModel(), piled, softpile.encode_sequence("A"))
    >>> softpile.GENOTYPES[int(scores.genotype[0])], "ACGT"[int(scores.alt_allele[0])]
    ('GG', 'G')

    ```
    """
    reference = _check_reference(reference, pileup.log_likelihoods.shape[0], "variant_scores")
    return _variant_scores(params, pileup.log_likelihoods, reference)


def log_posteriors_of(params, log_likelihoods, reference):
    """`(R, 10)` log posteriors of the genotypes: the log-likelihoods plus the prior of
    `params` (a `VariantModel`), normalised."""
    log_joint = log_likelihoods + genotype_log_prior(params.heterozygosity, reference).astype(
        log_likelihoods.dtype
    )
    return jax.nn.log_softmax(log_joint, axis=-1)


@jax.jit
def _variant_scores(params, log_likelihoods, reference):
    log_posteriors = log_posteriors_of(params, log_likelihoods, reference)
    posteriors = jnp.exp(log_posteriors)
    reference = reference.astype(jnp.int32)
    is_n = reference == N
    base = jnp.where(is_n, 0, reference)

    hom_ref = jnp.asarray(HOM_REF, jnp.int32)[base]
    log_hom_ref = jnp.take_along_axis(log_posteriors, hom_ref[:, None], axis=-1)[:, 0]
    not_hom_ref = jnp.arange(10, dtype=jnp.int32)[None, :] != hom_ref[:, None]
    # Sum the other posteriors rather than 1 - P(hom-ref): no cancellation for tiny p_variant.
    p_variant = jnp.sum(jnp.where(not_hom_ref, posteriors, 0.0), axis=-1)
    quality = jnp.minimum(-10.0 / _LN10 * log_hom_ref, MAX_QUALITY)

    genotype = jnp.argmax(log_posteriors, axis=-1).astype(jnp.int32)
    others = jnp.arange(10, dtype=jnp.int32)[None, :] != genotype[:, None]
    log_not_best = jax.nn.logsumexp(jnp.where(others, log_posteriors, -jnp.inf), axis=-1)
    genotype_quality = jnp.minimum(-10.0 / _LN10 * log_not_best, MAX_GENOTYPE_QUALITY)

    # Posterior mass of each allele (a het counts half for each of its alleles).
    allele_1 = jax.nn.one_hot(jnp.asarray(ALLELE_1), 4, dtype=posteriors.dtype)
    allele_2 = jax.nn.one_hot(jnp.asarray(ALLELE_2), 4, dtype=posteriors.dtype)
    allele_mass = posteriors @ (0.5 * (allele_1 + allele_2))
    allele_mass = jnp.where(
        jnp.arange(4, dtype=jnp.int32)[None, :] == base[:, None], -1.0, allele_mass
    )
    alt_allele = jnp.argmax(allele_mass, axis=-1)

    zero = jnp.zeros_like(p_variant)
    return VariantScores(
        log_likelihoods=log_likelihoods,
        posteriors=posteriors,
        p_variant=jnp.where(is_n, zero, p_variant),
        genotype=jnp.where(is_n, -1, genotype).astype(jnp.int32),
        alt_allele=jnp.where(is_n, -1, alt_allele).astype(jnp.int32),
        quality=jnp.where(is_n, zero, quality),
        genotype_quality=jnp.where(is_n, zero, genotype_quality),
    )


@jaxtyped(typechecker=beartype)
def reference_mismatch(
    pileup: Pileup, reference: Int[ArrayLike, " positions"]
) -> Float[Array, " positions"]:
    """The simple variant score of DiffBio's example: `1 - P(reference base)` per position.

    Reads the pileup's `distribution`. It is 0 where the reference is N and where nothing
    covers the position (there the distribution is uniform, which is no evidence of a variant).
    The seed's "variant positions" are `jnp.where(reference_mismatch(p, ref) > 0.3)[0]`.

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> reads = softpile.one_hot_reads(["AC", "AG"])
    >>> piled = softpile.pileup(reads, np.array([0, 0]), 2)
    >>> softpile.reference_mismatch(piled, softpile.encode_sequence("AC")).tolist()
    [0.0, 0.5]

    ```
    """
    distribution = pileup.distribution
    reference = _check_reference(reference, distribution.shape[0], "reference_mismatch")
    base = jnp.where(reference == N, 0, reference)
    p_reference = jnp.take_along_axis(distribution, base[:, None], axis=-1)[:, 0]
    no_call = (reference == N) | (pileup.coverage <= 0)
    return jnp.where(no_call, jnp.zeros_like(p_reference), 1.0 - p_reference)

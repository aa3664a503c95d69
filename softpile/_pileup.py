"""`pileup`: per-position sums over reads in reference space."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from beartype import beartype
from jaxtyping import Array, Float, Int, jaxtyped

from ._quality import check_quality, phred_to_error
from ._typing import ArrayLike

GENOTYPES = ("AA", "AC", "AG", "AT", "CC", "CG", "CT", "GG", "GT", "TT")
"""The ten diploid genotypes over A, C, G, T, in the fixed order of every `(..., 10)` array."""

_ALLELE_1 = tuple("ACGT".index(g[0]) for g in GENOTYPES)
_ALLELE_2 = tuple("ACGT".index(g[1]) for g in GENOTYPES)

DEFAULT_ERROR = 1e-3
"""Error probability (Q30) used by the genotype statistics when `quality=None`."""

# Smallest per-read likelihood: keeps log() finite for absurd qualities (Q > 300).
_TINY = 1e-30


class Pileup(eqx.Module):
    r"""What `pileup` returns: per-position sums over the reads (a pytree).

    **Fields** (`R` positions, `C` channels):

    - `counts`: `(R, C)`, $\sum_{n,i:\,s_n+i=r} w_{ni}\,x_{nic}$.
    - `coverage`: `(R,)`, $\sum_c$ `counts`.
    - `depth`: `(R,)` int32, the number of read columns at `r` that are not padding (weights
      ignored; gaps included).
    - `distribution`: `(R, C)`, `counts / coverage`, uniform `1/C` where coverage is 0.
    - `mean_quality`: `(R,)`, weighted mean Phred quality, 0 where coverage is 0 or without
      qualities.
    - `insertions`: `(R,)`, weighted count of insertion flags after position `r`.
    - `log_likelihoods`: `(R, 10)`, diploid genotype log-likelihoods in the order of
      `softpile.GENOTYPES`, the sufficient statistics of `variant_scores`.
    """

    counts: Float[Array, "positions channels"]
    coverage: Float[Array, " positions"]
    depth: Int[Array, " positions"]
    distribution: Float[Array, "positions channels"]
    mean_quality: Float[Array, " positions"]
    insertions: Float[Array, " positions"]
    log_likelihoods: Float[Array, "positions 10"]


def scatter_windows(
    values: Float[Array, "reads length k"] | Int[Array, "reads length k"],
    starts: Int[Array, " reads"],
    reference_length: int,
) -> Float[Array, "positions k"] | Int[Array, "positions k"]:
    """Sum `values[n, i]` into row `starts[n] + i` of a `(reference_length, k)` table.

    Each read's `(length, k)` block is added as one contiguous window of a table padded by
    `length` rows on both sides, so reads hanging over either end need no masking: their
    outside rows land in the padding, which is sliced off.
    """
    length = values.shape[1]
    offsets = jnp.clip(starts, -length, reference_length) + length
    table = jnp.zeros((reference_length + 2 * length, values.shape[2]), values.dtype)
    numbers = jax.lax.ScatterDimensionNumbers(
        update_window_dims=(1, 2), inserted_window_dims=(), scatter_dims_to_operand_dims=(0,)
    )
    table = jax.lax.scatter_add(
        table,
        offsets[:, None],
        values,
        numbers,
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )
    return table[length : length + reference_length]


def _safe_divide(numerator, denominator, empty):
    """`numerator / denominator`, `empty` where the denominator is 0, NaN-free gradients."""
    nonzero = denominator > 0
    safe = jnp.where(nonzero, denominator, 1.0)
    return jnp.where(nonzero, numerator / safe, empty)


def column_log_likelihoods(
    reads: Float[Array, "*batch 4"], error: Float[Array, "*batch"]
) -> Float[Array, "*batch 10"]:
    r"""Log-likelihood of one column under each diploid genotype.

    With $p = x / \sum_c x_c$ over A, C, G, T and error probability $e$,
    $P(\text{obs} \mid t) = p_t (1-e) + (1-p_t)\,e/3$ and
    $\log L(\{a,b\}) = \log\left(\tfrac12 P(\text{obs}\mid a)
    + \tfrac12 P(\text{obs}\mid b)\right)$.
    Empty columns give finite values (their weight is 0 in `pileup`).
    """
    total = reads[..., 0] + reads[..., 1] + reads[..., 2] + reads[..., 3]
    p = _safe_divide(reads, total[..., None], 0.25)
    error = error[..., None]
    given_base = p * (1.0 - error) + (1.0 - p) * error / 3.0
    mix = 0.5 * (given_base[..., _ALLELE_1] + given_base[..., _ALLELE_2])
    return jnp.log(jnp.maximum(mix, _TINY))


@jaxtyped(typechecker=beartype)
def pileup(
    reads: Float[ArrayLike, "reads length channels"],
    starts: Int[ArrayLike, " reads"],
    reference_length: int,
    *,
    quality: Float[ArrayLike, "reads length"] | None = None,
    read_weights: Float[ArrayLike, " reads"] | None = None,
    insertions: Float[ArrayLike, "reads length"] | None = None,
    quality_weighting: bool = True,
) -> Pileup:
    r"""Pile reads up: weighted per-position sums of their channels.

    Column `i` of read `n` lies at reference position `starts[n] + i`; columns outside
    `[0, reference_length)` are clipped. With $e = \min(10^{-Q/10}, 3/4)$ and weights
    $w_{ni} = \text{read\_weights}_n \cdot (1 - e_{ni})$ (or $\text{read\_weights}_n$ without
    quality weighting),

    $$\text{counts}_{rc} = \sum_{n,i:\ \text{starts}_n + i = r} w_{ni}\, \text{reads}_{nic}.$$

    With one-hot reads, no quality weighting and no filter, `counts` and `depth` are exact
    counts (equal to `samtools mpileup` on the same reads). The distribution is `counts`
    normalised per position: no softmax, so a unanimous column stays one-hot.

    Written for one sample; use `jax.vmap` over samples padded to the same number of reads
    (zero reads add nothing). `reference_length` is static under `jax.jit`.

    **Arguments:**

    - `reads`: `(reads, length, C)`, from `one_hot_reads` or soft; `C >= 4` with A, C, G, T first.
    - `starts`: `(reads,)` integer reference position of each read's first column; may be
      negative or past the end.
    - `reference_length`: number of positions `R` (a Python int).
    - `quality`: `(reads, length)` Phred qualities (finite, >= 0), or None.
    - `read_weights`: `(reads,)` per-read weights (e.g. from MAPQ), default 1.
    - `insertions`: `(reads, length)` insertion flags (1 where an insertion follows the column).
    - `quality_weighting`: weight counts by `1 - e`. The genotype statistics always use the
      qualities (or Q30 when `quality=None`).

    **Returns:**

    A [`softpile.Pileup`][].

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> reads = softpile.one_hot_reads(["ACG", "AGG"])
    >>> result = softpile.pileup(reads, np.array([0, 1]), 4)
    >>> result.counts.tolist()
    [[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    >>> result.depth.tolist()
    [1, 2, 2, 1]

    ```
    """
    if reference_length < 1:
        raise ValueError(
            f"pileup: reference_length must be a positive int, got {reference_length}."
        )
    if reads.shape[-1] < 4:
        raise ValueError(
            f"pileup: `reads` needs at least the 4 channels A, C, G, T, got shape {reads.shape}."
        )
    return _pileup(
        jnp.asarray(reads),
        jnp.asarray(starts),
        None if quality is None else check_quality(jnp.asarray(quality)),
        None if read_weights is None else jnp.asarray(read_weights),
        None if insertions is None else jnp.asarray(insertions),
        reference_length=reference_length,
        quality_weighting=quality_weighting,
    )


@functools.partial(jax.jit, static_argnames=("reference_length", "quality_weighting"))
def _pileup(
    reads, starts, quality, read_weights, insertions, *, reference_length, quality_weighting
):
    dtype = reads.dtype
    num_reads, length, channels = reads.shape
    if read_weights is None:
        read_weights = jnp.ones((num_reads,), dtype)
    if quality is None:
        error = jnp.full((num_reads, length), DEFAULT_ERROR, dtype)
    else:
        error = phred_to_error(quality)
    base_weight = 1.0 - error if (quality_weighting and quality is not None) else None
    weight = read_weights[:, None] if base_weight is None else read_weights[:, None] * base_weight
    weight = jnp.broadcast_to(weight, (num_reads, length))

    def scatter(values):
        return scatter_windows(values, starts, reference_length)

    counts = scatter(weight[..., None] * reads)
    coverage = jnp.sum(counts, axis=-1)
    distribution = _safe_divide(counts, coverage[:, None], 1.0 / channels)

    occupied = jnp.any(reads != 0, axis=-1).astype(jnp.int32)
    depth = scatter(occupied[..., None])[:, 0]

    if quality is None:
        mean_quality = jnp.zeros((reference_length,), dtype)
    else:
        column_mass = weight * jnp.sum(reads, axis=-1)
        quality_sum = scatter((column_mass * quality)[..., None])[:, 0]
        mean_quality = _safe_divide(quality_sum, coverage, 0.0)

    if insertions is None:
        insertion_counts = jnp.zeros((reference_length,), dtype)
    else:
        insertion_counts = scatter((weight * insertions)[..., None])[:, 0]

    bases = reads[..., :4]
    strength = read_weights[:, None] * jnp.sum(bases, axis=-1)
    log_likelihoods = scatter(strength[..., None] * column_log_likelihoods(bases, error))

    return Pileup(
        counts=counts,
        coverage=coverage,
        depth=depth,
        distribution=distribution,
        mean_quality=mean_quality,
        insertions=insertion_counts,
        log_likelihoods=log_likelihoods,
    )

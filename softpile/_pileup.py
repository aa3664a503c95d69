"""`pileup`: per-position sums over reads in reference space."""

import functools
import operator

import equinox as eqx
import jax
import jax.numpy as jnp
from beartype import beartype
from jaxtyping import Array, Float, Int, Integer, jaxtyped

from . import _kernel
from ._genotypes import genotype_log_likelihoods
from ._numerics import safe_divide, sum_channels
from ._quality import base_weights, check_quality, quality_error, quality_is_valid
from ._typing import ArrayLike


class Pileup(eqx.Module):
    r"""What `pileup` returns: per-position sums over the reads (a pytree).

    **Fields** (`R` positions, `C` channels):

    - `counts`: `(R, C)`, $\sum_{n,i:\,s_n+i=r} w_{ni}\,x_{nic}$.
    - `coverage`: `(R,)`, $\sum_c$ `counts`.
    - `depth`: `(R,)` int32, the number of read columns at `r` that are not padding (weights
      ignored; gaps included).
    - `distribution`: `(R, C)`, `counts / coverage`, uniform `1/C` where coverage is 0
      (numerically: below eps² of the dtype, so gradients stay finite).
    - `mean_quality`: `(R,)`, weighted mean Phred quality, 0 where coverage is 0 or without
      qualities.
    - `insertions`: `(R,)`, weighted count of insertion flags after position `r`.
    - `log_likelihoods`: `(R, 10)`, diploid genotype log-likelihoods in the order of
      `softpile.GENOTYPES`, the sufficient statistics of `variant_scores`.

    Every field is a sum (or a ratio of sums) over positions, so pileups of windows can be
    sliced and joined with `jax.tree.map`, and under `jax.jit` a field nobody reads is never
    computed.
    """

    counts: Float[Array, "positions channels"]
    coverage: Float[Array, " positions"]
    depth: Int[Array, " positions"]
    distribution: Float[Array, "positions channels"]
    mean_quality: Float[Array, " positions"]
    insertions: Float[Array, " positions"]
    log_likelihoods: Float[Array, "positions 10"]


@jaxtyped(typechecker=beartype)
def pileup(
    reads: Float[ArrayLike, "reads length channels"],
    starts: Int[ArrayLike, " reads"] | Int[ArrayLike, "reads candidates"],
    reference_length: int,
    *,
    quality: Float[ArrayLike, "reads length"] | Integer[ArrayLike, "reads length"] | None = None,
    read_weights: Float[ArrayLike, " reads"] | None = None,
    insertions: Float[ArrayLike, "reads length"] | None = None,
    quality_weighting: bool = True,
    offset_weights: Float[ArrayLike, "reads candidates"] | None = None,
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

    **Soft placement.** A read may sit at one of `K` candidate starts, `starts[n, k]`, with
    weights `offset_weights[n, k]` (e.g. a softmax of alignment scores over the places a read
    maps to): it is then piled up at every candidate, its read weight multiplied by that
    candidate's weight, and every field is differentiable with respect to `offset_weights`.
    `depth` counts the candidates of non-zero weight. With `K = 1`, or one-hot weights, this
    is the pileup of the chosen starts.

    Written for one sample; use `jax.vmap` over samples padded to the same number of reads
    (zero reads add nothing). `reference_length` is static under `jax.jit`; under `jax.jit`
    only the fields you read are computed. Reads sorted by start (coordinate order, as a BAM
    gives them) are piled up fastest: consecutive reads then add to rows that stay in cache.

    **Arguments:**

    - `reads`: `(reads, length, C)`, from `one_hot_reads` or soft; `C >= 4` with A, C, G, T first.
    - `starts`: `(reads,)` integer reference position of each read's first column, or
      `(reads, K)` candidate positions with `offset_weights`; may be negative or past the end.
    - `reference_length`: number of positions `R` (a Python int).
    - `quality`: `(reads, length)` Phred qualities (finite, >= 0), or None. Integer
      qualities (e.g. `uint8`, as stored in BAM files) take a table lookup instead of
      `10**(-Q/10)`; float qualities are differentiable.
    - `read_weights`: `(reads,)` per-read weights (e.g. from MAPQ), default 1.
    - `insertions`: `(reads, length)` insertion flags (1 where an insertion follows the column).
    - `quality_weighting`: weight counts by `1 - e`. The genotype statistics always use the
      qualities (or Q30 when `quality=None`).
    - `offset_weights`: `(reads, K)` weights of the candidate starts, when `starts` is
      `(reads, K)`.

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
    >>> split = softpile.pileup(reads[:1], np.array([[0, 1]]), 4,
    ...                         offset_weights=np.array([[0.75, 0.25]]))
    >>> split.counts[:, 0].tolist()  # the A of read 0: 3/4 at position 0, 1/4 at position 1
    [0.75, 0.25, 0.0, 0.0]

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
    starts = jnp.asarray(starts)
    if (starts.ndim == 2) != (offset_weights is not None):
        raise ValueError(
            "pileup: candidate starts of shape (reads, K) go with `offset_weights` of the same "
            f"shape, and one start per read goes without; got starts of shape {starts.shape} "
            f"and offset_weights={'None' if offset_weights is None else 'given'}."
        )
    if starts.ndim == 1:
        starts, offset_weights = starts[:, None], None
    return _pileup(
        jnp.asarray(reads),
        starts,
        None if quality is None else jnp.asarray(quality),
        None if read_weights is None else jnp.asarray(read_weights),
        None if insertions is None else jnp.asarray(insertions),
        None if offset_weights is None else jnp.asarray(offset_weights),
        reference_length=reference_length,
        quality_weighting=quality_weighting,
    )


def _occupied(reads, present):
    """1 where a column has any non-zero channel (not padding) of a present read, `(..., 1)`."""
    return (((sum_channels(jnp.abs(reads)) > 0) & present).astype(jnp.int32)[..., None],)


def _quality_mass(reads, quality, read_weights):
    """Each column's weight times its quality, `(reads, length, 1)` (no quality weighting)."""
    mass = read_weights[:, None] * sum_channels(reads) * quality.astype(read_weights.dtype)
    return mass[..., None]


def _weighted_quality_mass(reads, quality, read_weights):
    """`_quality_mass` with the weights of quality-weighted counts."""
    mass = _quality_weights(quality, read_weights) * sum_channels(reads)
    return (mass * quality.astype(read_weights.dtype))[..., None]


def _quality_weights(quality, read_weights):
    """`read_weight * (1 - e)` of each column: the weights of quality-weighted counts."""
    return read_weights[:, None] * base_weights(quality, read_weights.dtype)


def _valid_quality_weights_inputs(quality, read_weights):
    """Whether the qualities among `_quality_weights`' inputs are valid."""
    return quality_is_valid(quality)


@functools.partial(jax.jit, static_argnames=("reference_length", "quality_weighting"))
def _pileup(
    reads,
    starts,
    quality,
    read_weights,
    insertions,
    offset_weights,
    *,
    reference_length,
    quality_weighting,
):
    num_reads, _, channels = reads.shape
    dtype = reads.dtype
    if read_weights is None:
        read_weights = jnp.ones((num_reads,), dtype)
    # Each placement is (per-read weights, whether the read is there at all): one per read
    # without soft placement, K with it; every field sums over the placements.
    placements = [
        (read_weights, jnp.ones((num_reads, 1), bool))
        if offset_weights is None
        else (read_weights * offset_weights[:, k], (offset_weights[:, k] != 0)[:, None])
        for k in range(starts.shape[1])
    ]
    # The qualities are checked (finite, >= 0) on the starts, which every field depends on;
    # quality-weighted counts check them in their own pass over the reads instead, so asking
    # for the counts costs no extra pass (XL checked counts: `python
    # benchmarks/kernel_variants.py --workload XL`).
    weighted = quality_weighting and quality is not None
    checked_starts = starts if quality is None else check_quality(quality, starts)

    def total(field, starts=checked_starts):
        return functools.reduce(
            operator.add,
            [field(starts[:, k], *placement) for k, placement in enumerate(placements)],
        )

    def weighted_sum(values, at, weights, check=None):
        """`values` summed with each column's weight: its read's, times `1 - e` when quality
        weighting, made inside the kernel's loop (XL forward counts 209 -> 106 ms, `python
        benchmarks/kernel_variants.py --workload XL`); with quality weighting, `check` is
        made in that loop too."""
        if weighted:
            return _kernel.lazily_weighted_window_sum(
                values, _quality_weights, (quality, weights), at, reference_length, check
            )
        column_weights = jnp.broadcast_to(weights[:, None], values.shape[:2])
        return _kernel.weighted_window_sum(values, column_weights, at, reference_length)

    def counts_at(at, weights, present):
        return weighted_sum(reads, at, weights, (_valid_quality_weights_inputs, quality_error()))

    def depth_at(at, weights, present):
        # Integer counts carry no derivative; stop_gradient keeps them out of the AD trace.
        plain = jax.lax.stop_gradient(reads)
        return _kernel.block_sums(_occupied, (plain, present), at, reference_length)[0][:, 0]

    def quality_sum_at(at, weights, present):
        mass = _weighted_quality_mass if weighted else _quality_mass
        inputs = (reads, quality, weights)
        return _kernel.mapped_window_sum(mass, None, inputs, at, reference_length)[:, 0]

    def insertions_at(at, weights, present):
        return weighted_sum(insertions[..., None], at, weights)

    def log_likelihoods_at(at, weights, present):
        return genotype_log_likelihoods(reads, at, reference_length, quality, weights)

    counts = total(counts_at, starts if weighted else checked_starts)
    coverage = sum_channels(counts)
    # Channel by channel, not `counts / coverage[:, None]`: the transpose of that broadcast is
    # a reduction whose order XLA may vectorise differently from one device count to another;
    # explicit per-channel adds keep gradients bit-identical on any number of devices.
    distribution = jnp.stack(
        [safe_divide(counts[:, c], coverage, 1.0 / channels) for c in range(channels)], axis=-1
    )
    zeros = jnp.zeros((reference_length,), dtype)
    return Pileup(
        counts=counts,
        coverage=coverage,
        depth=total(depth_at),
        distribution=distribution,
        mean_quality=zeros
        if quality is None
        else safe_divide(total(quality_sum_at), coverage, 0.0),
        insertions=zeros if insertions is None else total(insertions_at)[:, 0],
        log_likelihoods=total(log_likelihoods_at),
    )

"""Phred qualities, error probabilities and the soft (differentiable) quality filter."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from beartype import beartype
from jax.core import Tracer
from jaxtyping import Array, Float, jaxtyped

from ._typing import ArrayLike, ScalarLike

_MINUS_LN10_OVER_10 = -math.log(10.0) / 10.0

MAX_ERROR = 0.75
"""Cap on the error probability: at 3/4 every base is equally likely, so a Q0 base carries no
information (and no `-inf`/NaN)."""


def phred_to_error(quality: Float[ArrayLike, "*shape"] | float) -> Float[Array, "*shape"]:
    r"""Error probability of a Phred quality, capped at 3/4.

    $$e = \min\left(10^{-Q/10}, \tfrac34\right)$$

    ```python
    >>> import softpile
    >>> softpile.phred_to_error(20.0).item()
    0.009999999776482582
    >>> softpile.phred_to_error(0.0).item()
    0.75

    ```
    """
    quality = jnp.asarray(quality)
    if not jnp.issubdtype(quality.dtype, jnp.floating):
        quality = quality.astype(float)
    # exp(-Q ln10 / 10) is the same function as 10**(-Q/10) but ~10x faster on CPU (XLA lowers
    # a power to a generic routine), and closer to the float64 value.
    return jnp.minimum(jnp.exp(quality * _MINUS_LN10_OVER_10), MAX_ERROR)


def error_to_phred(error: Float[ArrayLike, "*shape"] | float) -> Float[Array, "*shape"]:
    r"""Phred quality of an error probability, $Q = -10 \log_{10} e$.

    ```python
    >>> import softpile
    >>> round(softpile.error_to_phred(0.001).item(), 3)
    30.0

    ```
    """
    error = jnp.asarray(error)
    if not jnp.issubdtype(error.dtype, jnp.floating):
        error = error.astype(float)
    return -10.0 * jnp.log10(error)


MAX_TABLE_PHRED = 255
"""Integer qualities are looked up in a table of this many + 1 entries (higher ones are
clipped to it: their error probability is already below float precision)."""


def error_probabilities(quality: Array, dtype) -> Array:
    """`phred_to_error` of Phred qualities, in `dtype`.

    Integer qualities (as stored in BAM files) take a lookup in a table made with the same
    float expression, so they give the same values as float qualities at a fraction of the
    cost; float qualities use the smooth formula (and are differentiable).
    """
    if jnp.issubdtype(quality.dtype, jnp.integer):
        table = phred_to_error(jnp.arange(MAX_TABLE_PHRED + 1, dtype=dtype))
        return jnp.take(table, quality, mode="clip")
    return phred_to_error(quality.astype(dtype))


def base_weights(quality: Array, dtype) -> Array:
    """`1 - e` of each quality, in `dtype`: the weight of a base in quality-weighted counts."""
    if jnp.issubdtype(quality.dtype, jnp.integer):
        table = 1.0 - phred_to_error(jnp.arange(MAX_TABLE_PHRED + 1, dtype=dtype))
        return jnp.take(table, quality, mode="clip")
    return 1.0 - phred_to_error(quality.astype(dtype))


def quality_is_valid(quality: Array) -> Array:
    """Whether every quality is finite and >= 0 (one bool).

    One min-reduction: NaN and +inf are mapped to -1 (`NaN < inf` is False), so they fail as
    negatives do. A float min vectorises where `all(isfinite & >= 0)` over bools does not.
    """
    if jnp.issubdtype(quality.dtype, jnp.unsignedinteger):
        return jnp.array(True)  # never negative, always finite
    if jnp.issubdtype(quality.dtype, jnp.floating):
        quality = jnp.where(quality < jnp.inf, quality, -1)
    return jnp.min(quality, initial=0) >= 0


def quality_error(name: str = "quality") -> str:
    """The message of a failed `quality_is_valid`."""
    return f"`{name}` must be finite and >= 0 (Phred scale); found a negative, NaN or inf value."


def check_quality(quality: Array, anchor: Array, name: str = "quality") -> Array:
    """`anchor`, made to raise (also under `jit`) if any quality is negative, NaN or infinite.

    `anchor` is a small array that every result depends on (e.g. the read starts): the check
    then runs whenever a result is computed, and only one bool per call leaves the reduction
    over the qualities. Returning the qualities themselves through the check copied them (at
    200,000 reads x 150, checked counts took 179 ms that way, 163 ms with the check on the
    starts: `python benchmarks/kernel_variants.py --workload XL`).
    """
    if jnp.issubdtype(quality.dtype, jnp.unsignedinteger):
        return anchor
    return eqx.error_if(anchor, ~quality_is_valid(quality), quality_error(name))


class QualityFilter(eqx.Module):
    r"""Parameters of the soft quality filter (learnable).

    **Fields:**

    - `threshold`: Phred quality at which a base keeps half its weight (default 20).
    - `softness`: width of the sigmoid in Phred units (default 1); smaller is harder.

    ```python
    >>> import softpile
    >>> softpile.QualityFilter(threshold=25.0).threshold.item()
    25.0

    ```
    """

    threshold: Float[Array, ""]
    softness: Float[Array, ""]

    def __init__(self, threshold: ScalarLike = 20.0, softness: ScalarLike = 1.0):
        self.threshold = _as_float_scalar(threshold, "threshold")
        self.softness = _as_float_scalar(softness, "softness")

    def __check_init__(self):
        if not isinstance(self.softness, Tracer) and not bool(self.softness > 0):
            raise ValueError(
                f"QualityFilter: softness must be > 0, got {float(self.softness)}; it is the "
                "width of the sigmoid in Phred units."
            )


def _as_float_scalar(value, name: str) -> Array:
    array = jnp.asarray(value)
    if array.shape != ():
        raise ValueError(f"{name} must be a scalar, got shape {array.shape}.")
    if not jnp.issubdtype(array.dtype, jnp.floating):
        array = array.astype(float)
    return array


@jaxtyped(typechecker=beartype)
def soft_quality_filter(
    params: QualityFilter,
    reads: Float[ArrayLike, "*reads length channels"],
    quality: Float[ArrayLike, "*reads length"],
) -> tuple[Float[Array, "*reads length channels"], Float[Array, "*reads length"]]:
    r"""Scale each column of the reads by a soft pass/fail weight of its quality.

    $$w = \sigma\left(\frac{Q - \text{threshold}}{\text{softness}}\right)$$

    Unlike a hard `Q >= threshold` cut, the weight is differentiable with respect to the
    quality and to both parameters, so a threshold can be learned.

    **Arguments:**

    - `params`: a [`softpile.QualityFilter`][].
    - `reads`: one-hot or soft reads, `(..., length, channels)`.
    - `quality`: Phred qualities, `(..., length)`, finite and non-negative.

    **Returns:**

    `(filtered_reads, weights)`: the reads scaled per column by `weights`, and the weights.

    ```python
    >>> import jax.numpy as jnp
    >>> import softpile
    >>> reads = softpile.one_hot_reads("AC")
    >>> filtered, w = softpile.soft_quality_filter(
    ...     softpile.QualityFilter(), reads, jnp.array([30.0, 20.0]))
    >>> [round(x, 4) for x in w.tolist()]
    [1.0, 0.5]

    ```
    """
    reads = jnp.asarray(reads)
    quality = jnp.asarray(quality)
    threshold = check_quality(quality, jnp.asarray(params.threshold))
    weights = jax.nn.sigmoid((quality - threshold) / params.softness)
    return reads * weights[..., None], weights

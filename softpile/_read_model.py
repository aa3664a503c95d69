r"""How much each base and each read is trusted: a learnable base-quality recalibration and a
mapping-quality weight, applied to the reads before the pileup."""

import equinox as eqx
import jax
import jax.numpy as jnp
from beartype import beartype
from jaxtyping import Array, Float, Int, jaxtyped

from ._typing import ArrayLike

QUALITY_KNOTS = tuple(range(0, 65, 5))
"""Reported Phred qualities at which the recalibration's shift is set (linear in between,
constant beyond the last)."""

CYCLE_BIN = 10
"""Sequencing cycles per bin of the cycle shift."""

CYCLE_BINS = 16
"""Bins of the cycle shift; the last one holds every cycle from `CYCLE_BIN * (CYCLE_BINS - 1)`."""

MAPQ_KNOTS = tuple(range(0, 70, 10))
"""Mapping qualities at which the read weight is set (linear in between; MAPQ 255,
"unavailable", takes the last)."""

UNAVAILABLE_MAPQ = 255


class ReadModel(eqx.Module):
    r"""Trust in bases and reads (learnable): what a base-quality recalibration (BQSR) and a
    mapping-quality filter do, as smooth maps that can be trained through the pileup.

    A base reported at Phred $Q$ in sequencing cycle $c$ of a read with mapping quality $M$
    enters the pileup with quality

    $$Q' = \min\bigl(\max(Q + \delta_Q(Q) + \delta_c(c),\ 0),\ M\bigr)$$

    ($M = 255$, "unavailable", caps nothing) and its read with weight $w(M)$. $\delta_Q$ is
    linear between `QUALITY_KNOTS`, $\delta_c$ constant per bin of `CYCLE_BIN` cycles, $w$
    linear between `MAPQ_KNOTS`. The additive form is the one of GATK's BQSR (a shift per
    reported quality plus a shift per cycle; DePristo et al. 2011, Nat Genet 43:491), and the
    cap at $M$ is bcftools' (Li 2011, Bioinformatics 27:2987).

    **Fields** (the defaults change nothing: $\delta = 0$, $w = 1$, so calls are the same as
    without a read model):

    - `quality_shift`: `(13,)` $\delta_Q$ at reported qualities 0, 5, ..., 60.
    - `cycle_shift`: `(16,)` $\delta_c$ for cycles 0-9, 10-19, ..., 150 and more.
    - `mapq_weights`: `(7,)` $w$ at MAPQ 0, 10, ..., 60.

    `projected()` keeps a trained model meaningful: $Q + \delta_Q(Q)$ non-decreasing (a better
    reported quality never means a worse base) and weights in $[0, 1]$, non-decreasing in MAPQ.

    ```python
    >>> import jax.numpy as jnp
    >>> import softpile
    >>> model = softpile.ReadModel(cycle_shift=jnp.zeros(16).at[-1].set(-10.0))
    >>> quality, weights = softpile.read_evidence(
    ...     model, jnp.array([[30, 30]]), jnp.array([[0, 150]]), jnp.array([60]))
    >>> quality.tolist(), weights.tolist()
    ([[30.0, 20.0]], [1.0])

    ```
    """

    quality_shift: Float[Array, " quality_knots"]
    cycle_shift: Float[Array, " cycle_bins"]
    mapq_weights: Float[Array, " mapq_knots"]

    def __init__(
        self,
        quality_shift: Float[ArrayLike, " quality_knots"] | None = None,
        cycle_shift: Float[ArrayLike, " cycle_bins"] | None = None,
        mapq_weights: Float[ArrayLike, " mapq_knots"] | None = None,
    ):
        self.quality_shift = _table(quality_shift, len(QUALITY_KNOTS), 0.0, "quality_shift")
        self.cycle_shift = _table(cycle_shift, CYCLE_BINS, 0.0, "cycle_shift")
        self.mapq_weights = _table(mapq_weights, len(MAPQ_KNOTS), 1.0, "mapq_weights")

    def projected(self) -> "ReadModel":
        """This model made meaningful after an optimiser step (the nearest such values, knot
        by knot): recalibrated quality non-decreasing in the reported one, weights in [0, 1]
        and non-decreasing in MAPQ."""
        knots = jnp.asarray(QUALITY_KNOTS, dtype=self.quality_shift.dtype)
        recalibrated = jax.lax.cummax(knots + self.quality_shift)
        weights = jax.lax.cummax(jnp.clip(self.mapq_weights, 0.0, 1.0))
        return ReadModel(recalibrated - knots, self.cycle_shift, weights)


def _table(values, size: int, default: float, name: str) -> Array:
    if values is None:
        return jnp.full((size,), default, dtype=jnp.float32)
    values = jnp.asarray(values)
    if values.shape != (size,):
        raise ValueError(f"ReadModel: `{name}` must have shape ({size},), got {values.shape}.")
    return values.astype(jnp.result_type(float)) if values.dtype.kind != "f" else values


@jaxtyped(typechecker=beartype)
def read_evidence(
    model: ReadModel,
    quality: ArrayLike,
    cycles: Int[ArrayLike, "*reads length"],
    mapq: Int[ArrayLike, "*reads"],
) -> tuple[Float[Array, "*reads length"], Float[Array, "*reads"]]:
    """The recalibrated, MAPQ-capped qualities `(..., reads, length)` and the read weights
    `(..., reads)` of `model` (see `ReadModel`), to pass to `pileup` as `quality` and
    `read_weights`. Differentiable with respect to `model`.

    **Arguments:** `quality` the reported Phred qualities, `cycles` the sequencing cycle of
    each column (negative on padding: shift 0), `mapq` each read's mapping quality.
    """
    quality = jnp.asarray(quality).astype(model.quality_shift.dtype)
    cycles, mapq = jnp.asarray(cycles), jnp.asarray(mapq)
    knots = jnp.asarray(QUALITY_KNOTS, dtype=quality.dtype)
    shifted = quality + jnp.interp(quality, knots, model.quality_shift)
    bins = jnp.clip(cycles // CYCLE_BIN, 0, CYCLE_BINS - 1)
    shifted = jnp.maximum(shifted + jnp.where(cycles >= 0, model.cycle_shift[bins], 0.0), 0.0)
    known = jnp.where(mapq == UNAVAILABLE_MAPQ, MAPQ_KNOTS[-1], mapq).astype(quality.dtype)
    weights = jnp.interp(known, jnp.asarray(MAPQ_KNOTS, quality.dtype), model.mapq_weights)
    return cap_at_mapq(shifted, mapq), weights


def cap_at_mapq(quality: Array, mapq: Array) -> Array:
    """Each quality `(..., reads, length)` capped at its read's MAPQ `(..., reads)`, as
    bcftools does; MAPQ 255 ("unavailable") caps nothing. The dtype of `quality` is kept
    (uint8 too, where 255 is already the largest value)."""
    cap = mapq.astype(quality.dtype)
    if jnp.issubdtype(quality.dtype, jnp.floating):
        cap = jnp.where(mapq == UNAVAILABLE_MAPQ, jnp.inf, cap)
    return jnp.minimum(quality, cap[..., None])

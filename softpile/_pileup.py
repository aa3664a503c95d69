"""`pileup`: per-position sums over reads in reference space."""

import functools

import equinox as eqx
import jax
import jax.custom_batching
import jax.numpy as jnp
from beartype import beartype
from jax.custom_derivatives import SymbolicZero
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
    - `distribution`: `(R, C)`, `counts / coverage`, uniform `1/C` where coverage is 0
      (numerically: below eps² of the dtype, so gradients stay finite).
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


# Reads per step of the scatter loop. Weighting and scattering a block at a time never
# materialises the weighted (reads, length, channels) array: fresh large buffers are slow to
# allocate on CPU, while a block of 1024 reads x 150 columns x 4 channels is only 2.4 MB.
# `benchmarks/speed.py --block-reads 256|1024|4096` compares block sizes (see
# docs/performance.md).
BLOCK_READS = 1024

_FLAT_SCATTER = jax.lax.ScatterDimensionNumbers(
    update_window_dims=(1,), inserted_window_dims=(), scatter_dims_to_operand_dims=(0,)
)
_FLAT_GATHER = jax.lax.GatherDimensionNumbers(
    offset_dims=(1,), collapsed_slice_dims=(), start_index_map=(0,)
)


def _window_offsets(starts: Int[Array, " reads"], length: int, reference_length: int):
    """Row of each read's first column in a table padded by `length` rows on both sides.

    Clipping a start to `[-length, reference_length]` keeps every window inside the padded
    table; a read clipped that way lies wholly in the padding, where it adds nothing.
    """
    return jnp.clip(starts, -length, reference_length) + length


def _scatter_flat(table, offsets, values):
    """Add each read's `(length * k)` values to one contiguous window of a flat table."""
    num_reads, length, k = values.shape
    return jax.lax.scatter_add(
        table,
        (offsets * k)[:, None],
        values.reshape(num_reads, length * k),
        _FLAT_SCATTER,
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )


def _gather_flat(table, offsets, length: int, k: int):
    """Transpose of `_scatter_flat`: each read's `(length, k)` window of a flat table."""
    windows = jax.lax.gather(
        table.reshape(-1),
        (offsets * k)[:, None],
        _FLAT_GATHER,
        (length * k,),
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )
    return windows.reshape(offsets.shape[0], length, k)


def _padded_block_sums(column_fn, inputs, starts, reference_length: int):
    """Padded `(reference_length + 2 length, k)` tables of `column_fn(*inputs)` summed by row.

    `column_fn` maps per-column inputs `(reads, length, ...)` to a tuple of
    `(reads, length, k_j)` values; it is applied to `BLOCK_READS` reads at a time inside a
    `fori_loop` and each block is added to its table as flat contiguous windows, so no
    `(reads, length, k)` array of values is ever materialised. The remainder block (reads not a
    multiple of the block) is done once outside the loop, which avoids copying the inputs into
    a padded array. Several tables are filled in one pass over the reads; they are separate
    because concatenating values along a minor axis is slow on CPU.
    """
    num_reads, length = inputs[0].shape[:2]
    example = [jax.ShapeDtypeStruct((1, *x.shape[1:]), x.dtype) for x in inputs]
    value_shapes = jax.eval_shape(column_fn, *example)
    widths = [shape.shape[-1] for shape in value_shapes]
    tables = tuple(
        jnp.zeros(((reference_length + 2 * length) * k,), shape.dtype)
        for k, shape in zip(widths, value_shapes)
    )
    if num_reads > 0 and length > 0:
        offsets = _window_offsets(starts, length, reference_length)
        block = min(BLOCK_READS, num_reads)
        full_blocks = num_reads // block

        def add(tables, chunk_offsets, chunk):
            values = column_fn(*chunk)
            return tuple(_scatter_flat(t, chunk_offsets, v) for t, v in zip(tables, values))

        def add_block(index, tables):
            first = index * block
            chunk = [jax.lax.dynamic_slice_in_dim(x, first, block) for x in inputs]
            return add(tables, jax.lax.dynamic_slice_in_dim(offsets, first, block), chunk)

        tables = jax.lax.fori_loop(0, full_blocks, add_block, tables)
        done = full_blocks * block
        if done < num_reads:
            tables = add(tables, offsets[done:], [x[done:] for x in inputs])
    return tuple(t.reshape(-1, k) for t, k in zip(tables, widths))


def _padded_block_sum(column_fn, inputs, starts, reference_length: int):
    """`_padded_block_sums` of a `column_fn` with one `(reads, length, k)` output."""
    (table,) = _padded_block_sums(lambda *x: (column_fn(*x),), inputs, starts, reference_length)
    return table


def _unpad(table, length: int, reference_length: int):
    return table[length : length + reference_length]


def _weighted_values(values, weights):
    return values * weights[..., None]


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _weighted_window_sum(values, weights, starts, reference_length):
    """`sum weights[n, i] * values[n, i, :]` into row `starts[n] + i` (see `scatter_windows`).

    Forward: the blocked loop of `_padded_block_sum`. Derivatives: the custom JVP below
    returns the tangent as one scatter per term of the product rule, written so that its
    automatic transpose (reverse mode) is a gather of each read's window of the cotangent,
    which is what a hand-written VJP would do; unlike `jax.custom_vjp`, forward mode
    (`jax.jvp`, `jax.jacfwd`) keeps working.
    """
    length = values.shape[1]
    table = _padded_block_sum(_weighted_values, (values, weights), starts, reference_length)
    return _unpad(table, length, reference_length)


def _weighted_window_sum_jvp(reference_length, primals, tangents):
    values, weights, starts = primals
    values_dot, weights_dot, _ = tangents
    num_reads, length, k = values.shape
    out = _weighted_window_sum(values, weights, starts, reference_length)
    offsets = _window_offsets(starts, length, reference_length)
    table = jnp.zeros(((reference_length + 2 * length) * k,), out.dtype)
    if num_reads == 0 or length == 0:
        return out, jnp.zeros_like(out)
    if not isinstance(values_dot, SymbolicZero):
        table = _scatter_flat(table, offsets, values_dot * weights[..., None])
    table = table.reshape(-1, k)
    if not isinstance(weights_dot, SymbolicZero):
        # One scatter per channel: the transpose is then a gather of each channel's column of
        # the cotangent times that channel of the values, with no (reads, length, k) sum.
        columns = [
            _padded_scatter_column(values[..., channel] * weights_dot, offsets, reference_length)
            for channel in range(k)
        ]
        table = table + jnp.stack(columns, axis=-1)
    # The barrier keeps XLA from fusing the cotangent's producers into the gathers of the
    # transpose (recomputing them for every column of every read). Insurance: on the losses of
    # benchmarks/kernel_variants.py it costs and gains nothing measurable.
    table = jax.lax.optimization_barrier(table)
    return out, _unpad(table, length, reference_length)


def _padded_scatter_column(values, offsets, reference_length: int):
    length = values.shape[1]
    table = jnp.zeros((reference_length + 2 * length,), values.dtype)
    return _scatter_flat(table, offsets, values[..., None])


_weighted_window_sum.defjvp(_weighted_window_sum_jvp, symbolic_zeros=True)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 4))
def _mapped_window_sum(column_fn, fast_sum, inputs, starts, reference_length):
    """`sum column_fn(*inputs)[n, i, :]` into row `starts[n] + i`, values made per block.

    `fast_sum(inputs, starts, reference_length)`, when not None, computes the same sums
    another (faster) way; it is used for the values only, derivatives always come from
    `column_fn`.
    """
    if fast_sum is not None:
        return fast_sum(inputs, starts, reference_length)
    length = inputs[0].shape[1]
    table = _padded_block_sum(column_fn, inputs, starts, reference_length)
    return _unpad(table, length, reference_length)


def _mapped_window_sum_jvp(column_fn, fast_sum, reference_length, primals, tangents):
    inputs, starts = primals
    inputs_dot, _ = tangents
    out = _mapped_window_sum(column_fn, fast_sum, inputs, starts, reference_length)
    moving = [i for i, t in enumerate(inputs_dot) if not isinstance(t, SymbolicZero)]
    num_reads, length = inputs[0].shape[:2]
    if not moving or num_reads == 0 or length == 0:
        return out, jnp.zeros_like(out)

    def of_moving(*moving_inputs):
        full = list(inputs)
        for index, value in zip(moving, moving_inputs):
            full[index] = value
        return column_fn(*full)

    _, values_dot = jax.jvp(of_moving, [inputs[i] for i in moving], [inputs_dot[i] for i in moving])
    k = values_dot.shape[-1]
    offsets = _window_offsets(starts, length, reference_length)
    table = jnp.zeros(((reference_length + 2 * length) * k,), out.dtype)
    table = _scatter_flat(table, offsets, values_dot).reshape(-1, k)
    table = jax.lax.optimization_barrier(table)  # see _weighted_window_sum_jvp
    return out, _unpad(table, length, reference_length)


_mapped_window_sum.defjvp(_mapped_window_sum_jvp, symbolic_zeros=True)


def scatter_windows(
    values: Float[Array, "reads length k"] | Int[Array, "reads length k"],
    starts: Int[Array, " reads"],
    reference_length: int,
    weights: Float[Array, "reads length"] | None = None,
) -> Float[Array, "positions k"] | Int[Array, "positions k"]:
    """Sum `weights[n, i] * values[n, i]` into row `starts[n] + i` of a `(reference_length, k)`
    table (`weights` default 1).

    Each read's `(length, k)` block is added as one contiguous window of a flat table padded
    by `length` rows on both sides, so reads hanging over either end need no masking: their
    outside rows land in the padding, which is sliced off. Reads are weighted and added a
    block at a time (`BLOCK_READS`), and floating values get a custom JVP whose transpose
    gathers each read's window of the cotangent (fast reverse mode; forward mode works too).
    """
    length = values.shape[1]
    if jnp.issubdtype(values.dtype, jnp.floating):
        if weights is None:
            weights = jnp.ones(values.shape[:2], values.dtype)
        return _weighted_window_sum(values, weights, starts, reference_length)
    if weights is not None:
        raise ValueError("scatter_windows: integer `values` take no `weights`.")
    table = _padded_block_sum(lambda x: x, (values,), starts, reference_length)
    return _unpad(table, length, reference_length)


def _safe_divide(numerator, denominator, empty):
    """`numerator / denominator`, `empty` where the denominator is (numerically) 0.

    "Numerically 0" is below eps² of the dtype (about 1.4e-14 in float32): below that the
    derivative `-x / d²` underflows and would turn gradients into NaN, while one base of
    weight 1 outweighs such a sum by more than the dtype can resolve.
    """
    nonzero = denominator > jnp.finfo(denominator.dtype).eps ** 2
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
    # Base by base and genotype by genotype (no broadcasts, gathers or reductions over the
    # channel axis): their transposes would be reductions whose order XLA may vectorise
    # differently on different device counts, and gradients must be bit-identical.
    total = reads[..., 0] + reads[..., 1] + reads[..., 2] + reads[..., 3]
    given_base = []
    for base in range(4):
        p = _safe_divide(reads[..., base], total, 0.25)
        given_base.append(p * (1.0 - error) + (1.0 - p) * error / 3.0)
    mix = [0.5 * (given_base[a] + given_base[b]) for a, b in zip(_ALLELE_1, _ALLELE_2)]
    return jnp.log(jnp.maximum(jnp.stack(mix, axis=-1), _TINY))


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


def _sum_channels(reads):
    """`reads.sum(-1)` as adds of channel slices (several times faster on CPU than a reduce
    over a size-4 axis)."""
    total = reads[..., 0]
    for channel in range(1, reads.shape[-1]):
        total = total + reads[..., channel]
    return total


def _occupied(reads):
    """1 where a column has any non-zero channel (not padding), as `(..., 1)` int32."""
    return (_sum_channels(jnp.abs(reads)) > 0).astype(jnp.int32)[..., None]


def _quality_mass(reads, quality, weight):
    return (weight * _sum_channels(reads) * quality)[..., None]


def _strength_log_likelihoods(reads, error, read_weights):
    bases = reads[..., :4]
    strength = read_weights * _sum_channels(bases)
    return strength[..., None] * column_log_likelihoods(bases, error)


def _quality_log_likelihoods(reads, quality, read_weights):
    return _strength_log_likelihoods(reads, phred_to_error(quality), read_weights)


@functools.partial(jax.jit, static_argnames=("reference_length", "quality_weighting"))
def _pileup(
    reads, starts, quality, read_weights, insertions, *, reference_length, quality_weighting
):
    dtype = reads.dtype
    num_reads, length, channels = reads.shape
    if read_weights is None:
        read_weights = jnp.ones((num_reads,), dtype)
    if quality_weighting and quality is not None:
        weight = read_weights[:, None] * (1.0 - phred_to_error(quality))
    else:
        weight = jnp.broadcast_to(read_weights[:, None], (num_reads, length))

    counts = _weighted_window_sum(reads, weight, starts, reference_length)
    coverage = _sum_channels(counts)
    # Channel by channel, not `counts / coverage[:, None]`: the transpose of that broadcast is
    # a reduction whose order XLA may vectorise differently from one device count to another;
    # explicit per-channel adds keep gradients bit-identical on any number of devices.
    distribution = jnp.stack(
        [_safe_divide(counts[:, c], coverage, 1.0 / channels) for c in range(channels)], axis=-1
    )

    # Integer counts carry no derivative; stop_gradient keeps them out of the AD trace.
    occupied = _padded_block_sum(
        _occupied, (jax.lax.stop_gradient(reads),), starts, reference_length
    )
    depth = _unpad(occupied, length, reference_length)[:, 0]

    if quality is None:
        mean_quality = jnp.zeros((reference_length,), dtype)
    else:
        quality_sum = _mapped_window_sum(
            _quality_mass, None, (reads, quality, weight), starts, reference_length
        )[:, 0]
        mean_quality = _safe_divide(quality_sum, coverage, 0.0)

    if insertions is None:
        insertion_counts = jnp.zeros((reference_length,), dtype)
    else:
        insertion_counts = _weighted_window_sum(
            insertions[..., None], weight, starts, reference_length
        )[:, 0]

    # Per-read weights as (reads, 1) columns: sliced with the reads, broadcast per block.
    read_columns = read_weights[:, None]
    if quality is None:
        log_likelihoods = _mapped_window_sum(
            _default_error_log_likelihoods,
            _default_error_fast_log_likelihoods,
            (reads, read_columns),
            starts,
            reference_length,
        )
    else:
        log_likelihoods = _mapped_window_sum(
            _quality_log_likelihoods,
            _quality_fast_log_likelihoods,
            (reads, quality, read_columns),
            starts,
            reference_length,
        )

    return Pileup(
        counts=counts,
        coverage=coverage,
        depth=depth,
        distribution=distribution,
        mean_quality=mean_quality,
        insertions=insertion_counts,
        log_likelihoods=log_likelihoods,
    )


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


def _called_terms(bases, error, strength, n_term):
    """Per-column terms of the log-likelihoods of called-base columns (see
    `_fast_log_likelihoods`): `strength * one_hot * log(...)` for the three values."""
    hit = 1.0 - error
    miss = error / 3.0
    logs = [jnp.log(jnp.maximum(v, _TINY)) for v in (hit, 0.5 * (hit + miss), miss)]
    return (*(bases * (strength * value)[..., None] for value in logs), n_term[..., None])


def _quality_called_terms(bases, quality, strength, n_term):
    return _called_terms(bases, phred_to_error(quality), strength, n_term)


def _quality_fast_log_likelihoods(inputs, starts, reference_length):
    reads, quality, read_weights = inputs
    return _fast_log_likelihoods(
        _quality_called_terms,
        _quality_log_likelihoods,
        (reads, quality, read_weights),
        phred_to_error(quality),
        starts,
        reference_length,
    )


def _default_error_fast_log_likelihoods(inputs, starts, reference_length):
    reads, read_weights = inputs
    error = jnp.full(reads.shape[:2], DEFAULT_ERROR, reads.dtype)
    return _fast_log_likelihoods(
        _called_terms, _default_error_log_likelihoods, inputs, error, starts, reference_length
    )


def _fast_log_likelihoods(terms_fn, column_fn, inputs, error, starts, reference_length):
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
    length = inputs[0].shape[1]

    def simple_of(inputs):
        called, is_n = _called_columns(inputs[0][..., :4])
        return jnp.all(called | is_n)

    def fast(inputs, error, starts):
        bases = inputs[0][..., :4]
        read_weights = inputs[-1]
        called, is_n = _called_columns(bases)
        # Masks and the N term are made outside the loop: per-column selects fused into the
        # scatters inside it ran element by element, several times slower.
        strength = jnp.where(called & ~is_n, read_weights, 0.0)
        total = _sum_channels(bases)
        p = _safe_divide(bases[..., 0], total, 0.25)
        given = p * (1.0 - error) + (1.0 - p) * error / 3.0
        mix = 0.5 * (given + given)
        n_term = jnp.where(is_n, read_weights * total * jnp.log(jnp.maximum(mix, _TINY)), 0.0)
        terms_inputs = (bases, inputs[1] if len(inputs) == 3 else error, strength, n_term)
        tables = _padded_block_sums(terms_fn, terms_inputs, starts, reference_length)
        hom, het, absent, n_sum = (_unpad(t, length, reference_length) for t in tables)
        out = []
        for a, b in zip(_ALLELE_1, _ALLELE_2):
            value = hom[:, a] if a == b else het[:, a] + het[:, b]
            for x in range(4):
                if x not in (a, b):
                    value = value + absent[:, x]
            out.append(value + n_sum[:, 0])
        return jnp.stack(out, axis=-1)

    def general(inputs, error, starts):
        del error
        table = _padded_block_sum(column_fn, inputs, starts, reference_length)
        return _unpad(table, length, reference_length)

    @jax.custom_batching.custom_vmap
    def choose(inputs, error, starts):
        return jax.lax.cond(simple_of(inputs), fast, general, inputs, error, starts)

    @choose.def_vmap
    def choose_batched(axis_size, in_batched, inputs, error, starts):
        # Under jax.vmap a cond on a per-sample predicate would run both branches for every
        # sample; take the fast branch for the whole batch when every sample allows it.
        arguments = jax.tree.map(
            lambda x, batched: x if batched else jnp.broadcast_to(x, (axis_size, *x.shape)),
            (inputs, error, starts),
            tuple(in_batched),
        )
        simple = jnp.all(jax.vmap(simple_of)(arguments[0]))
        out = jax.lax.cond(simple, jax.vmap(fast), jax.vmap(general), *arguments)
        return out, True

    return choose(inputs, error, starts)

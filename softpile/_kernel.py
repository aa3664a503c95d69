"""The scatter kernel behind `pileup`: sums of per-column values by reference position.

Every field of a pileup is a sum, over the columns `i` of the reads `n`, of a per-column value
into row `starts[n] + i` of a `(reference_length, k)` table. This module computes such sums
fast on CPU and GPU, with derivatives whose reverse mode gathers each read's window of the
cotangent:

- each read's `(length, k)` values are added as one contiguous window of a flat table padded
  by `length` rows on both sides, so reads hanging over either end need no masking (their
  outside rows land in the padding, which is sliced off);
- values are made and added `BLOCK_READS` reads at a time inside a loop, so the weighted
  `(reads, length, k)` array is never materialised;
- `weighted_window_sum`, `lazily_weighted_window_sum` and `mapped_window_sum` carry a custom
  JVP (not a custom VJP), so forward mode (`jax.jvp`, `jax.jacfwd`) keeps working.
"""

import functools

import equinox as eqx
import jax
import jax.custom_batching
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

BLOCK_READS = 1024
"""Reads per step of the scatter loop. Fresh large buffers are slow to allocate on CPU, while a
block of 1024 reads x 150 columns x 4 channels is only 2.4 MB.
`benchmarks/speed.py --block-reads 256|1024|4096` compares block sizes."""

_FLAT_SCATTER = jax.lax.ScatterDimensionNumbers(
    update_window_dims=(1,), inserted_window_dims=(), scatter_dims_to_operand_dims=(0,)
)


def window_offsets(starts, length: int, reference_length: int):
    """Row of each read's first column in a table padded by `length` rows on both sides.

    Clipping a start to `[-length, reference_length]` keeps every window inside the padded
    table; a read clipped that way lies wholly in the padding, where it adds nothing.
    """
    return jnp.clip(starts, -length, reference_length) + length


def scatter_flat(table, offsets, values):
    """Add each read's `(length * k)` values to one contiguous window of a flat table."""
    num_reads, length, k = values.shape
    return jax.lax.scatter_add(
        table,
        (offsets * k)[:, None],
        values.reshape(num_reads, length * k),
        _FLAT_SCATTER,
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )


def padded_block_sums(column_fn, inputs, starts, reference_length: int):
    """Padded `(reference_length + 2 length, k_j)` tables of `column_fn(*inputs)` summed by row.

    `column_fn` maps per-column inputs `(reads, length, ...)` to a tuple of
    `(reads, length, k_j)` values.
    """
    length = inputs[0].shape[1]
    offsets = window_offsets(starts, length, reference_length)
    return _sums_at(column_fn, inputs, offsets, reference_length + 2 * length)[0]


def _sums_at(column_fn, inputs, offsets, rows: int, valid_fn=None):
    """`(rows, k_j)` tables: each read's values added from row `offsets[n]` on, and whether
    `valid_fn(*inputs)` holds for every block (True without `valid_fn`).

    `column_fn` is applied to `BLOCK_READS` reads at a time inside a `fori_loop`. The remainder
    block is done once outside the loop, which avoids copying the inputs into a padded array.
    Several tables are filled in one pass over the reads; they are separate because
    concatenating values along a minor axis is slow on CPU. `valid_fn` (a bool per block)
    checks the inputs in the same pass, while the block is in cache.
    """
    num_reads, length = inputs[0].shape[:2]
    example = [jax.ShapeDtypeStruct((1, *x.shape[1:]), x.dtype) for x in inputs]
    value_shapes = jax.eval_shape(column_fn, *example)
    widths = [shape.shape[-1] for shape in value_shapes]
    tables = tuple(jnp.zeros((rows * k,), shape.dtype) for k, shape in zip(widths, value_shapes))
    valid = jnp.array(True)
    if num_reads > 0 and length > 0:
        block = min(BLOCK_READS, num_reads)
        full_blocks = num_reads // block

        def add(state, chunk_offsets, chunk):
            tables, valid = state
            values = column_fn(*chunk)
            if valid_fn is not None:
                valid = valid & valid_fn(*chunk)
            return tuple(scatter_flat(t, chunk_offsets, v) for t, v in zip(tables, values)), valid

        def add_block(index, state):
            first = index * block
            chunk = [jax.lax.dynamic_slice_in_dim(x, first, block) for x in inputs]
            return add(state, jax.lax.dynamic_slice_in_dim(offsets, first, block), chunk)

        tables, valid = jax.lax.fori_loop(0, full_blocks, add_block, (tables, valid))
        done = full_blocks * block
        if done < num_reads:
            tables, valid = add((tables, valid), offsets[done:], [x[done:] for x in inputs])
    return tuple(t.reshape(-1, k) for t, k in zip(tables, widths)), valid


def unpad(table, length: int, reference_length: int):
    """The `reference_length` rows of a padded table."""
    return table[length : length + reference_length]


def block_sums(column_fn, inputs, starts, reference_length: int):
    """`(reference_length, k_j)` tables of `column_fn(*inputs)` summed by row (no derivatives
    of their own: use for integer values, or inside a custom JVP).

    Under `jax.vmap` the samples are not looped over: their reads are piled into one table
    with a padded segment per sample (a read's window never leaves its sample's segment), the
    speed of one pileup of all the reads.
    """
    return checked_block_sums(column_fn, None, inputs, starts, reference_length)[0]


def checked_block_sums(column_fn, valid_fn, inputs, starts, reference_length: int):
    """`block_sums`, and whether `valid_fn(*inputs)` (a bool per block of reads, or None)
    holds for all the reads (of all samples, under `jax.vmap`)."""
    length = inputs[0].shape[1]

    @jax.custom_batching.custom_vmap
    def sums(inputs, starts):
        offsets = window_offsets(starts, length, reference_length)
        tables, valid = _sums_at(
            column_fn, inputs, offsets, reference_length + 2 * length, valid_fn
        )
        return tuple(unpad(t, length, reference_length) for t in tables), valid

    @sums.def_vmap
    def sums_of_samples(axis_size, in_batched, inputs, starts):
        inputs, starts = jax.tree.map(
            lambda x, batched: x if batched else jnp.broadcast_to(x, (axis_size, *x.shape)),
            (inputs, starts),
            tuple(in_batched),
        )
        segment = reference_length + 2 * length
        offsets = window_offsets(starts, length, reference_length)
        offsets = offsets + segment * jnp.arange(axis_size, dtype=offsets.dtype)[:, None]
        flat = [x.reshape(-1, *x.shape[2:]) for x in inputs]
        tables, valid = _sums_at(
            column_fn, flat, offsets.reshape(-1), axis_size * segment, valid_fn
        )
        out = tuple(
            t.reshape(axis_size, segment, -1)[:, length : length + reference_length] for t in tables
        )
        return (out, valid), (tuple(True for _ in out), False)

    return sums(tuple(inputs), starts)


def _weighted_values(values, weights):
    return (values * weights[..., None],)


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def weighted_window_sum(values, weights, starts, reference_length):
    """`sum weights[n, i] * values[n, i, :]` into row `starts[n] + i`, float values.

    Derivatives: the custom JVP returns the tangent as one scatter per term of the product
    rule, written so that its automatic transpose (reverse mode) is a gather of each read's
    window of the cotangent, which is what a hand-written VJP would do.
    """
    (table,) = block_sums(_weighted_values, (values, weights), starts, reference_length)
    return table


def _padded_scatter_column(values, offsets, reference_length: int):
    length = values.shape[1]
    table = jnp.zeros((reference_length + 2 * length,), values.dtype)
    return scatter_flat(table, offsets, values[..., None])


def _weighted_window_sum_jvp(reference_length, primals, tangents):
    values, weights, starts = primals
    values_dot, weights_dot, _ = tangents
    out = weighted_window_sum(values, weights, starts, reference_length)
    return out, _weighted_tangent(
        values,
        weights,
        None if isinstance(values_dot, SymbolicZero) else values_dot,
        None if isinstance(weights_dot, SymbolicZero) else weights_dot,
        starts,
        reference_length,
        out.dtype,
    )


def _weighted_tangent(values, weights, values_dot, weights_dot, starts, reference_length, dtype):
    """The tangent of `weighted_window_sum` (a None tangent is zero)."""
    num_reads, length, k = values.shape
    if num_reads == 0 or length == 0:
        return jnp.zeros((reference_length, k), dtype)
    offsets = window_offsets(starts, length, reference_length)
    if weights_dot is None and values_dot is not None:
        # Only the values move: one scatter per channel. With one scatter of whole windows, the
        # transpose has a single consumer of the cotangent, a gather of each read's window, and
        # XLA fuses the cotangent's producers into it, recomputing them for every column of
        # every read; four column gathers make XLA compute the cotangent once (gradient of the
        # distribution with respect to the reads alone, `python benchmarks/kernel_variants.py
        # --workload XL`, group "f+b, reads only").
        columns = [
            _padded_scatter_column(values_dot[..., channel] * weights, offsets, reference_length)
            for channel in range(k)
        ]
        return unpad(jnp.stack(columns, axis=-1), length, reference_length)
    table = jnp.zeros(((reference_length + 2 * length) * k,), dtype)
    if values_dot is not None:
        table = scatter_flat(table, offsets, values_dot * weights[..., None])
    table = table.reshape(-1, k)
    if weights_dot is not None:
        # One scatter per channel: the transpose is then a gather of each channel's column of
        # the cotangent times that channel of the values, with no (reads, length, k) sum.
        columns = [
            _padded_scatter_column(values[..., channel] * weights_dot, offsets, reference_length)
            for channel in range(k)
        ]
        table = table + jnp.stack(columns, axis=-1)
    # Meant to keep XLA from fusing the cotangent's producers into the gathers of the
    # transpose. XLA on CPU removes the barrier before fusion (the compiled program has none);
    # there, the several gathers above are what keep the cotangent computed once.
    table = jax.lax.optimization_barrier(table)
    return unpad(table, length, reference_length)


weighted_window_sum.defjvp(_weighted_window_sum_jvp, symbolic_zeros=True)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 4, 5))
def lazily_weighted_window_sum(values, weight_fn, weight_inputs, starts, reference_length, check):
    """`weighted_window_sum(values, weight_fn(*weight_inputs), starts, reference_length)`, with
    the `(reads, length)` weights made block by block inside the loop: weights that take a
    computation per column (e.g. from base qualities) then cost no pass of their own over
    memory. Same derivatives as `weighted_window_sum`.

    `check`, None or `(valid_fn, message)`: the sum raises `message` (also under `jax.jit`)
    unless `valid_fn(*weight_inputs)` holds for every block of reads, checked in the same pass.
    """

    def column_values(values, *inputs):
        return _weighted_values(values, weight_fn(*inputs))

    valid_fn = None if check is None else (lambda values, *inputs: check[0](*inputs))
    (table,), valid = checked_block_sums(
        column_values, valid_fn, (values, *weight_inputs), starts, reference_length
    )
    if check is not None:
        table = eqx.error_if(table, ~valid, check[1])
    return table


def _lazily_weighted_window_sum_jvp(weight_fn, reference_length, check, primals, tangents):
    values, weight_inputs, starts = primals
    values_dot, inputs_dot, _ = tangents
    out = lazily_weighted_window_sum(
        values, weight_fn, weight_inputs, starts, reference_length, check
    )
    if all(isinstance(t, SymbolicZero) for t in inputs_dot):
        weights, weights_dot = weight_fn(*weight_inputs), None
    else:
        dots = [
            _zero_tangent(x) if isinstance(t, SymbolicZero) else t
            for x, t in zip(weight_inputs, inputs_dot)
        ]
        weights, weights_dot = jax.jvp(weight_fn, tuple(weight_inputs), tuple(dots))
    values_dot = None if isinstance(values_dot, SymbolicZero) else values_dot
    tangent = _weighted_tangent(
        values, weights, values_dot, weights_dot, starts, reference_length, out.dtype
    )
    return out, tangent


lazily_weighted_window_sum.defjvp(_lazily_weighted_window_sum_jvp, symbolic_zeros=True)


def _zero_tangent(x):
    """A zero tangent of `x` (`float0` for integers, as `jax.jvp` wants)."""
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, dtype=jax.dtypes.float0)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 4))
def mapped_window_sum(column_fn, fast_sum, inputs, starts, reference_length):
    """`sum column_fn(*inputs)[n, i, :]` into row `starts[n] + i`, values made per block.

    `column_fn` returns one `(reads, length, k)` array. `fast_sum(inputs, starts,
    reference_length)`, when not None, computes the same sums another (faster) way; it is used
    for the values only, derivatives always come from `column_fn`.
    """
    if fast_sum is not None:
        return fast_sum(inputs, starts, reference_length)
    (table,) = block_sums(lambda *x: (column_fn(*x),), inputs, starts, reference_length)
    return table


def _mapped_window_sum_jvp(column_fn, fast_sum, reference_length, primals, tangents):
    inputs, starts = primals
    inputs_dot, _ = tangents
    out = mapped_window_sum(column_fn, fast_sum, inputs, starts, reference_length)
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
    offsets = window_offsets(starts, length, reference_length)
    table = jnp.zeros(((reference_length + 2 * length) * k,), out.dtype)
    table = scatter_flat(table, offsets, values_dot).reshape(-1, k)
    table = jax.lax.optimization_barrier(table)  # see _weighted_window_sum_jvp
    return out, unpad(table, length, reference_length)


mapped_window_sum.defjvp(_mapped_window_sum_jvp, symbolic_zeros=True)

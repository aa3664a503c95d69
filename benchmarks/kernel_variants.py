"""The design choices of softpile's pileup kernel, each against its alternatives (workload M,
or XL with `--workload XL`).

Run from the repository root:

    python benchmarks/kernel_variants.py [--repeats 11] [--workload XL]

Prints medians (round-robin timing, `block_until_ready`, jit) of:

- error probability of integer qualities: `10**(-Q/10)`, `exp(-Q ln10 / 10)` (softpile), and a
  256-entry table lookup;
- forward weighted counts: one scatter of the whole weighted array with `(L, C)` windows (the
  first version of the kernel), the same with flat 1-D windows, and the blocked loop, with the
  weights made before it (a pass of their own over memory) or inside it, block by block
  (softpile);
- the check that qualities are finite and >= 0 on those counts: none, a check that returns
  the qualities (so they are copied through it), one that returns the read starts (a pass of
  its own over the qualities), and one made block by block inside the counts' loop
  (softpile);
- forward+backward of `sum(distribution * target)` with respect to reads and qualities:
  plain autodiff through the blocked loop, a hand-written `jax.custom_vjp` (gather backward,
  no forward mode), the custom JVP without and with its `optimization_barrier`, and the last
  with the weights made inside the loop (softpile);
- forward+backward with respect to the reads alone: the tangent as one scatter of whole
  windows (its transpose is one gather, into which XLA fuses the cotangent's producers) and
  as one scatter per channel (softpile); and
  the three custom derivatives of the first forward+backward group again, with the
  distribution written as `counts / coverage[:, None]`.
"""

import argparse
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import softpile
from softpile import _kernel
from softpile._quality import check_quality, quality_error, quality_is_valid

WORKLOADS = {"M": (20_000, 100_000), "XL": (200_000, 1_000_000)}
"""Reads and reference positions of each workload (reads of 150 columns), as in `speed.py`."""
LENGTH = 150
NUM_READS, REFERENCE_LENGTH = WORKLOADS["M"]  # `--workload` sets them


def error_power(quality):
    return jnp.minimum(10.0 ** (-quality / 10.0), 0.75)


_TABLE = np.minimum(10.0 ** (-np.arange(256) / 10.0), 0.75).astype(np.float32)


def error_table(quality):
    return jnp.asarray(_TABLE)[jnp.clip(quality, 0, 255).astype(jnp.int32)]


def weights_of(quality):
    return 1.0 - softpile.phred_to_error(quality)


def counts_one_scatter_2d(reads, quality, starts):
    """The first kernel: one scatter_add of (L, C) windows of the whole weighted array."""
    offsets = jnp.clip(starts, -LENGTH, REFERENCE_LENGTH) + LENGTH
    table = jnp.zeros((REFERENCE_LENGTH + 2 * LENGTH, reads.shape[2]), reads.dtype)
    numbers = jax.lax.ScatterDimensionNumbers(
        update_window_dims=(1, 2), inserted_window_dims=(), scatter_dims_to_operand_dims=(0,)
    )
    table = jax.lax.scatter_add(
        table,
        offsets[:, None],
        reads * weights_of(quality)[..., None],
        numbers,
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )
    return table[LENGTH : LENGTH + REFERENCE_LENGTH]


def counts_one_scatter_flat(reads, quality, starts):
    offsets = _kernel.window_offsets(starts, LENGTH, REFERENCE_LENGTH)
    table = jnp.zeros(((REFERENCE_LENGTH + 2 * LENGTH) * reads.shape[2],), reads.dtype)
    table = _kernel.scatter_flat(table, offsets, reads * weights_of(quality)[..., None])
    return table.reshape(-1, reads.shape[2])[LENGTH : LENGTH + REFERENCE_LENGTH]


def counts_blocked_loop(reads, quality, starts):
    return _kernel.weighted_window_sum(reads, weights_of(quality), starts, REFERENCE_LENGTH)


def counts_weights_in_loop(reads, quality, starts, check=None):
    return _kernel.lazily_weighted_window_sum(
        reads, weights_of, (quality,), starts, REFERENCE_LENGTH, check
    )


def counts_plain_loop(reads, quality, starts):
    (table,) = _kernel.padded_block_sums(
        _kernel._weighted_values, (reads, weights_of(quality)), starts, REFERENCE_LENGTH
    )
    return _kernel.unpad(table, LENGTH, REFERENCE_LENGTH)


def counts_quality_checked_through_itself(reads, quality, starts):
    """The check of the qualities returning the qualities (a copy of them)."""
    bad = ~(quality >= 0) | ~jnp.isfinite(quality)
    return counts_weights_in_loop(reads, eqx.error_if(quality, bad, "bad quality"), starts)


def counts_quality_checked_on_starts(reads, quality, starts):
    """The check returning the starts, which every sum depends on (a pass of its own)."""
    return counts_weights_in_loop(reads, quality, check_quality(quality, starts))


def counts_quality_checked_in_loop(reads, quality, starts):
    """The check made block by block in the counts' own loop (softpile)."""
    return counts_weights_in_loop(reads, quality, starts, (quality_is_valid, quality_error()))


_FLAT_GATHER = jax.lax.GatherDimensionNumbers(
    offset_dims=(1,), collapsed_slice_dims=(), start_index_map=(0,)
)


def gather_flat(table, offsets, length: int, k: int):
    """Transpose of softpile's flat scatter: each read's `(length, k)` window of a table."""
    windows = jax.lax.gather(
        table.reshape(-1),
        (offsets * k)[:, None],
        _FLAT_GATHER,
        (length * k,),
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )
    return windows.reshape(offsets.shape[0], length, k)


@jax.custom_vjp
def counts_custom_vjp(reads, weights, starts):
    return _kernel.weighted_window_sum(reads, weights, starts, REFERENCE_LENGTH)


def _vjp_forward(reads, weights, starts):
    return counts_custom_vjp(reads, weights, starts), (reads, weights, starts)


def _vjp_backward(residuals, cotangent):
    reads, weights, starts = residuals
    k = reads.shape[2]
    offsets = _kernel.window_offsets(starts, LENGTH, REFERENCE_LENGTH)
    padded = jnp.pad(cotangent, ((LENGTH, LENGTH), (0, 0)))
    windows = gather_flat(padded, offsets, LENGTH, k)
    reads_bar = windows * weights[..., None]
    weights_bar = sum(
        gather_flat(padded[:, c], offsets, LENGTH, 1)[..., 0] * reads[..., c] for c in range(k)
    )
    return reads_bar, weights_bar, np.zeros(starts.shape, jax.dtypes.float0)


counts_custom_vjp.defvjp(_vjp_forward, _vjp_backward)


@jax.custom_jvp
def counts_jvp_no_barrier(reads, weights, starts):
    return _kernel.weighted_window_sum(reads, weights, starts, REFERENCE_LENGTH)


@counts_jvp_no_barrier.defjvp
def _jvp_no_barrier(primals, tangents):
    reads, weights, starts = primals
    reads_dot, weights_dot, _ = tangents
    k = reads.shape[2]
    offsets = _kernel.window_offsets(starts, LENGTH, REFERENCE_LENGTH)
    table = jnp.zeros(((REFERENCE_LENGTH + 2 * LENGTH) * k,), reads.dtype)
    table = _kernel.scatter_flat(table, offsets, reads_dot * weights[..., None]).reshape(-1, k)
    columns = [
        _kernel._padded_scatter_column(reads[..., c] * weights_dot, offsets, REFERENCE_LENGTH)
        for c in range(k)
    ]
    table = table + jnp.stack(columns, axis=-1)
    out = counts_jvp_no_barrier(reads, weights, starts)
    return out, table[LENGTH : LENGTH + REFERENCE_LENGTH]


@jax.custom_jvp
def counts_one_window_gather(reads, weights, starts):
    """For the gradient with respect to the reads alone: the tangent as one scatter of whole
    windows (the weights' tangent is ignored), so that its transpose is one gather."""
    return _kernel.weighted_window_sum(reads, weights, starts, REFERENCE_LENGTH)


@counts_one_window_gather.defjvp
def _jvp_one_window_gather(primals, tangents):
    reads, weights, starts = primals
    k = reads.shape[2]
    offsets = _kernel.window_offsets(starts, LENGTH, REFERENCE_LENGTH)
    table = jnp.zeros(((REFERENCE_LENGTH + 2 * LENGTH) * k,), reads.dtype)
    table = _kernel.scatter_flat(table, offsets, tangents[0] * weights[..., None]).reshape(-1, k)
    out = counts_one_window_gather(reads, weights, starts)
    return out, table[LENGTH : LENGTH + REFERENCE_LENGTH]


def distribution_of(counts):
    coverage = counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]
    nonzero = coverage > 0
    safe = jnp.where(nonzero, coverage, 1.0)
    return jnp.stack([jnp.where(nonzero, counts[:, c] / safe, 0.25) for c in range(4)], axis=-1)


def broadcast_distribution_of(counts):
    """The same, written as `counts / coverage[:, None]` (as user code might)."""
    coverage = counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]
    nonzero = coverage > 0
    return jnp.where(nonzero[:, None], counts / jnp.where(nonzero, coverage, 1.0)[:, None], 0.25)


def gradient_of(counts_fn, distribution=distribution_of, argnums=(0, 1)):
    def loss(reads, quality, starts, target):
        return jnp.sum(distribution(counts_fn(reads, quality, starts)) * target)

    return jax.jit(jax.grad(loss, argnums=argnums))


def with_weights(counts_fn):
    return lambda reads, quality, starts: counts_fn(reads, weights_of(quality), starts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="M")
    args = parser.parse_args(argv)
    global NUM_READS, REFERENCE_LENGTH
    NUM_READS, REFERENCE_LENGTH = WORKLOADS[args.workload]
    rng = np.random.default_rng(0)
    reads = jnp.asarray(np.eye(4, dtype=np.float32)[rng.integers(0, 4, (NUM_READS, LENGTH))])
    quality = jnp.asarray(rng.integers(0, 41, (NUM_READS, LENGTH)).astype(np.float32))
    starts = jnp.asarray(rng.integers(-LENGTH, REFERENCE_LENGTH, NUM_READS).astype(np.int32))
    target = jnp.asarray(rng.random((REFERENCE_LENGTH, 4)).astype(np.float32))

    def counts_variant(name, counts_fn):
        return name, jax.jit(counts_fn), (reads, quality, starts)

    groups = {
        "error probability": [
            ("10**(-Q/10)", jax.jit(error_power), (quality,)),
            ("exp(-Q ln10/10) (softpile)", jax.jit(softpile.phred_to_error), (quality,)),
            ("256-entry table lookup", jax.jit(error_table), (quality,)),
        ],
        "forward counts": [
            counts_variant("one scatter, (L, C) windows", counts_one_scatter_2d),
            counts_variant("one scatter, flat windows", counts_one_scatter_flat),
            counts_variant("loop, weights made first", counts_blocked_loop),
            counts_variant("loop, weights made in it (softpile)", counts_weights_in_loop),
        ],
        "checked counts": [
            counts_variant("no check", counts_weights_in_loop),
            counts_variant("check returns the qualities", counts_quality_checked_through_itself),
            counts_variant("check returns the starts", counts_quality_checked_on_starts),
            counts_variant("check in the loop (softpile)", counts_quality_checked_in_loop),
        ],
        "forward+backward": [
            ("autodiff through the loop", gradient_of(counts_plain_loop), None),
            ("custom_vjp, gather backward", gradient_of(with_weights(counts_custom_vjp)), None),
            ("custom JVP, no barrier", gradient_of(with_weights(counts_jvp_no_barrier)), None),
            ("custom JVP + barrier", gradient_of(counts_blocked_loop), None),
            ("+ weights made in loop (softpile)", gradient_of(counts_weights_in_loop), None),
        ],
        "f+b, reads only": [
            (
                "one gather of windows",
                gradient_of(with_weights(counts_one_window_gather), argnums=0),
                None,
            ),
            (
                "a gather per channel (softpile)",
                gradient_of(counts_weights_in_loop, argnums=0),
                None,
            ),
        ],
        "f+b, broadcast dist.": [
            (
                "custom_vjp, gather backward",
                gradient_of(with_weights(counts_custom_vjp), broadcast_distribution_of),
                None,
            ),
            (
                "custom JVP, no barrier",
                gradient_of(with_weights(counts_jvp_no_barrier), broadcast_distribution_of),
                None,
            ),
            (
                "custom JVP + barrier",
                gradient_of(counts_blocked_loop, broadcast_distribution_of),
                None,
            ),
        ],
    }
    calls = []
    for group, variants in groups.items():
        for name, fn, arguments in variants:
            arguments = arguments or (reads, quality, starts, target)
            jax.block_until_ready(fn(*arguments))  # compile and warm up
            calls.append((group, name, fn, arguments, []))

    reference = np.asarray(counts_one_scatter_2d(reads, quality, starts))
    for _, name, fn, arguments, _ in calls[3:11]:  # every variant of the counts
        error = float(np.abs(np.asarray(fn(*arguments)) - reference).max())
        assert error < 1e-2, f"{name} disagrees with the one-scatter counts by {error}"

    for _ in range(args.repeats):
        for _, _, fn, arguments, times in calls:
            begin = time.perf_counter()
            jax.block_until_ready(fn(*arguments))
            times.append(time.perf_counter() - begin)

    print(
        f"jax {jax.__version__}, workload {args.workload}: "
        f"{NUM_READS} reads x {LENGTH}, R = {REFERENCE_LENGTH}"
    )
    print(f"{'group':20} {'variant':34} {'median ms':>10} {'fastest ms':>10} {'spread':>7}")
    for group, name, _, _, times in calls:
        median = statistics.median(times)
        print(
            f"{group:20} {name:34} {median * 1e3:10.2f} {min(times) * 1e3:10.2f} "
            f"{(max(times) - min(times)) / median:7.0%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

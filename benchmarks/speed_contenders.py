"""What `speed.py` compares: its workloads, their random inputs, and every contender as a
function `(reads, quality, starts, reference_length) -> quantity` (see `speed.py` for what each
one is, and for the timing)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import softpile
from softpile import _genotypes, _kernel


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    samples: int  # 0: a single sample, no vmap
    reads: int
    length: int
    reference_length: int


WORKLOADS = {
    "S": Workload("S", 0, 50, 30, 100),
    "M": Workload("M", 0, 20_000, 150, 100_000),
    "batch": Workload("batch", 16, 2_000, 100, 10_000),
    "XL": Workload("XL", 0, 200_000, 150, 1_000_000),
}


def make_inputs(workload: Workload, seed: int = 0, in_order: bool = False):
    """Random one-hot reads, integer Phred qualities 0..40, starts overhanging both ends; with
    `in_order`, the reads sorted by start (coordinate order, as a sorted BAM gives them)."""
    rng = np.random.default_rng(seed)
    batch = (workload.samples,) if workload.samples else ()
    shape = (*batch, workload.reads, workload.length)
    codes = rng.integers(0, 4, shape)
    reads = np.eye(4, dtype=np.float32)[codes]
    quality = rng.integers(0, 41, shape).astype(np.float32)
    starts = rng.integers(
        -workload.length, workload.reference_length, (*batch, workload.reads)
    ).astype(np.int32)
    target = rng.random((*batch, workload.reference_length, 4)).astype(np.float32)
    if in_order:
        order = np.argsort(starts, axis=-1, kind="stable")
        reads = np.take_along_axis(reads, order[..., None, None], axis=-3)
        quality = np.take_along_axis(quality, order[..., None], axis=-2)
        starts = np.take_along_axis(starts, order, axis=-1)
    return reads, quality, starts, target


def softpile_distribution(reads, quality, starts, reference_length):
    return softpile.pileup(reads, starts, reference_length, quality=quality).distribution


def softpile_counts(reads, quality, starts, reference_length):
    return softpile.pileup(reads, starts, reference_length, quality=quality).counts


def softpile_soft_placement_distribution(reads, quality, starts, reference_length):
    """Soft placement with K = 2: every read split evenly between its start and 7 further."""
    candidates = jnp.stack([starts, starts + 7], axis=-1)
    offset_weights = jnp.full(candidates.shape, 0.5, reads.dtype)
    return softpile.pileup(
        reads, candidates, reference_length, quality=quality, offset_weights=offset_weights
    ).distribution


def _weights(quality):
    return 1.0 - softpile.phred_to_error(quality)


def softpile_plain_autodiff_distribution(reads, quality, starts, reference_length):
    """softpile's blocked kernel without its custom JVP: plain autodiff through the loop."""
    (padded,) = _kernel.padded_block_sums(
        _kernel._weighted_values, (reads, _weights(quality)), starts, reference_length
    )
    counts = _kernel.unpad(padded, reads.shape[1], reference_length)
    coverage = counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]
    nonzero = coverage > 0
    return jnp.where(nonzero[:, None], counts / jnp.where(nonzero, coverage, 1.0)[:, None], 0.25)


def softpile_log_likelihoods(reads, quality, starts, reference_length):
    return softpile.pileup(reads, starts, reference_length, quality=quality).log_likelihoods


def softpile_general_log_likelihoods(reads, quality, starts, reference_length):
    """The per-column path (10 logs a column) that soft reads take, on the same reads."""
    read_columns = jnp.ones((reads.shape[0], 1), reads.dtype)
    (table,) = _kernel.block_sums(
        lambda *x: (_genotypes._quality_log_likelihoods(*x),),
        (reads, quality, read_columns),
        starts,
        reference_length,
    )
    return table


def sort_starts_contender(reads, quality, starts, reference_length):
    """What sorting the reads inside `pileup` would add at least: XLA sorting the starts."""
    return jnp.argsort(starts, axis=-1)


def read_inputs(reads, quality, starts):
    """A reference point: XLA reading every input once (a sum of each)."""
    return jnp.sum(reads), jnp.sum(quality), jnp.sum(starts)


def read_inputs_contender(reads, quality, starts, reference_length):
    del reference_length
    return read_inputs(reads, quality, starts)


def touch_inputs_contender(reads, quality, starts, reference_length):
    """The least any compiled call costs: XLA reading one element of each input (the call's
    overhead, which no kernel can go under)."""
    del reference_length
    return reads[..., 0, 0, 0] + quality[..., 0, 0] + starts[..., 0]


def write_gradients_contender(reads, quality, starts, reference_length):
    """A floor for forward+backward: XLA reading the reads and qualities once and writing
    fresh arrays of the gradients' shapes, which every `jax.grad` with respect to them does."""
    del starts, reference_length
    return reads * 2.0, quality * 2.0


def naive_counts(reads, quality, starts, reference_length):
    """DiffBio's algorithm: one segment_sum over every (read, column) element."""
    num_reads, length, channels = reads.shape
    positions = (starts[:, None] + jnp.arange(length)[None, :]).reshape(-1)
    inside = (positions >= 0) & (positions < reference_length)
    weighted = (reads * _weights(quality)[..., None]).reshape(-1, channels)
    weighted = jnp.where(inside[:, None], weighted, 0.0)
    return jax.ops.segment_sum(
        weighted, jnp.where(inside, positions, 0), num_segments=reference_length
    )


def naive_distribution(reads, quality, starts, reference_length):
    counts = naive_counts(reads, quality, starts, reference_length)
    total = jnp.sum(counts, axis=-1, keepdims=True)
    normalised = counts / jnp.maximum(total, 1e-8)
    return jax.nn.softmax(normalised / 1.0, axis=-1)  # DiffBio's temperature 1


def diffbio_distribution():
    """DiffBio's own pileup as a contender, or None where DiffBio is not installed."""
    try:
        from diffbio.operators.variant.pileup import (  # pyright: ignore[reportMissingImports]
            DifferentiablePileup,
            PileupConfig,
        )
    except ImportError:
        return None
    operator = DifferentiablePileup(PileupConfig())

    def distribution(reads, quality, starts, reference_length):
        return operator.compute_pileup(reads, starts, quality, reference_length)["pileup"]

    return distribution


def numpy_counts(reads, quality, starts, reference_length):
    num_reads, length, channels = reads.shape
    weights = 1.0 - np.minimum(10.0 ** (-quality / 10.0), 0.75)
    positions = (starts[:, None] + np.arange(length)[None, :]).reshape(-1)
    inside = (positions >= 0) & (positions < reference_length)
    weighted = (reads * weights[..., None]).reshape(-1, channels)
    counts = np.zeros((reference_length, channels), np.float32)
    np.add.at(counts, positions[inside], weighted[inside])
    return counts


def numpy_distribution(reads, quality, starts, reference_length):
    counts = numpy_counts(reads, quality, starts, reference_length)
    coverage = counts.sum(-1, keepdims=True)
    return np.where(coverage > 0, counts / np.where(coverage > 0, coverage, 1.0), 0.25)

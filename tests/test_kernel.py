"""The blocked scatter kernel of `pileup` and its custom derivatives.

References are independent of the code under test: `np.add.at` in NumPy for values, and a
plain-JAX `.at[].add` kernel (differentiated by JAX's own autodiff) for gradients.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import softpile
from softpile import _kernel

GENOTYPE_PAIRS = [("ACGT".index(g[0]), "ACGT".index(g[1])) for g in softpile.GENOTYPES]


def random_problem(seed, num_reads, length, reference_length, channels=4, soft=True, padding=True):
    """Reads (soft or one-hot, with padding and N columns), qualities, starts hanging over
    both ends, per-read weights and insertion flags."""
    rng = np.random.default_rng(seed)
    if soft:
        reads = rng.uniform(0.05, 1.0, (num_reads, length, channels))
    else:
        reads = np.eye(channels)[rng.integers(0, channels, (num_reads, length))]
    if padding:
        reads[rng.random((num_reads, length)) < 0.1] = 0.0
    reads[rng.random((num_reads, length)) < 0.05] = 0.25 * (np.arange(channels) < 4)  # N
    quality = rng.uniform(0.0, 45.0, (num_reads, length))
    quality[rng.random((num_reads, length)) < 0.05] = 0.0  # Q0: error capped at 3/4
    starts = rng.integers(-length - 2, reference_length + 2, num_reads)
    read_weights = rng.uniform(0.2, 1.0, num_reads)
    insertions = (rng.random((num_reads, length)) < 0.1).astype(float)
    return reads, quality, starts, read_weights, insertions


def numpy_pileup(reads, starts, reference_length, quality, read_weights, insertions):
    """Every field of `Pileup`, read by read, column by column, with np.add.at (float64)."""
    num_reads, length, channels = reads.shape
    error = np.minimum(10.0 ** (-quality / 10.0), 0.75)
    weight = read_weights[:, None] * (1.0 - error)
    positions = starts[:, None] + np.arange(length)[None, :]
    inside = (positions >= 0) & (positions < reference_length)
    rows = positions[inside]

    def add(values):
        table = np.zeros((reference_length, *values.shape[2:]))
        np.add.at(table, rows, values[inside])
        return table

    counts = add(weight[..., None] * reads)
    coverage = counts.sum(-1)
    safe = np.where(coverage > 0, coverage, 1.0)
    distribution = np.where(coverage[:, None] > 0, counts / safe[:, None], 1.0 / channels)
    depth = add((reads != 0).any(-1).astype(np.int64))
    quality_sum = add(weight * reads.sum(-1) * quality)
    mean_quality = np.where(coverage > 0, quality_sum / safe, 0.0)
    insertion_counts = add(weight * insertions)
    bases = reads[..., :4]
    total = bases.sum(-1, keepdims=True)
    p = np.where(total > 0, bases / np.where(total > 0, total, 1.0), 0.25)
    given = p * (1.0 - error[..., None]) + (1.0 - p) * error[..., None] / 3.0
    likelihood = np.stack([0.5 * (given[..., a] + given[..., b]) for a, b in GENOTYPE_PAIRS], -1)
    strength = read_weights[:, None] * total[..., 0]
    log_likelihoods = add(strength[..., None] * np.log(likelihood))
    return dict(
        counts=counts,
        coverage=coverage,
        depth=depth,
        distribution=distribution,
        mean_quality=mean_quality,
        insertions=insertion_counts,
        log_likelihoods=log_likelihoods,
    )


def autodiff_reference(reads, starts, reference_length, quality, read_weights, insertions):
    """The float fields of `Pileup` with a plain `.at[].add` scatter (JAX autodiff only)."""
    num_reads, length, channels = reads.shape
    error = jnp.minimum(10.0 ** (-quality / 10.0), 0.75)
    weight = read_weights[:, None] * (1.0 - error)
    positions = (starts[:, None] + jnp.arange(length)[None, :]).reshape(-1)
    inside = (positions >= 0) & (positions < reference_length)
    rows = jnp.where(inside, positions, reference_length)  # an extra row, dropped

    def add(values):
        flat = values.reshape(num_reads * length, -1)
        table = jnp.zeros((reference_length + 1, flat.shape[1]), flat.dtype)
        return table.at[rows].add(flat)[:reference_length]

    counts = add(weight[..., None] * reads)
    coverage = jnp.sum(counts, -1)
    nonzero = coverage > 0
    safe = jnp.where(nonzero, coverage, 1.0)
    distribution = jnp.where(nonzero[:, None], counts / safe[:, None], 1.0 / channels)
    quality_sum = add(weight * jnp.sum(reads, -1) * quality)[:, 0]
    mean_quality = jnp.where(nonzero, quality_sum / safe, 0.0)
    insertion_counts = add(weight * insertions)[:, 0]
    bases = reads[..., :4]
    total = jnp.sum(bases, -1, keepdims=True)
    p = jnp.where(total > 0, bases / jnp.where(total > 0, total, 1.0), 0.25)
    e = error[..., None]
    given = p * (1.0 - e) + (1.0 - p) * e / 3.0
    likelihood = jnp.stack([0.5 * (given[..., a] + given[..., b]) for a, b in GENOTYPE_PAIRS], -1)
    strength = read_weights[:, None] * total[..., 0]
    log_likelihoods = add(strength[..., None] * jnp.log(likelihood))
    return dict(
        counts=counts,
        coverage=coverage,
        distribution=distribution,
        mean_quality=mean_quality,
        insertions=insertion_counts,
        log_likelihoods=log_likelihoods,
    )


FLOAT_FIELDS = (
    "counts",
    "coverage",
    "distribution",
    "mean_quality",
    "insertions",
    "log_likelihoods",
)


def softpile_fields(reads, starts, reference_length, quality, read_weights, insertions):
    result = softpile.pileup(
        reads,
        starts,
        reference_length,
        quality=quality,
        read_weights=read_weights,
        insertions=insertions,
    )
    return {name: getattr(result, name) for name in FLOAT_FIELDS}


def scalar_loss(fields_fn, projections, reference_length):
    """A scalar that depends on every float field (random projections)."""

    def loss(reads, quality, read_weights, insertions, starts):
        fields = fields_fn(reads, starts, reference_length, quality, read_weights, insertions)
        return sum(jnp.sum(fields[name] * projections[name]) for name in FLOAT_FIELDS)

    return loss


def projections_for(reference_length, channels, seed=3, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shapes = {
        "counts": (reference_length, channels),
        "coverage": (reference_length,),
        "distribution": (reference_length, channels),
        "mean_quality": (reference_length,),
        "insertions": (reference_length,),
        "log_likelihoods": (reference_length, 10),
    }
    return {name: jnp.asarray(rng.normal(size=shape), dtype) for name, shape in shapes.items()}


def as_f32(*arrays):
    return [jnp.asarray(a, jnp.float32) for a in arrays]


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("block", [1, 7, 1024])
@pytest.mark.parametrize("num_reads", [0, 1, 23])
def test_window_sums_equal_np_add_at(monkeypatch, block, num_reads):
    """Loop blocks, the remainder block and overhanging reads all land where np.add.at puts
    them (eager, so the patched block size is used)."""
    monkeypatch.setattr(_kernel, "BLOCK_READS", block)
    rng = np.random.default_rng(num_reads)
    length, reference_length, k = 6, 15, 3
    values = rng.normal(size=(num_reads, length, k)).astype(np.float32)
    weights = rng.random((num_reads, length)).astype(np.float32)
    starts = rng.integers(-length - 3, reference_length + 3, num_reads).astype(np.int32)
    positions = starts[:, None] + np.arange(length)
    inside = (positions >= 0) & (positions < reference_length)
    expected = np.zeros((reference_length, k))
    np.add.at(expected, positions[inside], (weights[..., None] * values)[inside])

    result = _kernel.weighted_window_sum(
        jnp.asarray(values), jnp.asarray(weights), jnp.asarray(starts), reference_length
    )
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)

    integers = rng.integers(0, 5, (num_reads, length, 1)).astype(np.int32)
    expected_integers = np.zeros((reference_length, 1), np.int64)
    np.add.at(expected_integers, positions[inside], integers[inside])
    (result_integers,) = _kernel.block_sums(
        lambda x: (x,), (jnp.asarray(integers),), jnp.asarray(starts), reference_length
    )
    assert result_integers.dtype == jnp.int32
    np.testing.assert_array_equal(result_integers, expected_integers)


@pytest.mark.parametrize("kind", ["soft", "one-hot", "filtered one-hot"])
def test_pileup_fields_equal_numpy_reference(maybe_jit, kind):
    """2100 reads: two full blocks of the loop plus a remainder block, overhangs at both
    ends, padding, N columns, Q0 columns, read weights and insertion flags. One-hot reads
    (also scaled per column, as by `soft_quality_filter`) take the fast log-likelihood path,
    soft reads the general one."""
    reference_length = 40
    reads, quality, starts, read_weights, insertions = random_problem(
        1, 2100, 5, reference_length, soft=kind == "soft"
    )
    if kind == "filtered one-hot":
        reads = reads * np.random.default_rng(11).random(reads.shape[:2])[..., None]
    expected = numpy_pileup(reads, starts, reference_length, quality, read_weights, insertions)
    fn = maybe_jit(softpile.pileup, static_argnums=2)
    result = fn(
        *as_f32(reads),
        jnp.asarray(starts, jnp.int32),
        reference_length,
        quality=jnp.asarray(quality, jnp.float32),
        read_weights=jnp.asarray(read_weights, jnp.float32),
        insertions=jnp.asarray(insertions, jnp.float32),
    )
    for name, value in expected.items():
        got = np.asarray(getattr(result, name))
        assert np.all(np.isfinite(got)), name
        scale = max(1.0, float(np.abs(value).max()))
        np.testing.assert_allclose(got / scale, value / scale, atol=2e-6, err_msg=name)
    np.testing.assert_array_equal(result.depth, expected["depth"])


def test_one_hot_counts_are_exact_without_quality_weighting():
    """Exact integer counts (samtools parity) survive the blocked float32 sums."""
    reference_length = 30
    reads, _, starts, _, _ = random_problem(2, 1500, 8, reference_length, soft=False)
    result = softpile.pileup(
        jnp.asarray(reads, jnp.float32), jnp.asarray(starts, jnp.int32), reference_length
    )
    positions = starts[:, None] + np.arange(8)
    inside = (positions >= 0) & (positions < reference_length)
    expected = np.zeros((reference_length, 4))
    np.add.at(expected, positions[inside], reads[inside])
    np.testing.assert_array_equal(result.counts, expected)


# ----------------------------------------------------------------------------- gradients


def test_reverse_mode_equals_autodiff_of_reference_kernel():
    """jax.grad through the custom JVP (transposed to gathers) equals JAX's autodiff of the
    plain scatter, for every floating input at once."""
    reference_length = 25
    reads, quality, starts, read_weights, insertions = random_problem(4, 1100, 6, reference_length)
    projections = projections_for(reference_length, 4)
    args = (*as_f32(reads, quality, read_weights, insertions), jnp.asarray(starts, jnp.int32))
    ours = jax.grad(scalar_loss(softpile_fields, projections, reference_length), (0, 1, 2, 3))
    theirs = jax.grad(scalar_loss(autodiff_reference, projections, reference_length), (0, 1, 2, 3))
    for got, expected in zip(jax.jit(ours)(*args), theirs(*args)):
        assert np.all(np.isfinite(got))
        scale = max(1.0, float(jnp.abs(expected).max()))
        np.testing.assert_allclose(got / scale, expected / scale, atol=3e-5)


def test_forward_mode_equals_autodiff_of_reference_kernel():
    """jax.jvp works (a custom_vjp would forbid it) and equals the reference's tangent."""
    reference_length = 25
    reads, quality, starts, read_weights, insertions = random_problem(5, 300, 6, reference_length)
    rng = np.random.default_rng(6)
    primals = as_f32(reads, quality, read_weights, insertions)
    tangents = [jnp.asarray(rng.normal(size=x.shape), jnp.float32) for x in primals]
    starts = jnp.asarray(starts, jnp.int32)

    def ours(*floats):
        return softpile_fields(floats[0], starts, reference_length, *floats[1:])

    def theirs(*floats):
        return autodiff_reference(floats[0], starts, reference_length, *floats[1:])

    _, got = jax.jvp(ours, primals, tangents)
    _, expected = jax.jvp(theirs, primals, tangents)
    for name in FLOAT_FIELDS:
        scale = max(1.0, float(jnp.abs(expected[name]).max()))
        np.testing.assert_allclose(
            got[name] / scale, expected[name] / scale, atol=3e-5, err_msg=name
        )


def test_check_grads_forward_and_reverse_in_float64():
    """Finite differences agree with both modes, to second order, for every float input.

    No padding columns here: at an all-zero column the base distribution `reads / sum` has
    no derivative (a kink of the model, not of the kernel)."""
    reference_length = 9
    reads, quality, starts, read_weights, insertions = random_problem(
        7, 6, 4, reference_length, padding=False
    )
    # Keep qualities away from the kink of min(10^(-Q/10), 3/4) at Q = 1.25.
    quality = np.where(quality < 3.0, quality + 3.0, quality)
    with jax.enable_x64(True):
        projections = projections_for(reference_length, 4, dtype=np.float64)
        loss = scalar_loss(softpile_fields, projections, reference_length)
        starts64 = jnp.asarray(starts)

        @jax.jit
        def of_floats(reads, quality, read_weights, insertions):
            return loss(reads, quality, read_weights, insertions, starts64)

        args = [jnp.asarray(x, jnp.float64) for x in (reads, quality, read_weights, insertions)]
        check_grads(of_floats, args, order=2, modes=["fwd", "rev"], atol=1e-4, rtol=1e-4)


def test_gradients_are_finite_for_empty_and_overhanging_reads():
    """Zero reads, empty positions and reads wholly outside the reference give no NaN."""
    reads = jnp.zeros((3, 4, 4), jnp.float32).at[0].set(0.25)
    starts = jnp.array([-10, 2, 50], jnp.int32)
    quality = jnp.zeros((3, 4), jnp.float32)

    def loss(reads, quality):
        result = softpile.pileup(reads, starts, 8, quality=quality)
        return (
            jnp.sum(result.distribution**2)
            + jnp.sum(result.mean_quality)
            + jnp.sum(result.log_likelihoods)
        )

    for gradient in jax.grad(loss, (0, 1))(reads, quality):
        assert np.all(np.isfinite(gradient))


def test_vmap_of_grad_and_grad_of_vmap():
    """Batched samples: the custom JVP works under vmap in both orders and matches a loop."""
    reference_length = 20
    problems = [random_problem(seed, 40, 5, reference_length) for seed in (8, 9, 10)]
    reads, quality, starts, read_weights, insertions = (
        np.stack([problem[i] for problem in problems]) for i in range(5)
    )
    projections = projections_for(reference_length, 4)
    loss = scalar_loss(softpile_fields, projections, reference_length)
    args = (*as_f32(reads, quality, read_weights, insertions), jnp.asarray(starts, jnp.int32))
    per_sample = [jax.grad(loss, (0, 1))(*(x[s] for x in args)) for s in range(3)]
    vmapped = jax.vmap(jax.grad(loss, (0, 1)))(*args)
    summed = jax.grad(lambda *a: jnp.sum(jax.vmap(loss)(*a)), (0, 1))(*args)
    for index in range(2):
        expected = np.stack([g[index] for g in per_sample])
        np.testing.assert_allclose(vmapped[index], expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(summed[index], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mixed", [False, True])
def test_vmapped_log_likelihoods_equal_per_sample(mixed):
    """Under vmap the fast one-hot path is taken for the whole batch only when every sample
    allows it (else the general path for all); values match per-sample calls either way."""
    reference_length = 20
    problems = [random_problem(seed, 30, 5, reference_length, soft=False) for seed in (12, 13)]
    if mixed:
        problems.append(random_problem(14, 30, 5, reference_length, soft=True))
    reads, quality, starts, read_weights, _ = (
        np.stack([problem[i] for problem in problems]) for i in range(5)
    )
    reads, quality, read_weights = as_f32(reads, quality, read_weights)
    starts = jnp.asarray(starts, jnp.int32)

    def log_likelihoods(reads, quality, starts, read_weights):
        return softpile.pileup(
            reads, starts, reference_length, quality=quality, read_weights=read_weights
        ).log_likelihoods

    batched = jax.jit(jax.vmap(log_likelihoods))(reads, quality, starts, read_weights)
    for sample in range(len(problems)):
        expected = numpy_pileup(
            *(np.asarray(x[sample], np.float64) for x in (reads,)),
            np.asarray(starts[sample]),
            reference_length,
            np.asarray(quality[sample], np.float64),
            np.asarray(read_weights[sample], np.float64),
            np.zeros(reads.shape[1:3]),
        )["log_likelihoods"]
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(batched[sample] / scale, expected / scale, atol=2e-6)


@pytest.mark.parametrize("shared_starts", [False, True])
def test_vmap_piles_samples_into_one_table_bit_for_bit(shared_starts):
    """Under vmap the samples share one table (a segment each); every field equals the
    per-sample pileup exactly, also when an argument is not batched, and so do gradients."""
    samples, reference_length = 3, 25
    problems = [random_problem(s, 1100, 6, reference_length) for s in range(samples)]
    reads, quality, starts, read_weights, _ = (
        jnp.asarray(np.stack(x), jnp.int32 if i == 2 else jnp.float32)
        for i, x in enumerate(zip(*problems))
    )
    if shared_starts:
        starts = starts[0]

    def one(reads, starts, quality, read_weights):
        return softpile.pileup(
            reads, starts, reference_length, quality=quality, read_weights=read_weights
        )

    in_axes = (0, None if shared_starts else 0, 0, 0)
    batched = jax.vmap(one, in_axes=in_axes)(reads, starts, quality, read_weights)
    for s in range(samples):
        alone = one(reads[s], starts if shared_starts else starts[s], quality[s], read_weights[s])
        for name in ("counts", "depth", "mean_quality", "log_likelihoods"):
            np.testing.assert_array_equal(getattr(batched, name)[s], getattr(alone, name), name)

    def loss(reads):
        piled = jax.vmap(one, in_axes=in_axes)(reads, starts, quality, read_weights)
        return jnp.sum(piled.distribution[..., 1]) + jnp.sum(piled.log_likelihoods[..., 3])

    gradient = jax.grad(loss)(reads)
    for s in range(samples):

        def loss_alone(r, s=s):
            piled = one(r, starts if shared_starts else starts[s], quality[s], read_weights[s])
            return jnp.sum(piled.distribution[..., 1]) + jnp.sum(piled.log_likelihoods[..., 3])

        np.testing.assert_allclose(gradient[s], jax.grad(loss_alone)(reads[s]), rtol=1e-6)

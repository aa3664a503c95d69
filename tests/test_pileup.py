import chex
import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import numpy_pileup, random_problem
from hypothesis import given, strategies as st

import softpile

FIELDS = (
    "counts",
    "coverage",
    "depth",
    "distribution",
    "mean_quality",
    "insertions",
    "log_likelihoods",
)


def _run(
    problem,
    reference_length,
    *,
    gaps=True,
    n_channel=False,
    quality_weighting=True,
    transform=lambda f, **k: f,
):
    codes, starts, quality, read_weights, insertions = problem
    reads = softpile.one_hot_reads(codes, gaps=gaps, n_channel=n_channel)

    def run(reads, starts, quality, read_weights, insertions):
        return softpile.pileup(
            reads,
            starts,
            reference_length,
            quality=quality,
            read_weights=read_weights,
            insertions=insertions,
            quality_weighting=quality_weighting,
        )

    result = transform(run)(
        reads,
        jnp.asarray(starts),
        jnp.asarray(quality, jnp.float32),
        jnp.asarray(read_weights, jnp.float32),
        jnp.asarray(insertions, jnp.float32),
    )
    expected = numpy_pileup(
        np.asarray(reads),
        starts,
        reference_length,
        quality=quality,
        read_weights=read_weights,
        insertions=insertions,
        quality_weighting=quality_weighting,
    )
    return result, expected


def _assert_matches(result, expected):
    for field in FIELDS:
        np.testing.assert_allclose(
            np.asarray(getattr(result, field)), expected[field], rtol=1e-5, atol=2e-4, err_msg=field
        )


@pytest.mark.parametrize("quality_weighting", [True, False])
@pytest.mark.parametrize(("gaps", "n_channel"), [(False, False), (True, False), (True, True)])
def test_matches_numpy_loop(maybe_jit, quality_weighting, gaps, n_channel):
    rng = np.random.default_rng(3)
    problem = random_problem(rng, num_reads=9, length=6, reference_length=15, channels_gaps=gaps)
    result, expected = _run(
        problem,
        15,
        gaps=gaps,
        n_channel=n_channel,
        quality_weighting=quality_weighting,
        transform=maybe_jit,
    )
    _assert_matches(result, expected)
    chex.assert_shape(result.counts, (15, 4 + gaps + n_channel))
    assert result.depth.dtype == jnp.int32


def test_exact_counts_of_every_symbol():
    """One-hot reads without weighting give integer counts of each symbol, by hand."""
    reads = softpile.one_hot_reads(["AC-N", "AG-", "TTNA"], gaps=True, n_channel=True)
    result = softpile.pileup(reads, jnp.array([0, 0, 1]), 5, quality_weighting=False)
    expected = np.array(
        [
            # A  C  G  T  -  N
            [2, 0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0, 0],
            [0, 0, 0, 1, 2, 0],
            [0, 0, 0, 0, 0, 2],
            [1, 0, 0, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(np.asarray(result.counts), expected)
    np.testing.assert_array_equal(np.asarray(result.depth), [2, 3, 3, 2, 1])


def test_unanimous_column_is_exactly_one_hot():
    reads = softpile.one_hot_reads(["G"] * 7)
    quality = jnp.linspace(5.0, 40.0, 7)[:, None]
    result = softpile.pileup(reads, jnp.zeros(7, jnp.int32), 1, quality=quality)
    np.testing.assert_array_equal(np.asarray(result.distribution), [[0.0, 0.0, 1.0, 0.0]])


def test_zero_coverage_is_uniform_and_n_adds_coverage_without_information():
    reads = softpile.one_hot_reads(["N"])
    result = softpile.pileup(reads, jnp.array([1]), 3)
    np.testing.assert_allclose(np.asarray(result.distribution), 0.25)
    np.testing.assert_allclose(np.asarray(result.coverage), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(np.asarray(result.depth), [0, 1, 0])


@st.composite
def problems(draw):
    # A few shapes, the edge cases among them (no reads, one column, one position): each new
    # shape costs a compilation, and the properties are about the values.
    num_reads = draw(st.sampled_from([0, 1, 6]))
    length = draw(st.sampled_from([1, 6]))
    reference_length = draw(st.sampled_from([1, 10]))
    codes = draw(hnp.arrays(np.int32, (num_reads, length), elements=st.integers(-1, 5)))
    starts = draw(
        hnp.arrays(np.int32, (num_reads,), elements=st.integers(-length - 2, reference_length + 2))
    )
    quality = draw(hnp.arrays(np.float32, (num_reads, length), elements=st.floats(0, 60, width=32)))
    return codes, starts, quality, reference_length


@given(problems())
def test_distribution_rows_sum_to_one(problem):
    codes, starts, quality, reference_length = problem
    reads = softpile.one_hot_reads(codes, gaps=True)
    run = jax.jit(softpile.pileup, static_argnums=2)
    result = run(reads, jnp.asarray(starts), reference_length, quality=jnp.asarray(quality))
    sums = np.asarray(result.distribution.sum(axis=-1))
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(result.log_likelihoods)))


@given(problems(), st.randoms(use_true_random=False))
def test_invariances(problem, random):
    codes, starts, quality, reference_length = problem
    reads = softpile.one_hot_reads(codes, gaps=True)
    quality = jnp.asarray(quality)
    run = jax.jit(softpile.pileup, static_argnums=2)
    base = run(reads, jnp.asarray(starts), reference_length, quality=quality)

    order = list(range(codes.shape[0]))
    random.shuffle(order)
    permuted = run(
        reads[jnp.asarray(order, jnp.int32)],
        jnp.asarray(starts[order]),
        reference_length,
        quality=quality[jnp.asarray(order, jnp.int32)],
    )
    chex.assert_trees_all_close(permuted, base, rtol=1e-5, atol=1e-5)

    # Zero reads and padding columns add nothing.
    padded_reads = jnp.pad(reads, ((0, 2), (0, 3), (0, 0)))
    padded = run(
        padded_reads,
        jnp.asarray(np.append(starts, [0, 3])),
        reference_length,
        quality=jnp.pad(quality, ((0, 2), (0, 3))),
    )
    chex.assert_trees_all_close(padded, base, rtol=1e-5, atol=1e-5)


def test_concatenation_sums_counts():
    rng = np.random.default_rng(0)
    first = random_problem(rng, num_reads=5, length=4, reference_length=9)
    second = random_problem(rng, num_reads=3, length=4, reference_length=9)

    def counts_of(problem):
        codes, starts, quality, weights, insertions = problem
        return softpile.pileup(
            softpile.one_hot_reads(codes, gaps=True),
            jnp.asarray(starts),
            9,
            quality=jnp.asarray(quality, jnp.float32),
            read_weights=jnp.asarray(weights, jnp.float32),
            insertions=jnp.asarray(insertions, jnp.float32),
        )

    joined = tuple(np.concatenate([a, b]) for a, b in zip(first, second))
    whole, a, b = counts_of(joined), counts_of(first), counts_of(second)
    for field in ("counts", "coverage", "depth", "insertions", "log_likelihoods"):
        np.testing.assert_allclose(
            np.asarray(getattr(whole, field)),
            np.asarray(getattr(a, field)) + np.asarray(getattr(b, field)),
            rtol=1e-5,
            atol=1e-4,
            err_msg=field,
        )


def test_vmap_over_samples_equals_loop():
    rng = np.random.default_rng(1)
    samples = [random_problem(rng, num_reads=7, length=5, reference_length=11) for _ in range(3)]
    stacked = [np.stack(parts) for parts in zip(*samples)]
    codes, starts, quality, weights, insertions = stacked

    def one(reads, starts, quality, weights, insertions):
        return softpile.pileup(
            reads, starts, 11, quality=quality, read_weights=weights, insertions=insertions
        )

    batched = jax.vmap(one)(
        softpile.one_hot_reads(codes, gaps=True),
        jnp.asarray(starts),
        jnp.asarray(quality, jnp.float32),
        jnp.asarray(weights, jnp.float32),
        jnp.asarray(insertions, jnp.float32),
    )
    for s, sample in enumerate(samples):
        single, _ = _run(sample, 11)
        chex.assert_trees_all_close(
            jax.tree.map(lambda x: x[s], batched), single, rtol=1e-6, atol=1e-6
        )


def test_samples_padded_with_zero_reads_under_vmap():
    """Samples with fewer reads are padded with zero reads and give their own pileup."""
    small = softpile.one_hot_reads(["ACGT"])
    big = softpile.one_hot_reads(["ACGT", "CCCC", "GG"])
    padded = jnp.stack([jnp.pad(small, ((0, 2), (0, 0), (0, 0))), big])
    starts = jnp.array([[1, 0, 0], [0, 1, 2]])
    batched = jax.vmap(lambda r, s: softpile.pileup(r, s, 6))(padded, starts)
    alone = softpile.pileup(small, jnp.array([1]), 6)
    chex.assert_trees_all_close(jax.tree.map(lambda x: x[0], batched), alone)


def test_jit_does_not_retrace_for_same_shapes():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(reads, starts):
        return softpile.pileup(reads, starts, 20).counts

    reads = softpile.one_hot_reads(["ACGT", "TTTT"])
    run(reads, jnp.array([0, 3]))
    run(reads * 0.5, jnp.array([5, 9]))


def test_parameters_and_pileup_inside_an_equinox_model():
    """A user's model holding softpile's parameters and a linear head trains with filter_grad."""
    import equinox as eqx

    class Model(eqx.Module):
        quality_filter: softpile.QualityFilter
        head: eqx.nn.Linear

        def __call__(self, reads, starts, quality):
            kept, _ = softpile.soft_quality_filter(self.quality_filter, reads, quality)
            piled = softpile.pileup(kept, starts, 6, quality=quality)
            return jax.vmap(self.head)(piled.distribution)

    model = Model(softpile.QualityFilter(), eqx.nn.Linear(4, 1, key=jax.random.key(0)))
    reads = softpile.one_hot_reads(["ACGTA", "CGTAC", "GTACG"])
    starts = jnp.array([0, 1, 1])
    quality = jnp.array([[30.0, 12, 25, 18, 40], [22, 19, 21, 35, 9], [15, 33, 20, 20, 28]])
    grads = eqx.filter_grad(lambda m: jnp.sum(m(reads, starts, quality) ** 2))(model)
    assert grads.quality_filter.threshold != 0 and grads.quality_filter.softness != 0
    assert jnp.all(jnp.isfinite(grads.head.weight))


@pytest.mark.parametrize("channels", [(False, False), (True, True)])
def test_unanimous_columns_are_exactly_one_hot_for_any_weights(maybe_jit, channels):
    """Regression: a division done as a multiply by the reciprocal left 0.99999994 here."""
    gaps, n_channel = channels
    rng = np.random.default_rng(11)
    run = maybe_jit(softpile.pileup, static_argnums=2)
    n = 37  # one shape: a compilation each otherwise; the weights are what vary
    for _ in range(12):
        base = int(rng.integers(0, 4))
        reads = softpile.one_hot_reads(
            np.full((n, 3), base, np.int32), gaps=gaps, n_channel=n_channel
        )
        result = run(
            reads,
            jnp.asarray(rng.integers(0, 3, n).astype(np.int32)),
            6,
            quality=jnp.asarray(rng.integers(2, 41, (n, 3)).astype(np.float32)),
            read_weights=jnp.asarray(rng.random(n).astype(np.float32)),
        )
        covered = np.asarray(result.depth) > 0
        assert np.all(np.asarray(result.distribution)[covered, base] == 1.0)

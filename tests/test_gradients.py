"""Gradients checked against finite differences in float64 (forward and reverse mode)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import softpile

REFERENCE_LENGTH = 9


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


def _inputs(seed=0):
    """Reads without padding columns (coverage jumps at padding), positions without reads,
    overhangs, and qualities away from the error cap's kink (Q ~ 1.25)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (5, 4))
    reads = softpile.one_hot_reads(codes) * 0.6 + 0.1  # soft reads, every channel positive
    starts = jnp.array([-1, 0, 2, 6, 7])
    quality = jnp.asarray(rng.uniform(5.0, 40.0, (5, 4)))
    read_weights = jnp.asarray(rng.uniform(0.3, 1.0, 5))
    return reads, starts, quality, read_weights


def _summary(piled):
    return (piled.distribution, piled.counts, piled.mean_quality, piled.log_likelihoods)


def test_pileup_gradients_wrt_reads_quality_and_weights():
    reads, starts, quality, read_weights = _inputs()

    def f(reads, quality, read_weights):
        return _summary(
            softpile.pileup(
                reads, starts, REFERENCE_LENGTH, quality=quality, read_weights=read_weights
            )
        )

    check_grads(f, (reads, quality, read_weights), order=2, modes=("fwd", "rev"), eps=1e-6)


def test_pileup_gradients_wrt_reads_alone():
    """With the qualities and weights fixed, only the reads move: the kernel's derivative then
    takes a form of its own (one scatter per channel)."""
    reads, starts, quality, read_weights = _inputs(1)

    def f(reads):
        return _summary(
            softpile.pileup(
                reads, starts, REFERENCE_LENGTH, quality=quality, read_weights=read_weights
            )
        )

    check_grads(f, (reads,), order=2, modes=("fwd", "rev"), eps=1e-6)


def test_filter_and_prior_gradients():
    reads, starts, quality, _ = _inputs(1)
    reference = jnp.array([0, 1, 2, 3, 0, 1, 2, 3, 5])

    def f(threshold, softness, heterozygosity, quality):
        params = softpile.QualityFilter(threshold, softness)
        kept, weights = softpile.soft_quality_filter(params, reads, quality)
        piled = softpile.pileup(kept, starts, REFERENCE_LENGTH, quality=quality)
        scores = softpile.variant_scores(softpile.VariantModel(heterozygosity), piled, reference)
        return scores.posteriors, scores.p_variant, weights

    args = (jnp.array(20.0), jnp.array(3.0), jnp.array(0.01), quality)
    check_grads(f, args, order=1, modes=("fwd", "rev"), eps=1e-6)
    check_grads(
        lambda t, s, h: f(t, s, h, quality)[1].sum(), args[:3], order=2, modes=("rev",), eps=1e-5
    )


def test_threshold_gradient_is_nonzero_and_matches_finite_difference():
    reads, starts, quality, _ = _inputs(2)

    def loss(threshold):
        kept, _ = softpile.soft_quality_filter(
            softpile.QualityFilter(threshold, 2.0), reads, quality
        )
        return softpile.pileup(kept, starts, REFERENCE_LENGTH, quality=quality).coverage.sum()

    gradient = float(jax.grad(loss)(jnp.array(20.0)))
    step = 1e-5
    numeric = float(loss(jnp.array(20.0 + step)) - loss(jnp.array(20.0 - step))) / (2 * step)
    assert gradient < 0  # a higher threshold removes coverage
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


def test_gradients_finite_at_zero_coverage_padding_and_q0():
    reads = softpile.one_hot_reads(["AC--", "N", "GT"], gaps=True, length=4)
    starts = jnp.array([0, 1, 7])  # position 4..6 uncovered; read 3 hangs over the end
    quality = jnp.array([[0.0, 0.0, 0.0, 0.0], [0.0, 30.0, 0.0, 0.0], [40.0, 0.0, 0.0, 0.0]])

    def loss(reads, quality, weights, theta, threshold):
        kept, _ = softpile.soft_quality_filter(softpile.QualityFilter(threshold), reads, quality)
        piled = softpile.pileup(kept, starts, 8, quality=quality, read_weights=weights)
        scores = softpile.variant_scores(
            softpile.VariantModel(theta), piled, jnp.zeros(8, jnp.int32)
        )
        return (
            jnp.sum(piled.distribution**2)
            + jnp.sum(piled.mean_quality)
            + jnp.sum(scores.p_variant)
            + jnp.sum(scores.quality)
        )

    grads = jax.grad(loss, argnums=(0, 1, 2, 3, 4))(
        reads, quality, jnp.ones(3), jnp.array(1e-3), jnp.array(20.0)
    )
    for g in grads:
        assert np.all(np.isfinite(np.asarray(g)))


def test_grad_through_vmap_over_samples():
    reads, starts, quality, _ = _inputs(3)
    batch_reads = jnp.stack([reads, reads[::-1]])
    batch_starts = jnp.stack([starts, starts[::-1]])

    def loss(batch_reads):
        piled = jax.vmap(lambda r, s: softpile.pileup(r, s, REFERENCE_LENGTH))(
            batch_reads, batch_starts
        )
        return jnp.sum(piled.distribution[:, :, 0])

    batched = jax.grad(loss)(batch_reads)
    single = jax.grad(
        lambda r: jnp.sum(softpile.pileup(r, starts, REFERENCE_LENGTH).distribution[:, 0])
    )(reads)
    np.testing.assert_allclose(np.asarray(batched[0]), np.asarray(single), rtol=1e-12)


def test_gradients_finite_under_a_very_sharp_filter_in_float32():
    """A Q10 base under a softness-0.4 filter at Q28 weighs 3e-20: the normalisations must
    not turn that into a NaN gradient (regression)."""
    with jax.enable_x64(False):
        reads = softpile.one_hot_reads(["ACGT"])
        quality = jnp.array([[10.0, 30.0, 30.0, 30.0]])
        reference = softpile.encode_sequence("ACGT")

        def loss(threshold):
            params = softpile.QualityFilter(threshold, jnp.float32(0.4))
            kept, _ = softpile.soft_quality_filter(params, reads, quality)
            piled = softpile.pileup(kept, jnp.array([0]), 4, quality=quality)
            scores = softpile.variant_scores(
                softpile.VariantModel(jnp.float32(1e-3)), piled, reference
            )
            return (
                scores.posteriors.sum()
                + piled.log_likelihoods.sum()
                + jnp.sum(piled.distribution[:, 0])
                + piled.mean_quality.sum()
            )

        for threshold in (20.0, 26.0, 28.0, 40.0):
            gradient = jax.grad(loss)(jnp.float32(threshold))
            assert gradient.dtype == jnp.float32
            assert np.isfinite(float(gradient)), threshold

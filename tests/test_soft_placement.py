"""Soft placement: reads spread over candidate starts with `offset_weights`.

The reference is the NumPy loop of `helpers.numpy_pileup`, which places every read at each of
its candidates with its weight; gradients are checked against finite differences.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import numpy_pileup, random_problem
from jax.test_util import check_grads

import softpile

FIELDS = ("counts", "coverage", "distribution", "mean_quality", "insertions", "log_likelihoods")


def candidates(rng, starts, k, reference_length):
    """`k` candidate starts per read (the first is the read's own) and random weights, some 0."""
    others = rng.integers(-3, reference_length + 3, (len(starts), k - 1))
    all_starts = np.concatenate([starts[:, None], others], axis=1).astype(np.int32)
    weights = rng.random((len(starts), k))
    weights[rng.random((len(starts), k)) < 0.2] = 0.0
    return all_starts, weights


def assert_fields_close(result, expected):
    for name in FIELDS:
        np.testing.assert_allclose(
            getattr(result, name), expected[name], rtol=2e-5, atol=2e-5, err_msg=name
        )
    np.testing.assert_array_equal(result.depth, expected["depth"])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_soft_placement_equals_numpy_loop(maybe_jit, k):
    rng = np.random.default_rng(k)
    codes, starts, quality, read_weights, insertions = random_problem(
        rng, num_reads=30, length=6, reference_length=20
    )
    reads = softpile.one_hot_reads(codes, gaps=True)
    all_starts, weights = candidates(rng, starts, k, 20)
    expected = numpy_pileup(
        reads, all_starts, 20, quality, read_weights, insertions, offset_weights=weights
    )
    fn = maybe_jit(softpile.pileup, static_argnums=2)
    result = fn(
        reads,
        jnp.asarray(all_starts),
        20,
        quality=jnp.asarray(quality, jnp.float32),
        read_weights=jnp.asarray(read_weights, jnp.float32),
        insertions=jnp.asarray(insertions, jnp.float32),
        offset_weights=jnp.asarray(weights, jnp.float32),
    )
    assert_fields_close(result, expected)


def test_one_hot_offset_weights_equal_the_hard_pileup_of_the_chosen_starts():
    rng = np.random.default_rng(7)
    codes, starts, quality, read_weights, _ = random_problem(rng, num_reads=25, length=5)
    reads = softpile.one_hot_reads(codes, gaps=True)
    all_starts, _ = candidates(rng, starts, 3, 12)
    chosen = rng.integers(0, 3, len(starts))
    one_hot = np.eye(3, dtype=np.float32)[chosen]
    kwargs = dict(
        quality=jnp.asarray(quality, jnp.float32),
        read_weights=jnp.asarray(read_weights, jnp.float32),
    )
    soft = softpile.pileup(reads, all_starts, 12, offset_weights=one_hot, **kwargs)
    hard = softpile.pileup(reads, all_starts[np.arange(len(starts)), chosen], 12, **kwargs)
    for name in (*FIELDS, "depth"):
        np.testing.assert_allclose(getattr(soft, name), getattr(hard, name), atol=1e-6)


def test_gradient_with_respect_to_offset_weights_matches_finite_differences():
    rng = np.random.default_rng(3)
    with jax.enable_x64():
        codes, starts, quality, read_weights, _ = random_problem(rng, num_reads=8, length=4)
        reads = jnp.asarray(softpile.one_hot_reads(codes, gaps=True), jnp.float64)
        all_starts, weights = candidates(rng, starts, 2, 12)
        weights = np.maximum(weights, 0.1)  # away from 0, where depth would jump
        reference = softpile.encode_sequence("ACGTACGTACGT")
        target = jnp.asarray(rng.random((12, 5)))

        def loss(offset_weights):
            piled = softpile.pileup(
                reads,
                all_starts,
                12,
                quality=jnp.asarray(quality),
                read_weights=jnp.asarray(read_weights),
                offset_weights=offset_weights,
            )
            scores = softpile.variant_scores(softpile.VariantModel(1e-2), piled, reference)
            return jnp.sum(piled.distribution * target) + jnp.sum(scores.p_variant)

        check_grads(loss, (jnp.asarray(weights),), order=1, modes=["rev", "fwd"])
        assert np.any(np.asarray(jax.grad(loss)(jnp.asarray(weights))) != 0)


def test_candidate_starts_and_offset_weights_go_together():
    reads = softpile.one_hot_reads(["AC", "GT"])
    with pytest.raises(ValueError, match="offset_weights"):
        softpile.pileup(reads, np.array([[0, 1], [1, 2]]), 4)
    with pytest.raises(ValueError, match="offset_weights"):
        softpile.pileup(reads, np.array([0, 1]), 4, offset_weights=np.ones((2, 1), np.float32))


def test_integer_qualities_give_the_fields_of_float_qualities(maybe_jit):
    """The table lookup of integer (BAM) qualities gives what the formula gives, bit for bit."""
    rng = np.random.default_rng(5)
    codes, starts, quality, read_weights, insertions = random_problem(rng, num_reads=40, length=7)
    reads = softpile.one_hot_reads(codes, gaps=True)
    fn = maybe_jit(softpile.pileup, static_argnums=2)
    common = dict(read_weights=jnp.asarray(read_weights, jnp.float32))
    as_float = fn(reads, starts, 12, quality=jnp.asarray(quality, jnp.float32), **common)
    for dtype in (np.uint8, np.int32):
        as_int = fn(reads, starts, 12, quality=quality.astype(dtype), **common)
        for name in (*FIELDS, "depth"):
            np.testing.assert_array_equal(getattr(as_int, name), getattr(as_float, name))


def test_negative_integer_qualities_are_refused():
    reads = softpile.one_hot_reads(["AC"])
    with pytest.raises(Exception, match="finite and >= 0"):
        softpile.pileup(reads, np.array([0]), 4, quality=np.array([[3, -1]], np.int32))


def test_fields_nobody_reads_are_not_computed_under_jit():
    """Under jit, asking for the counts compiles no logarithm (the genotype statistics) and
    one loop with one scatter over the reads, where every field compiles several."""
    num_reads = 2 * softpile._kernel.BLOCK_READS  # no remainder block: one scatter
    reads = softpile.one_hot_reads(["ACGT"] * num_reads)
    starts = np.arange(num_reads, dtype=np.int32) % 50
    quality = np.full((num_reads, 4), 30, np.uint8)

    def operations(fn):
        text = jax.jit(fn).lower(quality).compile().as_text()
        return {op: len(re.findall(rf"\b{op}\(", text)) for op in ("log", "while", "scatter")}

    counts = operations(lambda q: softpile.pileup(reads, starts, 60, quality=q).counts)
    everything = operations(lambda q: softpile.pileup(reads, starts, 60, quality=q))
    assert counts == {"log": 0, "while": 1, "scatter": 1}
    assert everything["log"] > 0 and everything["while"] > 1 and everything["scatter"] > 2

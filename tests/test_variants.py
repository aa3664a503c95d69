import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import numpy_pileup, numpy_prior, numpy_variant_scores

import softpile
from softpile.simulate import simulate


def _random_one_hot_problem(seed, reference_length=20):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (30, 6)).astype(np.int32)
    starts = rng.integers(-2, reference_length, 30).astype(np.int32)
    quality = rng.integers(0, 41, (30, 6)).astype(np.float32)
    reference = rng.choice([0, 1, 2, 3, 5], reference_length, p=[0.24, 0.24, 0.24, 0.24, 0.04])
    return codes, starts, quality, reference.astype(np.int32)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_numpy_genotype_model(maybe_jit, seed):
    codes, starts, quality, reference = _random_one_hot_problem(seed)
    reads = softpile.one_hot_reads(codes)
    theta = 0.01

    def run(reads, starts, quality, reference):
        piled = softpile.pileup(reads, starts, 20, quality=quality)
        return softpile.variant_scores(softpile.VariantModel(theta), piled, reference)

    scores = maybe_jit(run)(
        reads, jnp.asarray(starts), jnp.asarray(quality), jnp.asarray(reference)
    )
    stats = numpy_pileup(np.asarray(reads), starts, 20, quality=quality)
    expected = numpy_variant_scores(stats["log_likelihoods"], reference, theta)
    called = reference != 5
    np.testing.assert_allclose(
        np.asarray(scores.posteriors)[called], expected["posteriors"][called], rtol=1e-4, atol=1e-5
    )
    for field in ("p_variant", "quality", "genotype_quality"):
        np.testing.assert_allclose(
            np.asarray(getattr(scores, field)), expected[field], rtol=1e-3, atol=1e-3, err_msg=field
        )
    np.testing.assert_array_equal(np.asarray(scores.genotype), expected["genotype"])
    np.testing.assert_allclose(np.asarray(scores.posteriors.sum(-1)), 1.0, atol=1e-6)


def test_tiny_p_variant_keeps_precision():
    """Deep hom-ref coverage: p_variant is tiny but positive, QUAL is capped, not inf."""
    reads = softpile.one_hot_reads(["A"] * 40)
    piled = softpile.pileup(reads, jnp.zeros(40, jnp.int32), 1, quality=jnp.full((40, 1), 30.0))
    scores = softpile.variant_scores(softpile.VariantModel(), piled, jnp.array([0]))
    # In float64: the posterior mass off hom-ref, summed (1 - P(hom-ref) would round to 0).
    stats = numpy_pileup(np.asarray(reads), np.zeros(40), 1, quality=np.full((40, 1), 30.0))
    joint = stats["log_likelihoods"][0] + np.log(numpy_prior(0, 1e-3))
    posterior = np.exp(joint - joint.max()) / np.exp(joint - joint.max()).sum()
    expected = posterior[1:].sum()
    assert 1e-17 < expected < 1e-14
    np.testing.assert_allclose(float(scores.p_variant[0]), expected, rtol=1e-3)
    assert 0.0 <= float(scores.quality[0]) < 1e-5
    assert float(scores.genotype_quality[0]) == 99.0
    assert int(scores.genotype[0]) == softpile.GENOTYPES.index("AA")


def test_planted_hom_and_het_snvs_are_called():
    sample = simulate(
        7,
        reference_length=300,
        coverage=30,
        read_length=50,
        snv_positions=[40, 120, 200, 260],
        heterozygous=[False, True, True, False],
    )
    piled = softpile.pileup(
        softpile.one_hot_reads(sample.reads),
        jnp.asarray(sample.starts),
        300,
        quality=jnp.asarray(sample.quality, jnp.float32),
    )
    scores = softpile.variant_scores(softpile.VariantModel(), piled, jnp.asarray(sample.reference))
    called = np.flatnonzero(np.asarray(scores.quality) >= 20)
    np.testing.assert_array_equal(called, sample.variant_positions)
    np.testing.assert_array_equal(
        np.asarray(scores.genotype)[called], sample.truth_genotype[called]
    )
    alt = np.asarray(scores.alt_allele)[called]
    expected_alt = [
        sample.haplotypes[1, p]
        if sample.haplotypes[1, p] != sample.reference[p]
        else sample.haplotypes[0, p]
        for p in called
    ]
    np.testing.assert_array_equal(alt, expected_alt)


def test_no_call_where_reference_is_n():
    reads = softpile.one_hot_reads(["GGG"] * 10)
    piled = softpile.pileup(reads, jnp.zeros(10, jnp.int32), 3)
    scores = softpile.variant_scores(softpile.VariantModel(), piled, jnp.array([0, 5, 0]))
    assert float(scores.p_variant[1]) == 0.0 and float(scores.quality[1]) == 0.0
    assert int(scores.genotype[1]) == -1 and int(scores.alt_allele[1]) == -1
    assert float(scores.p_variant[0]) > 0.99


def test_heterozygosity_prior_changes_het_calls_as_expected():
    """More heterozygosity, higher p_variant on an ambiguous column."""
    reads = softpile.one_hot_reads(["A"] * 5 + ["C"] * 2)
    piled = softpile.pileup(reads, jnp.zeros(7, jnp.int32), 1, quality=jnp.full((7, 1), 20.0))
    low = softpile.variant_scores(softpile.VariantModel(1e-4), piled, jnp.array([0]))
    high = softpile.variant_scores(softpile.VariantModel(1e-2), piled, jnp.array([0]))
    assert float(high.p_variant[0]) > float(low.p_variant[0])


def test_vmap_over_samples():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 4, (3, 10, 4)).astype(np.int32)
    starts = rng.integers(0, 6, (3, 10)).astype(np.int32)
    reference = jnp.asarray(rng.integers(0, 4, 9).astype(np.int32))

    def one(reads, starts):
        return softpile.variant_scores(
            softpile.VariantModel(), softpile.pileup(reads, starts, 9), reference
        )

    batched = jax.vmap(one)(softpile.one_hot_reads(codes), jnp.asarray(starts))
    for s in range(3):
        single = one(softpile.one_hot_reads(codes[s]), jnp.asarray(starts[s]))
        chex.assert_trees_all_close(jax.tree.map(lambda x: x[s], batched), single, atol=1e-6)


def test_reference_mismatch_is_seed_score():
    reads = softpile.one_hot_reads(["ACG", "ATG", "ATG", "ATC"])
    piled = softpile.pileup(reads, jnp.zeros(4, jnp.int32), 5)
    mismatch = softpile.reference_mismatch(piled, softpile.encode_sequence("ACGNA"))
    np.testing.assert_allclose(np.asarray(mismatch), [0.0, 0.75, 0.25, 0.0, 0.0])
    assert np.flatnonzero(np.asarray(mismatch) > 0.3).tolist() == [1]

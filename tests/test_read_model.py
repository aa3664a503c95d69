"""The read model: the identity by default, the BQSR-like shifts and MAPQ weights it applies,
its projection, and its gradients (float64, against finite differences)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import softpile
from softpile._read_model import CYCLE_BIN, MAPQ_KNOTS, QUALITY_KNOTS
from softpile.io import CallerParams, ReadBatch, call_reads, load_caller, save_caller
from softpile.simulate import simulate


def test_the_default_model_caps_at_mapq_and_weighs_nothing():
    quality = jnp.arange(0, 64, dtype=jnp.uint8)[None].repeat(3, 0)
    cycles = jnp.tile(jnp.arange(64, dtype=jnp.int16), (3, 1))
    mapq = jnp.array([255, 60, 17])
    got, weights = softpile.read_evidence(softpile.ReadModel(), quality, cycles, mapq)
    reported = np.arange(64, dtype=np.float32)
    np.testing.assert_array_equal(got[0], reported)
    np.testing.assert_array_equal(got[1], np.minimum(reported, 60))
    np.testing.assert_array_equal(got[2], np.minimum(reported, 17))
    np.testing.assert_array_equal(weights, [1.0, 1.0, 1.0])


def test_shifts_and_weights_follow_their_tables():
    model = softpile.ReadModel(
        quality_shift=jnp.zeros(len(QUALITY_KNOTS)).at[4].set(-4.0),  # at Q20
        cycle_shift=jnp.arange(16.0) * -1.0,
        mapq_weights=jnp.linspace(0.0, 1.0, len(MAPQ_KNOTS)),
    )
    quality = jnp.array([[20.0, 22.5, 20.0, 20.0]])
    cycles = jnp.array([[0, 0, 3 * CYCLE_BIN, -1]])
    got, weights = softpile.read_evidence(model, quality, cycles, jnp.array([30]))
    # 22.5 lies half way from knot 20 (shift -4) to knot 25 (shift 0): shift -2.
    np.testing.assert_allclose(got[0], [16.0, 20.5, 13.0, 16.0])
    np.testing.assert_allclose(weights, [0.5])


def test_projection_makes_quality_monotone_and_weights_a_probability():
    model = softpile.ReadModel(
        quality_shift=jnp.zeros(len(QUALITY_KNOTS)).at[3].set(8.0),  # Q15 -> 23 > Q20's 20
        mapq_weights=jnp.array([0.5, 1.5, -0.2, 0.3, 0.9, 0.8, 1.0]),
    ).projected()
    recalibrated = np.asarray(QUALITY_KNOTS) + np.asarray(model.quality_shift)
    assert np.all(np.diff(recalibrated) >= 0)
    assert recalibrated[4] == 23.0  # raised to its predecessor's, not the other way round
    np.testing.assert_allclose(model.mapq_weights, [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_read_evidence_gradients_match_finite_differences():
    with jax.enable_x64():
        rng = np.random.default_rng(0)
        quality = jnp.asarray(rng.uniform(2, 45, (4, 30)))
        cycles = jnp.asarray(rng.integers(-1, 170, (4, 30)))
        mapq = jnp.asarray([3, 25, 44, 255])

        def loss(quality_shift, cycle_shift, mapq_weights):
            model = softpile.ReadModel(quality_shift, cycle_shift, mapq_weights)
            got, weights = softpile.read_evidence(model, quality, cycles, mapq)
            return jnp.sum(jnp.sin(got / 7.0) * weights[:, None])

        arguments = (
            jnp.asarray(rng.normal(0, 2, len(QUALITY_KNOTS))),
            jnp.asarray(rng.normal(0, 2, 16)),
            jnp.asarray(rng.uniform(0.2, 0.9, len(MAPQ_KNOTS))),
        )
        check_grads(loss, arguments, order=1, modes=["rev"])


def test_shape_errors_name_the_field():
    with pytest.raises(ValueError, match="quality_shift.*shape"):
        softpile.ReadModel(quality_shift=jnp.zeros(3))


def test_calls_with_the_default_read_model_are_the_calls_without_one():
    sample = simulate(4, reference_length=3000, read_length=100, coverage=12, snv_rate=5e-3)
    rng = np.random.default_rng(1)
    reads = ReadBatch.from_simulation(sample)
    reads = dataclasses.replace(reads, mapq=rng.choice([0, 7, 30, 60, 255], reads.num_reads))
    plain = call_reads([reads], sample.reference)
    modelled = call_reads([reads], sample.reference, read_model=softpile.ReadModel())
    assert [(r.position, r.alleles, r.samples[0].genotype) for r in modelled.records] == [
        (r.position, r.alleles, r.samples[0].genotype) for r in plain.records
    ]
    np.testing.assert_allclose(modelled.scores.quality, plain.scores.quality, rtol=1e-5, atol=1e-4)


def test_a_caller_model_round_trips_through_a_file(tmp_path):
    params = CallerParams(
        softpile.ReadModel(cycle_shift=jnp.full(16, -1.5)), softpile.VariantModel(3e-3), 7.0
    )
    save_caller(tmp_path / "runs" / "one" / "model.eqx", params)  # folders are made
    loaded = load_caller(tmp_path / "runs" / "one" / "model.eqx")
    for got, want in zip(jax.tree.leaves(loaded), jax.tree.leaves(params)):
        np.testing.assert_array_equal(got, want)
    eqx_tuple = tmp_path / "variant.eqx"
    import equinox as eqx

    eqx.tree_serialise_leaves(eqx_tuple, softpile.VariantModel())
    with pytest.raises(ValueError, match=f"^{eqx_tuple}: is not a model saved by softpile train"):
        load_caller(eqx_tuple)

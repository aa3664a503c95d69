import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import softpile


def test_phred_error_round_trip_and_cap():
    quality = jnp.array([0.0, 1.0, 10.0, 20.0, 30.0, 60.0])
    error = softpile.phred_to_error(quality)
    np.testing.assert_allclose(np.asarray(error), [0.75, 0.75, 0.1, 0.01, 0.001, 1e-6], rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(softpile.error_to_phred(error[2:])), [10.0, 20.0, 30.0, 60.0], rtol=1e-5
    )


@given(st.floats(-30, 60, width=32), st.floats(0.125, 10, width=32))
def test_filter_weight_is_the_sigmoid(quality, softness):
    reads = softpile.one_hot_reads("G")
    filtered, weight = softpile.soft_quality_filter(
        softpile.QualityFilter(threshold=20.0, softness=softness),
        reads,
        jnp.array([max(quality, 0.0)], jnp.float32),
    )
    expected = 1.0 / (1.0 + np.exp(-(max(quality, 0.0) - 20.0) / softness))
    np.testing.assert_allclose(float(weight[0]), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(filtered[0]), [0, 0, expected, 0], rtol=1e-5, atol=1e-7)


def test_filter_under_jit_and_vmap(maybe_jit):
    reads = softpile.one_hot_reads(np.array([[[0, 1], [2, 3]], [[1, 1], [0, 5]]]))
    quality = jnp.array([[[10.0, 30.0], [20.0, 25.0]], [[0.0, 40.0], [19.0, 21.0]]])
    params = softpile.QualityFilter()
    run = maybe_jit(softpile.soft_quality_filter)
    whole = run(params, reads, quality)  # *batch axes are fine
    mapped = jax.vmap(softpile.soft_quality_filter, in_axes=(None, 0, 0))(params, reads, quality)
    np.testing.assert_allclose(np.asarray(whole[0]), np.asarray(mapped[0]), rtol=1e-6)


def test_parameters_are_learnable_pytrees():
    params = softpile.QualityFilter(25.0, 2.0)
    leaves = jax.tree.leaves(params)
    assert [float(x) for x in leaves] == [25.0, 2.0]
    with pytest.raises(ValueError, match="softness must be > 0"):
        softpile.QualityFilter(softness=0.0)
    with pytest.raises(ValueError, match="heterozygosity must be in"):
        softpile.VariantModel(heterozygosity=0.0)
    with pytest.raises(ValueError, match="threshold must be a scalar"):
        softpile.QualityFilter(threshold=jnp.ones(2))


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_quality_is_caught_under_jit(bad):
    reads = softpile.one_hot_reads("AC")
    quality = jnp.array([30.0, bad])
    with pytest.raises(Exception, match="must be finite and >= 0"):
        jax.jit(softpile.soft_quality_filter)(softpile.QualityFilter(), reads, quality)
    with pytest.raises(Exception, match="must be finite and >= 0"):
        softpile.pileup(reads[None], jnp.array([0]), 3, quality=quality[None])


@pytest.mark.parametrize("field", ["counts", "distribution", "depth", "log_likelihoods"])
@pytest.mark.parametrize("bad_read", [5, softpile._kernel.BLOCK_READS + 2])
def test_bad_quality_is_caught_whichever_field_is_read(field, bad_read):
    """Quality-weighted counts check the qualities inside their own loop over blocks of reads
    (the other fields on the starts): a bad value in a full block or in the remainder block
    raises under jit, whether one sample is piled up or several under vmap."""
    num_reads = softpile._kernel.BLOCK_READS + 3
    reads = softpile.one_hot_reads(["ACG"] * num_reads)
    starts = jnp.arange(num_reads, dtype=jnp.int32) % 7
    quality = np.full((num_reads, 3), 30.0, np.float32)

    def read_field(quality):
        return getattr(softpile.pileup(reads, starts, 10, quality=quality), field)

    one, many = jax.jit(read_field), jax.jit(jax.vmap(read_field))
    one(quality)  # valid qualities pass
    many(np.stack([quality, quality]))
    for bad in (-1.0, float("nan")):
        broken = quality.copy()
        broken[bad_read, 1] = bad
        with pytest.raises(Exception, match="must be finite and >= 0"):
            one(broken)
        with pytest.raises(Exception, match="must be finite and >= 0"):
            many(np.stack([quality, broken]))


@given(
    st.lists(
        st.sampled_from([0.0, 0.5, 40.0, -0.0, -1e-3, -7.0, np.nan, np.inf, -np.inf]), max_size=6
    ),
    st.sampled_from([np.float32, np.float16, np.int32]),
)
def test_quality_validity_is_finite_and_non_negative(values, dtype):
    if dtype is np.int32:
        values = [v for v in values if np.isfinite(v)]
    quality = np.asarray(values, np.float64).astype(dtype)
    expected = bool(np.all(np.isfinite(quality) & (quality >= 0)))
    assert bool(softpile._quality.quality_is_valid(jnp.asarray(quality))) == expected

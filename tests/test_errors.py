"""Bad input at the public boundary: clear errors that name the argument."""

import jax.numpy as jnp
import numpy as np
import pytest

import softpile

READS = softpile.one_hot_reads(["ACGT", "GGCC"])
STARTS = jnp.array([0, 2])


def _raises(match, fn, *args, **kwargs):
    with pytest.raises(Exception, match=match) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_wrong_rank_of_reads():
    _raises("parameter 'reads'", softpile.pileup, READS[0], STARTS, 8)


def test_mismatched_read_counts():
    message = _raises("parameter 'starts'", softpile.pileup, READS, jnp.array([0, 1, 2]), 8)
    assert "reads=2" in message  # says what the other argument fixed the size to


def test_quality_shape_must_match_reads():
    _raises("parameter 'quality'", softpile.pileup, READS, STARTS, 8, quality=jnp.ones((2, 5)))


def test_non_integer_starts():
    _raises("parameter 'starts'", softpile.pileup, READS, jnp.array([0.0, 2.0]), 8)


@pytest.mark.parametrize("length", [0, -5])
def test_non_positive_reference_length(length):
    _raises(
        f"reference_length must be a positive int, got {length}",
        softpile.pileup,
        READS,
        STARTS,
        length,
    )


def test_reference_length_must_be_a_python_int():
    _raises("parameter 'reference_length'", softpile.pileup, READS, STARTS, 8.0)


def test_too_few_channels():
    _raises("at least the 4 channels", softpile.pileup, READS[..., :3], STARTS, 8)


def test_reference_must_match_pileup():
    piled = softpile.pileup(READS, STARTS, 8)
    _raises(
        r"`reference` must have shape \(8,\)",
        softpile.variant_scores,
        softpile.VariantModel(),
        piled,
        jnp.zeros(5, jnp.int32),
    )
    _raises(
        "codes must be 0..3",
        softpile.variant_scores,
        softpile.VariantModel(),
        piled,
        jnp.full(8, 4, jnp.int32),
    )
    _raises(
        "parameter 'reference'", softpile.reference_mismatch, piled, np.zeros(8, dtype=np.float32)
    )

"""The count table's integer kernel call equals `softpile.pileup` of the same one-hot reads."""

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings, strategies as st

import softpile
from softpile._encoding import one_hot_valid
from softpile.io._table import _add_exact_counts


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    reads=st.sampled_from([0, 1, 7, 40]),
    length=st.sampled_from([1, 9]),
    positions=st.sampled_from([1, 30]),
)
def test_exact_counts_equal_pileup_of_one_hot_reads(seed, reads, length, positions):
    random = np.random.default_rng(seed)
    codes = random.integers(-1, 6, (reads, length)).astype(np.int8)
    insertions = (random.random((reads, length)) < 0.2).astype(np.float32)
    starts = random.integers(-length - 2, positions + 2, reads)
    totals = random.integers(0, 5, (positions, 7)).astype(np.int32)

    result = _add_exact_counts(totals, codes, starts, insertions, reference_length=positions)

    one_hot = one_hot_valid(codes, gaps=True, n_channel=True)
    channels = jnp.concatenate([one_hot, jnp.asarray(insertions)[..., None]], axis=-1)
    expected = softpile.pileup(channels, starts, positions, quality_weighting=False).counts
    assert result.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(result), totals + np.asarray(expected))

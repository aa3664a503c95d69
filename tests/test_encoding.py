import jax
import jax.numpy as jnp
import numpy as np
import pytest

import softpile

EXPECTED_VECTORS = {  # hand-written channel vectors, gaps=True
    "A": [1, 0, 0, 0, 0],
    "C": [0, 1, 0, 0, 0],
    "G": [0, 0, 1, 0, 0],
    "T": [0, 0, 0, 1, 0],
    "-": [0, 0, 0, 0, 1],
    "N": [0.25, 0.25, 0.25, 0.25, 0],
}


def test_string_letters_and_case():
    encoded = softpile.one_hot_reads("ACGT-Nacgtn", gaps=True)
    expected = [EXPECTED_VECTORS[letter] for letter in "ACGT-NACGTN"]
    np.testing.assert_array_equal(np.asarray(encoded), expected)
    assert encoded.shape == (11, 5)


def test_list_of_unequal_strings_is_right_padded_with_zeros():
    encoded = softpile.one_hot_reads(["ACG", "T", ""], length=4)
    assert encoded.shape == (3, 4, 4)
    np.testing.assert_array_equal(np.asarray(encoded[1, 1:]), 0.0)
    np.testing.assert_array_equal(np.asarray(encoded[2]), 0.0)
    np.testing.assert_array_equal(np.asarray(encoded[0, 2]), [0, 0, 1, 0])


def test_integer_codes_any_batch_shape_and_n_channel():
    codes = np.array([[[0, 1, 4, 5, -1]], [[3, 3, 2, 1, 0]]])
    encoded = softpile.one_hot_reads(codes, gaps=True, n_channel=True)
    assert encoded.shape == (2, 1, 5, 6)
    np.testing.assert_array_equal(np.asarray(encoded[0, 0, 3]), [0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(np.asarray(encoded[0, 0, 4]), 0.0)
    np.testing.assert_array_equal(np.asarray(encoded[0, 0, 2]), [0, 0, 0, 0, 1, 0])


def test_strings_and_codes_agree():
    strings = ["ACGTN-", "GG"]
    codes = np.array([[0, 1, 2, 3, 5, 4], [2, 2, -1, -1, -1, -1]])
    np.testing.assert_array_equal(
        np.asarray(softpile.one_hot_reads(strings, gaps=True)),
        np.asarray(softpile.one_hot_reads(codes, gaps=True)),
    )


def test_traced_codes_under_jit_and_vmap():
    codes = jnp.array([[0, 1, 2], [3, 5, -1]])
    jitted = jax.jit(softpile.one_hot_reads)(codes)
    mapped = jax.vmap(softpile.one_hot_reads)(codes)
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(softpile.one_hot_reads(codes)))
    np.testing.assert_array_equal(np.asarray(mapped), np.asarray(jitted))


@pytest.mark.parametrize(
    ("sequences", "kwargs", "message"),
    [
        (["ACGT", "ACXT"], {}, "invalid letter 'X' at read 1, column 2"),
        ("AC-", {}, "gaps=False"),
        (np.array([[0, 1, 7]]), {}, "invalid code 7 at read 0, column 2"),
        (np.array([[0, 4]]), {}, "gap ('-' or code 4) at read 0, column 1"),
        (np.array([0.0, 1.0]), {}, "integer codes expected"),
        (["ACGT"], {"length": 2}, "read 0 has 4 letters but length=2"),
        ("ACGT", {"n_channel": True}, "n_channel=True needs gaps=True"),
    ],
)
def test_bad_input_messages(sequences, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        softpile.one_hot_reads(sequences, **kwargs)


def test_invalid_traced_code_raises_under_jit():
    with pytest.raises(Exception, match="invalid code"):
        jax.jit(softpile.one_hot_reads)(jnp.array([0, 9])).block_until_ready()


def test_decode_round_trip_and_consensus():
    strings = ["ACGTN-", "T", "GA-"]
    assert softpile.decode(softpile.one_hot_reads(strings, gaps=True)) == strings
    assert softpile.decode(softpile.one_hot_reads("ACN")) == "ACN"
    distribution = np.array([[0.7, 0.1, 0.1, 0.1], [0.25] * 4, [0, 0.5, 0.5, 0], [0, 0, 0, 1]])
    assert softpile.consensus(distribution) == "ANNT"


def test_encode_sequence_reference_letters():
    np.testing.assert_array_equal(
        np.asarray(softpile.encode_sequence("ACGTNacgtnRYKM")),
        [0, 1, 2, 3, 5, 0, 1, 2, 3, 5, 5, 5, 5, 5],
    )
    with pytest.raises(ValueError, match="encode_sequence: invalid letter 'X'"):
        softpile.encode_sequence("ACX")
    with pytest.raises(ValueError, match="cannot contain a gap"):
        softpile.encode_sequence("A-C")


def test_wrong_type_names_the_argument():
    # With the test suite's jaxtyping hook this is a TypeCheckError, without it a ValueError;
    # either way the message names `sequences`.
    with pytest.raises((ValueError, TypeError, Exception), match="sequences"):
        softpile.one_hot_reads(42)

"""The alphabet, one-hot encoding of reads and decoding back to strings."""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from beartype import beartype
from jaxtyping import Array, Float, Int, jaxtyped

from ._typing import ArrayLike

A, C, G, T, GAP, N, PAD = 0, 1, 2, 3, 4, 5, -1
"""Integer codes: bases `A=0 C=1 G=2 T=3`, deletion `GAP=4`, unknown base `N=5`, padding `-1`."""

BASES = "ACGT"
SYMBOLS = "ACGT-N"
"""The symbol of each code `0..5`, also the channel order with `n_channel=True`."""

# Letters a read may contain: bases, N and the gap.
_READ_CODES = {"A": A, "C": C, "G": G, "T": T, "N": N, "-": GAP}
# A reference may also carry IUPAC ambiguity letters, which become N (real FASTAs have them).
_IUPAC_AMBIGUOUS = "RYSWKMBDHVU"


def _codes_of_string(sequence: str, read: int | None) -> np.ndarray:
    codes = np.full(len(sequence), 99, dtype=np.int32)
    raw = np.frombuffer(sequence.upper().encode("ascii", errors="replace"), dtype=np.uint8)
    for letter, code in _READ_CODES.items():
        codes[raw == ord(letter)] = code
    bad = np.flatnonzero(codes == 99)
    if bad.size:
        column = int(bad[0])
        where = f"column {column}" if read is None else f"read {read}, column {column}"
        raise ValueError(
            f"one_hot_reads: invalid letter {sequence[column]!r} at {where}; reads may contain "
            "only A, C, G, T, N and '-' (either case). Encode other IUPAC letters as N."
        )
    return codes


def _codes_of_strings(sequences: Sequence[str], length: int | None) -> np.ndarray:
    longest = max((len(s) for s in sequences), default=0)
    if length is None:
        length = longest
    elif longest > length:
        read = next(i for i, s in enumerate(sequences) if len(s) > length)
        raise ValueError(
            f"one_hot_reads: read {read} has {len(sequences[read])} letters but length={length}; "
            "pass a larger `length` or leave it as None to use the longest read."
        )
    codes = np.full((len(sequences), length), PAD, dtype=np.int32)
    for i, sequence in enumerate(sequences):
        codes[i, : len(sequence)] = _codes_of_string(sequence, i)
    return codes


def _encoding_table(gaps: bool, n_channel: bool, dtype) -> np.ndarray:
    """Row `code + 1` is the channel vector of that code (row 0: padding)."""
    channels = 4 + int(gaps) + int(n_channel)
    table = np.zeros((7, channels), dtype=dtype)
    table[1:5, :4] = np.eye(4)
    if gaps:
        table[GAP + 1, GAP] = 1.0
    if n_channel:
        table[N + 1, 5] = 1.0
    else:
        table[N + 1, :4] = 0.25
    return table


@jaxtyped(typechecker=beartype)
def one_hot_reads(
    sequences: str | Sequence[str] | ArrayLike,
    *,
    gaps: bool = False,
    n_channel: bool = False,
    length: int | None = None,
) -> Float[Array, "*reads length channels"]:
    r"""One-hot encode reads, in reference space.

    **Arguments:**

    - `sequences`: a string (`"ACGTN-"`, either case), a list of strings of unequal length
      (right-padded), or an integer array of codes `0..3` (A, C, G, T), `4` (gap), `5` (N),
      `-1` (padding) of shape `(..., length)`.
    - `gaps`: add a fifth channel `-` for deletions. Without it a gap is an error.
    - `n_channel`: give `N` a channel of its own (requires `gaps`; channels `A,C,G,T,-,N`) for
      exact per-symbol counts. Otherwise `N` is the uniform vector over A, C, G, T.
    - `length`: pad strings (or integer codes) on the right to this many columns.

    **Returns:**

    An array of shape `(length, C)` for one string, `(reads, length, C)` for a list and
    `(..., length, C)` for codes, with `C = 4 + gaps + n_channel`. Padding is the zero vector.

    Raises `ValueError` naming the read and column of an invalid letter or code.

    ```python
    >>> import softpile
    >>> softpile.one_hot_reads("ACn").tolist()
    [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]
    >>> softpile.one_hot_reads(["AC", "G"]).shape
    (2, 2, 4)

    ```
    """
    if n_channel and not gaps:
        raise ValueError(
            "one_hot_reads: n_channel=True needs gaps=True (channels A,C,G,T,-,N); "
            "pass gaps=True as well."
        )
    if length is not None and length < 0:
        raise ValueError(f"one_hot_reads: length must be >= 0, got {length}.")
    if isinstance(sequences, str):
        codes = _codes_of_strings([sequences], length)[0]
    elif isinstance(sequences, np.ndarray | jnp.ndarray):
        codes = _check_codes(sequences, gaps=gaps, length=length)
    elif isinstance(sequences, Sequence) and all(isinstance(s, str) for s in sequences):
        codes = _codes_of_strings(list(sequences), length)
    else:
        raise ValueError(
            "one_hot_reads: `sequences` must be a string, a list of strings or an integer "
            f"array of codes, got {type(sequences).__name__}."
        )
    if isinstance(codes, np.ndarray) and not gaps and np.any(codes == GAP):
        read, column = _first_index(codes == GAP)
        raise ValueError(
            f"one_hot_reads: gap ('-' or code 4) at {read}column {column} but gaps=False; "
            "pass gaps=True to encode deletions."
        )
    return one_hot_valid(codes, gaps=gaps, n_channel=n_channel)


def one_hot_valid(codes, *, gaps: bool, n_channel: bool = False) -> Array:
    """`one_hot_reads` of integer codes that are valid by construction (made by softpile's own
    reader), without the check: a compiled program without the check's host callback can be
    kept in JAX's compilation cache between runs."""
    dtype = jnp.zeros((), float).dtype
    return jnp.asarray(_encoding_table(gaps, n_channel, dtype))[jnp.asarray(codes) + 1]


def _first_index(mask: np.ndarray) -> tuple[str, int]:
    index = np.argwhere(mask)[0]
    read = f"read {', '.join(map(str, index[:-1]))}, " if index.size > 1 else ""
    return read, int(index[-1])


def _check_codes(codes, *, gaps: bool, length: int | None):
    if not jnp.issubdtype(codes.dtype, jnp.integer):
        raise ValueError(
            f"one_hot_reads: integer codes expected, got an array of dtype {codes.dtype}; "
            "pass strings, or codes 0..3 (bases), 4 (gap), 5 (N), -1 (padding)."
        )
    if codes.ndim == 0:
        raise ValueError("one_hot_reads: codes must have at least one (length) axis, got a scalar.")
    if length is not None:
        if codes.shape[-1] > length:
            raise ValueError(
                f"one_hot_reads: codes have {codes.shape[-1]} columns but length={length}."
            )
        pad = [(0, 0)] * (codes.ndim - 1) + [(0, length - codes.shape[-1])]
        codes = (np if isinstance(codes, np.ndarray) else jnp).pad(codes, pad, constant_values=PAD)
    if isinstance(codes, np.ndarray):
        bad = (codes < PAD) | (codes > N)
        if np.any(bad):
            read, column = _first_index(bad)
            raise ValueError(
                f"one_hot_reads: invalid code {int(codes[tuple(np.argwhere(bad)[0])])} at "
                f"{read}column {column}; codes are 0..3 (A,C,G,T), 4 (gap), 5 (N), -1 (padding)."
            )
        return codes.astype(np.int32)
    codes = codes.astype(jnp.int32)
    largest = N if gaps else 5
    invalid = (codes < PAD) | (codes > largest) | ((codes == GAP) & (not gaps))
    return eqx.error_if(
        codes,
        invalid,
        "one_hot_reads: invalid code; codes are 0..3 (A,C,G,T), 4 (gap, needs gaps=True), "
        "5 (N), -1 (padding).",
    )


def encode_sequence(sequence: str) -> Int[Array, " positions"]:
    """Turn a reference string into integer codes (`A=0 C=1 G=2 T=3 N=5`).

    Lowercase letters are upper-cased and IUPAC ambiguity letters become `N`, as found in real
    FASTA files. Any other character is a `ValueError`.

    ```python
    >>> import softpile
    >>> softpile.encode_sequence("acgTNr").tolist()
    [0, 1, 2, 3, 5, 5]

    ```
    """
    upper = sequence.upper()
    for letter in _IUPAC_AMBIGUOUS:
        upper = upper.replace(letter, "N")
    if "-" in upper:
        column = upper.index("-")
        raise ValueError(
            f"encode_sequence: a reference cannot contain a gap ('-' at position {column})."
        )
    try:
        codes = _codes_of_string(upper, None)
    except ValueError as error:
        raise ValueError(str(error).replace("one_hot_reads", "encode_sequence")) from None
    return jnp.asarray(codes)


def _symbols_of(columns: np.ndarray) -> np.ndarray:
    """The symbol index of each column vector; `N` for empty or tied A/C/G/T columns."""
    best = np.argmax(columns, axis=-1)
    top = np.max(columns, axis=-1)
    ties = np.sum(columns == top[..., None], axis=-1) > 1
    # Channel index equals the code for every layout (A,C,G,T[,-[,N]]).
    return np.where((top <= 0) | ties, N, best)


@jaxtyped(typechecker=beartype)
def decode(
    reads: Float[ArrayLike, "*reads length channels"], *, strip_padding: bool = True
) -> str | list[str]:
    """Turn one-hot (or soft) reads back into strings by the most likely channel per column.

    A column whose channels are all zero, or whose largest value is shared (such as the uniform
    `N` vector), becomes `N`; the gap channel becomes `-`. With `strip_padding`, all-zero columns
    at the end of a read are removed, so `decode(one_hot_reads(strings))` gives the strings back.

    ```python
    >>> import softpile
    >>> softpile.decode(softpile.one_hot_reads(["ACGTN", "T-A"], gaps=True))
    ['ACGTN', 'T-A']

    ```
    """
    values = np.asarray(reads)
    if values.ndim < 2:
        raise ValueError(
            f"decode: `reads` must have shape (..., length, channels), got {values.shape}."
        )
    symbols = _symbols_of(values)
    letters = np.array(list(SYMBOLS))[symbols]
    empty = ~np.any(values != 0, axis=-1)

    def one(row_letters, row_empty) -> str:
        end = len(row_letters)
        if strip_padding:
            while end and row_empty[end - 1]:
                end -= 1
        return "".join(row_letters[:end])

    if values.ndim == 2:
        return one(letters, empty)
    flat = [
        one(r, e)
        for r, e in zip(letters.reshape(-1, letters.shape[-1]), empty.reshape(-1, empty.shape[-1]))
    ]
    return flat


@jaxtyped(typechecker=beartype)
def consensus(
    distribution: Float[ArrayLike, "positions channels"],
) -> str:
    """The consensus string of a pileup: the most likely symbol at each position.

    Takes `Pileup.distribution` or `Pileup.counts`. Positions with no coverage (uniform
    distribution) or a tie between the top symbols are `N`.

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> reads = softpile.one_hot_reads(["ACG", "AGG"])
    >>> softpile.consensus(softpile.pileup(reads, np.array([0, 0]), 4).counts)
    'ANGN'

    ```
    """
    values = np.asarray(distribution)
    if values.ndim != 2:
        raise ValueError(
            f"consensus: expected (positions, channels), got shape {values.shape}; "
            "for several samples call it once per sample."
        )
    return "".join(np.array(list(SYMBOLS))[_symbols_of(values)])

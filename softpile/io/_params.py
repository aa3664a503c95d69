"""Parameter files: what `softpile train` writes and `softpile call --params` reads."""

import io
import os
from pathlib import Path

import equinox as eqx
from jaxtyping import Array, Float

from .._quality import QualityFilter, _as_float_scalar
from .._read_model import ReadModel
from .._typing import ScalarLike
from .._variants import VariantModel

DEFAULT_MIN_QUAL = 10.0
"""QUAL from which a record is PASS: P(variant) >= 0.9 (chosen on held-out data, see the
calling docs)."""


class CallerParams(eqx.Module):
    """Everything a trained caller holds (a pytree): the `ReadModel` in front of the pileup,
    the `VariantModel` behind it, and `min_qual`, the QUAL from which a record is PASS.

    The defaults are the untrained caller: `softpile call` without `--params` makes the same
    calls.

    ```python
    >>> import tempfile, softpile
    >>> from softpile.io import CallerParams, load_caller, save_caller
    >>> path = tempfile.mkdtemp() + "/model.eqx"
    >>> save_caller(path, CallerParams(variant_model=softpile.VariantModel(2e-3)))
    >>> params = load_caller(path)
    >>> round(float(params.variant_model.heterozygosity), 4), float(params.min_qual)
    (0.002, 10.0)

    ```
    """

    read_model: ReadModel
    variant_model: VariantModel
    min_qual: Float[Array, ""]

    def __init__(
        self,
        read_model: ReadModel | None = None,
        variant_model: VariantModel | None = None,
        min_qual: ScalarLike = DEFAULT_MIN_QUAL,
    ):
        self.read_model = ReadModel() if read_model is None else read_model
        self.variant_model = VariantModel() if variant_model is None else variant_model
        self.min_qual = _as_float_scalar(min_qual, "min_qual")


def save_caller(path: str | os.PathLike, params: CallerParams) -> None:
    """Write `params` with `equinox.tree_serialise_leaves` (through a temporary file, so an
    interrupted save leaves the old file whole); missing folders are made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    eqx.tree_serialise_leaves(partial, params)
    partial.replace(path)


def _deserialised(data: bytes, like):
    """`like` filled from `data`, or None when the file does not hold exactly its leaves."""
    stream = io.BytesIO(data)
    try:
        loaded = eqx.tree_deserialise_leaves(stream, like)
    except Exception:
        return None
    return loaded if stream.tell() == len(data) else None


def _file_bytes(path: str | os.PathLike) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{os.fspath(path)}: does not exist.")
    return path.read_bytes()


def load_caller(path: str | os.PathLike) -> CallerParams:
    """Load a `CallerParams` saved by `save_caller` (or `softpile train`)."""
    loaded = _deserialised(_file_bytes(path), CallerParams())
    if loaded is None:
        raise ValueError(
            f"{os.fspath(path)}: is not a model saved by softpile train (a CallerParams "
            "written with equinox.tree_serialise_leaves)."
        )
    return loaded


def load_params(path: str | os.PathLike) -> tuple[QualityFilter | None, VariantModel | None]:
    """Load parameters saved with `equinox.tree_serialise_leaves`.

    The file holds a `(QualityFilter, VariantModel)` tuple, a `VariantModel` or a
    `QualityFilter`; the one whose leaves fill the file exactly is returned, the other as None.
    (A model written by `softpile train` is read with `load_caller`.)

    ```python
    >>> import tempfile, equinox as eqx, softpile
    >>> from softpile.io import load_params
    >>> path = tempfile.mkdtemp() + "/params.eqx"
    >>> eqx.tree_serialise_leaves(path, softpile.VariantModel(heterozygosity=0.01))
    >>> quality_filter, model = load_params(path)
    >>> quality_filter, round(float(model.heterozygosity), 4)
    (None, 0.01)

    ```
    """
    data = _file_bytes(path)
    candidates = [
        ((QualityFilter(), VariantModel()), lambda pair: pair),
        (VariantModel(), lambda model: (None, model)),
        (QualityFilter(), lambda quality_filter: (quality_filter, None)),
    ]
    for like, unpack in candidates:
        loaded = _deserialised(data, like)
        if loaded is not None:
            return unpack(loaded)
    raise ValueError(
        f"{os.fspath(path)}: is not a model saved by softpile train, a QualityFilter, a "
        "VariantModel or a (QualityFilter, VariantModel) tuple saved with "
        "equinox.tree_serialise_leaves."
    )

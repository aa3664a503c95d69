"""What the figures share: new axes, x coordinates, and checks of the arrays drawn."""

from collections.abc import Sequence

import numpy as np
from jax import Array
from matplotlib.axes import Axes
from matplotlib.figure import Figure

Positions = Sequence[int] | np.ndarray | Array
"""Marks along the x axis: positions in the plot's coordinates (`start` + row index)."""


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def x_values(length: int, start: int) -> np.ndarray:
    return np.arange(start, start + length)


def one_dimensional(values, name: str, caller: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{caller}: `{name}` must be one value per position (1-D), got shape {array.shape}."
        )
    return array


def checked_marks(positions: Positions, name: str, caller: str) -> np.ndarray:
    marks = np.asarray(positions)
    if marks.ndim != 1 or not (marks.size == 0 or np.issubdtype(marks.dtype, np.number)):
        raise ValueError(
            f"{caller}: `{name}` must be a 1-D list of positions, got {positions!r}; pass the "
            "x coordinates (start + index) of the sites to mark."
        )
    return marks

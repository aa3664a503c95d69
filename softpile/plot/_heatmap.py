"""The pileup as a heatmap: symbols down, positions along, the reference and calls marked."""

import numpy as np
from jax import Array
from matplotlib.axes import Axes

from .._encoding import SYMBOLS
from .._pileup import Pileup
from ._axes import Positions, checked_marks, new_axes, one_dimensional, x_values

# Reference letters are written above the heatmap only while they stay legible.
_MAX_LETTERS = 150


def pileup_heatmap(
    pileup: Pileup | np.ndarray | Array,
    *,
    ax: Axes | None = None,
    start: int = 0,
    reference: np.ndarray | Array | None = None,
    variants: Positions | None = None,
    title: str = "Pileup distribution",
    xlabel: str = "Position",
    cmap: str = "viridis",
    vmin: float | int = 0.0,
    vmax: float | int = 1.0,
    label: str = "Probability",
    cax: Axes | None = None,
) -> Axes:
    """Heatmap of a `(positions, channels)` array, positions along x (with a colorbar).

    **Arguments:**

    - `pileup`: a [`softpile.Pileup`][] (its `distribution` is drawn) or any
      `(positions, channels)` array, e.g. `counts` or a difference of two distributions.
    - `ax`: draw on this `Axes` (default: a new figure).
    - `start`: x coordinate of the first position.
    - `reference`: `(positions,)` reference codes (`A=0 C=1 G=2 T=3 N=5`). Each position's
      reference channel gets a white dot, and while the window is at most 150 positions wide
      the reference letters are written along the top.
    - `variants`: positions (x coordinates) to outline in red, e.g. the called sites.
    - `title`, `xlabel`, `cmap`, `vmin`, `vmax`, `label`: styling; `label` names the colorbar.
      When marks are drawn, a short key is appended to the title.
    - `cax`: draw the colorbar into this `Axes` (default: steal room from `ax`).

    **Returns:**

    The `Axes`. Its image holds the array transposed, `(channels, positions)`.

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> from softpile import plot
    >>> piled = softpile.pileup(softpile.one_hot_reads(["ACG", "AGG"]), np.array([0, 0]), 3)
    >>> ax = plot.pileup_heatmap(piled, reference=softpile.encode_sequence("ACG"), variants=[1])
    >>> ax.images[0].get_array()[:, 1].tolist()
    [0.0, 0.5, 0.5, 0.0]

    ```
    """
    values = np.asarray(pileup.distribution if isinstance(pileup, Pileup) else pileup)
    if values.ndim != 2:
        raise ValueError(
            f"pileup_heatmap: expected a Pileup or a (positions, channels) array, got shape "
            f"{values.shape}."
        )
    positions, channels = values.shape
    ax = new_axes(ax, (12.0, 3.0))
    image = ax.imshow(
        values.T,
        aspect="auto",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=(start - 0.5, start + positions - 0.5, channels - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(channels), list(SYMBOLS[:channels]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Symbol")
    ax.set_title(title)
    if reference is not None:
        codes = one_dimensional(reference, "reference", "pileup_heatmap")
        if codes.size != positions:
            raise ValueError(
                f"pileup_heatmap: `reference` has {codes.size} codes for {positions} positions; "
                "pass the reference codes of exactly the plotted window."
            )
        drawable = codes < channels
        ax.scatter(
            x_values(positions, start)[drawable],
            codes[drawable],
            s=10,
            c="white",
            edgecolors="black",
            linewidths=0.4,
            label="reference base",
        )
        if positions <= _MAX_LETTERS:
            top = ax.secondary_xaxis("top")
            top.set_ticks(
                x_values(positions, start), [SYMBOLS[c] if c <= 5 else "?" for c in codes]
            )
            top.tick_params(length=0, labelsize=7 if positions > 60 else 9)
    if variants is not None:
        marks = checked_marks(variants, "variants", "pileup_heatmap")
        ax.bar(
            marks,
            channels,
            bottom=-0.5,
            width=1.0,
            fill=False,
            edgecolor="red",
            linewidth=1.5,
            label="variant",
        )
    # A legend would hide columns of the heatmap; the key goes into the title instead.
    key = [
        text
        for text, shown in (("dots: reference base", reference), ("red: variants", variants))
        if shown is not None
    ]
    ax.set_title(f"{title}  ({'; '.join(key)})" if key else title)
    if cax is None:
        ax.figure.colorbar(image, ax=ax, label=label)
    else:
        ax.figure.colorbar(image, cax=cax, label=label)
    return ax

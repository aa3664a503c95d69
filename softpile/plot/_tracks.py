"""Tracks along the positions: read depth, and a variant score with the true sites."""

import numpy as np
from jax import Array
from matplotlib.axes import Axes

from .._pileup import Pileup
from .._variants import VariantScores
from ._axes import Positions, checked_marks, new_axes, one_dimensional, x_values


def coverage_track(
    pileup: Pileup | np.ndarray | Array,
    *,
    ax: Axes | None = None,
    start: int = 0,
    weighted: bool = False,
    xlabel: str = "Position",
    title: str = "Read coverage",
) -> Axes:
    """Bar chart of the read depth (or the weighted coverage) at each position.

    **Arguments:**

    - `pileup`: a [`softpile.Pileup`][], or a `(positions,)` array of values to draw.
    - `ax`: draw on this `Axes` (default: a new figure).
    - `start`: x coordinate of the first position, e.g. the 0-based start of a BAM window.
    - `weighted`: with a `Pileup`, draw `coverage` (weighted by quality and filters) instead of
      `depth` (reads).
    - `xlabel`, `title`: axis label and title.

    **Returns:**

    The `Axes`; bar `k` has height `depth[k]` at x = `start + k`.

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> from softpile import plot
    >>> piled = softpile.pileup(softpile.one_hot_reads(["ACG", "CG"]), np.array([0, 1]), 4)
    >>> ax = plot.coverage_track(piled, start=100)
    >>> [int(patch.get_height()) for patch in ax.patches]
    [1, 2, 2, 0]

    ```
    """
    if isinstance(pileup, Pileup):
        values = np.asarray(pileup.coverage if weighted else pileup.depth)
        ylabel = "Weighted coverage" if weighted else "Depth (reads)"
    else:
        values = one_dimensional(pileup, "pileup", "coverage_track")
        ylabel = "Coverage"
    ax = new_axes(ax, (12.0, 3.0))
    ax.bar(x_values(values.size, start), values, width=1.0, color="tab:blue")
    ax.set_xlim(start - 0.5, start + values.size - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def variant_track(
    scores: VariantScores | np.ndarray | Array,
    *,
    ax: Axes | None = None,
    start: int = 0,
    value: str = "p_variant",
    truth: Positions | None = None,
    threshold: float | int | None = None,
    xlabel: str = "Position",
    title: str | None = None,
) -> Axes:
    """A variant score along the positions, with the true variant sites when known.

    **Arguments:**

    - `scores`: [`softpile.VariantScores`][] or a `(positions,)` array of scores.
    - `ax`: draw on this `Axes` (default: a new figure).
    - `start`: x coordinate of the first position.
    - `value`: with `VariantScores`, which field to draw: `"p_variant"` (0 to 1) or
      `"quality"` (Phred QUAL, drawn on a log axis from 1).
    - `truth`: positions (x coordinates) of the true variants, marked with green stars at the
      top of the panel and a green band behind the bar (visible where a variant was missed).
    - `threshold`: draw this calling threshold as a dashed line; bars at or above it are red.
      Default: 0.5 for `p_variant`, 20 for `quality`, none for a plain array.
    - `xlabel`, `title`: axis label and title (default: the value's name).

    **Returns:**

    The `Axes`; bar `k` has the score of position `k` as its height.

    ```python
    >>> import numpy as np
    >>> from softpile import plot
    >>> ax = plot.variant_track(np.array([0.0, 0.9, 0.1]), truth=[1], threshold=0.5)
    >>> bars = ax.containers[0]
    >>> [float(bar.get_height()) for bar in bars]
    [0.0, 0.9, 0.1]
    >>> [bar.get_facecolor()[0] for bar in bars]  # red (1.0) at or above the threshold
    [0.5, 1.0, 0.5]

    ```
    """
    if isinstance(scores, VariantScores):
        if value not in ("p_variant", "quality"):
            raise ValueError(
                f"variant_track: value must be 'p_variant' or 'quality', got {value!r}."
            )
        values = np.asarray(getattr(scores, value))
        if threshold is None:
            threshold = 0.5 if value == "p_variant" else 20.0
        ylabel = "P(variant)" if value == "p_variant" else "QUAL (Phred)"
    else:
        values = one_dimensional(scores, "scores", "variant_track")
        ylabel = "Score"
    ax = new_axes(ax, (12.0, 3.0))
    x = x_values(values.size, start)
    sites = None if truth is None else checked_marks(truth, "truth", "variant_track")
    if sites is not None:
        for site in sites:
            ax.axvspan(site - 0.5, site + 0.5, color="tab:green", alpha=0.15, linewidth=0)
    called = np.zeros(values.shape, bool) if threshold is None else values >= threshold
    colors = np.where(called[:, None], [[1.0, 0.0, 0.0, 1.0]], [[0.5, 0.5, 0.5, 1.0]])
    ax.bar(x, values, width=1.0, color=colors)
    # Headroom above the largest possible bar keeps the truth stars clear of the bars.
    if value == "quality" and isinstance(scores, VariantScores):
        # QUAL spans 0 to 999; a log axis shows both the noise floor and the calls.
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, max(1e4, float(values.max()) * 10))
    elif ylabel == "P(variant)":
        ax.set_ylim(0, 1.3)
        ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    if sites is not None:
        # Stars sit at the top of the panel whatever its y scale (axes-fraction y).
        ax.scatter(
            sites,
            np.full(sites.shape, 0.95),
            marker="*",
            s=90,
            c="tab:green",
            transform=ax.get_xaxis_transform(),
            zorder=3,
            label="true variant",
        )
    ax.set_xlim(start - 0.5, start + values.size - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"Variant score: {ylabel}")
    if threshold is not None or truth is not None:
        ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    return ax

"""Figures of several panels: the overview of a window, and two pileups compared."""

import numpy as np
from jax import Array
from matplotlib.figure import Figure

from .._pileup import Pileup
from .._variants import VariantScores
from ._axes import Positions, x_values
from ._heatmap import pileup_heatmap
from ._tracks import coverage_track, variant_track


def overview(
    pileup: Pileup,
    *,
    start: int = 0,
    reference: np.ndarray | Array | None = None,
    variants: Positions | None = None,
    scores: VariantScores | None = None,
    truth: Positions | None = None,
    value: str = "p_variant",
    threshold: float | None = None,
    xlabel: str = "Position",
    title: str | None = None,
) -> Figure:
    """The seed example's figure: coverage above the pileup heatmap, and the variant track
    below them when `scores` are given.

    **Arguments:** as for [`softpile.plot.coverage_track`][], [`softpile.plot.pileup_heatmap`][]
    and [`softpile.plot.variant_track`][] (`value` and `threshold` are the variant track's);
    `title` is the figure's title.

    **Returns:**

    The `Figure`: `figure.axes` holds the 2 or 3 panels (sharing the x axis) in that order,
    then the colorbar.

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> from softpile import plot
    >>> piled = softpile.pileup(softpile.one_hot_reads(["ACG"]), np.array([0]), 3)
    >>> len(plot.overview(piled).axes)  # coverage, heatmap, colorbar
    3

    ```
    """
    panels = 2 if scores is None else 3
    figure = Figure(figsize=(12, 2.6 * panels + 0.6), layout="constrained")
    # A narrow second column holds the heatmap's colorbar, so all panels keep the same width
    # and their positions line up.
    grid = figure.add_gridspec(panels, 2, width_ratios=[1.0, 0.015])
    axes = [figure.add_subplot(grid[0, 0])]
    axes += [figure.add_subplot(grid[row, 0], sharex=axes[0]) for row in range(1, panels)]
    colorbar_axes = figure.add_subplot(grid[1, 1])
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    coverage_track(pileup, ax=axes[0], start=start, xlabel="")
    pileup_heatmap(
        pileup,
        ax=axes[1],
        start=start,
        reference=reference,
        variants=variants,
        xlabel=xlabel if scores is None else "",
        cax=colorbar_axes,
    )
    if scores is not None:
        variant_track(
            scores,
            ax=axes[2],
            start=start,
            value=value,
            truth=truth,
            threshold=threshold,
            xlabel=xlabel,
        )
    if title is not None:
        figure.suptitle(title, fontsize=14)
    return figure


def compare_pileups(
    before: Pileup | np.ndarray | Array,
    after: Pileup | np.ndarray | Array,
    *,
    start: int = 0,
    names: tuple[str, str] = ("before", "after"),
    title: str = "Effect on the pileup",
    xlabel: str = "Position",
) -> Figure:
    """The seed's 2x2 comparison of two pileups of the same positions (e.g. unfiltered vs
    filtered, or weighted vs unweighted).

    Top: both distributions. Bottom left: their absolute difference per symbol. Bottom right:
    the total change per position, $\\sum_c |p_{rc} - q_{rc}|$, with its mean dashed.

    **Arguments:**

    - `before`, `after`: [`softpile.Pileup`][]s or `(positions, channels)` distributions.
    - `start`: x coordinate of the first position.
    - `names`: how to call the two pileups in the titles.
    - `title`, `xlabel`: figure title and x label.

    **Returns:**

    The `Figure`; `figure.axes[:4]` are the four panels in reading order (colorbars follow).

    ```python
    >>> import numpy as np
    >>> import softpile
    >>> from softpile import plot
    >>> reads = softpile.one_hot_reads(["AC", "AG"])
    >>> a = softpile.pileup(reads, np.array([0, 0]), 2)
    >>> b = softpile.pileup(reads[:1], np.array([0]), 2)
    >>> figure = plot.compare_pileups(a, b)
    >>> [float(patch.get_height()) for patch in figure.axes[3].patches]
    [0.0, 1.0]

    ```
    """
    first = np.asarray(before.distribution if isinstance(before, Pileup) else before)
    second = np.asarray(after.distribution if isinstance(after, Pileup) else after)
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(
            f"compare_pileups: `before` and `after` must have the same (positions, channels) "
            f"shape, got {first.shape} and {second.shape}."
        )
    difference = np.abs(first - second)
    figure = Figure(figsize=(14, 9), layout="constrained")
    # Colorbars get columns of their own so that all four panels have the same width.
    grid = figure.add_gridspec(2, 4, width_ratios=[1.0, 0.03, 1.0, 0.03])
    panels = [figure.add_subplot(grid[row, column]) for row in (0, 1) for column in (0, 2)]
    colorbars = [figure.add_subplot(grid[row, column]) for row, column in ((0, 1), (0, 3), (1, 1))]
    for ax, cax, values, name in zip(panels, colorbars, (first, second), names):
        pileup_heatmap(values, ax=ax, cax=cax, start=start, xlabel=xlabel, title=f"Pileup ({name})")
    pileup_heatmap(
        difference,
        ax=panels[2],
        cax=colorbars[2],
        start=start,
        xlabel=xlabel,
        cmap="Reds",
        vmax=max(float(difference.max()), 1e-6),
        title=f"|{names[0]} - {names[1]}|",
        label="Difference",
    )
    change = difference.sum(axis=-1)
    bars = panels[3]
    bars.bar(x_values(change.size, start), change, width=1.0, color="coral")
    bars.axhline(change.mean(), color="red", linestyle="--", label=f"mean {change.mean():.3f}")
    bars.set_xlim(start - 0.5, start + change.size - 0.5)
    bars.set_xlabel(xlabel)
    bars.set_ylabel("Total change")
    bars.set_title("Per-position change")
    bars.legend(loc="upper right")
    figure.suptitle(title, fontsize=14)
    return figure

"""Figures of pileups and variant scores (optional extra `plot`: matplotlib).

The core never imports this module. Every function returns matplotlib objects (`Figure` or
`Axes`) so they can be restyled, and draws on a given `ax` when one is passed. Figures are
built without pyplot (no global state), so they work headless and in threads; save them with
`figure.savefig(path)` (an `Axes` has `ax.figure`).

Positions: the first row of a pileup is drawn at x = `start`, so a window of a real BAM
read with `softpile.io.pileup_region` is drawn at its genome coordinates by passing the
window's start. Marks (`variants`, `truth`) are given in the same coordinates as the x axis.
"""

from collections.abc import Sequence

import numpy as np
from jax import Array

try:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("softpile.plot needs matplotlib: pip install 'softpile[plot]'") from error

from ._encoding import SYMBOLS
from ._pileup import Pileup
from ._variants import VariantScores

__all__ = ["coverage_track", "pileup_heatmap", "variant_track", "compare_pileups", "overview"]

Positions = Sequence[int] | np.ndarray | Array
"""Marks along the x axis: positions in the plot's coordinates (`start` + row index)."""

# Reference letters are written above the heatmap only while they stay legible.
_MAX_LETTERS = 150


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def _x(length: int, start: int) -> np.ndarray:
    return np.arange(start, start + length)


def _one_dimensional(values, name: str, caller: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{caller}: `{name}` must be one value per position (1-D), got shape {array.shape}."
        )
    return array


def _marks(positions: Positions, name: str, caller: str) -> np.ndarray:
    marks = np.asarray(positions)
    if marks.ndim != 1 or not (marks.size == 0 or np.issubdtype(marks.dtype, np.number)):
        raise ValueError(
            f"{caller}: `{name}` must be a 1-D list of positions, got {positions!r}; pass the "
            "x coordinates (start + index) of the sites to mark."
        )
    return marks


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
        values = _one_dimensional(pileup, "pileup", "coverage_track")
        ylabel = "Coverage"
    ax = _new_axes(ax, (12.0, 3.0))
    ax.bar(_x(values.size, start), values, width=1.0, color="tab:blue")
    ax.set_xlim(start - 0.5, start + values.size - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


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
    ax = _new_axes(ax, (12.0, 3.0))
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
        codes = _one_dimensional(reference, "reference", "pileup_heatmap")
        if codes.size != positions:
            raise ValueError(
                f"pileup_heatmap: `reference` has {codes.size} codes for {positions} positions; "
                "pass the reference codes of exactly the plotted window."
            )
        drawable = codes < channels
        ax.scatter(
            _x(positions, start)[drawable],
            codes[drawable],
            s=10,
            c="white",
            edgecolors="black",
            linewidths=0.4,
            label="reference base",
        )
        if positions <= _MAX_LETTERS:
            top = ax.secondary_xaxis("top")
            top.set_ticks(_x(positions, start), [SYMBOLS[c] if c <= 5 else "?" for c in codes])
            top.tick_params(length=0, labelsize=7 if positions > 60 else 9)
    if variants is not None:
        marks = _marks(variants, "variants", "pileup_heatmap")
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
        values = _one_dimensional(scores, "scores", "variant_track")
        ylabel = "Score"
    ax = _new_axes(ax, (12.0, 3.0))
    x = _x(values.size, start)
    sites = None if truth is None else _marks(truth, "truth", "variant_track")
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
    bars.bar(_x(change.size, start), change, width=1.0, color="coral")
    bars.axhline(change.mean(), color="red", linestyle="--", label=f"mean {change.mean():.3f}")
    bars.set_xlim(start - 0.5, start + change.size - 0.5)
    bars.set_xlabel(xlabel)
    bars.set_ylabel("Total change")
    bars.set_title("Per-position change")
    bars.legend(loc="upper right")
    figure.suptitle(title, fontsize=14)
    return figure

"""Figures of pileups (optional extra `plot`: matplotlib). Never imported by the core.

Every function returns matplotlib objects (`Figure`/`Axes`) so they can be restyled, and
draws on a given `ax` when one is passed. Figures are built without pyplot, so they work
headless and save with `figure.savefig(path)`.
"""

import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("softpile.plot needs matplotlib: pip install 'softpile[plot]'") from error

from ._encoding import SYMBOLS
from ._pileup import Pileup

__all__ = ["coverage_track", "pileup_heatmap", "compare_pileups", "overview"]


def _positions(length: int, start: int) -> np.ndarray:
    return np.arange(start, start + length)


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def coverage_track(pileup: Pileup, *, ax=None, start: int = 0, weighted: bool = False):
    """Bar chart of read depth (or weighted coverage) along the positions.

    **Arguments:** `pileup`; `ax` to draw on; `start`, the coordinate of the first position
    (0-based); `weighted` to plot `coverage` instead of `depth`.
    **Returns:** the `Axes`.
    """
    values = np.asarray(pileup.coverage if weighted else pileup.depth)
    ax = _new_axes(ax, (12, 3))
    ax.bar(_positions(values.size, start), values, width=1.0, color="tab:blue")
    ax.set_xlabel("Position")
    ax.set_ylabel("Weighted coverage" if weighted else "Depth (reads)")
    ax.set_title("Read coverage")
    ax.set_xlim(start - 0.5, start + values.size - 0.5)
    return ax


def pileup_heatmap(
    pileup: Pileup | np.ndarray,
    *,
    ax=None,
    start: int = 0,
    reference=None,
    variants=None,
    title: str = "Pileup distribution",
    cmap: str = "viridis",
    vmin: float = 0.0,
    vmax: float = 1.0,
    label: str = "Probability",
):
    """Heatmap of a `(positions, channels)` array (default: `pileup.distribution`).

    **Arguments:** `pileup` or an array; `reference` codes to draw a white dot on the
    reference channel of each position; `variants`, positions to mark with a red triangle;
    `start`, the 0-based coordinate of the first position.
    **Returns:** the `Axes` (with a colorbar).
    """
    values = np.asarray(pileup.distribution if isinstance(pileup, Pileup) else pileup)
    ax = _new_axes(ax, (12, 3))
    positions = values.shape[0]
    extent = (start - 0.5, start + positions - 0.5, values.shape[1] - 0.5, -0.5)
    image = ax.imshow(
        values.T,
        aspect="auto",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        extent=extent,
        interpolation="nearest",
    )
    ax.set_yticks(range(values.shape[1]), list(SYMBOLS[: values.shape[1]]))
    ax.set_xlabel("Position")
    ax.set_ylabel("Nucleotide")
    ax.set_title(title)
    if reference is not None:
        codes = np.asarray(reference)
        shown = codes < values.shape[1]
        ax.scatter(
            _positions(positions, start)[shown], codes[shown], s=8, c="white", label="reference"
        )
    if variants is not None:
        marks = np.asarray(variants)
        ax.scatter(
            marks,
            np.full(marks.shape, -0.5),
            marker="v",
            s=60,
            c="red",
            clip_on=False,
            label="variant",
        )
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax


def overview(pileup: Pileup, *, start: int = 0, reference=None, variants=None) -> Figure:
    """The seed example's figure: coverage bars above the pileup heatmap."""
    figure = Figure(figsize=(12, 8), layout="constrained")
    top, bottom = figure.subplots(2, 1)
    coverage_track(pileup, ax=top, start=start)
    pileup_heatmap(pileup, ax=bottom, start=start, reference=reference, variants=variants)
    return figure


def compare_pileups(
    before: Pileup,
    after: Pileup,
    *,
    start: int = 0,
    names: tuple[str, str] = ("before", "after"),
    title: str = "Effect on the pileup",
) -> Figure:
    """The seed's 2x2 comparison: both distributions, their absolute difference, and the
    per-position total change with its mean.

    **Returns:** the `Figure`.
    """
    first = np.asarray(before.distribution)
    second = np.asarray(after.distribution)
    difference = np.abs(first - second)
    figure = Figure(figsize=(14, 10), layout="constrained")
    axes = figure.subplots(2, 2)
    pileup_heatmap(first, ax=axes[0, 0], start=start, title=f"Pileup ({names[0]})")
    pileup_heatmap(second, ax=axes[0, 1], start=start, title=f"Pileup ({names[1]})")
    pileup_heatmap(
        difference,
        ax=axes[1, 0],
        start=start,
        cmap="Reds",
        vmax=max(float(difference.max()), 1e-6),
        title=f"|{names[0]} - {names[1]}|",
        label="Difference",
    )
    change = difference.sum(axis=-1)
    bars = axes[1, 1]
    bars.bar(_positions(change.size, start), change, width=1.0, color="coral", alpha=0.8)
    bars.axhline(change.mean(), color="red", linestyle="--", label=f"mean {change.mean():.3f}")
    bars.set_xlabel("Position")
    bars.set_ylabel("Total change")
    bars.set_title("Per-position change")
    bars.legend()
    figure.suptitle(title, fontsize=14)
    return figure

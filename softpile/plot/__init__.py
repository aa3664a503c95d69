"""Figures of pileups and variant scores (optional extra `plot`: matplotlib).

The core never imports this module. Every function returns matplotlib objects (`Figure` or
`Axes`) so they can be restyled, and draws on a given `ax` when one is passed. Figures are
built without pyplot (no global state), so they work headless and in threads; save them with
`figure.savefig(path)` (an `Axes` has `ax.figure`).

Positions: the first row of a pileup is drawn at x = `start`, so a window of a real BAM
read with `softpile.io.pileup_region` is drawn at its genome coordinates by passing the
window's start. Marks (`variants`, `truth`) are given in the same coordinates as the x axis.
"""

try:
    import matplotlib  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError("softpile.plot needs matplotlib: pip install 'softpile[plot]'") from error

from ._figures import compare_pileups, overview
from ._heatmap import pileup_heatmap
from ._tracks import coverage_track, variant_track

__all__ = ["coverage_track", "pileup_heatmap", "variant_track", "compare_pileups", "overview"]

"""Real data: BAM/CRAM + FASTA -> reads in reference space -> `Pileup` (needs pysam).

Install with the `io` extra (`pip install softpile[io]`). pysam is imported on first use of a
name below, so `softpile --help` and `softpile demo` work without it.
"""

import importlib
from typing import TYPE_CHECKING

from ._engine import (
    DEFAULT_EXCLUDED as DEFAULT_EXCLUDED,
    DEFAULT_WINDOW as DEFAULT_WINDOW,
    parse_flags as parse_flags,
)
from ._regions import parse_region as parse_region

if TYPE_CHECKING:
    from ._reads import (
        ReadBatch as ReadBatch,
        iter_windows as iter_windows,
        pileup_region as pileup_region,
        read_region as read_region,
    )
    from ._table import HEADER as HEADER

_LAZY = {
    "ReadBatch": "._reads",
    "iter_windows": "._reads",
    "pileup_region": "._reads",
    "read_region": "._reads",
    "HEADER": "._table",
}

__all__ = [
    "DEFAULT_EXCLUDED",
    "DEFAULT_WINDOW",
    "HEADER",
    "ReadBatch",
    "iter_windows",
    "parse_flags",
    "parse_region",
    "pileup_region",
    "read_region",
]


def __getattr__(name: str):
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name], __name__)
        except ImportError as error:
            raise ImportError(
                f"softpile.io.{name} needs pysam: pip install 'softpile[io]' ({error})."
            ) from error
        return getattr(module, name)
    raise AttributeError(f"module 'softpile.io' has no attribute {name!r}")

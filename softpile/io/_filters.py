"""samtools mpileup's read and base filters: flag names, defaults and the `Filters` settings."""

import numpy as np

FLAGS = {
    "PAIRED": 0x1,
    "PROPER_PAIR": 0x2,
    "UNMAP": 0x4,
    "MUNMAP": 0x8,
    "REVERSE": 0x10,
    "MREVERSE": 0x20,
    "READ1": 0x40,
    "READ2": 0x80,
    "SECONDARY": 0x100,
    "QCFAIL": 0x200,
    "DUP": 0x400,
    "SUPPLEMENTARY": 0x800,
}
"""SAM flag bits by samtools' names."""

DEFAULT_EXCLUDED = "UNMAP,SECONDARY,QCFAIL,DUP"
"""samtools mpileup's default `--ff` (supplementary reads are counted)."""

DEFAULT_MIN_BASEQ = 13
"""samtools mpileup's default `-Q`."""

DEFAULT_MAX_DEPTH = 8000
"""samtools mpileup's default `-d`."""


def parse_flags(flags: int | str, argument: str = "excl_flags") -> int:
    """An int, a decimal/hex string or comma-separated samtools flag names -> an int mask.

    ```python
    >>> from softpile.io import parse_flags
    >>> parse_flags("UNMAP,DUP"), parse_flags("0x4"), parse_flags(1024)
    (1028, 4, 1024)

    ```
    """
    if isinstance(flags, int | np.integer) and not isinstance(flags, bool):
        if flags < 0:
            raise ValueError(f"{argument}: flags must be >= 0, got {flags}.")
        return int(flags)
    if not isinstance(flags, str):
        raise ValueError(f"{argument}: expected an int or flag names, got {flags!r}.")
    text = flags.strip()
    if not text:
        return 0
    try:
        return int(text, 0)
    except ValueError:
        pass
    mask = 0
    for name in text.split(","):
        key = name.strip().upper()
        if key not in FLAGS:
            raise ValueError(
                f"{argument}: unknown flag name {name.strip()!r} in {flags!r}; use an int or "
                f"names from {', '.join(FLAGS)} separated by commas."
            )
        mask |= FLAGS[key]
    return mask


class Filters:
    """Read and base filters with samtools mpileup's names and defaults."""

    __slots__ = (
        "min_mapq",
        "min_baseq",
        "excl_flags",
        "count_orphans",
        "overlap_removal",
        "max_depth",
    )

    def __init__(
        self,
        *,
        min_mapq: int = 0,
        min_baseq: int = DEFAULT_MIN_BASEQ,
        excl_flags: int | str = DEFAULT_EXCLUDED,
        count_orphans: bool = False,
        overlap_removal: bool = True,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ):
        for argument, value in (
            ("min_mapq", min_mapq),
            ("min_baseq", min_baseq),
            ("max_depth", max_depth),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{argument} must be an int >= 0, got {value!r}.")
        self.min_mapq = int(min_mapq)
        self.min_baseq = int(min_baseq)
        self.excl_flags = parse_flags(excl_flags)
        self.count_orphans = bool(count_orphans)
        self.overlap_removal = bool(overlap_removal)
        self.max_depth = int(max_depth)

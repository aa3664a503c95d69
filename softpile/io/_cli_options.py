"""Read-filter options shared by `softpile pileup`, `call` and `plot` (samtools' names)."""

import argparse

from ..cli import CheckedOption, number_option
from ._filters import DEFAULT_EXCLUDED, DEFAULT_MAX_DEPTH, DEFAULT_MIN_BASEQ, Filters, parse_flags

FILTER_NAMES = Filters.__slots__


def add_filter_arguments(
    parser: argparse.ArgumentParser, *, min_baseq: int = DEFAULT_MIN_BASEQ, min_baseq_note: str = ""
) -> None:
    """Add samtools mpileup's read and base filters (`-q -Q --ff -A -x -d`) to `parser`."""
    parser.add_argument(
        "-q",
        "--min-MQ",
        dest="min_mapq",
        action=CheckedOption,
        check=number_option(minimum=0),
        default=0,
        help="skip reads with MAPQ below",
    )
    parser.add_argument(
        "-Q",
        "--min-BQ",
        dest="min_baseq",
        action=CheckedOption,
        check=number_option(minimum=0),
        default=min_baseq,
        help=f"skip bases (and deletions) with quality below (default {min_baseq}{min_baseq_note})",
    )
    parser.add_argument(
        "--ff",
        "--excl-flags",
        dest="excl_flags",
        action=CheckedOption,
        check=_flags,
        default=DEFAULT_EXCLUDED,
        help=f"skip reads with any of these flags (default {DEFAULT_EXCLUDED})",
    )
    parser.add_argument(
        "-A", "--count-orphans", action="store_true", help="keep paired reads not in proper pairs"
    )
    parser.add_argument(
        "-x",
        "--ignore-overlaps-removal",
        dest="overlap_removal",
        action="store_false",
        help="do not adjust qualities where mates overlap",
    )
    parser.add_argument(
        "-d",
        "--max-depth",
        action=CheckedOption,
        check=number_option(minimum=0),
        default=DEFAULT_MAX_DEPTH,
        help=f"cap of samtools' per-position read buffer; 0 = no cap (default {DEFAULT_MAX_DEPTH})",
    )


def _flags(text: str, option: str) -> str:
    # parse_flags names the option in its errors (an unknown flag name, with the known ones).
    if parse_flags(text, option) < 0:
        raise ValueError(f"{option}: flags must be >= 0, got {text!r}.")
    return text


def filter_options(args: argparse.Namespace) -> dict:
    """The filters parsed by `add_filter_arguments`, as keyword arguments."""
    return {name: getattr(args, name) for name in FILTER_NAMES}

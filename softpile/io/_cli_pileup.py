"""`softpile pileup`: samtools-style exact counts per position, as TSV."""

import argparse
import sys

from .._files import atomic_path
from ._engine import DEFAULT_EXCLUDED, DEFAULT_WINDOW, Filters


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Exact per-position counts (A C G T N del ins) of an indexed BAM/CRAM, with the read "
        "and base filters of `samtools mpileup -B` (same names and defaults). Output: TSV "
        "with a header, 1-based positions."
    )
    parser.add_argument("bam", help="coordinate-sorted, indexed BAM or CRAM")
    parser.add_argument("-f", "--reference", required=True, help="FASTA the reads were aligned to")
    parser.add_argument(
        "-r", "--region", help="samtools region, e.g. chr1:1,001-2,000 (default: whole file)"
    )
    parser.add_argument("-o", "--output", help="output TSV (default: stdout)")
    parser.add_argument(
        "-a", dest="all_positions", action="store_true", help="print positions with depth 0 too"
    )
    parser.add_argument(
        "-q", "--min-MQ", dest="min_mapq", type=int, default=0, help="skip reads with MAPQ below"
    )
    parser.add_argument(
        "-Q",
        "--min-BQ",
        dest="min_baseq",
        type=int,
        default=13,
        help="skip bases (and deletions) with quality below (default 13)",
    )
    parser.add_argument(
        "--ff",
        "--excl-flags",
        dest="excl_flags",
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
        type=int,
        default=8000,
        help="cap of samtools' per-position read buffer; 0 = no cap (default 8000)",
    )
    parser.add_argument(
        "--window-size",
        type=int,
        default=DEFAULT_WINDOW,
        help=f"positions per streamed window (default {DEFAULT_WINDOW})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ._table import count_windows, write_table  # needs pysam: imported when used

    if args.window_size < 1:
        raise ValueError(f"--window-size must be >= 1, got {args.window_size}.")
    filters = Filters(
        min_mapq=args.min_mapq,
        min_baseq=args.min_baseq,
        excl_flags=args.excl_flags,
        count_orphans=args.count_orphans,
        overlap_removal=args.overlap_removal,
        max_depth=args.max_depth,
    )
    windows = count_windows(
        args.bam,
        args.reference,
        args.region,
        window_size=args.window_size,
        filters=filters,
        progress=False if args.quiet else None,
    )
    if args.output is None:
        write_table(sys.stdout, windows, all_positions=args.all_positions)
        return 0
    with atomic_path(args.output) as temporary:
        with open(temporary, "w") as handle:
            write_table(handle, windows, all_positions=args.all_positions)
    return 0

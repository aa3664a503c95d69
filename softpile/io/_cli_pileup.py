"""`softpile pileup`: samtools-style exact counts per position, as TSV."""

import argparse
import itertools
import sys

from .._files import atomic_path
from ..cli import CheckedOption, CommandError, number_option
from ._cli_options import add_filter_arguments, filter_options
from ._filters import Filters
from ._regions import DEFAULT_WINDOW


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
        "-a",
        dest="all_positions",
        action="count",
        default=0,
        help="print positions with depth 0 too, on contigs with reads; -aa: on every contig",
    )
    add_filter_arguments(parser)
    parser.add_argument(
        "--window-size",
        action=CheckedOption,
        check=number_option(minimum=1),
        default=DEFAULT_WINDOW,
        help=f"positions per streamed window (default {DEFAULT_WINDOW})",
    )
    parser.add_argument(
        "-B",
        "--no-BAQ",
        action="store_true",
        help="accepted for samtools compatibility: softpile never computes BAQ",
    )
    parser.add_argument(
        "--threads",
        action=CheckedOption,
        check=number_option(minimum=1),
        default=None,
        help="worker processes for 5 Mb and more (default: all cores); the output is the same",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    try:  # pysam is imported when used: `softpile demo` runs without it
        from ._inputs_check import check_inputs, check_output
        from ._table import table_text
        from ._threads import default_threads
    except ImportError as error:
        raise CommandError(f"{error}; install the io extra: pip install 'softpile[io]'") from None

    check_inputs([args.bam], args.reference, args.region, need_index=args.region is not None)
    if args.output is not None:
        check_output(args.output, inputs=[args.bam, args.reference])
    threads = default_threads() if args.threads is None else args.threads
    filters = Filters(**filter_options(args))
    text = table_text(
        args.bam,
        args.reference,
        args.region,
        filters=filters,
        all_positions=min(args.all_positions, 2),
        window_size=args.window_size,
        threads=threads,
        progress=False if args.quiet else None,
    )
    # Open the files and check the region before anything is printed: a bad region must not
    # leave a header line on stdout.
    header = next(text)
    if args.output is None:
        sys.stdout.writelines(itertools.chain([header], text))
        return 0
    with atomic_path(args.output) as temporary:
        with open(temporary, "w") as handle:
            handle.writelines(itertools.chain([header], text))
    return 0

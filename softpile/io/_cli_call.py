"""`softpile call`: SNVs and indels from one or several BAMs into a VCF."""

import argparse
import shlex
import sys

from ..cli import CheckedOption, CommandError, number_option
from ._cli_options import add_filter_arguments, filter_options


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Call SNVs and indels with softpile's diploid genotype model and write VCF 4.2 "
        "(GT:GQ:DP:AD:PL per sample; bgzipped and tabix-indexed when the name ends in .gz). "
        "Several BAMs give one sample column each. Read filters have samtools' names and "
        "defaults, as in `softpile pileup`."
    )
    parser.add_argument("bams", nargs="+", metavar="BAM", help="indexed BAM/CRAM, one per sample")
    parser.add_argument("-f", "--reference", required=True, help="FASTA the reads were aligned to")
    parser.add_argument(
        "-r", "--region", help="samtools region, e.g. chr1:1,001-2,000 (default: every contig)"
    )
    parser.add_argument("-o", "--output", required=True, help="output .vcf or .vcf.gz")
    parser.add_argument(
        "--min-qual",
        action=CheckedOption,
        check=number_option(float, minimum=0),
        default=None,
        help="records with QUAL below get the LowQual filter (default: the --params model's, "
        "else 10: P(variant) < 0.9)",
    )
    parser.add_argument(
        "--params",
        help="a model written by softpile train, or a QualityFilter and/or VariantModel saved "
        "with eqx.tree_serialise_leaves",
    )
    add_filter_arguments(
        parser,
        min_baseq=0,
        min_baseq_note=": the model weighs bases by quality; samtools/bcftools use 13",
    )
    parser.add_argument(
        "--window-size",
        action=CheckedOption,
        check=number_option(minimum=1),
        default=None,
        help="positions per window (default 50000)",
    )
    parser.add_argument(
        "--threads",
        action=CheckedOption,
        check=number_option(minimum=1),
        default=None,
        help="worker processes for 5 Mb and more (default: all cores); the VCF is the same",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    try:
        from ._call import CALL_WINDOW, _plan, iter_calls, sample_name
        from ._inputs_check import check_inputs, check_output, check_readable
        from ._params import DEFAULT_MIN_QUAL, load_caller, load_params
        from ._progress import Progress
        from ._threads import default_threads
        from ._vcf import write_vcf
    except ImportError as error:
        raise CommandError(f"{error}; install the io extra: pip install 'softpile[io]'") from None

    check_inputs(args.bams, args.reference, args.region, need_index=True)
    check_output(args.output, inputs=[*args.bams, args.reference])
    window_size = CALL_WINDOW if args.window_size is None else args.window_size
    quality_filter = variant_model = read_model = None
    min_qual = DEFAULT_MIN_QUAL
    if args.params is not None:
        check_readable(args.params, "a parameters file saved with eqx.tree_serialise_leaves")
        try:
            params = load_caller(args.params)
        except ValueError:
            quality_filter, variant_model = load_params(args.params)
        else:
            read_model, variant_model = params.read_model, params.variant_model
            min_qual = float(params.min_qual)
    min_qual = min_qual if args.min_qual is None else args.min_qual
    plan = _plan(args.bams, args.region)
    samples = [sample_name(bam) for bam in args.bams]
    if len(set(samples)) != len(samples):
        raise CommandError(
            f"two BAMs have the same sample name ({', '.join(samples)}); VCF columns must be "
            "unique: give each file its own read group SM."
        )
    bar = Progress(
        sum(end - start for _, start, end in plan.regions), False if args.quiet else None
    )
    windows = iter_calls(
        args.bams,
        args.reference,
        args.region,
        window_size=window_size,
        variant_model=variant_model,
        quality_filter=quality_filter,
        read_model=read_model,
        threads=default_threads() if args.threads is None else args.threads,
        progress=bar.advance,
        arrays=False,
        **filter_options(args),
    )
    counts = {"records": 0, "passing": 0}

    def counted(records):
        for record in records:
            counts["records"] += 1
            counts["passing"] += record.quality >= min_qual  # write_vcf's PASS rule
            yield record

    records = counted(record for window in windows for record in window.records)
    write_vcf(
        args.output,
        records,
        contigs=list(plan.lengths.items()),
        samples=samples,
        min_quality=min_qual,
        reference=args.reference,
        command_line="softpile " + shlex.join(sys.argv[1:]),
    )
    bar.close()
    positions = sum(end - start for _, start, end in plan.regions)
    print(
        f"wrote {args.output}: {counts['records']:,} record(s), {counts['passing']:,} PASS, "
        f"{len(samples)} sample(s) ({', '.join(samples)}), {positions:,} positions"
    )
    return 0

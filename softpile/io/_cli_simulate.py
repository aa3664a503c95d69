"""`softpile simulate`: write a simulated sample as ref.fa, reads.bam, truth.vcf.gz and
confident.bed; uniform by default, realistic (repeats, pairs, bwa mem) with `--realistic`."""

import argparse
import inspect
from pathlib import Path

from ..cli import CheckedOption, CommandError, number_option

MAX_QUALITY = 93
"""The highest base quality a BAM can hold as text (Phred + 33 = '~')."""


def configure(parser: argparse.ArgumentParser) -> None:
    def option(*names, check, **kwargs):
        parser.add_argument(*names, action=CheckedOption, check=check, **kwargs)

    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="a reference with repeats and paralogs, paired-end reads with a cycle-dependent "
        "error profile, aligned with bwa mem (needs softpile[simulate])",
    )
    option("--seed", check=number_option(minimum=0), default=0, help="random seed (default 0)")
    option(
        "--length",
        check=number_option(minimum=1),
        default=100_000,
        help="reference length in bases (default 100000)",
    )
    option(
        "--coverage",
        check=number_option(float, above=0),
        default=30.0,
        help="mean depth (default 30)",
    )
    option(
        "--read-length",
        check=number_option(minimum=1),
        default=150,
        help="read length (default 150)",
    )
    rate = number_option(float, minimum=0, maximum=1)
    option("--snv-rate", check=rate, default=1e-3, help="SNVs per base (default 0.001)")
    option("--indel-rate", check=rate, default=1e-4, help="indels per base (default 0.0001)")
    option(
        "--het-fraction",
        check=rate,
        default=2 / 3,
        help="share of heterozygous variants (default 2/3)",
    )
    quality = number_option(minimum=0, maximum=MAX_QUALITY)
    option("--min-quality", check=quality, help="lowest base quality (default 10; not realistic)")
    option("--max-quality", check=quality, help="highest base quality (default 40; not realistic)")
    parser.add_argument("--contig", default="sim", help="contig name (default sim)")
    parser.add_argument("--sample", default="sim", help="sample name, the read group SM")


def run(args: argparse.Namespace) -> int:
    try:
        from ._simulation_files import write_simulation
    except ImportError as error:
        raise CommandError(f"{error}; install the io extra: pip install 'softpile[io]'") from None
    from ..simulate import RealisticSimulation, simulate, simulate_realistic

    # Checked here, before minutes of simulation, with the options' names.
    if args.out.exists() and not args.out.is_dir():
        raise CommandError(f"{args.out}: is a file; --out takes a folder (created if missing).")
    if args.read_length > args.length:
        raise CommandError(
            f"--read-length must be <= --length ({args.length}), got {args.read_length}."
        )
    if not args.contig or any(character.isspace() for character in args.contig):
        raise CommandError(f"--contig must be one word (no spaces), got {args.contig!r}.")
    function = simulate_realistic if args.realistic else simulate
    defaults = {n: p.default for n, p in inspect.signature(function).parameters.items()}
    longest_indel = defaults["max_indel_length"]
    if args.indel_rate > 0 and args.read_length <= longest_indel:
        raise CommandError(
            f"--read-length must be > {longest_indel} (the longest simulated indel) when "
            f"--indel-rate is above 0, got {args.read_length}; or give --indel-rate 0."
        )
    options = dict(
        reference_length=args.length,
        coverage=args.coverage,
        read_length=args.read_length,
        snv_rate=args.snv_rate,
        het_fraction=args.het_fraction,
        indel_rate=args.indel_rate,
    )
    if args.realistic:
        if args.min_quality is not None or args.max_quality is not None:
            raise CommandError(
                "--min-quality and --max-quality set the uniform qualities; --realistic draws "
                "them from its error profile, so give one or the other."
            )
        shortest = 2 * max(defaults["insert_median"], args.read_length)
        if args.length < shortest:
            raise CommandError(
                f"--length must be >= {shortest} with --realistic (twice the fragment length), "
                f"got {args.length}."
            )
    else:
        low = defaults["min_quality"] if args.min_quality is None else args.min_quality
        high = defaults["max_quality"] if args.max_quality is None else args.max_quality
        if low > high:
            raise CommandError(f"--min-quality must be <= --max-quality ({high}), got {low}.")
        options.update(min_quality=low, max_quality=high)
    sample = function(args.seed, **options)
    files = write_simulation(sample, args.out, contig=args.contig, sample=args.sample)
    variants = sample.truth_variants()
    indels = sum(v.is_indel for v in variants)
    if isinstance(sample, RealisticSimulation):
        reads = f"{2 * sample.mates.shape[0]} reads in pairs, aligned with bwa mem"
        share = f", {sample.confident.mean():.1%} of the contig"
    else:
        reads, share = f"{sample.starts.size} reads", ", the whole contig"
    print(
        f"wrote {files.reference}, {files.reads} ({reads}), {files.truth} "
        f"({len(variants) - indels} SNVs, {indels} indels) and {files.confident}{share}"
    )
    return 0

"""`softpile simulate`: write a simulated sample as ref.fa, reads.bam and truth.vcf.gz."""

import argparse
from pathlib import Path

from ..cli import CommandError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--seed", default=0, type=int, help="random seed (default 0)")
    parser.add_argument(
        "--length", default=100_000, type=int, help="reference length in bases (default 100000)"
    )
    parser.add_argument("--coverage", default=30.0, type=float, help="mean depth (default 30)")
    parser.add_argument("--read-length", default=150, type=int, help="read length (default 150)")
    parser.add_argument(
        "--snv-rate", default=1e-3, type=float, help="SNVs per base (default 0.001)"
    )
    parser.add_argument(
        "--indel-rate", default=1e-4, type=float, help="indels per base (default 0.0001)"
    )
    parser.add_argument(
        "--het-fraction",
        default=2 / 3,
        type=float,
        help="share of heterozygous variants (default 2/3)",
    )
    parser.add_argument(
        "--min-quality", default=10, type=int, help="lowest base quality (default 10)"
    )
    parser.add_argument(
        "--max-quality", default=40, type=int, help="highest base quality (default 40)"
    )
    parser.add_argument("--contig", default="sim", help="contig name (default sim)")
    parser.add_argument("--sample", default="sim", help="sample name, the read group SM")


def run(args: argparse.Namespace) -> int:
    try:
        from ._simulation_files import write_simulation
    except ImportError as error:
        raise CommandError(f"{error}; install the io extra: pip install 'softpile[io]'") from None
    from ..simulate import simulate

    if not 0 <= args.het_fraction <= 1 or not 0 <= args.snv_rate <= 1:
        raise CommandError(
            f"--snv-rate and --het-fraction must be in [0, 1], got {args.snv_rate} and "
            f"{args.het_fraction}."
        )
    if args.coverage <= 0:
        raise CommandError(f"--coverage must be > 0, got {args.coverage}.")
    sample = simulate(
        args.seed,
        reference_length=args.length,
        coverage=args.coverage,
        read_length=args.read_length,
        snv_rate=args.snv_rate,
        het_fraction=args.het_fraction,
        min_quality=args.min_quality,
        max_quality=args.max_quality,
        indel_rate=args.indel_rate,
    )
    files = write_simulation(sample, args.out, contig=args.contig, sample=args.sample)
    variants = sample.truth_variants()
    indels = sum(v.is_indel for v in variants)
    print(
        f"wrote {files.reference}, {files.reads} ({sample.starts.size} reads) and "
        f"{files.truth} ({len(variants) - indels} SNVs, {indels} indels)"
    )
    return 0

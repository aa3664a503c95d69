"""`softpile train`: learn a caller's parameters from aligned reads and a truth VCF."""

import argparse
import os

from ..cli import CheckedOption, CommandError, number_option
from ._cli_options import add_filter_arguments, filter_options


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Learn softpile's caller (base-quality recalibration per reported quality and cycle, "
        "MAPQ read weights, heterozygosity, and the PASS threshold) from BAMs with known "
        "genotypes, through the same pileup and genotype model that softpile call runs. One "
        "block of 50 kb in five is held out for validation; after each epoch the parameters "
        "with the best validation loss are written to the output, which softpile call "
        "--params reads."
    )
    parser.add_argument("bams", nargs="+", metavar="BAM", help="indexed BAM/CRAM files")
    parser.add_argument("-f", "--reference", required=True, help="FASTA the reads were aligned to")
    parser.add_argument(
        "--truth", required=True, help="bgzipped, indexed VCF of the true variants (first sample)"
    )
    parser.add_argument(
        "--confident", help="BED of the regions where the truth is complete (default: all)"
    )
    parser.add_argument(
        "-r", "--region", help="samtools region to train on (default: every contig)"
    )
    parser.add_argument("-o", "--output", required=True, help="model file to write (.eqx)")
    parser.add_argument(
        "--epochs",
        action=CheckedOption,
        check=number_option(minimum=1),
        default=5,
        help="passes over the training blocks (default 5)",
    )
    parser.add_argument(
        "--learning-rate",
        action=CheckedOption,
        check=number_option(float, above=0),
        default=0.05,
        help="Adam's step size (default 0.05)",
    )
    parser.add_argument(
        "--seed",
        action=CheckedOption,
        check=number_option(minimum=0),
        default=0,
        help="seed of the minibatch order (default 0); the same seed gives the same model",
    )
    parser.add_argument("--init", help="start from this model (e.g. an earlier run's output)")
    add_filter_arguments(
        parser,
        min_baseq=0,
        min_baseq_note=": as softpile call; the model weighs bases by quality",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    try:
        import optax  # noqa: F401

        from ._call import _plan
        from ._inputs_check import check_inputs, check_output, check_readable, check_variants
        from ._params import load_caller
        from ._progress import Progress
        from ._train import train_caller
    except ImportError as error:
        raise CommandError(
            f"{error}; install the io and train extras: pip install 'softpile[io,train]'"
        ) from None

    check_inputs(args.bams, args.reference, args.region, need_index=True)
    check_variants(args.truth)
    if not os.path.exists(args.truth + ".tbi") and not os.path.exists(args.truth + ".csi"):
        raise CommandError(f"{args.truth}: has no index; make one with `tabix -p vcf`.")
    if args.confident is not None:
        check_readable(args.confident, "a BED file")
    check_output(args.output, inputs=[*args.bams, args.reference, args.truth])
    init = None
    if args.init is not None:
        check_readable(args.init, "a model written by softpile train")
        init = load_caller(args.init)
    plan = _plan(args.bams, args.region)
    positions = sum(end - start for _, start, end in plan.regions) * len(args.bams)
    bar = Progress(positions * args.epochs * 4 // 5, False if args.quiet else None)

    def report(line: str) -> None:
        bar.close()
        print(line, flush=True)

    try:
        params, history = train_caller(
            args.bams,
            args.reference,
            args.truth,
            args.region,
            output=args.output,
            confident=args.confident,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            seed=args.seed,
            init=init,
            report=report,
            progress=bar.advance,
            **filter_options(args),
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    bar.close()
    best = min(history, key=lambda epoch: epoch.validation.loss)
    print(
        f"wrote {args.output}: epoch {best.epoch}, validation SNV F1 {best.validation.f1:.4f} "
        f"at QUAL>={float(params.min_qual):g}"
    )
    return 0

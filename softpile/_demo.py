"""`softpile demo`: the seed example's story on built-in simulated reads.

Every step of DiffBio's pileup example, in softpile's functional API, on a simulated sample
with one homozygous and one heterozygous SNV, ending with figures written as PNGs.
"""

import argparse
import contextlib
import importlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import softpile
from softpile._files import atomic_path
from softpile.cli import CheckedOption, CommandError, number_option
from softpile.simulate import simulate

REFERENCE_LENGTH = 100
READ_LENGTH = 30
NUM_READS = 100  # 30x over 100 positions
PLANTED = (25, 70)  # a hom SNV and a het SNV


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default="softpile-demo",
        type=Path,
        help="folder for the figures (default: softpile-demo/)",
    )
    parser.add_argument(
        "--seed",
        action=CheckedOption,
        check=number_option(minimum=0),
        default=0,
        help="simulation seed (default 0)",
    )


def run(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise CommandError(f"{args.out}: is a file; --out takes a folder for the figures.")
    run_demo(args.out, seed=args.seed)
    return 0


def run_demo(out: Path | None, *, seed: int = 0, echo=print) -> dict:
    """Run the demo; return its numbers (the tests check them). `out=None` skips figures."""
    results: dict = {}
    sample = simulate(
        seed,
        reference_length=REFERENCE_LENGTH,
        read_length=READ_LENGTH,
        coverage=NUM_READS * READ_LENGTH / REFERENCE_LENGTH,
        snv_positions=PLANTED,
        heterozygous=(False, True),
    )
    echo("== Prepare read data (simulated: 1 hom + 1 het SNV) ==")
    reads = softpile.one_hot_reads(sample.reads)
    starts = jnp.asarray(sample.starts)
    quality = jnp.asarray(sample.quality, dtype=float)
    echo(f"Reads shape: {reads.shape}")
    echo(f"Starts shape: {starts.shape}, range {int(starts.min())} to {int(starts.max())}")
    echo(
        f"Quality shape: {quality.shape}, range {float(quality.min()):.0f} to "
        f"{float(quality.max()):.0f}"
    )
    results.update(
        reads_shape=reads.shape,
        starts_range=(int(starts.min()), int(starts.max())),
        quality_range=(float(quality.min()), float(quality.max())),
    )

    echo("\n== Generate the pileup ==")
    piled = softpile.pileup(reads, starts, REFERENCE_LENGTH, quality=quality)
    column = piled.distribution[50]
    echo(f"Distribution shape: {piled.distribution.shape}")
    echo("Position 50: " + "  ".join(f"{b}={float(v):.4f}" for b, v in zip("ACGT", column)))
    echo(
        f"Row sum at position 50: {float(column.sum()):.6f} "
        f"(every row: max |sum-1| = {float(jnp.abs(piled.distribution.sum(-1) - 1).max()):.1e})"
    )
    results.update(
        distribution_shape=piled.distribution.shape,
        row_sum_error=float(jnp.abs(piled.distribution.sum(-1) - 1).max()),
    )

    echo("\n== Consensus and coverage ==")
    called = softpile.consensus(piled.distribution)
    identity = float(np.mean(np.array(list(called)) == np.array(list(sample.reference_string))))
    echo(f"Consensus: {called[:50]}...")
    echo(f"Reference: {sample.reference_string[:50]}...")
    echo(f"Consensus identity to the reference: {identity:.1%}")
    echo(f"Depth range: {int(piled.depth.min())} to {int(piled.depth.max())} reads")
    results.update(identity=identity, depth_range=(int(piled.depth.min()), int(piled.depth.max())))

    echo("\n== Quality weighting ==")
    unweighted = softpile.pileup(
        reads, starts, REFERENCE_LENGTH, quality=quality, quality_weighting=False
    )
    difference = jnp.abs(piled.distribution - unweighted.distribution)
    echo(
        f"Weighted vs unweighted: mean |diff| {float(difference.mean()):.4f}, "
        f"max {float(difference.max()):.4f}"
    )
    results.update(weighting_max_difference=float(difference.max()))

    echo("\n== Variant detection ==")
    reference = jnp.asarray(sample.reference)
    mismatch = softpile.reference_mismatch(piled, reference)
    simple = np.flatnonzero(np.asarray(mismatch) > 0.3)
    echo(f"Simple score 1 - P(ref) > 0.3 at positions: {simple.tolist()}")
    scores = softpile.variant_scores(softpile.VariantModel(), piled, reference)
    called_sites = np.flatnonzero(np.asarray(scores.quality) >= 20)
    echo(
        f"Genotype model, QUAL >= 20 at positions: {called_sites.tolist()} "
        f"(planted: {list(PLANTED)})"
    )
    calls = {}
    for position in called_sites:
        genotype = softpile.GENOTYPES[int(scores.genotype[position])]
        truth = softpile.GENOTYPES[int(sample.truth_genotype[position])]
        calls[int(position)] = genotype
        echo(
            f"  pos {position}: ref {sample.reference_string[position]}  call {genotype}  "
            f"truth {truth}  QUAL {float(scores.quality[position]):.0f}  "
            f"GQ {float(scores.genotype_quality[position]):.0f}"
        )
    results.update(
        simple_positions=simple.tolist(),
        calls=calls,
        truth={p: softpile.GENOTYPES[int(sample.truth_genotype[p])] for p in PLANTED},
    )

    echo("\n== Gradients ==")
    target = jnp.tile(jnp.array([1.0, 0.0, 0.0, 0.0]), (REFERENCE_LENGTH, 1))

    def pileup_loss(reads, quality):
        result = softpile.pileup(reads, starts, REFERENCE_LENGTH, quality=quality)
        return jnp.mean((result.distribution - target) ** 2)

    read_gradient, quality_gradient = jax.grad(pileup_loss, argnums=(0, 1))(reads, quality)
    echo(
        f"d loss / d reads: shape {read_gradient.shape}, norm "
        f"{float(jnp.linalg.norm(read_gradient)):.3e}"
    )
    echo(
        f"d loss / d quality: shape {quality_gradient.shape}, norm "
        f"{float(jnp.linalg.norm(quality_gradient)):.3e}"
    )
    results.update(
        read_gradient_norm=float(jnp.linalg.norm(read_gradient)),
        gradient_finite=bool(
            jnp.all(jnp.isfinite(read_gradient)) & jnp.all(jnp.isfinite(quality_gradient))
        ),
    )

    echo("\n== Quality filter ==")
    quality_filter = softpile.QualityFilter(threshold=20.0)
    filtered_reads, weights = softpile.soft_quality_filter(quality_filter, reads, quality)
    filtered = softpile.pileup(filtered_reads, starts, REFERENCE_LENGTH, quality=quality)
    change = jnp.abs(piled.distribution - filtered.distribution)
    echo(f"Bases kept (weight > 0.5): {float((weights > 0.5).mean()):.1%}")
    echo(
        f"Effect of filtering: mean change {float(change.mean()):.4f}, "
        f"max change {float(change.max()):.4f}"
    )

    truth = jnp.asarray(sample.truth_genotype)

    def filter_loss(params):
        # Negative log posterior of the true genotypes: what a trained filter would minimise.
        kept, _ = softpile.soft_quality_filter(params, reads, quality)
        result = softpile.pileup(kept, starts, REFERENCE_LENGTH, quality=quality)
        scored = softpile.variant_scores(softpile.VariantModel(), result, reference)
        truth_posterior = jnp.take_along_axis(scored.posteriors, truth[:, None], axis=-1)
        return -jnp.sum(jnp.log(truth_posterior))

    filter_gradient = jax.grad(filter_loss)(quality_filter)
    threshold_gradient = filter_gradient.threshold
    echo(
        f"Loss -sum log P(true genotype): {float(filter_loss(quality_filter)):.3f}; "
        f"d/d threshold {float(threshold_gradient):.3e}, "
        f"d/d softness {float(filter_gradient.softness):.3e}"
    )
    results.update(
        filter_max_change=float(change.max()), threshold_gradient=float(threshold_gradient)
    )

    if out is not None:
        results["figures"] = _figures(out, piled, filtered, sample, called_sites, echo)
    return results


def _figures(out: Path, piled, filtered, sample, called_sites, echo) -> list[Path]:
    try:
        plot = importlib.import_module("softpile.plot")
    except ImportError:
        echo(
            "\nFigures skipped: matplotlib is missing. Install it with "
            "pip install 'softpile[plot]' and run the demo again."
        )
        return []
    paths = [out / "pileup.png", out / "quality_filter.png"]
    # Both figures appear together, once both are drawn, or neither does.
    with contextlib.ExitStack() as stack:
        temporaries = [stack.enter_context(atomic_path(path)) for path in paths]
        plot.overview(piled, reference=sample.reference, variants=called_sites).savefig(
            temporaries[0], format="png", dpi=100
        )
        plot.compare_pileups(
            piled,
            filtered,
            names=("unfiltered", "filtered"),
            title="Effect of the soft quality filter",
        ).savefig(temporaries[1], format="png", dpi=100)
    echo("\nFigures written to " + ", ".join(str(p) for p in paths))
    return paths

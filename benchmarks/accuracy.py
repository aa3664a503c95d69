"""Accuracy of `softpile call` against bcftools on simulated data with known truth.

The data is the realistic simulation (`softpile.simulate.simulate_realistic`): a reference with
repeats, segmental duplications and near-identical paralogs, paired reads whose errors depend on
the cycle and whose qualities overstate them, aligned by bwa mem. `--uniform` takes the uniform
simulation instead (`softpile.simulate.simulate`: a random reference, reads at their true place,
exact qualities). For each coverage and seed the benchmark writes ref.fa, reads.bam,
truth.vcf.gz and confident.bed, then runs

- `softpile call` (the command, in a subprocess) with its defaults, and once more with each
  `--params FILE` (a trained model, as `softpile call --params` takes it): its PASS records;
- `bcftools mpileup -a AD,DP -f ref.fa | bcftools call -mv` (pysam's bcftools, its defaults):
  all its records.

Every call set and the truth are normalised with `bcftools norm -f ref.fa -m -any`; a call is
true when POS, REF and ALT match a truth record. As with a benchmark's high-confidence BED, SNV
and indel precision, recall and F1 and genotype concordance (over the true SNVs and indels
called) are scored inside confident.bed only: the unique sequence, outside every planted repeat
(the whole contig for `--uniform`). The repeats are scored apart: SNV F1 over the whole genome
split into unique sequence and repeats (inside any planted element, both copies of a paralog or
segmental duplication), and SNV precision in repeats. A QUAL calibration table follows per
caller (every record in the confident regions, LowQual ones included): per QUAL bin the error
claimed, mean 10^(-QUAL/10), against the share of calls not in the truth. Results are pooled
over `--seeds` and printed as Markdown tables.

Seeds: the benchmark's seeds are 1 to 99 and are held out. Anything trained for `--params`
must be trained on data from other seeds, by convention seeds 1000 and above; a seed outside
1..99 is reported as not held out.

    python benchmarks/accuracy.py                  # 1 Mb, 30x and 8x, seed 1: about a minute
    python benchmarks/accuracy.py --seeds 1 2 --params trained.eqx
    python benchmarks/accuracy.py --uniform --length 200000 --seeds 1 2 3 4 5
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam.bcftools
from accuracy_scoring import (
    alt_read_counts,
    bed_mask,
    calibration,
    load_calls,
    markdown_table,
    recall_ceiling,
    repeat_mask,
    score,
)

from softpile.io import write_simulation
from softpile.simulate import simulate, simulate_realistic

BENCHMARK_SEEDS = range(1, 100)  # held out: never train on these
TRAINING_SEEDS_FROM = 1000  # the convention for training data
CONTIG = "sim"
SCORE_COLUMNS = [
    "SNV precision",
    "SNV recall",
    "SNV F1",
    "indel precision",
    "indel recall",
    "indel F1",
    "GT concordance",
    "SNV F1 unique",
    "SNV F1 repeat",
    "SNV precision repeat",
]


def main() -> int:
    args = parse_arguments()
    print(describe_seeds(args.seeds), flush=True)
    callers = caller_labels(args.params, args.softpile_args)
    rows, tables = [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for coverage in args.coverages:
            truth, calls, alt_reads = [], {label: [] for label in callers}, []
            seconds = dict.fromkeys(callers, 0.0)
            for seed in args.seeds:
                folder = (args.keep or Path(scratch)) / f"cov{coverage:g}-seed{seed}"
                seed_truth, seed_calls, seed_alt_reads = run_seed(
                    args, callers, coverage, seed, folder
                )
                truth += seed_truth
                alt_reads.append(seed_alt_reads)
                for label, (records, elapsed) in seed_calls.items():
                    calls[label] += records
                    seconds[label] += elapsed
            print(describe_truth(coverage, truth), flush=True)
            print(f"# {coverage:g}x reads: {recall_ceiling(np.concatenate(alt_reads))}")
            for label in callers:
                rows.append(score_row(coverage, label, calls[label], truth, seconds[label]))
                tables += calibration_rows(coverage, label, calls[label], truth)
    print_results(args, rows, tables, time.perf_counter() - started)
    return 0


def score_row(coverage: float, label: str, calls: list, truth: list, seconds: float) -> list:
    """softpile's PASS records, or all of bcftools' (it writes no filter), scored."""
    scored = score([c for c in calls if c.passed or label == "bcftools"], truth)
    return [f"{coverage:g}x", label, *(scored[c] for c in SCORE_COLUMNS), f"{seconds:.1f}"]


def calibration_rows(coverage: float, label: str, calls: list, truth: list) -> list[list]:
    """Every record in the confident regions, LowQual ones included."""
    rows = calibration([c for c in calls if c.confident], truth)
    return [
        [f"{coverage:g}x", label, name, count, f"{claimed:.2e}", f"{observed:.2e}", flag]
        for name, count, claimed, observed, flag in rows
    ]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uniform", action="store_true", help="the uniform simulation")
    parser.add_argument("--length", type=int, default=1_000_000, help="genome length (1000000)")
    parser.add_argument("--coverages", type=float, nargs="+", default=[30.0, 8.0])
    parser.add_argument("--read-length", type=int, default=150)
    parser.add_argument("--snv-rate", type=float, default=1e-3)
    parser.add_argument("--indel-rate", type=float, default=1e-4)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1], help="simulate and pool these seeds (1)"
    )
    parser.add_argument(
        "--params",
        type=Path,
        action="append",
        default=[],
        help="also run softpile call --params FILE (repeatable)",
    )
    parser.add_argument("--keep", type=Path, help="keep the files in this folder")
    parser.add_argument(
        "--softpile-args", default="", help="extra arguments for every softpile call, quoted"
    )
    args = parser.parse_args()
    for path in args.params:
        if not path.is_file():
            parser.error(f"--params: no such file {str(path)!r}")
    return args


def describe_seeds(seeds: list[int]) -> str:
    held_out = [seed for seed in seeds if seed in BENCHMARK_SEEDS]
    others = [seed for seed in seeds if seed not in BENCHMARK_SEEDS]
    line = f"# seeds {' '.join(map(str, seeds))}"
    if held_out:
        line += f"; held out: {' '.join(map(str, held_out))} (benchmark seeds 1-99"
        line += f", training uses seeds >= {TRAINING_SEEDS_FROM})"
    if others:
        line += f"; NOT held out: {' '.join(map(str, others))}"
    return line


def caller_labels(params: list[Path], extra: str) -> dict[str, Path | None]:
    """Row label -> the `--params` file of a softpile row (None: defaults; bcftools: None).
    The labels name the `--softpile-args`, if any."""
    names = [path.name for path in params]
    unique = len(set(names)) == len(names)
    suffix = f" {extra.strip()}" if extra.strip() else ""
    labels: dict[str, Path | None] = {f"softpile ({suffix.strip() or 'default'})": None}
    for path in params:
        labels[f"softpile (--params {path.name if unique else path}{suffix})"] = path
    labels["bcftools"] = None
    return labels


def run_seed(args, callers: dict, coverage: float, seed: int, folder: Path):
    """Simulate one sample, call it with every caller; the truth and each caller's calls."""
    started = time.perf_counter()
    common = dict(reference_length=args.length, coverage=coverage, read_length=args.read_length)
    common.update(snv_rate=args.snv_rate, indel_rate=args.indel_rate)
    if args.uniform:
        sample = simulate(seed, het_fraction=2 / 3, **common)
        reads = sample.starts.size
    else:
        sample = simulate_realistic(seed, **common)
        reads = 2 * sample.mates.shape[0]
    files = write_simulation(sample, folder, contig=CONTIG)
    simulated = time.perf_counter() - started
    confident = bed_mask(files.confident, CONTIG, args.length)
    repeat = repeat_mask(getattr(sample, "elements", ()), args.length)

    def load(path: Path, name: str):
        return load_calls(
            path, files.reference, folder / f"{name}.norm.vcf", seed, confident, repeat
        )

    truth = load(files.truth, "truth")
    calls = {}
    for number, (label, params) in enumerate(callers.items()):
        if label == "bcftools":
            output, elapsed = run_bcftools(files, folder)
        else:
            extra = args.softpile_args.split() + (["--params", str(params)] if params else [])
            output, elapsed = run_softpile(files, folder / f"softpile{number}.vcf.gz", extra)
        calls[label] = (load(output, f"calls{number}"), elapsed)
    times = ", ".join(f"{label} {elapsed:.1f} s" for label, (_, elapsed) in calls.items())
    print(
        f"# {coverage:g}x seed {seed}: {args.length} bp, {reads} reads of {args.read_length} bp, "
        f"{confident.mean():.1%} confident; simulated and written in {simulated:.1f} s; {times}",
        flush=True,
    )
    return truth, calls, alt_read_counts(files.reads, files.reference, CONTIG, truth)


def run_softpile(files, output: Path, extra: list[str]):
    command = [sys.executable, "-m", "softpile", "call", str(files.reads)]
    command += ["-f", str(files.reference), "-o", str(output), "--quiet", *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=dict(os.environ), stdout=subprocess.DEVNULL)
    return output, time.perf_counter() - started


def run_bcftools(files, folder: Path):
    pileup, output = folder / "bcftools.bcf", folder / "bcftools.vcf.gz"
    started = time.perf_counter()
    pysam.bcftools.mpileup(
        *("-a", "AD,DP", "-f", str(files.reference), "-Ou", "-o", str(pileup), str(files.reads)),
        catch_stdout=False,
    )
    pysam.bcftools.call("-mv", "-Oz", "-o", str(output), str(pileup), catch_stdout=False)
    return output, time.perf_counter() - started


def describe_truth(coverage: float, truth: list) -> str:
    counts = {
        region: [sum(1 for t in truth if getattr(t, region) and t.indel == kind) for kind in (0, 1)]
        for region in ("confident", "repeat")
    }
    return (
        f"# {coverage:g}x truth: {counts['confident'][0]} SNVs and {counts['confident'][1]} "
        f"indels in the confident regions; {counts['repeat'][0]} SNVs and "
        f"{counts['repeat'][1]} indels in repeats"
    )


def print_results(args, rows: list, tables: list, seconds: float) -> None:
    data = "uniform" if args.uniform else "realistic"
    print(
        f"\n{data} simulation, {args.length} bp, seeds {' '.join(map(str, args.seeds))} pooled. "
        "SNV and indel precision/recall/F1 and GT concordance (over true positives) are scored "
        "in the confident regions (confident.bed) only; SNV F1 unique/repeat and SNV precision "
        "repeat over the whole genome, split by the planted repeats. softpile rows: PASS "
        "records; bcftools: all records of call -mv. wall s: summed over the seeds.\n"
    )
    print(markdown_table(["coverage", "caller", *SCORE_COLUMNS, "wall s"], rows))
    print(
        "\nQUAL calibration (every record in the confident regions, LowQual included): claimed "
        "error = mean 10^(-QUAL/10), observed error = share of calls not in the truth; "
        "over-confident: observed above 2x claimed in a bin of at least 20 calls.\n"
    )
    header = ["coverage", "caller", "QUAL", "calls", "claimed error", "observed error", "flag"]
    print(markdown_table(header, tables))
    print(f"\n# total wall time {seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())

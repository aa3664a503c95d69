"""Accuracy of `softpile call` against bcftools on simulated data with known truth.

For each coverage: simulate a genome (SNVs, 2/3 het, and short indels), write ref.fa,
reads.bam and truth.vcf.gz, run `softpile call` (the command, in a subprocess) and
`bcftools mpileup -f ref | bcftools call -mv` (pysam's bundled bcftools), normalise both call
sets with `bcftools norm -f ref`, and score them against the truth: SNV precision, recall, F1
and genotype concordance, indel F1, wall time. Then a QUAL calibration table: per QUAL bin,
the error the callers claim (mean 10^(-QUAL/10)) against the share of their records that are
not true variants.

    python benchmarks/accuracy.py                   # 200 kb, 30x and 8x
    python benchmarks/accuracy.py --length 50000    # quicker
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools

from softpile.io import write_simulation
from softpile.simulate import simulate

QUAL_BINS = (0, 10, 20, 30, 50, 100, 1e9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=200_000, help="genome length (200000)")
    parser.add_argument("--coverages", type=float, nargs="+", default=[30.0, 8.0])
    parser.add_argument("--read-length", type=int, default=150)
    parser.add_argument("--snv-rate", type=float, default=1e-3)
    parser.add_argument("--indel-rate", type=float, default=1e-4)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1], help="simulate and pool these seeds (1)"
    )
    parser.add_argument("--keep", type=Path, help="keep the files in this folder")
    parser.add_argument(
        "--softpile-args", default="", help="extra arguments for softpile call, quoted"
    )
    args = parser.parse_args()

    rows, calibration = [], {}
    labels = (
        "softpile (PASS)",
        "softpile QUAL>=20",
        "softpile (all records)",
        "bcftools (all)",
        "bcftools QUAL>=20",
    )
    with tempfile.TemporaryDirectory() as scratch:
        base = args.keep or Path(scratch)
        for coverage in args.coverages:
            all_calls = {"softpile": [], "bcftools": []}
            truth, seconds = [], {"softpile": 0.0, "bcftools": 0.0}
            for seed in args.seeds:
                folder = base / f"cov{coverage:g}-seed{seed}"
                sample = simulate(
                    seed,
                    reference_length=args.length,
                    coverage=coverage,
                    read_length=args.read_length,
                    snv_rate=args.snv_rate,
                    het_fraction=2 / 3,
                    indel_rate=args.indel_rate,
                )
                files = write_simulation(sample, folder)
                truth += load_calls(files.truth, files.reference, folder / "truth.norm.vcf", seed)
                outputs = {
                    "softpile": run_softpile(files, folder, args.softpile_args),
                    "bcftools": run_bcftools(files, folder),
                }
                for caller, (path, elapsed) in outputs.items():
                    seconds[caller] += elapsed
                    calls = load_calls(path, files.reference, folder / f"{caller}.norm.vcf", seed)
                    all_calls[caller] += calls
                print(
                    f"# {coverage:g}x seed {seed}: {sample.variant_positions.size} SNVs, "
                    f"{len(sample.indels)} indels, {sample.starts.size} reads of "
                    f"{args.read_length} bp; softpile {outputs['softpile'][1]:.1f} s, "
                    f"bcftools {outputs['bcftools'][1]:.1f} s",
                    flush=True,
                )
            pooled = {
                "softpile (PASS)": [c for c in all_calls["softpile"] if c["pass"]],
                "softpile QUAL>=20": [c for c in all_calls["softpile"] if c["qual"] >= 20],
                "softpile (all records)": all_calls["softpile"],
                "bcftools (all)": all_calls["bcftools"],
                "bcftools QUAL>=20": [c for c in all_calls["bcftools"] if c["qual"] >= 20],
            }
            for label in labels:
                caller = label.split()[0]
                rows.append((coverage, label, score(pooled[label], truth), seconds[caller]))
            for caller, calls in all_calls.items():
                calibration[(coverage, caller)] = qual_table(calls, truth)

    print()
    header = (
        "| coverage | caller | SNV precision | SNV recall | SNV F1 | GT concordance | "
        "indel F1 | wall s |"
    )
    print(header)
    print("|" + "---|" * 8)
    for coverage, label, s, seconds in rows:
        print(
            f"| {coverage:g}x | {label} | {s['precision']:.4f} | {s['recall']:.4f} | "
            f"{s['f1']:.4f} | {s['concordance']:.4f} | {s['indel_f1']:.4f} | {seconds:.1f} |"
        )
    print(
        "\nQUAL calibration (all records, SNVs and indels; pooled over seeds): claimed error "
        "10^(-QUAL/10) vs the share of records that are not true variants"
    )
    print("| coverage | caller | QUAL bin | records | claimed error | observed error |")
    print("|" + "---|" * 6)
    for (coverage, caller), table in calibration.items():
        for label, count, claimed, observed in table:
            print(
                f"| {coverage:g}x | {caller} | {label} | {count} | {claimed:.2e} | {observed:.2e} |"
            )
    return 0


def run_softpile(files, folder: Path, extra: str):
    output = folder / "softpile.vcf.gz"
    command = [sys.executable, "-m", "softpile", "call", str(files.reads)]
    command += ["-f", str(files.reference), "-o", str(output), "--quiet"] + extra.split()
    started = time.perf_counter()
    subprocess.run(command, check=True, env=dict(os.environ))
    return output, time.perf_counter() - started


def run_bcftools(files, folder: Path):
    pileup, output = folder / "bcftools.bcf", folder / "bcftools.vcf.gz"
    started = time.perf_counter()
    pysam.bcftools.mpileup(
        "-f", str(files.reference), "-Ou", "-o", str(pileup), str(files.reads), catch_stdout=False
    )
    pysam.bcftools.call("-mv", "-Oz", "-o", str(output), str(pileup), catch_stdout=False)
    return output, time.perf_counter() - started


def load_calls(path: Path, reference: Path, normalised: Path, seed: int) -> list[dict]:
    """Records after `bcftools norm -f ref -m -any` (left-aligned, one ALT per record)."""
    pysam.bcftools.norm(
        "-f", str(reference), "-m", "-any", "-o", str(normalised), str(path), catch_stdout=False
    )
    calls = []
    with pysam.VariantFile(str(normalised)) as vcf:
        for record in vcf:
            genotype = record.samples[0]["GT"]
            if genotype is None or None in genotype or not any(genotype):
                continue
            calls.append(
                {
                    "key": (seed, record.contig, record.pos, record.ref, record.alts[0]),
                    "genotype": tuple(sorted(genotype)),
                    "qual": record.qual if record.qual is not None else 0.0,
                    "pass": "PASS" in record.filter or len(record.filter) == 0,
                    "indel": len(record.ref) != len(record.alts[0]),
                }
            )
    return calls


def score(calls: list[dict], truth: list[dict]) -> dict:
    def f1(found: list[dict], wanted: list[dict]):
        wanted_keys = {t["key"]: t for t in wanted}
        hits = [c for c in found if c["key"] in wanted_keys]
        precision = len(hits) / max(len(found), 1)
        recall = len(hits) / max(len(wanted), 1)
        f = 2 * precision * recall / max(precision + recall, 1e-12)
        concordance = np.mean(
            [c["genotype"] == wanted_keys[c["key"]]["genotype"] for c in hits] or [0.0]
        )
        return precision, recall, f, float(concordance)

    snvs = [c for c in calls if not c["indel"]]
    true_snvs = [t for t in truth if not t["indel"]]
    precision, recall, f, concordance = f1(snvs, true_snvs)
    indel_f1 = f1([c for c in calls if c["indel"]], [t for t in truth if t["indel"]])[2]
    return dict(
        precision=precision, recall=recall, f1=f, concordance=concordance, indel_f1=indel_f1
    )


def qual_table(calls: list[dict], truth: list[dict]) -> list[tuple]:
    true_keys = {t["key"] for t in truth}
    rows = []
    for low, high in zip(QUAL_BINS[:-1], QUAL_BINS[1:]):
        chosen = [c for c in calls if low <= c["qual"] < high]
        if not chosen:
            continue
        claimed = float(np.mean([10.0 ** (-min(c["qual"], 300.0) / 10.0) for c in chosen]))
        observed = float(np.mean([c["key"] not in true_keys for c in chosen]))
        label = f"[{low:g}, {high:g})" if high < 1e9 else f">= {low:g}"
        rows.append((label, len(chosen), claimed, observed))
    return rows


if __name__ == "__main__":
    sys.exit(main())

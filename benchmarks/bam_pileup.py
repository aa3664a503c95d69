"""`softpile pileup` vs `samtools mpileup -B` on simulated 30x BAMs: wall time and peak RSS.

    python benchmarks/bam_pileup.py                                   # 1 Mb
    python benchmarks/bam_pileup.py --lengths 1000000 10000000 --repeats 3
    python benchmarks/bam_pileup.py --length 200000                   # a quick look

For each length, takes the simulated sample of `benchmarks/simulate_bam.py` (150 bp pairs at
30x with quality-correlated errors, indels, soft clips, a MAPQ mix, duplicates, secondary and
unmapped reads, improper pairs; made once, then cached in `--out`) and runs, each in its own
process and with the same options (samtools' defaults, BAQ off), writing to a file:

- `softpile pileup BAM -f FA -o OUT --quiet` (as `python -m softpile`, with this Python);
- `samtools mpileup -B -f FA -o OUT BAM` (pysam's bundled samtools, called from a Python
  process, since pysam ships no samtools executable).

It prints the wall seconds (best of `--repeats`) and peak RSS (largest) of each child alone,
the peaks of its whole process tree (worker processes included; RSS and PSS, see
`child_process.py`), their ratios (softpile / samtools), and checks that the two outputs
agree on every printed column (parsed by `tests/io_helpers.py`, a block of positions at a
time), so the timing compares like with like.

Then, per length, the steady-state speed of reading alone, in one process each, start-up
excluded: BAM -> `ReadBatch` (`softpile.io.iter_windows` over the whole BAM, after one warm-up
pass over the first 100 kb that imports and compiles what it needs; reads/s counts the reads of
the batches, so after samtools' default filters, and a read that crosses a window boundary
once per window), and, for scale, pysam iterating every record and reading the fields a pileup
needs (position, flag, MAPQ, CIGAR, sequence, qualities).

Last, the fixed start-up cost: both commands, and `import softpile` alone, on a 2 kb sample.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from child_process import single
from simulate_bam import default_directory, simulate_bam

ROOT = Path(__file__).resolve().parents[1]
STARTUP_LENGTH = 2_000
WARM_UP = 100_000  # bp read once before the timed pass
BLOCK = 100_000  # positions compared at a time


def commands(bam: Path, fasta: Path, ours: Path, theirs: Path) -> dict[str, list[str]]:
    return {
        "softpile pileup": [
            sys.executable,
            "-m",
            "softpile",
            "pileup",
            str(bam),
            "-f",
            str(fasta),
            "-o",
            str(ours),
            "--quiet",
        ],
        "samtools mpileup -B": [
            sys.executable,
            "-c",
            "import sys, pysam; pysam.samtools.mpileup(*sys.argv[1:], catch_stdout=False)",
            "-B",
            "-f",
            str(fasta),
            "-o",
            str(theirs),
            str(bam),
        ],
    }


# Steady-state reading, timed inside the child: prints [reads, best seconds].
_READ_BATCHES = """
import json, sys, time
import softpile.io
bam, fasta, contig, warm_up, repeats = sys.argv[1:4] + [int(a) for a in sys.argv[4:]]
list(softpile.io.iter_windows(bam, fasta, (contig, 0, warm_up), progress=False))
best = float("inf")
for _ in range(repeats):
    started, n = time.perf_counter(), 0
    for batch in softpile.io.iter_windows(bam, fasta, progress=False):
        n += batch.num_reads
    best = min(best, time.perf_counter() - started)
print(json.dumps([n, best]))
"""

_TOUCH_FIELDS = """
import json, sys, time
import pysam
bam, repeats = sys.argv[1], int(sys.argv[2])
best = float("inf")
for _ in range(repeats):
    started, n = time.perf_counter(), 0
    with pysam.AlignmentFile(bam) as reads:
        for read in reads.fetch(until_eof=True):
            (read.reference_start, read.flag, read.mapping_quality, read.cigartuples,
             read.query_sequence, read.query_qualities)
            n += 1
    best = min(best, time.perf_counter() - started)
print(json.dumps([n, best]))
"""


def timed_in_child(script: str, *arguments) -> tuple[int, float]:
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, arguments)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"reading benchmark failed:\n{result.stderr}")
    reads, seconds = json.loads(result.stdout)
    return reads, seconds


def compare(length: int, args) -> None:
    sample = simulate_bam(length, coverage=args.coverage, seed=args.seed, out=args.out)
    summary = sample.summary
    print(
        f"== {length:,} bp, {args.coverage:g}x: {summary['records']:,} BAM records "
        f"(simulated in {summary['seconds']} s; {sample.directory}) =="
    )
    with tempfile.TemporaryDirectory() as scratch:
        ours, theirs = Path(scratch) / "softpile.tsv", Path(scratch) / "samtools.txt"
        runs = {
            label: single(command, args.repeats)
            for label, command in commands(sample.bam, sample.fasta, ours, theirs).items()
        }
        (ours_wall, ours_rss, ours_tree), (theirs_wall, theirs_rss, theirs_tree) = runs.values()
        print(f"{'':26}{'wall s':>10}{'peak RSS MiB':>15}{'tree RSS MiB':>15}{'tree PSS MiB':>15}")
        for label, (wall, rss, tree) in runs.items():
            print(f"{label:26}{wall:10.2f}{rss:15.0f}{tree[0]:15.0f}{tree[1]:15.0f}")
        print(
            f"{'ratio softpile/samtools':26}{ours_wall / theirs_wall:10.2f}"
            f"{ours_rss / theirs_rss:15.2f}{ours_tree[0] / theirs_tree[0]:15.2f}"
            f"{ours_tree[1] / theirs_tree[1]:15.2f}"
        )
        agree = check_agreement(ours, theirs, sample.fasta)

    contig = next(iter(_contig_ranks(sample.fasta)))
    batches = timed_in_child(_READ_BATCHES, sample.bam, sample.fasta, contig, WARM_UP, args.repeats)
    fields = timed_in_child(_TOUCH_FIELDS, sample.bam, args.repeats)
    print(f"\n{'reading alone, start-up excluded':42}{'reads':>12}{'s':>8}{'reads/s':>12}")
    for label, (reads, seconds) in (
        ("softpile.io.iter_windows -> ReadBatch", batches),
        ("pysam: every record, the pileup fields", fields),
    ):
        print(f"{label:42}{reads:12,}{seconds:8.2f}{reads / seconds:12,.0f}")
    print()
    if not agree:
        raise SystemExit("softpile and samtools disagree")


def startup(args) -> None:
    sample = simulate_bam(STARTUP_LENGTH, coverage=args.coverage, seed=args.seed, out=args.out)
    print(
        f"== fixed start-up: a {STARTUP_LENGTH:,} bp sample, "
        f"{sample.summary['records']:,} BAM records =="
    )
    with tempfile.TemporaryDirectory() as scratch:
        runs = {
            label: single(command, args.repeats)
            for label, command in commands(
                sample.bam, sample.fasta, Path(scratch) / "a", Path(scratch) / "b"
            ).items()
        }
    runs["import softpile"] = single([sys.executable, "-c", "import softpile"], args.repeats)
    samtools_wall, samtools_rss, _ = runs["samtools mpileup -B"]
    print(f"{'':26}{'wall s':>10}{'/ samtools':>12}{'peak RSS MiB':>15}{'/ samtools':>12}")
    for label, (wall, rss, _) in runs.items():
        print(
            f"{label:26}{wall:10.2f}{wall / samtools_wall:12.2f}{rss:15.0f}"
            f"{rss / samtools_rss:12.2f}"
        )


def _contig_ranks(fasta: Path) -> dict[str, int]:
    lines = Path(str(fasta) + ".fai").read_text().splitlines()
    return {line.split("\t")[0]: rank for rank, line in enumerate(lines)}


def _blocks(path: Path, parse, ranks: dict[str, int], header: bool):
    """(contig rank, position // BLOCK) and the parsed rows of that block, in file order."""
    with open(path) as handle:
        first = handle.readline() if header else ""
        key, lines = None, []
        for line in handle:
            contig, position, _ = line.split("\t", 2)
            line_key = (ranks[contig], int(position) // BLOCK)
            if line_key != key and lines:
                yield key, parse(first + "".join(lines))
                lines = []
            key = line_key
            lines.append(line)
        if lines:
            yield key, parse(first + "".join(lines))


def check_agreement(ours_path: Path, theirs_path: Path, fasta: Path) -> bool:
    """Whether the two outputs have the same rows (positions and every count)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from io_helpers import parse_mpileup, parse_table

    ranks = _contig_ranks(fasta)
    ours = _blocks(ours_path, parse_table, ranks, header=True)
    theirs = _blocks(theirs_path, parse_mpileup, ranks, header=False)
    rows, first_difference = 0, None
    a, b = next(ours, None), next(theirs, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            mine, truth, a = a[1], {}, next(ours, None)
        elif a is None or b[0] < a[0]:
            mine, truth, b = {}, b[1], next(theirs, None)
        else:
            mine, truth = a[1], b[1]
            a, b = next(ours, None), next(theirs, None)
        rows += len(truth)
        if mine != truth and first_difference is None:
            first_difference = min(
                k for k in mine.keys() | truth.keys() if mine.get(k) != truth.get(k)
            )
            print(
                f"first difference at {first_difference}: softpile {mine.get(first_difference)}, "
                f"samtools {truth.get(first_difference)}"
            )
    print(f"outputs agree on all {rows:,} rows: {first_difference is None}")
    return first_difference is None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--length", type=int, help="reference length in bp (default 1000000)")
    sizes.add_argument("--lengths", type=int, nargs="+", help="several lengths, in one run")
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs (1)")
    parser.add_argument(
        "--out", type=Path, default=default_directory(), help="cache of simulated samples"
    )
    args = parser.parse_args()
    lengths = args.lengths or [args.length or 1_000_000]
    for length in lengths:
        compare(length, args)
    startup(args)


if __name__ == "__main__":
    main()

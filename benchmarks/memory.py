"""Peak memory of the windowed BAM path: flat in region length, under 2 GB at 10 Mb, 30x.

Run from the repository root (simulates the BAM once, then measures each length):

    python benchmarks/memory.py
    python benchmarks/memory.py --lengths 1,5,10 --coverage 30 --keep /tmp/softpile-memory

Simulates (seeded) a random reference of the largest length and single-end 150 bp reads at
`--coverage`x with 1 % substitutions, written in coordinate order to an indexed BAM with pysam.
Then, for each region length (1, 5, 10 Mb by default), a fresh Python process streams
`chr1:0-length` with `softpile.io.iter_windows` and computes `ReadBatch.pileup()` (every field:
counts, depth, log-likelihoods, ...) for each window, keeping only per-window totals, as a
caller that writes or reduces each window does. Its peak resident set size (its own
`VmHWM`) is printed next to the region length, with the wall time. The peak includes
the Python interpreter, JAX and XLA's compiled programs (the first row shows that floor); the
claim is that it does not grow with the region.

`softpile.io.pileup_region`, which returns one `Pileup` for the whole region, is shown too with
`--pileup-region`: its result alone is about 100 bytes per position, so its peak grows with
the region by design.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

READ_LENGTH = 150
MEGABASE = 1_000_000

STREAM = textwrap.dedent(
    """
    import resource, sys, time
    import numpy as np
    import softpile.io
    bam, fasta, end, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    started = time.perf_counter()
    total, windows = 0.0, 0
    if mode == "windows":
        for batch in softpile.io.iter_windows(bam, fasta, ("chr1", 0, end)):
            piled = batch.pileup()
            total += float(np.asarray(piled.coverage).sum())
            windows += 1
    else:
        piled = softpile.io.pileup_region(bam, fasta, ("chr1", 0, end))
        total = float(np.asarray(piled.coverage).sum())
    wall = time.perf_counter() - started
    # VmHWM: this process's own peak. ru_maxrss would also count the peak of the parent that
    # started it (Linux keeps it across exec).
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
        peak /= 1024
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak:.1f} {wall:.2f} {windows} {total:.1f}")
    """
)


def simulate(directory: Path, length: int, coverage: float, seed: int) -> tuple[Path, Path]:
    """A random reference and sorted single-end reads at `coverage`x, written with pysam."""
    import pysam

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    reference = letters[rng.integers(0, 4, length)]
    fasta = directory / "reference.fa"
    with open(fasta, "wb") as handle:
        handle.write(b">chr1\n")
        for i in range(0, length, 80):
            handle.write(reference[i : i + 80].tobytes() + b"\n")
    pysam.faidx(str(fasta))

    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": length}]}
    )
    count = int(coverage * length / READ_LENGTH)
    starts = np.sort(rng.integers(0, length - READ_LENGTH, count))
    bam = directory / "reads.bam"
    chunk = 100_000
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for first in range(0, count, chunk):
            block = starts[first : first + chunk]
            sequences = reference[block[:, None] + np.arange(READ_LENGTH)]
            errors = rng.random(sequences.shape) < 0.01
            sequences[errors] = letters[rng.integers(0, 4, int(errors.sum()))]
            qualities = rng.integers(2, 41, sequences.shape).astype(np.uint8)
            for i, start in enumerate(block):
                read = pysam.AlignedSegment(header)
                read.query_name = f"r{first + i}"
                read.flag = 0
                read.reference_id = 0
                read.reference_start = int(start)
                read.mapping_quality = 60
                read.cigarstring = f"{READ_LENGTH}M"
                read.query_sequence = sequences[i].tobytes().decode()
                read.query_qualities = qualities[i]
                out.write(read)
    pysam.index(str(bam))
    return bam, fasta


def measure(bam: Path, fasta: Path, end: int, mode: str) -> tuple[float, float, int]:
    """Peak RSS (MiB), wall seconds and number of windows of one fresh process."""
    finished = subprocess.run(
        [sys.executable, "-c", STREAM, str(bam), str(fasta), str(end), mode],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if finished.returncode != 0:
        raise SystemExit(f"streaming failed:\n{finished.stderr}")
    peak, wall, windows, _ = finished.stdout.split()
    return float(peak), float(wall), int(windows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="1,5,10", help="region lengths in Mb")
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="directory to keep (and reuse) the BAM in")
    parser.add_argument(
        "--pileup-region", action="store_true", help="also measure softpile.io.pileup_region"
    )
    args = parser.parse_args(argv)
    lengths = [int(float(x) * MEGABASE) for x in args.lengths.split(",") if x.strip()]
    if not lengths or min(lengths) < READ_LENGTH:
        parser.error(f"--lengths: need region lengths in Mb, got {args.lengths!r}")

    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        bam, fasta = directory / "reads.bam", directory / "reference.fa"
        if not (bam.exists() and fasta.exists() and args.keep):
            began = time.perf_counter()
            bam, fasta = simulate(directory, max(lengths), args.coverage, args.seed)
            print(
                f"simulated {max(lengths) / MEGABASE:g} Mb at {args.coverage:g}x "
                f"({bam.stat().st_size / 2**20:.0f} MiB BAM) in {time.perf_counter() - began:.0f} s"
            )
        modes = ["windows"] + (["region"] if args.pileup_region else [])
        print()
        print(f"{'path':34} {'region Mb':>9} {'windows':>8} {'peak RSS MiB':>12} {'wall s':>8}")
        for mode in modes:
            label = (
                "iter_windows + ReadBatch.pileup" if mode == "windows" else "pileup_region (whole)"
            )
            for end in lengths:
                peak, wall, windows = measure(bam, fasta, end, mode)
                print(
                    f"{label:34} {end / MEGABASE:9g} {windows if windows else '-':>8} "
                    f"{peak:12.0f} {wall:8.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`softpile pileup` vs `samtools mpileup` on a simulated 30x, 1 Mb BAM: wall time and peak RSS.

    python benchmarks/bam_pileup.py [--length 1000000] [--coverage 30] [--seed 0]

Simulates (seeded) a random reference and paired 150 bp reads with mismatches, small indels,
soft clips and overlapping mates, writes a sorted, indexed BAM with pysam, then runs, each in
its own process and with the same options (samtools' defaults, BAQ off) writing to a file:

- `python -m softpile pileup BAM -f FA -o OUT --quiet`
- `samtools mpileup -B -f FA -o OUT BAM` (pysam's bundled samtools 1.24, called from a Python
  process, since pysam ships no samtools executable)

and prints both measurements and their ratios (softpile / samtools). It also checks that the
two outputs agree on every printed column, so the timing compares like with like.

Then it times two lower bounds, each in its own process, that any `softpile pileup` built as
DESIGN.md asks (a JAX core, pysam for reading, no hand-written BAM parser) must pay:

- `import softpile` (JAX, Equinox, jaxtyping, beartype);
- iterating the reads with pysam while reading the fields a pileup needs (position, flag,
  MAPQ, CIGAR, sequence, qualities), doing nothing with them.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam

READ_LENGTH = 150


def simulate(directory: Path, length: int, coverage: float, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    reference = "".join(np.array(list("ACGT"))[rng.integers(0, 4, length)])
    fasta = directory / "reference.fa"
    with open(fasta, "w") as handle:
        handle.write(">chr1\n")
        for i in range(0, length, 80):
            handle.write(reference[i : i + 80] + "\n")
    pysam.faidx(str(fasta))

    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": length}]}
    )
    pairs = int(coverage * length / (2 * READ_LENGTH))
    fragment_starts = np.sort(rng.integers(0, length - 600, pairs))
    fragment_lengths = rng.integers(200, 500, pairs)  # some mates overlap (fragment < 300)
    letters = np.frombuffer(reference.encode(), dtype=np.uint8)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    unsorted = directory / "unsorted.bam"
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for i in range(pairs):
            start = int(fragment_starts[i])
            second = start + int(fragment_lengths[i]) - READ_LENGTH
            for mate, (position, flag) in enumerate(((start, 99), (second, 147))):
                out.write(
                    _read(rng, header, letters, bases, f"f{i}", position, flag, start, second)
                )
    bam = directory / "reads.bam"
    pysam.sort("-o", str(bam), str(unsorted))
    pysam.index(str(bam))
    os.unlink(unsorted)
    return bam, fasta


def _read(rng, header, letters, bases, name, position, flag, first, second):
    kind = rng.random()
    if kind < 0.05:  # a small deletion
        cigar, span = "70M2D80M", READ_LENGTH + 2
        sequence = np.concatenate(
            [letters[position : position + 70], letters[position + 72 : position + 152]]
        )
    elif kind < 0.10:  # a small insertion
        cigar, span = "70M2I78M", READ_LENGTH - 2
        sequence = np.concatenate(
            [letters[position : position + 70], bases[:2], letters[position + 70 : position + 148]]
        )
    elif kind < 0.15:  # soft-clipped adapter
        cigar, span = "140M10S", 140
        sequence = np.concatenate(
            [letters[position : position + 140], bases[rng.integers(0, 4, 10)]]
        )
    else:
        cigar, span = "150M", READ_LENGTH
        sequence = letters[position : position + READ_LENGTH].copy()
    sequence = sequence.copy()
    errors = rng.random(sequence.size) < 0.01
    sequence[errors] = bases[rng.integers(0, 4, int(errors.sum()))]
    read = pysam.AlignedSegment(header)
    read.query_name = name
    read.flag = flag
    read.reference_id = 0
    read.reference_start = position
    read.mapping_quality = int(rng.choice([0, 20, 60, 60, 60]))
    read.cigarstring = cigar
    read.query_sequence = sequence.tobytes().decode()
    read.query_qualities = rng.integers(2, 41, sequence.size).astype(np.uint8).tolist()
    read.next_reference_id = 0
    read.next_reference_start = second if flag & 0x40 else first
    template = second + READ_LENGTH - first
    read.template_length = template if flag & 0x40 else -template
    del span
    return read


# Runs one command and prints its wall seconds and peak RSS. It is started as a small process
# of its own because Linux charges a child, in `ru_maxrss`, with the peak RSS of the process
# that forked it (kept across `exec`): measured straight from this script, which holds the
# simulated data, every command would look at least as large as this script.
_RUNNER = """
import json, os, subprocess, sys, time
command = json.loads(sys.argv[1])
started = time.perf_counter()
process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(process.pid, 0)
wall = time.perf_counter() - started
error = process.stderr.read().decode()
print(json.dumps([os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024, error]))
"""


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps(command)],
        check=True,
        capture_output=True,
        text=True,
    )
    status, wall, rss, error = json.loads(result.stdout)
    if status != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{error}")
    return wall, rss


def repeated(command: list[str], repeats: int) -> tuple[float, float]:
    """Best wall seconds and largest peak RSS (MiB) over `repeats` runs of `command`."""
    runs = [measure(command) for _ in range(repeats)]
    return min(wall for wall, _ in runs), max(rss for _, rss in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=1_000_000)
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        started = time.perf_counter()
        bam, fasta = simulate(directory, args.length, args.coverage, args.seed)
        reads = int(pysam.AlignmentFile(str(bam)).mapped)
        print(
            f"simulated {reads:,} reads over {args.length:,} bp ({args.coverage:g}x) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        ours_path, theirs_path = directory / "softpile.tsv", directory / "samtools.txt"
        softpile_command = [
            sys.executable,
            "-m",
            "softpile",
            "pileup",
            str(bam),
            "-f",
            str(fasta),
            "-o",
            str(ours_path),
            "--quiet",
        ]
        samtools_command = [
            sys.executable,
            "-c",
            "import sys, pysam; pysam.samtools.mpileup(*sys.argv[1:], catch_stdout=False)",
            "-B",
            "-f",
            str(fasta),
            "-o",
            str(theirs_path),
            str(bam),
        ]
        ours_wall, ours_rss = repeated(softpile_command, args.repeats)
        theirs_wall, theirs_rss = repeated(samtools_command, args.repeats)
        print(f"{'':24}{'wall s':>10}{'peak RSS MiB':>15}")
        print(f"{'softpile pileup':24}{ours_wall:10.2f}{ours_rss:15.0f}")
        print(f"{'samtools mpileup -B':24}{theirs_wall:10.2f}{theirs_rss:15.0f}")
        print(
            f"{'ratio softpile/samtools':24}{ours_wall / theirs_wall:10.2f}"
            f"{ours_rss / theirs_rss:15.2f}"
        )
        _check_agreement(ours_path, theirs_path)

        floors = {
            "import softpile": [sys.executable, "-c", "import softpile"],
            "pysam: read the fields": [sys.executable, "-c", _TOUCH_FIELDS, str(bam)],
        }
        print(
            f"\n{'lower bounds (own processes)':30}{'wall s':>10}{'/ samtools':>12}"
            f"{'peak RSS MiB':>15}{'/ samtools':>12}"
        )
        total = 0.0
        for label, command in floors.items():
            wall, rss = repeated(command, args.repeats)
            total += wall
            print(
                f"{label:30}{wall:10.2f}{wall / theirs_wall:12.2f}{rss:15.0f}"
                f"{rss / theirs_rss:12.2f}"
            )
        print(f"{'sum of the walls':30}{total:10.2f}{total / theirs_wall:12.2f}")


_TOUCH_FIELDS = """
import sys, pysam
with pysam.AlignmentFile(sys.argv[1]) as bam:
    for read in bam.fetch(until_eof=True):
        (read.reference_start, read.flag, read.mapping_quality, read.cigartuples,
         read.query_sequence, read.query_qualities)
"""


def _check_agreement(ours_path: Path, theirs_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from io_helpers import parse_mpileup, parse_table

    ours = parse_table(ours_path.read_text())
    theirs = parse_mpileup(theirs_path.read_text())
    same = ours == theirs
    print(f"outputs agree on all {len(theirs):,} rows: {same}")
    if not same:
        raise SystemExit("softpile and samtools disagree")


if __name__ == "__main__":
    main()

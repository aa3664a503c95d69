"""`softpile call` vs `bcftools mpileup | bcftools call` on simulated 30x BAMs: speed, memory.

    python benchmarks/call_speed.py                         # 1 Mb and 10 Mb
    python benchmarks/call_speed.py --length 200000         # a quick look
    python benchmarks/call_speed.py --lengths 1000000 --repeats 3

For each length, takes the simulated sample of `benchmarks/simulate_bam.py` (150 bp pairs at
30x with planted SNVs and indels, quality-correlated errors, soft clips, a MAPQ mix,
duplicates, secondary and unmapped reads; made once, then cached in `--out`) and runs, each
with its defaults, writing a bgzipped VCF:

- `softpile call BAM -f FA -o OUT.vcf.gz --quiet` (as `python -m softpile`, with this Python;
  it also writes the tabix index);
- `bcftools mpileup -a AD,DP -f FA BAM | bcftools call -mv -Oz -o OUT.vcf.gz`: pysam's bundled
  bcftools, each half a Python process calling `pysam.bcftools.mpileup` / `.call` with
  `catch_stdout=False`, joined by an OS pipe as in a shell (mpileup writes its default
  uncompressed VCF text into the pipe; `call` reads it from stdin), so the two run at the
  same time.

Whole processes are timed, start-up included. Wall seconds are the best of `--repeats`; for
bcftools, the wall is the pipeline's (until both halves have exited). Peak RSS is each child
alone (the largest over the repeats), measured from a small runner process so that this
script's own memory is not charged to the children; the bcftools pipeline's peak is the sum of
its two halves, which run at the same time. The tree peaks add every descendant (softpile's
worker processes with `--threads`), sampled: RSS counts a page shared by processes once per
process, PSS splits it between them (see `child_process.py`). Ratios are softpile /
bcftools. `--softpile-args` adds options to `softpile call`, e.g. `"--threads 1"`. The record counts
of the two VCFs (all records, and those whose FILTER is PASS or `.`) are printed next to the
number of planted variants, as a sanity check; `benchmarks/accuracy.py` scores calls.
"""

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import pysam
from child_process import repeated
from simulate_bam import default_directory, simulate_bam


def _bcftools(subcommand: str, *arguments: str) -> list[str]:
    program = (
        f"import sys, pysam.bcftools; pysam.bcftools.{subcommand}(*sys.argv[1:], "
        "catch_stdout=False)"
    )
    return [sys.executable, "-c", program, *arguments]


def count_records(path: Path) -> tuple[int, int]:
    """All records of a VCF, and those that pass (FILTER PASS or missing)."""
    records = passing = 0
    verbosity = pysam.set_verbosity(0)  # htslib's notes on a missing index or header types
    try:
        with pysam.VariantFile(str(path)) as vcf:
            for record in vcf:
                records += 1
                passing += set(record.filter.keys()) <= {"PASS"}
    finally:
        pysam.set_verbosity(verbosity)
    return records, passing


def compare(length: int, args) -> None:
    sample = simulate_bam(length, coverage=args.coverage, seed=args.seed, out=args.out)
    summary = sample.summary
    print(
        f"== {length:,} bp, {args.coverage:g}x: {summary['records']:,} BAM records, "
        f"{summary['snvs']:,} SNVs and {summary['indels']:,} indels planted "
        f"(simulated in {summary['seconds']} s; {sample.directory}) =="
    )
    bam, fasta = str(sample.bam), str(sample.fasta)
    with tempfile.TemporaryDirectory() as scratch:
        ours, theirs = Path(scratch) / "softpile.vcf.gz", Path(scratch) / "bcftools.vcf.gz"
        softpile = [sys.executable, "-m", "softpile", "call", bam, "-f", fasta]
        softpile += ["-o", str(ours), "--quiet", *shlex.split(args.softpile_args)]
        mpileup = _bcftools("mpileup", "-a", "AD,DP", "-f", fasta, bam)
        call = _bcftools("call", "-mv", "-Oz", "-o", str(theirs), "-")
        ours_wall, (ours_rss,), ours_tree = repeated([softpile], args.repeats)
        theirs_wall, (mpileup_rss, call_rss), theirs_tree = repeated([mpileup, call], args.repeats)
        ours_counts, theirs_counts = count_records(ours), count_records(theirs)

    theirs_rss = mpileup_rss + call_rss
    header = f"{'wall s':>10}{'peak RSS MiB':>15}{'tree RSS MiB':>15}{'tree PSS MiB':>15}"
    print(f"{'':34}{header}{'records':>10}{'pass':>8}")
    print(f"{'softpile call':34}{ours_wall:10.2f}{ours_rss:15.0f}", end="")
    print(f"{ours_tree[0]:15.0f}{ours_tree[1]:15.0f}{ours_counts[0]:10,}{ours_counts[1]:8,}")
    print(f"{'bcftools mpileup | call -mv':34}{theirs_wall:10.2f}{theirs_rss:15.0f}", end="")
    print(
        f"{theirs_tree[0]:15.0f}{theirs_tree[1]:15.0f}{theirs_counts[0]:10,}{theirs_counts[1]:8,}"
    )
    print(f"{'  bcftools mpileup -a AD,DP':34}{'':10}{mpileup_rss:15.0f}")
    print(f"{'  bcftools call -mv':34}{'':10}{call_rss:15.0f}")
    print(
        f"{'ratio softpile/bcftools':34}{ours_wall / theirs_wall:10.2f}"
        f"{ours_rss / theirs_rss:15.2f}{ours_tree[0] / theirs_tree[0]:15.2f}"
        f"{ours_tree[1] / theirs_tree[1]:15.2f}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--length", type=int, help="one reference length in bp")
    sizes.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="reference lengths in bp (default 1000000 10000000)",
    )
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs (1)")
    parser.add_argument(
        "--softpile-args", default="", help='options added to softpile call, e.g. "--threads 1"'
    )
    parser.add_argument(
        "--out", type=Path, default=default_directory(), help="cache of simulated samples"
    )
    args = parser.parse_args()
    for length in [args.length] if args.length else args.lengths:
        compare(length, args)


if __name__ == "__main__":
    main()

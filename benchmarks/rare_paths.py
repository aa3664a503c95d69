"""How rare the read-by-read paths of the read engine are, on a realistic BAM.

    python benchmarks/rare_paths.py [--length 1000000] [--max-depth 8000]

The engine works on whole batches of reads with array operations; a few cases are replayed
read by read, exactly as samtools handles them. On the simulated 30x sample of
`simulate_bam.py` (cached), this streams the whole BAM through `softpile.io.iter_windows` with
samtools' default filters and counts how often each slower path runs:

- batches where samtools' buffer cap (`--max-depth`) may drop a read (replayed read by read);
- reads whose name is shared by three or more reads (the mate hash replayed for them);
- mate pairs with a deletion or skip inside their overlap (merged base by base);
- reads with an empty M/=/X/D/N operation (walked position by position).

Each count is printed next to what it is a share of.
"""

import argparse
import time

from simulate_bam import simulate_bam

import softpile.io
from softpile.io import _overlaps, _projection, _reads, _stream

counts = {"batches": 0, "capped batches": 0, "pairs": 0, "replayed reads": 0, "gapped pairs": 0}
counts["reads projected"] = counts["walked reads"] = 0


def _counting(module, name: str, count):
    original = getattr(module, name)

    def wrapper(*arguments, **options):
        result = original(*arguments, **options)
        count(result, *arguments)
        return result

    setattr(module, name, wrapper)


def _pairs(result, *_):
    pairs, _ = result
    counts["batches"] += 1
    counts["pairs"] += pairs.first.size + len(pairs.ordered)
    counts["replayed reads"] += pairs.replayed.size


def _capped(result, *_):
    counts["capped batches"] += 1


def _gapped(result, *_):
    counts["gapped pairs"] += 1


def _walked(result, reads, rows, *_):
    counts["walked reads"] += rows.size


def _projected(result, reads, *_):
    counts["reads projected"] += len(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=1_000_000)
    parser.add_argument("--max-depth", type=int, default=8000)
    args = parser.parse_args()
    sample = simulate_bam(args.length)
    _counting(_stream, "pair_mates", _pairs)
    _counting(_stream, "apply_cap", _capped)
    _counting(_overlaps, "_merge_gapped_overlap", _gapped)
    _counting(_projection, "_project_walked", _walked)
    _counting(_reads, "project", _projected)
    started = time.perf_counter()
    reads = 0
    for batch in softpile.io.iter_windows(sample.bam, sample.fasta, max_depth=args.max_depth):
        reads += batch.num_reads
    seconds = time.perf_counter() - started
    print(f"{args.length:,} bp sample, 30x, -d {args.max_depth}: {seconds:.1f} s")
    rows = [
        ("batches with the buffer cap replayed", "capped batches", "batches", "batches"),
        ("reads in a name shared by 3+ reads", "replayed reads", "reads projected", "reads"),
        ("pairs merged base by base (gap inside)", "gapped pairs", "pairs", "mate pairs"),
        ("reads walked position by position", "walked reads", "reads projected", "reads"),
    ]
    for label, part, whole, noun in rows:
        share = counts[part] / max(counts[whole], 1)
        print(f"{label:42}{counts[part]:>10,} of {counts[whole]:>10,} {noun:18}{share:9.3%}")


if __name__ == "__main__":
    main()

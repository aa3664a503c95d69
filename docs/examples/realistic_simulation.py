"""Simulate a realistic sample, align it with bwa mem, and measure what the files hold.

    python docs/examples/realistic_simulation.py [--out DIR] [--seed N] [--length BASES]

Writes DIR/ref.fa, DIR/reads.bam, DIR/truth.vcf.gz and DIR/confident.bed (as `softpile simulate
--realistic` does), then prints, measured on the reads and the BAM: the error rate and the
reported quality along the read, how much more often bases are wrong than their quality states,
and where the aligner gives MAPQ 0 or places a read away from its origin. Needs the `simulate`
extra (`pip install 'softpile[simulate]'`).
"""

import argparse

import numpy as np
import pysam

from softpile.io import write_simulation
from softpile.simulate import simulate_realistic

COMPLEMENT = str.maketrans("ACGT", "TGCA")
CYCLE_BINS = ((0, 10), (50, 60), (100, 110), (140, 150))
TOP_QUALITY = 41  # the top reported bin, which gathers every better base


def error_free_mates(sample) -> np.ndarray:
    """`(F, 2, L)` the bases each mate was read from, cut from the haplotype strings."""
    length = sample.mates.shape[-1]
    texts = []
    for n in range(sample.mates.shape[0]):
        haplotype = sample.haplotype_sequences[sample.fragment_haplotype[n]]
        offset, size = int(sample.fragment_offset[n]), int(sample.insert_size[n])
        fragment = haplotype[offset : offset + size]
        left, right = fragment[:length], fragment[-length:].translate(COMPLEMENT)[::-1]
        texts += [right, left] if sample.fragment_reverse[n] else [left, right]
    codes = np.frombuffer("".join(texts).encode(), dtype=np.uint8)
    return np.searchsorted(np.frombuffer(b"ACGT", dtype=np.uint8), codes).reshape(
        sample.mates.shape
    )


def error_profile(sample) -> None:
    wrong = sample.mates != error_free_mates(sample)
    quality = sample.quality.astype(float)
    print("cycles   mean Q  observed error  stated error  observed/stated (Q < 41)")
    for first, last in CYCLE_BINS:
        cycles = slice(first, last)
        kept = quality[..., cycles] < TOP_QUALITY
        observed = wrong[..., cycles][kept].mean()
        stated = (10.0 ** (-quality[..., cycles][kept] / 10.0)).mean()
        print(
            f"{first + 1:>3}-{last:<3}  {quality[..., cycles].mean():6.1f}  {observed:14.5f}"
            f"  {stated:12.5f}  {observed / stated:6.2f}"
        )


def mapping(sample, bam_path) -> None:
    kind_of = np.full(sample.reference.size, "unique", dtype=object)
    for element in sample.elements:
        kind_of[element.start : element.end] = element.kind
    counts: dict[str, list[int]] = {}
    lengths = []
    with pysam.AlignmentFile(str(bam_path)) as bam:
        for read in bam.fetch(until_eof=True):
            if read.is_secondary or read.is_supplementary:
                continue
            mate = 0 if read.is_read1 else 1
            fragment = int(read.query_name[1:])
            start, end = sample.true_starts[fragment, mate], sample.true_ends[fragment, mate]
            kinds = set(kind_of[start:end])
            kind = kinds.pop() if len(kinds) == 1 else "mixed"
            misplaced = read.is_unmapped or abs(read.reference_start - start) > 10
            row = counts.setdefault(kind, [0, 0, 0])
            row[0] += 1
            row[1] += read.mapping_quality == 0
            row[2] += misplaced
            if read.is_proper_pair and read.template_length > 0:
                lengths.append(read.template_length)
    print("reads wholly in          reads  MAPQ 0  misplaced")
    for kind in ("unique", "tandem", "interspersed", "segmental_duplication", "paralog", "mixed"):
        total, zero, misplaced = counts.get(kind, [0, 0, 0])
        if total:
            print(f"{kind:<22} {total:7d}  {zero / total:6.1%}  {misplaced / total:9.2%}")
    q25, median, q75 = np.percentile(lengths, [25, 50, 75])
    print(f"proper pairs: template length quartiles {q25:.0f}, {median:.0f}, {q75:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="realistic-sim", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--length", type=int, default=100_000)
    args = parser.parse_args()
    sample = simulate_realistic(args.seed, reference_length=args.length)
    files = write_simulation(sample, args.out)
    truth = sample.truth_variants()
    indels = sum(v.is_indel for v in truth)
    print(
        f"{args.length} bases, {2 * sample.mates.shape[0]} reads, {len(truth) - indels} SNVs, "
        f"{indels} indels; confident: {sample.confident.mean():.1%} of the contig"
    )
    error_profile(sample)
    mapping(sample, files.reads)


if __name__ == "__main__":
    main()

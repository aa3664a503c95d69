"""A seeded, simulated 30x paired-end BAM for the real-data benchmarks, cached by parameters.

    python benchmarks/simulate_bam.py --length 1000000 [--coverage 30] [--seed 0] [--out DIR]

or, from another script in `benchmarks/`:

    from simulate_bam import simulate_bam
    sample = simulate_bam(1_000_000)  # sample.fasta, sample.bam, sample.truth, sample.summary

Writes, in `DIR/len<length>-cov<coverage>-seed<seed>-v<version>/` (`DIR` defaults to
`softpile-benchmarks` in the system's temporary folder): `ref.fa` (+ `.fai`), `reads.bam`
(+ `.bai`, coordinate-sorted), `truth.vcf` (the planted variants) and `summary.json` (the
parameters and counts). A rerun with the same parameters reuses the folder; delete it to
simulate again. The folder appears complete or not at all (it is written under another name,
then renamed).

What is simulated, one contig `chr1`:

- the reference: uniform random bases, with homopolymers (6-20 bp, one per kb), short tandem
  repeats (units of 2-4 bp, 20-80 bp long, one per 3 kb) and segmental duplications (1-3 kb
  copied elsewhere with 1 % divergence, one per 200 kb);
- the sample: two haplotypes carrying SNVs (rate 1e-3) and 1-5 bp insertions and deletions
  (rate 1e-4), two thirds heterozygous, one third homozygous;
- fragments: uniform starts, insert sizes N(300, 60) truncated to [180, 600] (mates overlap
  when the insert is under 300 bp), read from one haplotype; 150 bp reads, forward-reverse;
- base qualities that fall along the read (mean Q37 at the first cycle, Q24 at the last, per
  read offset and per base noise), with 3 % of the reads ending in a run of Q2 bases (a quarter
  of them N); each base is wrong with the probability its quality states, so errors rise
  toward the 3' end and correlate with the qualities;
- CIGARs: reads across a planted indel carry it (`70M2D80M`, `60M3I87M`), or soft-clip it
  when it is within 10 bp of an end (`140M10S`); 0.2 % of the reads get an indel error of
  their own; 3 % have 5-20 bp of adapter soft-clipped at the 3' end, 1 % 1-8 bp at the 5' end
  (`5S145M`);
- MAPQ: 0 for reads starting in a segmental duplication, else 60 (93 %), 20 (4 %) or 0 (3 %);
- flags: 2 % of the fragments are written twice, the copy flagged duplicate (0x400); 1 % are
  not proper pairs (insert 0.8-5 kb, no 0x2); 0.5 % have an unmapped mate (0x4, placed at its
  mate); 0.3 % of the reads have a secondary alignment (0x100, MAPQ 0) at a random place.

Reads are generated with NumPy, a chunk of fragments at a time, written as SAM text and turned
into BAM by pysam's bundled samtools (`sort` per chunk, then `merge` and `index`): 10 Mb (2
million reads, a 244 MB BAM) takes about a minute and 0.6 GB of memory on a 2-core machine.
"""

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam
from simulated_reads import (
    CONTIG,
    INDEL_LENGTH_WEIGHTS,
    LETTERS,
    chunk_lines,
    draw_fragments,
)

VERSION = 1  # bump when the simulation changes, so that cached folders are not reused
SNV_RATE, INDEL_RATE, HET_FRACTION = 1e-3, 1e-4, 2 / 3
CHUNK = 40_000  # fragments per chunk of SAM text


@dataclasses.dataclass(frozen=True)
class SimulatedBam:
    directory: Path
    fasta: Path
    bam: Path
    truth: Path
    summary: dict


def default_directory() -> Path:
    return Path(tempfile.gettempdir()) / "softpile-benchmarks"


def simulate_bam(
    length: int, *, coverage: float = 30.0, seed: int = 0, out: str | os.PathLike | None = None
) -> SimulatedBam:
    """The simulated sample of these parameters, made (in `out`) unless already there."""
    if length < 1000:
        raise ValueError(f"length must be at least 1000 bp, got {length}")
    out = Path(out) if out is not None else default_directory()
    folder = out / f"len{length}-cov{coverage:g}-seed{seed}-v{VERSION}"
    if not (folder / "summary.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=out))
        try:
            _simulate(work, length, coverage, seed)
            try:
                work.rename(folder)
            except OSError:  # another process finished the same simulation first
                if not (folder / "summary.json").exists():
                    raise
                shutil.rmtree(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return SimulatedBam(
        folder,
        folder / "ref.fa",
        folder / "reads.bam",
        folder / "truth.vcf",
        json.loads((folder / "summary.json").read_text()),
    )


def _simulate(folder: Path, length: int, coverage: float, seed: int) -> None:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    reference, repeats = _reference(rng, length)
    snvs, indels = _variants(rng, reference)
    haplotypes = np.stack([reference, reference])
    for side in (0, 1):
        carried = snvs["genotype"][:, side]
        haplotypes[side, snvs["position"][carried]] = snvs["alt"][carried]
    _write_fasta(folder / "ref.fa", reference)
    _write_truth(folder / "truth.vcf", reference, snvs, indels)

    fragments = draw_fragments(rng, length, coverage)
    header = f"@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:{CONTIG}\tLN:{length}\n".encode()
    parts, counts = [], {}
    for number, first in enumerate(range(0, fragments["start"].size, CHUNK)):
        chunk = {key: values[first : first + CHUNK] for key, values in fragments.items()}
        lines, chunk_counts = chunk_lines(rng, chunk, first, haplotypes, repeats, indels)
        for key, value in chunk_counts.items():
            counts[key] = counts.get(key, 0) + value
        sam, part = folder / f"part{number}.sam", folder / f"part{number}.bam"
        with open(sam, "wb") as handle:
            handle.write(header)
            handle.write(b"\n".join(lines))
            handle.write(b"\n")
        pysam.sort(
            "--no-PG", "-l", "1", "-T", str(folder / f"sort{number}"), "-o", str(part), str(sam)
        )
        sam.unlink()
        parts.append(part)
    bam = folder / "reads.bam"
    pysam.merge("--no-PG", "-f", "-c", "-p", "-o", str(bam), *map(str, parts))
    for part in parts:
        part.unlink()
    pysam.index(str(bam))

    summary = {
        "length": length,
        "coverage": coverage,
        "seed": seed,
        "version": VERSION,
        "fragments": int(fragments["start"].size),
        **counts,
        "snvs": int(snvs["position"].size),
        "indels": int(indels["position"].size),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


def _reference(rng, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Random bases with homopolymers, tandem repeats and segmental duplications; returns the
    codes (0-3 for ACGT) and a mask of the duplicated positions (both copies)."""
    reference = rng.integers(0, 4, length, dtype=np.uint8)
    for start, size, base in zip(
        rng.integers(0, length - 20, length // 1000),
        rng.integers(6, 21, length // 1000),
        rng.integers(0, 4, length // 1000),
    ):
        reference[start : start + size] = base
    for start, unit, size in zip(
        rng.integers(0, length - 80, length // 3000),
        rng.integers(2, 5, length // 3000),
        rng.integers(20, 81, length // 3000),
    ):
        reference[start : start + size] = np.resize(rng.integers(0, 4, unit), size)
    repeats = np.zeros(length, dtype=bool)
    for _ in range(max(1, length // 200_000)):
        size = min(int(rng.integers(1000, 3001)), length // 10)
        source, target = rng.integers(0, length - size, 2)
        copy = reference[source : source + size].copy()
        changed = rng.random(size) < 0.01
        copy[changed] = (copy[changed] + rng.integers(1, 4, int(changed.sum()))) % 4
        reference[target : target + size] = copy
        repeats[source : source + size] = repeats[target : target + size] = True
    return reference, repeats


def _genotypes(rng, count: int) -> np.ndarray:
    """(count, 2) bools: which haplotypes carry each variant (2/3 het, 1/3 hom)."""
    het = rng.random(count) < HET_FRACTION
    side = rng.integers(0, 2, count)
    return np.stack([~het | (side == 0), ~het | (side == 1)], axis=1)


def _variants(rng, reference: np.ndarray) -> tuple[dict, dict]:
    length = reference.size
    # Indels at least 300 bp apart, so that a read crosses at most one.
    positions = np.unique(rng.integers(50, length - 50, rng.binomial(length, INDEL_RATE)))
    positions = positions[np.diff(positions, prepend=-1000) > 300]
    count = positions.size
    indels = {
        "position": positions,  # deletion: bases position.. deleted; insertion: before it
        "deletion": rng.random(count) < 0.5,
        "size": rng.choice(np.arange(1, 6), count, p=INDEL_LENGTH_WEIGHTS),
        "bases": rng.integers(0, 4, (count, 5), dtype=np.uint8),
        "genotype": _genotypes(rng, count),
    }
    positions = np.unique(rng.integers(0, length, rng.binomial(length, SNV_RATE)))
    if count:  # no SNV within 10 bp of an indel
        nearest = np.clip(np.searchsorted(indels["position"], positions), 1, count)
        distance = np.minimum(
            np.abs(positions - indels["position"][nearest - 1]),
            np.abs(positions - indels["position"][np.minimum(nearest, count - 1)]),
        )
        positions = positions[distance > 10]
    snvs = {
        "position": positions,
        "alt": ((reference[positions] + rng.integers(1, 4, positions.size)) % 4).astype(np.uint8),
        "genotype": _genotypes(rng, positions.size),
    }
    return snvs, indels


def _write_fasta(path: Path, reference: np.ndarray, width: int = 60) -> None:
    letters = LETTERS[reference]
    full = letters.size // width * width
    body = np.concatenate(
        [letters[:full].reshape(-1, width), np.full((full // width, 1), ord("\n"), np.uint8)],
        axis=1,
    ).tobytes()
    rest = letters[full:].tobytes()
    with open(path, "wb") as handle:
        handle.write(f">{CONTIG}\n".encode() + body + (rest + b"\n" if rest else b""))
    pysam.faidx(str(path))


def _write_truth(path: Path, reference: np.ndarray, snvs: dict, indels: dict) -> None:
    """The planted variants as VCF 4.2 (phased genotypes: haplotype 0 | haplotype 1)."""
    text = LETTERS[reference].tobytes().decode()
    records = []
    for position, alt, genotype in zip(
        snvs["position"].tolist(), snvs["alt"].tolist(), snvs["genotype"].tolist()
    ):
        records.append((position + 1, text[position], "ACGT"[alt], genotype))
    for position, deletion, size, bases, genotype in zip(
        indels["position"].tolist(),
        indels["deletion"].tolist(),
        indels["size"].tolist(),
        indels["bases"].tolist(),
        indels["genotype"].tolist(),
    ):
        anchor = text[position - 1]
        if deletion:
            records.append((position, text[position - 1 : position + size], anchor, genotype))
        else:
            added = "".join("ACGT"[b] for b in bases[:size])
            records.append((position, anchor, anchor + added, genotype))
    records.sort()
    with open(path, "w") as handle:
        handle.write(
            "##fileformat=VCFv4.2\n"
            f"##contig=<ID={CONTIG},length={reference.size}>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tsample\n"
        )
        for position, ref, alt, (first, second) in records:
            handle.write(
                f"{CONTIG}\t{position}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{first:d}|{second:d}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=1_000_000, help="reference length (bp)")
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=None, help=f"cache folder (default {default_directory()})"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    sample = simulate_bam(args.length, coverage=args.coverage, seed=args.seed, out=args.out)
    elapsed = time.perf_counter() - started
    print(f"{sample.directory}  ({elapsed:.1f} s; simulated in {sample.summary['seconds']} s)")
    for key, value in sample.summary.items():
        print(f"  {key:14}{value:>14,}" if isinstance(value, int) else f"  {key:14}{value:>14}")


if __name__ == "__main__":
    main()

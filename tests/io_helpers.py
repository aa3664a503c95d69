"""Test helpers for softpile.io: write small FASTA/BAM files with pysam, and read samtools'
mpileup text into the same table `softpile pileup` writes (samtools is the truth)."""

import io
import os
from pathlib import Path

import pysam

from softpile.cli import main

RAW = ["-Q", "0", "-q", "0", "-A", "-x", "--ff", "UNMAP,SECONDARY,QCFAIL,DUP", "-d", "0"]
"""samtools' raw mode (plus -B, always on): no read or base filter beyond the flags."""

COLUMNS = ("ref", "depth", "A", "C", "G", "T", "N", "del", "ins")


def write_fasta(path: Path, contigs: dict[str, str]) -> Path:
    with open(path, "w") as handle:
        for name, sequence in contigs.items():
            handle.write(f">{name}\n")
            for i in range(0, len(sequence), 60):
                handle.write(sequence[i : i + 60] + "\n")
    pysam.faidx(str(path))
    return path


def make_read(
    header: pysam.AlignmentHeader,
    name: str,
    contig: str,
    start: int,
    cigar: str,
    sequence: str | None,
    quality: list[int] | None = None,
    *,
    flag: int = 0,
    mapq: int = 60,
    mate_contig: str | None = None,
    mate_start: int = -1,
    template_length: int = 0,
) -> pysam.AlignedSegment:
    """One alignment; `quality=None` with a sequence means Q30 everywhere."""
    read = pysam.AlignedSegment(header)
    read.query_name = name
    read.flag = flag
    read.reference_name = contig
    read.reference_start = start
    read.mapping_quality = mapq
    read.cigarstring = cigar
    if sequence is not None:
        read.query_sequence = sequence
        read.query_qualities = pysam.qualitystring_to_array(
            "".join(chr(33 + q) for q in (quality or [30] * len(sequence)))
        )
    if mate_contig is not None:
        read.next_reference_name = mate_contig
        read.next_reference_start = mate_start
    read.template_length = template_length
    return read


def write_bam(
    path: Path, lengths: dict[str, int], reads: list, *, index: bool = True, sort: bool = True
) -> Path:
    """Write `reads` (from `make_read`, built with `header_of(lengths)`) sorted and indexed."""
    header = header_of(lengths)
    unsorted = Path(str(path) + ".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for read in reads:
            out.write(read)
    if sort:
        pysam.sort("-o", str(path), str(unsorted))
        os.unlink(unsorted)
    else:
        os.replace(unsorted, path)
    if index:
        pysam.index(str(path))
    return path


def header_of(lengths: dict[str, int]) -> pysam.AlignmentHeader:
    return pysam.AlignmentHeader.from_dict(
        {
            "HD": {"VN": "1.6", "SO": "coordinate"},
            "SQ": [{"SN": name, "LN": length} for name, length in lengths.items()],
        }
    )


def _letter_class(letter: str) -> str:
    upper = letter.upper()
    return upper if upper in "ACGT" else "N"


def parse_mpileup(text: str, *, keep_empty: bool = False) -> dict:
    """samtools mpileup text (one BAM, run with -f) -> {(chrom, pos): row}.

    A row is `(ref, depth, A, C, G, T, N, del, ins)`: depth counts bases and deletions ('*'),
    not reference skips ('>' '<'); `ins` counts '+' markers. Rows whose depth is 0 are dropped
    unless `keep_empty` (samtools prints them when every entry is a skip or with -a).
    """
    table = {}
    for line in text.splitlines():
        if not line:
            continue
        fields = line.split("\t")
        chrom, pos, ref = fields[0], int(fields[1]), fields[2]
        # samtools writes '*' for an empty bases column (its own count is then 0).
        bases = fields[4] if len(fields) > 4 and fields[3] != "0" else ""
        counts = dict.fromkeys("ACGTN", 0)
        deletions = insertions = 0
        i = 0
        while i < len(bases):
            char = bases[i]
            if char == "^":
                i += 2
                continue
            if char == "$":
                i += 1
                continue
            if char in "+-":
                j = i + 1
                while bases[j].isdigit():
                    j += 1
                size = int(bases[i + 1 : j])
                if char == "+":
                    insertions += 1
                i = j + size
                continue
            if char in ".,":
                counts[_letter_class(ref)] += 1
            elif char in "*#":
                deletions += 1
            elif char in "<>":
                pass
            else:
                counts[_letter_class(char)] += 1
            i += 1
        depth = sum(counts.values()) + deletions
        if depth == 0 and not keep_empty:
            continue
        table[(chrom, pos)] = (ref, depth, *counts.values(), deletions, insertions)
    return table


def samtools_table(bam: Path, fasta: Path, *options: str, keep_empty: bool = False) -> dict:
    """The truth: `samtools mpileup -B -f FASTA [options] BAM` as pysam bundles it."""
    text = pysam.samtools.mpileup("-B", "-f", str(fasta), *options, str(bam))
    return parse_mpileup(text, keep_empty=keep_empty)


def parse_table(text: str) -> dict:
    """`softpile pileup` TSV -> {(chrom, pos): (ref, depth, A, C, G, T, N, del, ins)}."""
    lines = text.splitlines()
    assert lines[0] == "#chrom\tpos\tref\tdepth\tA\tC\tG\tT\tN\tdel\tins", lines[0]
    table = {}
    for line in lines[1:]:
        fields = line.split("\t")
        assert len(fields) == 11, line
        table[(fields[0], int(fields[1]))] = (fields[2], *map(int, fields[3:]))
    return table


def softpile_table(bam: Path, fasta: Path, *options: str, output: Path | None = None) -> dict:
    """Run `softpile pileup BAM --reference FASTA [options] -o FILE` in-process; parse it."""
    if output is None:
        output = Path(str(bam) + ".softpile.tsv")
    status = main(["pileup", str(bam), "--reference", str(fasta), "-o", str(output), *options])
    assert status == 0, status
    return parse_table(output.read_text())


def run_cli(*arguments: str) -> tuple[int, str]:
    """Run the CLI in-process; return (exit status, stderr)."""
    import contextlib

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = main(list(arguments))
    return status, stderr.getvalue()


# --- random alignments for property tests ----------------------------------------------------

_BASE_OPS = "M=X"


def _random_cigar(rng) -> list[tuple[str, int]]:
    ops = []
    if rng.random() < 0.2:
        ops.append(("H", rng.randint(1, 3)))
    if rng.random() < 0.3:
        ops.append(("S", rng.randint(1, 4)))
    if rng.random() < 0.15:
        ops.append(("I", rng.randint(1, 3)))  # a leading insertion
    if rng.random() < 0.1:
        ops.append(("D", rng.randint(1, 3)))  # a read starting with a deletion
    count = rng.randint(1, 5)
    for k in range(count):
        ops.append((rng.choice("MMM=X"), rng.randint(1, 12)))
        if k < count - 1 or rng.random() < 0.2:
            r = rng.random()
            if r < 0.35:
                ops.append(("I", rng.randint(1, 4)))
            elif r < 0.65:
                ops.append(("D", rng.randint(1, 4)))
            elif r < 0.8:
                ops.append(("N", rng.randint(1, 15)))
            elif r < 0.85:
                ops += [("P", 1), ("I", rng.randint(1, 2))]
            elif r < 0.9:
                ops += [("D", rng.randint(1, 2)), ("I", rng.randint(1, 2))]
    if rng.random() < 0.3:
        ops.append(("S", rng.randint(1, 4)))
    if rng.random() < 0.1:
        ops.append(("H", rng.randint(1, 3)))
    return ops


def _query_length(ops) -> int:
    return sum(length for op, length in ops if op in "MIS=X")


def _reference_length(ops) -> int:
    return sum(length for op, length in ops if op in "MDN=X")


def _random_read(rng, header, reference, name, start, flag, ops, **mate):
    letters = []
    position = start
    for op, length in ops:
        if op in _BASE_OPS:
            for k in range(length):
                base = reference[position + k]
                letters.append(rng.choice("ACGTN") if rng.random() < 0.1 else base)
            position += length
        elif op in "IS":
            letters.extend(rng.choice("ACGT") for _ in range(length))
        elif op in "DN":
            position += length
    quality = [
        rng.choice([rng.randint(0, 40), rng.randint(8, 16)]) for _ in range(_query_length(ops))
    ]
    read = make_read(
        header,
        name,
        "chr1",
        start,
        "".join(f"{length}{op}" for op, length in ops),
        "".join(letters),
        quality,
        flag=flag,
        mapq=rng.choice([0, 10, 30, 60, 255]),
        **mate,
    )
    if rng.random() < 0.05:
        read.query_qualities = None  # QUAL '*'
    return read


def random_alignments(seed: int, directory: Path, length: int = 150) -> tuple[Path, Path]:
    """A random small BAM (pairs, flags, gapped CIGARs, N bases, odd qualities) and its FASTA."""
    import random

    rng = random.Random(seed)
    reference = "".join(rng.choice("ACGT") for _ in range(length))
    if rng.random() < 0.3:
        reference = reference[:50] + "N" + reference[51:]
    fasta = write_fasta(directory / f"random{seed}.fa", {"chr1": reference})
    header = header_of({"chr1": length})
    reads = []
    for i in range(rng.randint(3, 25)):
        start = rng.randint(0, length - 50)
        if rng.random() < 0.5:
            first_ops, second_ops = _random_cigar(rng), _random_cigar(rng)
            second_start = start + rng.randint(0, 30)
            first_end = start + _reference_length(first_ops)
            second_end = second_start + _reference_length(second_ops)
            if max(first_end, second_end) > length:
                continue
            flag = 0x1 | (0x2 if rng.random() < 0.8 else 0)
            extra = rng.choice([0, 0, 0, 0x400, 0x100, 0x800, 0x200, 0x8])
            span = max(first_end, second_end) - start
            reads.append(
                _random_read(
                    rng,
                    header,
                    reference,
                    f"p{i}",
                    start,
                    flag | 0x40 | 0x20 | extra,
                    first_ops,
                    mate_contig="chr1",
                    mate_start=second_start,
                    template_length=span,
                )
            )
            reads.append(
                _random_read(
                    rng,
                    header,
                    reference,
                    f"p{i}",
                    second_start,
                    flag | 0x80 | 0x10,
                    second_ops,
                    mate_contig="chr1",
                    mate_start=start,
                    template_length=-span,
                )
            )
        else:
            ops = _random_cigar(rng)
            if start + _reference_length(ops) > length:
                continue
            flag = rng.choice([0, 0, 0x10, 0x400, 0x100, 0x800, 0x200, 0x1, 0x3, 0x4])
            reads.append(_random_read(rng, header, reference, f"s{i}", start, flag, ops))
    bam = write_bam(directory / f"random{seed}.bam", {"chr1": length}, reads)
    return bam, fasta


def differences(truth: dict, ours: dict) -> list:
    """The rows where two tables differ, for assertion messages."""
    return [
        (key, truth.get(key), ours.get(key))
        for key in sorted(set(truth) | set(ours))
        if truth.get(key) != ours.get(key)
    ]

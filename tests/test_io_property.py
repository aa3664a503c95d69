"""Random alignments (gapped CIGARs, pairs, flags, odd qualities) against samtools."""

import tempfile
from pathlib import Path

import pysam
import pytest
from hypothesis import given, settings, strategies as st
from io_helpers import (
    RAW,
    _random_cigar,
    differences,
    header_of,
    make_read,
    random_alignments,
    samtools_table,
    softpile_table,
    write_bam,
    write_fasta,
)

from softpile.io._filters import Filters
from softpile.io._inputs import Inputs
from softpile.io._windows import stream_windows

OPTIONS = [
    [],
    RAW,
    ["-q", "20", "-Q", "20"],
    ["-d", "3"],
    ["-Q", "0", "-d", "2", "-A"],
]


@settings(max_examples=12)
@given(seed=st.integers(0, 2**31 - 1), options=st.sampled_from(OPTIONS))
def test_random_alignments_match_samtools(seed, options):
    with tempfile.TemporaryDirectory() as directory:
        bam, fasta = random_alignments(seed, Path(directory))
        truth = samtools_table(bam, fasta, *options)
        ours = softpile_table(bam, fasta, *options)
        assert ours == truth, differences(truth, ours)[:10]


@pytest.mark.parametrize("seed", range(6))
def test_random_alignments_with_small_windows(seed, tmp_path):
    bam, fasta = random_alignments(1000 + seed, tmp_path)
    truth = samtools_table(bam, fasta)
    ours = softpile_table(bam, fasta, "--window-size", str(3 + 5 * seed))
    assert ours == truth, differences(truth, ours)[:10]


def _gapped_pairs(seed: int, reference: str, count: int) -> list:
    """`count` overlapping proper pairs, far apart, most with D/N (and I/S/H/P) in a CIGAR."""
    import random

    rng = random.Random(seed)
    alignments = []
    header = header_of({"chr1": len(reference)})
    for n in range(count):
        first_start = 40 + 150 * n + rng.randint(0, 20)
        first_ops, second_ops = _random_cigar(rng), _random_cigar(rng)
        second_start = first_start + rng.randint(0, 30)
        mismatch = rng.choice([0.05, 0.3])  # bases differing from the reference (and the mate)
        for start, ops, flag, mate_start in (
            (first_start, first_ops, 0x1 | 0x2 | 0x20 | 0x40, second_start),
            (second_start, second_ops, 0x1 | 0x2 | 0x10 | 0x80, first_start),
        ):
            letters, position = [], start
            for op, length in ops:
                if op in "M=X":
                    letters += [
                        rng.choice("ACGTN") if rng.random() < mismatch else reference[position + k]
                        for k in range(length)
                    ]
                if op in "IS":
                    letters += [rng.choice("ACGT") for _ in range(length)]
                if op in "MDN=X":
                    position += length
            quality = [rng.choice([rng.randint(0, 40), rng.randint(0, 93)]) for _ in letters]
            alignments.append(
                make_read(
                    header,
                    f"g{n}",
                    "chr1",
                    start,
                    "".join(f"{length}{op}" for op, length in ops),
                    "".join(letters),
                    quality,
                    flag=flag,
                    mate_contig="chr1",
                    mate_start=mate_start,
                )
            )
    return alignments


def _aligned_pairs(alignment) -> list:
    """(query index, reference position) of each M/=/X base (pysam's `get_aligned_pairs`
    counts padding `P` as query)."""
    pairs, query, position = [], 0, alignment.reference_start
    for op, length in alignment.cigartuples:
        if op in (0, 7, 8):
            pairs += [(query + k, position + k) for k in range(length)]
        query += length if op in (0, 1, 4, 7, 8) else 0
        position += length if op in (0, 2, 3, 7, 8) else 0
    return pairs


@pytest.mark.parametrize("seed", range(3))
def test_gapped_overlap_qualities_match_samtools(seed, tmp_path):
    """Each adjusted base quality of mates overlapping with gaps, as samtools prints it."""
    import random

    length = 40 * 150 + 200
    rng = random.Random(seed)
    reference = "".join(rng.choice("ACGT") for _ in range(length))
    fasta = write_fasta(tmp_path / "gapped.fa", {"chr1": reference})
    bam = write_bam(tmp_path / "gapped.bam", {"chr1": length}, _gapped_pairs(seed, reference, 40))
    text = pysam.samtools.mpileup(
        *("-B", "-Q", "0", "-d", "0", "--no-output-ends", "-O"),
        *("--no-output-ins", "--no-output-ins", "--no-output-del", "--no-output-del"),
        *("--output-extra", "QNAME,FLAG", "-f", str(fasta), str(bam)),
    )
    truth = {}
    for line in text.splitlines():
        fields = line.split("\t")
        entries = zip(fields[4], fields[5], *(column.split(",") for column in fields[6:9]))
        for base, quality, query_position, name, flag in entries:
            if base not in "*#<>":
                truth[(name, int(flag) & 0x10, int(query_position) - 1)] = ord(quality) - 33

    ours = {}
    changed = 0
    with pysam.AlignmentFile(str(bam)) as handle:
        alignments = {(a.query_name, a.flag & 0x10): a for a in handle.fetch("chr1")}
    with Inputs(bam, fasta) as inputs:
        (window,) = stream_windows([inputs], "chr1", window_size=length, filters=Filters())
    reads = window.reads[0]
    for row in range(len(reads)):
        name, reverse = reads.names[row].decode(), int(reads.flag[row]) & 0x10
        alignment = alignments[(name, reverse)]
        begin, end = reads.sequence_offsets[row], reads.sequence_offsets[row + 1]
        adjusted, original = reads.quality[begin:end], reads.original_quality[begin:end]
        for query, position in _aligned_pairs(alignment):
            # The first mate's columns before `tweaked_from` were printed before the change.
            before = position < reads.tweaked_from[row]
            value = int((original if before else adjusted)[query])
            # samtools prints at most Q93 ('~').
            ours[(name, reverse, query)] = min(value, 93)
            changed += value != alignment.query_qualities[query]
    assert changed > 50  # the adjustment did happen
    assert ours == truth, sorted(
        (key, truth.get(key), ours.get(key))
        for key in set(truth) | set(ours)
        if truth.get(key) != ours.get(key)
    )[:10]

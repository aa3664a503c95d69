"""`ReadBatch.cycles` against pysam: the sequencing cycle of the base behind every column.

The truth is computed read by read from `pysam.AlignedSegment.get_aligned_pairs()`: a base
column takes its query index (`len(SEQ) - 1 -` it on the reverse strand), a deletion column
that of the next query base (the base whose quality it carries).
"""

import random
import re
from pathlib import Path

import numpy as np
import pysam
import pytest
from io_helpers import header_of, make_read, random_alignments, write_bam, write_fasta

import softpile.io
from softpile.io._read_batch import MAX_CYCLE

LENGTH = 300
PAD, GAP = -1, 4
_PADDING = 6  # the CIGAR operation `P`


def _sequence(reference: str, start: int, cigar: str, rng: random.Random) -> str:
    """Bases that follow the reference (inserted and clipped ones drawn at random)."""
    letters, position = [], start
    for count, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar):
        count = int(count)
        if op in "M=X":
            letters += list(reference[position : position + count])
            position += count
        elif op in "IS":
            letters += [rng.choice("ACGT") for _ in range(count)]
        elif op in "DN":
            position += count
    return "".join(letters)


CIGARS = [
    "30M",
    "4S20M3S",
    "3H4S15M5S2H",
    "8M4D12M",
    "10M3I10M",
    "6M20N6M",
    "3D12M",
    "2S3I12M",
    "12M3D",
    "12M4I",
    "12M2D3S",
    "6M2D2I6M",
    "6M1P2I6M",
    "5M1I2D1I5M",
    "10=1X10=",
]

PAIRS = [
    # (first mate: start, CIGAR, quality), (second mate: ...): overlapping, ungapped or not.
    ((10, "20M", 9), (18, "20M", 9)),
    ((60, "3S20M", 30), (64, "20M4S", 20)),
    ((100, "10M3D15M", 15), (104, "20M", 15)),
    ((140, "5M2D10M", 14), (142, "4M3N8M2D4M", 10)),
    ((180, "6M2I10M", 9), (182, "4M2I10M", 9)),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = random.Random(11)
    reference = "".join(rng.choice("ACGT") for _ in range(LENGTH))
    directory = tmp_path_factory.mktemp("cycles")
    fasta = write_fasta(directory / "ref.fa", {"chr1": reference})
    header = header_of({"chr1": LENGTH})
    reads = []
    for k, cigar in enumerate(CIGARS):
        for strand, flag in (("f", 0), ("r", 0x10)):
            start = 5 + 12 * k + (3 if flag else 0)
            sequence = _sequence(reference, start, cigar, rng)
            # Some qualities below 13, so that the default filter drops entries.
            quality = [rng.choice([5, 12, 13, 20, 30, 40]) for _ in sequence]
            name = f"{cigar}_{strand}"
            reads.append(
                make_read(header, name, "chr1", start, cigar, sequence, quality, flag=flag)
            )
    reads.append(make_read(header, "no_seq", "chr1", 40, "4M2D4M", None, flag=0x10))
    for k, ((start_a, cigar_a, q_a), (start_b, cigar_b, q_b)) in enumerate(PAIRS):
        span = max(start_a, start_b) + 40 - start_a
        mate = dict(flag=0x1 | 0x2, mate_contig="chr1")
        sequence_a = _sequence(reference, start_a, cigar_a, rng)
        sequence_b = _sequence(reference, start_b, cigar_b, rng)
        reads += [
            make_read(
                header,
                f"pair{k}",
                "chr1",
                start_a,
                cigar_a,
                sequence_a,
                [q_a] * len(sequence_a),
                **{**mate, "flag": mate["flag"] | 0x40 | 0x20},
                mate_start=start_b,
                template_length=span,
            ),
            make_read(
                header,
                f"pair{k}",
                "chr1",
                start_b,
                cigar_b,
                sequence_b,
                [q_b] * len(sequence_b),
                **{**mate, "flag": mate["flag"] | 0x80 | 0x10},
                mate_start=start_a,
                template_length=-span,
            ),
        ]
    bam = write_bam(directory / "cycles.bam", {"chr1": LENGTH}, reads)
    return bam, fasta


def _pysam_reads(bam: Path) -> dict[tuple[str, bool], pysam.AlignedSegment]:
    with pysam.AlignmentFile(str(bam)) as alignments:
        reads = {(read.query_name, read.is_reverse): read for read in alignments}
    assert len(reads) == sum(1 for _ in pysam.AlignmentFile(str(bam))), "names must be unique"
    return reads


def expected_cycles(read: pysam.AlignedSegment) -> dict[int, int]:
    """`{reference position: cycle}` of a read's M/=/X and D positions, from pysam; -1 where
    no stored base is behind the position (a deletion ending the read, SEQ `*`)."""
    length = read.query_length  # len(SEQ): soft clips included, hard clips not
    cigar = read.cigartuples or []
    if any(op == _PADDING for op, _ in cigar):
        # A `P` moves neither the query nor the reference, but pysam 0.24.1's aligned pairs
        # count it as a query base: ask them of the read without its `P`s.
        read = pysam.AlignedSegment.fromstring(read.to_string(), read.header)
        read.cigartuples = [(op, size) for op, size in cigar if op != _PADDING]
    expected, next_query = {}, None
    for query, position in reversed(read.get_aligned_pairs()):
        if query is not None:
            next_query = query
        if position is None:
            continue
        behind = query if query is not None else next_query
        if behind is None or behind >= length:
            expected[position] = -1
        else:
            expected[position] = length - 1 - behind if read.is_reverse else behind
    return expected


def check_cycles(batch, reads) -> dict[str, int]:
    """Every kept column's cycle against pysam's; -1 on padding. Returns what was checked."""
    assert batch.cycles is not None and batch.cycles.dtype == np.int16
    assert batch.reverse is not None and batch.names is not None
    seen = dict(columns=0, reverse=0, clipped=0, deletions=0, inserted=0)
    for n, (name, reverse) in enumerate(zip(batch.names, batch.reverse.tolist())):
        read = reads[(name, reverse)]
        expected = expected_cycles(read)
        codes, cycles = batch.codes[n], batch.cycles[n]
        np.testing.assert_array_equal(cycles[codes == PAD], -1)
        for column in np.flatnonzero(codes != PAD).tolist():
            position = int(batch.starts[n]) + column
            assert cycles[column] == expected[position], (name, reverse, position)
            seen["columns"] += 1
            seen["reverse"] += reverse
            seen["clipped"] += "S" in read.cigarstring
            seen["deletions"] += int(codes[column] == GAP)
            seen["inserted"] += "I" in read.cigarstring
    return seen


@pytest.mark.parametrize("min_baseq", [0, 13])
def test_cycles_match_pysam(files, min_baseq):
    bam, fasta = files
    reads = _pysam_reads(bam)
    batch = softpile.io.read_region(bam, fasta, "chr1", min_baseq=min_baseq)
    assert batch.num_reads == len(reads)
    seen = check_cycles(batch, reads)
    # The cases are really there.
    assert min(seen.values()) >= 10, seen
    if min_baseq == 0:
        # Soft clips count, hard clips do not: 4S20M3S forward starts at cycle 4;
        # 3H4S15M5S2H reverse (24 stored bases) starts at 24 - 1 - 4 = 19.
        names = list(batch.names)
        assert batch.cycles[names.index("4S20M3S_f"), 0] == 4
        assert batch.cycles[names.index("3H4S15M5S2H_r"), 0] == 19


def test_cycles_match_pysam_in_windows(files):
    bam, fasta = files
    reads = _pysam_reads(bam)
    for batch in softpile.io.iter_windows(bam, fasta, "chr1", window_size=7, min_baseq=0):
        check_cycles(batch, reads)


@pytest.mark.parametrize("seed", range(4))
def test_cycles_match_pysam_on_random_alignments(seed, tmp_path):
    bam, fasta = random_alignments(2000 + seed, tmp_path)
    reads = _pysam_reads(bam)
    for min_baseq in (0, 13):
        batch = softpile.io.read_region(bam, fasta, "chr1", min_baseq=min_baseq, max_depth=0)
        check_cycles(batch, reads)


def test_a_merged_overlap_keeps_the_cycle_of_the_kept_base(files):
    """Where mates overlap, samtools keeps one mate's base (quality summed, or 80% of the
    higher) and gives the other quality 0: at `min_baseq` 13 the other becomes padding, and
    each position of the overlap carries the cycle of the kept base, from its own read."""
    bam, fasta = files
    reads = _pysam_reads(bam)
    batch = softpile.io.read_region(bam, fasta, "chr1", min_baseq=13)
    names = list(batch.names)
    kept_from = {False: 0, True: 0}
    for k, ((start_a, _, _), (start_b, _, _)) in enumerate(PAIRS):
        rows = [n for n, name in enumerate(names) if name == f"pair{k}"]
        assert len(rows) == 2 and set(batch.reverse[rows].tolist()) == {False, True}
        first, second = reads[(f"pair{k}", False)], reads[(f"pair{k}", True)]
        overlap = set(first.get_reference_positions()) & set(second.get_reference_positions())
        assert len(overlap) >= 5
        for position in sorted(overlap):
            kept = []
            for n in rows:
                column = position - int(batch.starts[n])
                if 0 <= column < batch.codes.shape[1] and batch.codes[n, column] >= 0:
                    kept.append((n, column))
            if k == 0:  # Q9 + Q9: one base of Q18 is kept, the other (Q0) dropped
                assert len(kept) == 1, position
            for n, column in kept:
                read = reads[(f"pair{k}", bool(batch.reverse[n]))]
                assert batch.cycles[n, column] == expected_cycles(read)[position]
                kept_from[bool(batch.reverse[n])] += 1
    assert min(kept_from.values()) > 0, kept_from  # both mates keep some bases


def test_cycles_of_reads_with_empty_operations(tmp_path):
    """Reads with empty M/D/N operations are walked as htslib does; a base column's cycle is
    that of the SEQ base it shows (an empty leading `M` shows the soft-clipped base)."""
    reference = "ACGTTGCAACGTAGCTAGGATCCATGCA" * 2
    fasta = write_fasta(tmp_path / "ref.fa", {"chr1": reference})
    header = header_of({"chr1": len(reference)})
    reads = [
        make_read(header, "zero_ops", "chr1", 8, "3M0I4M0D2M0N3M", reference[8:20]),
        make_read(header, "zero_lead", "chr1", 9, "0M2S6M0I", "TT" + reference[9:15], flag=16),
    ]
    bam = write_bam(tmp_path / "zero.bam", {"chr1": len(reference)}, reads)
    batch = softpile.io.read_region(bam, fasta, "chr1", min_baseq=0)
    assert batch.cycles is not None and batch.reverse is not None
    checked = 0
    for n, read in enumerate(reads):
        sequence = read.query_sequence
        assert sequence is not None
        for column in np.flatnonzero((batch.codes[n] >= 0) & (batch.codes[n] < GAP)).tolist():
            cycle = int(batch.cycles[n, column])
            query = len(sequence) - 1 - cycle if batch.reverse[n] else cycle
            assert "ACGT"[batch.codes[n, column]] == sequence[query]
            checked += 1
    assert checked >= 10
    assert batch.cycles[1, 0] == 7  # `0M` at 9 shows query base 0 of 8, on the reverse strand


def test_cycles_of_long_reads_stop_at_the_largest_int16(tmp_path):
    rng = random.Random(5)
    length = 41_000
    reference = "".join(rng.choice("ACGT") for _ in range(length))
    fasta = write_fasta(tmp_path / "ref.fa", {"chr1": reference})
    header = header_of({"chr1": length})
    reads = []
    for name, cigar, flag in [
        ("one_block_f", "2S40000M", 0),
        ("one_block_r", "2S40000M", 0x10),
        ("gapped_r", "20000M1D20000M", 0x10),
    ]:
        sequence = _sequence(reference, 100, cigar, rng)
        reads.append(make_read(header, name, "chr1", 100, cigar, sequence, flag=flag))
    bam = write_bam(tmp_path / "long.bam", {"chr1": length}, reads)
    batch = softpile.io.read_region(bam, fasta, "chr1", min_baseq=0)
    assert batch.cycles is not None and batch.names is not None
    for n, name in enumerate(batch.names):
        read = next(read for read in reads if read.query_name == name)
        expected = expected_cycles(read)
        positions = int(batch.starts[n]) + np.arange(batch.codes.shape[1])
        want = np.array([min(expected.get(p, -1), MAX_CYCLE) for p in positions])
        np.testing.assert_array_equal(batch.cycles[n], want, err_msg=name)
    assert batch.cycles.max() == 32_767 and batch.cycles[0, :3].tolist() == [2, 3, 4]

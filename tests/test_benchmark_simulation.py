"""The simulated BAM of the real-data benchmarks (`benchmarks/simulate_bam.py`): valid, sorted
and indexed, with the features it promises, reads drawn from the planted haplotypes with
quality-correlated errors, deterministic, and cached."""

import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from simulate_bam import simulate_bam  # noqa: E402
from simulated_reads import READ_LENGTH  # noqa: E402

LENGTH = 40_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return simulate_bam(LENGTH, seed=3, out=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def records(sample):
    with pysam.AlignmentFile(str(sample.bam)) as bam:
        assert bam.check_index()
        return list(bam.fetch(until_eof=True))


def test_files_and_counts(sample, records):
    assert {path.name for path in sample.directory.iterdir()} == {
        "ref.fa",
        "ref.fa.fai",
        "reads.bam",
        "reads.bam.bai",
        "truth.vcf",
        "summary.json",
    }
    assert pysam.FastaFile(str(sample.fasta)).get_reference_length("chr1") == LENGTH
    assert len(records) == sample.summary["records"]
    primary = [read for read in records if not read.is_secondary]
    assert len(primary) == sample.summary["primary"] == 2 * sample.summary["fragments"]
    # 30x: read bases over the reference length
    assert 28 < len(primary) * READ_LENGTH / LENGTH < 32


def test_sorted_and_read_features(records):
    positions = [read.reference_start for read in records]
    assert positions == sorted(positions)
    assert all(read.query_length == READ_LENGTH for read in records)
    flags = Counter()
    for read in records:
        for bit in (0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x400):
            flags[bit] += bool(read.flag & bit)
    assert all(flags[bit] for bit in (0x4, 0x8, 0x100, 0x400))
    assert 0 < len(records) - flags[0x2] < 0.1 * len(records)  # some not in proper pairs
    primary = [read for read in records if not read.is_secondary]
    assert sum(read.is_read1 for read in primary) == sum(read.is_read2 for read in primary)
    assert {read.mapping_quality for read in records} == {0, 20, 60}
    cigars = [read.cigarstring for read in records if not read.is_unmapped]
    assert any("I" in cigar for cigar in cigars) and any("D" in cigar for cigar in cigars)
    assert any(cigar.endswith("S") for cigar in cigars)
    assert any(re.match(r"^[0-9]+S[0-9]+M", cigar) for cigar in cigars)
    # Mates overlap for some fragments and not for others.
    tlens = [read.template_length for read in records if read.is_proper_pair and read.is_read1]
    assert min(map(abs, tlens)) < 2 * READ_LENGTH < max(map(abs, tlens))


def test_reads_follow_the_haplotypes_with_quality_correlated_errors(sample, records):
    reference = pysam.FastaFile(str(sample.fasta)).fetch("chr1")
    with pysam.VariantFile(str(sample.truth)) as truth:
        planted = {record.pos - 1 for record in truth}
    high = low = high_wrong = low_wrong = 0
    indel_reads_mismatches = []
    for read in records:
        if read.is_unmapped or read.is_secondary:
            continue
        sequence, qualities, mismatches = read.query_sequence, read.query_qualities, 0
        for query, position in read.get_aligned_pairs(matches_only=True):
            if position in planted:
                continue
            wrong = sequence[query] != reference[position]
            mismatches += wrong
            if qualities[query] >= 30:
                high, high_wrong = high + 1, high_wrong + wrong
            elif qualities[query] < 10:
                low, low_wrong = low + 1, low_wrong + wrong
        if read.get_cigar_stats()[0][1] or read.get_cigar_stats()[0][2]:
            indel_reads_mismatches.append(mismatches)
    assert high_wrong / high < 0.003
    assert low_wrong / low > 0.3
    # Reads across an indel are aligned through it, not shifted by it.
    assert np.median(indel_reads_mismatches) <= 1


def test_planted_homozygous_snvs_are_in_the_reads(sample):
    with pysam.VariantFile(str(sample.truth)) as truth:
        homs = [
            record
            for record in truth
            if len(record.ref) == len(record.alts[0]) == 1 and record.samples[0]["GT"] == (1, 1)
        ]
    assert homs
    with pysam.AlignmentFile(str(sample.bam)) as bam:
        for record in homs:
            counts = bam.count_coverage("chr1", record.pos - 1, record.pos, quality_threshold=0)
            depth = {base: int(count[0]) for base, count in zip("ACGT", counts)}
            assert depth[record.alts[0]] > 0.8 * sum(depth.values())


def test_deterministic_and_cached(sample, tmp_path):
    again = simulate_bam(LENGTH, seed=3, out=tmp_path)
    assert pysam.view(str(again.bam)) == pysam.view(str(sample.bam))
    assert again.truth.read_text() == sample.truth.read_text()
    modified = again.bam.stat().st_mtime_ns
    cached = simulate_bam(LENGTH, seed=3, out=tmp_path)
    assert cached.directory == again.directory
    assert cached.bam.stat().st_mtime_ns == modified
    assert simulate_bam(LENGTH, seed=4, out=tmp_path).directory != again.directory

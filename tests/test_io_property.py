"""Random alignments (gapped CIGARs, pairs, flags, odd qualities) against samtools."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from io_helpers import RAW, differences, random_alignments, samtools_table, softpile_table

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

"""Variant calling on several samples, and how read weights, MAPQ 0 and overlapping mates
weigh the evidence."""

import dataclasses

import jax
import numpy as np
import pysam
import pysam.bcftools
import pytest
from call_data import OPTIONS, SEED, vcf_records

import softpile
from softpile import cli
from softpile.io import (
    ReadBatch,
    call_reads,
    sample_name,
)
from softpile.simulate import simulate

# --- several samples ------------------------------------------------------------------------


def test_two_bams_give_two_columns(planted, planted_files, clean_files, tmp_path):
    output = tmp_path / "both.vcf.gz"
    arguments = ["call", str(planted_files.reads), str(clean_files.reads)]
    arguments += ["-f", str(planted_files.reference), "-o", str(output), "--quiet"]
    assert cli.main(arguments) == 0
    records = vcf_records(output)
    with pysam.VariantFile(str(output)) as vcf:
        assert list(vcf.header.samples) == ["A", "B"]
    assert len(records) == len(planted.truth_variants())
    for record in records:
        assert record.samples["A"]["GT"] in {(0, 1), (1, 1)}
        assert record.samples["B"]["GT"] == (0, 0)
        assert record.samples["B"]["AD"][1] <= 1


def test_samples_are_padded_without_changing_scores(planted):
    alone = ReadBatch.from_simulation(planted)
    shorter = simulate(SEED, snv_positions=[], **{**OPTIONS, "coverage": 10})
    together = call_reads([alone, ReadBatch.from_simulation(shorter)], planted.reference)
    single = call_reads([alone], planted.reference)
    jax.tree.map(
        # Float32 sums may be reordered by XLA for another batch size.
        lambda a, b: np.testing.assert_allclose(a[0], b[0], rtol=1e-4, atol=1e-9),
        together.scores,
        single.scores,
    )


def _with(reads: ReadBatch, **changes) -> ReadBatch:
    return dataclasses.replace(reads, **changes)


def test_mapq_zero_reads_carry_no_evidence(planted):
    reads = ReadBatch.from_simulation(planted)
    count = len(reads.codes)
    assert call_reads([_with(reads, mapq=np.zeros(count, int))], planted.reference).records == []
    plain = call_reads([reads], planted.reference).records
    # MAPQ 60 caps nothing here (qualities <= 40) but weighs indel reads by 1 - 1e-6.
    confident = call_reads([_with(reads, mapq=np.full(count, 60))], planted.reference).records
    assert [dataclasses.replace(r, quality=0.0) for r in confident] == [
        dataclasses.replace(r, quality=0.0) for r in plain
    ]
    assert [r.quality for r in confident] == pytest.approx([r.quality for r in plain], rel=1e-5)
    # 255 means "unavailable": no cap, no weight.
    unavailable = call_reads([_with(reads, mapq=np.full(count, 255))], planted.reference)
    assert unavailable.records == plain


def test_read_weights_weigh_the_evidence(planted):
    reads = ReadBatch.from_simulation(planted)
    count = reads.num_reads
    plain = call_reads([reads], planted.reference)
    ones = call_reads([_with(reads, read_weights=np.ones(count))], planted.reference)
    assert ones.records == plain.records
    assert call_reads([_with(reads, read_weights=np.zeros(count))], planted.reference).records == []
    halved = call_reads([_with(reads, read_weights=np.full(count, 0.5))], planted.reference)
    np.testing.assert_allclose(halved.pileups.coverage, 0.5 * plain.pileups.coverage)


def test_mates_count_once_as_indel_depth_and_twice_as_evidence(planted):
    """A template comes from one haplotype, so its mates count once in the allele depths and
    the genotype's sampling; each mate makes its own sequencing errors, so an allele that both
    mates show is stronger evidence than one read's."""
    reads = ReadBatch.from_simulation(planted)
    names = [f"template{n}" for n in range(len(reads.codes))]
    single = call_reads([_with(reads, names=names)], planted.reference)
    # Every template twice, as if both mates covered the same bases.
    doubled = ReadBatch(
        codes=np.concatenate([reads.codes, reads.codes]),
        quality=np.concatenate([reads.quality, reads.quality]),
        insertions=np.concatenate([reads.insertions, reads.insertions]),
        inserted_sequences=tuple(reads.inserted_sequences) * 2,
        starts=np.concatenate([reads.starts, reads.starts]),
        names=names * 2,
    )
    twice = call_reads([doubled], planted.reference)
    single_indels = {(r.position, r.alleles): r for r in single.records if r.is_indel}
    twice_indels = {(r.position, r.alleles): r for r in twice.records if r.is_indel}
    assert len(single_indels) >= 3
    assert set(single_indels) <= set(twice_indels)
    for key, one in single_indels.items():
        two = twice_indels[key]
        assert two.samples[0].allele_depths == one.samples[0].allele_depths
        assert two.quality >= one.quality
    assert any(twice_indels[key].quality > one.quality for key, one in single_indels.items())


def test_no_snv_on_a_base_that_a_homozygous_deletion_removes():
    """Twenty reads delete bases 100-102; three reads end inside the deletion with a T at 101.
    The deletion is called 1/1, and the T (which no haplotype can carry) is not called."""
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 4, 200)
    reference[101] = 0  # A, so that T is a mismatch
    reference[99] = (reference[102] + 1) % 4  # the deletion cannot shift left
    deleting = np.tile(reference[70:130], (20, 1))
    deleting[:, 30:33] = softpile._encoding.GAP  # positions 100..102
    ending = np.full((3, 60), -1)
    ending[:, :32] = reference[70:102]
    ending[:, 31] = 3  # T at 101, the read's last base

    def batch(codes):
        return ReadBatch(
            codes=codes,
            quality=np.full(codes.shape, 30.0),
            insertions=np.zeros(codes.shape),
            inserted_sequences=({},) * len(codes),
            starts=np.full(len(codes), 70),
            names=[f"read{n}" for n in range(len(codes))],
        )

    records = call_reads([batch(np.concatenate([deleting, ending]))], reference).records
    deletions = [r for r in records if r.is_indel]
    assert [(r.position, len(r.alleles[0]), r.samples[0].genotype) for r in deletions] == [
        (99, 4, (1, 1))
    ]
    assert [r.position for r in records if not r.is_indel] == []
    # Without the deleting reads, the same three reads are an SNV call.
    alone = call_reads([batch(ending)], reference).records
    assert [r.position for r in alone if not r.is_indel] == [101]


def test_sample_names_come_from_the_read_group_else_the_file(planted_files, tmp_path):
    assert sample_name(planted_files.reads) == "A"
    unnamed = tmp_path / "patient7.bam"
    with pysam.AlignmentFile(str(planted_files.reads)) as source:
        header = source.header.to_dict()
        header.pop("RG")
        with pysam.AlignmentFile(str(unnamed), "wb", header=header) as target:
            for read in source.fetch("sim", 0, 300):
                read.set_tag("RG", None)
                target.write(read)
    assert sample_name(unnamed) == "patient7"


def test_duplicate_sample_names_are_an_error(planted_files, capsys, tmp_path):
    output = tmp_path / "twice.vcf"
    arguments = ["call", str(planted_files.reads), str(planted_files.reads)]
    status = cli.main(arguments + ["-f", str(planted_files.reference), "-o", str(output)])
    assert status == 2
    assert "same sample name" in capsys.readouterr().err
    assert not output.exists()

"""The simulator: determinism, reads drawn from the haplotypes, errors drawn from qualities,
indels with correct CIGARs, and the files written for samtools/bcftools."""

import numpy as np
import pysam
import pysam.bcftools
import pytest
from hypothesis import given, settings, strategies as st

from softpile.io import write_simulation
from softpile.simulate import simulate

LETTERS = np.array(list("ACGT"))


@pytest.fixture(scope="module")
def with_indels():
    return simulate(
        7,
        reference_length=6000,
        coverage=20,
        read_length=80,
        snv_rate=3e-3,
        indel_rate=3e-3,
        max_indel_length=4,
    )


@pytest.fixture(scope="module")
def files(with_indels, tmp_path_factory):
    return write_simulation(with_indels, tmp_path_factory.mktemp("simulation"), contig="chrS")


def test_same_seed_same_sample_other_seed_other_sample():
    options = dict(reference_length=800, read_length=60, coverage=8, indel_rate=5e-3)
    first, again, other = simulate(3, **options), simulate(3, **options), simulate(4, **options)
    for name in ("reference", "reads", "quality", "starts", "insertions", "query_quality"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert first.query_sequences == again.query_sequences and first.indels == again.indels
    assert not np.array_equal(first.reference, other.reference)


def test_indels_leave_snvs_reads_and_errors_of_a_seed_unchanged():
    options = dict(reference_length=1500, read_length=50, coverage=10)
    plain, indels = simulate(5, **options), simulate(5, indel_rate=0.01, **options)
    assert indels.indels and not plain.indels
    np.testing.assert_array_equal(plain.haplotypes, indels.haplotypes)
    np.testing.assert_array_equal(plain.query_quality, indels.query_quality)
    # Without indels, query space and reference space are the same.
    np.testing.assert_array_equal(
        plain.reads, [[int("ACGT".index(b)) for b in s] for s in plain.query_sequences]
    )


def test_planted_snvs_and_truth_genotype():
    sample = simulate(
        0, reference_length=300, read_length=30, snv_positions=[50, 120], heterozygous=[True, False]
    )
    np.testing.assert_array_equal(sample.variant_positions, [50, 120])
    assert sample.is_heterozygous.tolist() == [True, False]
    h0, h1 = sample.haplotypes[:, 50]
    reference = sample.reference[50]
    assert (h0 == reference) != (h1 == reference)
    assert (sample.haplotypes[:, 120] != sample.reference[120]).all()
    unchanged = np.setdiff1d(np.arange(300), [50, 120])
    assert (sample.haplotypes[:, unchanged] == sample.reference[unchanged]).all()


def test_haplotype_sequences_are_the_reference_with_the_truth_applied(with_indels):
    reference = with_indels.reference_string
    assert len(with_indels.indels) >= 5
    for haplotype in (0, 1):
        sequence, cursor = [], 0
        for variant in with_indels.truth_variants():
            if not variant.genotype[haplotype]:
                continue
            sequence.append(reference[cursor : variant.position])
            assert reference[variant.position :].startswith(variant.reference)
            sequence.append(variant.alternate)
            cursor = variant.position + len(variant.reference)
        sequence.append(reference[cursor:])
        assert "".join(sequence) == with_indels.haplotype_sequences[haplotype]


def test_reads_copy_their_haplotype_where_there_is_no_error(with_indels):
    sample = with_indels
    mismatches = []
    for n, query in enumerate(sample.query_sequences):
        haplotype = sample.haplotype_sequences[sample.read_haplotype[n]]
        offset = sample.read_offsets[n]
        source = np.array(list(haplotype[offset : offset + len(query)]))
        mismatches.append(np.array(list(query)) != source)
    mismatches = np.array(mismatches)
    # Every difference from the source haplotype is a sequencing error, drawn from the quality.
    expected = np.mean(10.0 ** (-sample.query_quality / 10.0))
    spread = 4 * np.sqrt(expected / mismatches.size)
    assert abs(mismatches.mean() - expected) < spread


def test_error_rate_tracks_quality():
    sample = simulate(11, reference_length=20000, read_length=100, coverage=10, snv_rate=0.0)
    reads = np.asarray(sample.reads)
    truth = sample.reference[sample.starts[:, None] + np.arange(reads.shape[1])]
    wrong = reads != truth
    for low, high in [(10, 12), (13, 16), (17, 22)]:
        chosen = (sample.quality >= low) & (sample.quality <= high)
        expected = np.mean(10.0 ** (-sample.quality[chosen] / 10.0))
        observed = wrong[chosen].mean()
        spread = 4 * np.sqrt(expected / chosen.sum())
        assert abs(observed - expected) < spread, (low, high, observed, expected)


def test_reference_space_rows_follow_the_cigars(with_indels, files):
    """Project each BAM record with pysam's aligned pairs and compare with the arrays."""
    sample = with_indels
    by_name = {}
    with pysam.AlignmentFile(str(files.reads)) as bam:
        for read in bam:
            by_name[int(read.query_name[4:11])] = read
    assert len(by_name) == sample.starts.size
    with_deletion = with_insertion = 0
    for n, read in by_name.items():
        assert (
            read.infer_query_length() == len(read.query_sequence) == len(sample.query_sequences[n])
        )
        assert read.reference_start == sample.starts[n]
        row, flags = sample.reads[n], sample.insertions[n]
        expected = np.full(row.size, -1)
        expected_flags = np.zeros(row.size, dtype=int)
        inserted = {}
        previous = None
        for query_position, reference_position in read.get_aligned_pairs():
            if reference_position is None:
                if (
                    previous is not None
                    and query_position >= read.query_alignment_start
                    and (query_position < read.query_alignment_end)
                ):
                    column = previous - read.reference_start
                    expected_flags[column] = 1
                    inserted[column] = (
                        inserted.get(column, "") + read.query_sequence[query_position]
                    )
                continue
            column = reference_position - read.reference_start
            if query_position is None:
                expected[column] = 4
            else:
                expected[column] = "ACGT".index(read.query_sequence[query_position])
                assert sample.quality[n, column] == read.query_qualities[query_position]
            previous = reference_position
        np.testing.assert_array_equal(row, expected)
        np.testing.assert_array_equal(flags, expected_flags)
        assert sample.inserted_sequences[n] == inserted
        with_deletion += int((row == 4).any())
        with_insertion += int(flags.any())
    assert with_deletion > 20 and with_insertion > 20


def test_gap_columns_sit_on_deleted_bases(with_indels):
    sample = with_indels
    deleted = [set(), set()]
    for variant in sample.indels:
        if len(variant.reference) > 1:
            span = range(variant.position + 1, variant.position + len(variant.reference))
            for haplotype in (0, 1):
                if variant.genotype[haplotype]:
                    deleted[haplotype].update(span)
    for n in range(sample.starts.size):
        columns = np.flatnonzero(sample.reads[n] == 4) + sample.starts[n]
        assert set(columns.tolist()) <= deleted[sample.read_haplotype[n]]


def test_truth_vcf_is_normalised_and_matches_the_simulation(with_indels, files):
    with pysam.VariantFile(str(files.truth)) as vcf:
        records = [(r.pos - 1, r.ref, r.alts[0], r.samples[0]["GT"]) for r in vcf]
    expected = [
        (v.position, v.reference, v.alternate, v.genotype) for v in with_indels.truth_variants()
    ]
    assert records == expected
    # bcftools norm would shift any indel that is not left-aligned.
    normalised = pysam.bcftools.norm("-f", str(files.reference), str(files.truth))
    body = [line.split("\t")[1:5] for line in normalised.splitlines() if line[:1] != "#"]
    assert [[str(p + 1), ".", r, a] for p, r, a, _ in records] == body


def test_reference_fasta_round_trips(with_indels, files):
    with pysam.FastaFile(str(files.reference)) as fasta:
        assert list(fasta.references) == ["chrS"]
        assert fasta.fetch("chrS") == with_indels.reference_string


def test_simulate_command_writes_the_three_files(tmp_path, capsys):
    from softpile import cli

    arguments = ["simulate", "--out", str(tmp_path), "--length", "3000", "--coverage", "5"]
    assert cli.main(arguments + ["--read-length", "100", "--indel-rate", "0.003"]) == 0
    assert "truth.vcf.gz" in capsys.readouterr().out
    expected = simulate(
        0, reference_length=3000, coverage=5, read_length=100, indel_rate=0.003
    ).truth_variants()
    with pysam.VariantFile(str(tmp_path / "truth.vcf.gz")) as vcf:
        assert [(r.pos - 1, r.ref, r.alts[0]) for r in vcf] == [
            (v.position, v.reference, v.alternate) for v in expected
        ]
    assert pysam.AlignmentFile(str(tmp_path / "reads.bam")).count() == 150
    assert (tmp_path / "ref.fa.fai").exists() and (tmp_path / "reads.bam.bai").exists()
    assert cli.main(["simulate", "--out", str(tmp_path), "--coverage", "-1"]) == 2


@settings(max_examples=10)
@given(
    seed=st.integers(0, 10_000),
    read_length=st.integers(8, 40),
    indel_rate=st.sampled_from([0.0, 0.02, 0.05]),
    max_indel_length=st.integers(1, 4),
)
def test_cigars_account_for_every_base(seed, read_length, indel_rate, max_indel_length):
    sample = simulate(
        seed,
        reference_length=300,
        read_length=read_length,
        coverage=4,
        indel_rate=indel_rate,
        max_indel_length=max_indel_length,
    )
    for n, cigar in enumerate(sample.cigars):
        operations = dict.fromkeys(range(5), 0)
        for operation, size in cigar:
            assert size > 0
            operations[operation] += size
        # Query bases: aligned (M) + inserted (I) + soft-clipped (S).
        assert operations[0] + operations[1] + operations[4] == read_length
        row = sample.reads[n]
        width = int(np.sum(row != -1))
        assert operations[0] + operations[2] == width  # reference columns: M + D
        assert int(np.sum(row == 4)) == operations[2]
        assert sum(map(len, sample.inserted_sequences[n].values())) == operations[1]
        assert int(np.sum(sample.insertions[n])) == len(sample.inserted_sequences[n])
        assert cigar[0][0] in (0, 4) and cigar[-1][0] in (0, 4)  # no leading/trailing I or D
        assert 0 <= sample.starts[n] and sample.starts[n] + width <= 300


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="read_length"):
        simulate(0, reference_length=10, read_length=20)
    with pytest.raises(ValueError, match="indel_rate"):
        simulate(0, indel_rate=2.0)

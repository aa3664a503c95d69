"""The realistic simulation and its bwa mem alignment: determinism, valid files, truth variants
seen in the aligned reads, mapping mistakes that the aligner makes in paralogs (not planted), the
insert-size spread, and the error profile and quality miscalibration measured on the reads."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

from softpile import cli
from softpile.io import write_simulation
from softpile.simulate import GenomeLayout, simulate_realistic

ROOT = Path(__file__).resolve().parents[1]
COMPLEMENT = str.maketrans("ACGT", "TGCA")


@pytest.fixture(scope="module")
def sample():
    return simulate_realistic(5, reference_length=100_000, coverage=30, indel_rate=3e-4)


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory):
    return write_simulation(sample, tmp_path_factory.mktemp("realistic"), contig="chrR")


@pytest.fixture(scope="module")
def records(files):
    with pysam.AlignmentFile(str(files.reads)) as bam:
        assert bam.check_index()
        return list(bam.fetch(until_eof=True))


def error_free_mates(sample) -> np.ndarray:
    """`(F, 2, L)` the bases each mate was read from, rebuilt from the haplotype strings."""
    length = sample.mates.shape[-1]
    mates = []
    for n in range(sample.mates.shape[0]):
        haplotype = sample.haplotype_sequences[sample.fragment_haplotype[n]]
        offset, size = int(sample.fragment_offset[n]), int(sample.insert_size[n])
        fragment = haplotype[offset : offset + size]
        left, right = fragment[:length], fragment[-length:].translate(COMPLEMENT)[::-1]
        mates.append((right, left) if sample.fragment_reverse[n] else (left, right))
    codes = np.frombuffer("".join(a + b for a, b in mates).encode(), dtype=np.uint8)
    return np.searchsorted(np.frombuffer(b"ACGT", dtype=np.uint8), codes).reshape(
        sample.mates.shape
    )


def test_same_seed_same_files_other_seed_other_sample(tmp_path):
    options = dict(reference_length=12_000, coverage=4)
    first, again = simulate_realistic(2, **options), simulate_realistic(2, **options)
    for name in ("reference", "confident", "mates", "quality", "insert_size", "true_starts"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert first.elements == again.elements and first.truth_variants() == again.truth_variants()
    assert not np.array_equal(first.reference, simulate_realistic(3, **options).reference)
    texts = []
    for folder, simulation in (("a", first), ("b", again)):
        files = write_simulation(simulation, tmp_path / folder)
        with pysam.AlignmentFile(str(files.reads)) as bam:
            texts.append([read.to_string() for read in bam.fetch(until_eof=True)])
    assert texts[0] == texts[1] and len(texts[0]) == first.mates.shape[0] * 2


def test_files_are_valid_and_hold_the_sample(sample, files, records):
    assert {path.name for path in files.reference.parent.iterdir()} == {
        "ref.fa",
        "ref.fa.fai",
        "reads.bam",
        "reads.bam.bai",
        "truth.vcf.gz",
        "truth.vcf.gz.tbi",
        "confident.bed",
    }
    with pysam.FastaFile(str(files.reference)) as fasta:
        assert fasta.fetch("chrR") == sample.reference_string
    with pysam.AlignmentFile(str(files.reads)) as bam:
        assert bam.header["HD"]["SO"] == "coordinate"
        assert bam.header["RG"] == [{"ID": "sim", "SM": "sim"}]
    places = [(r.reference_id, r.reference_start) for r in records if not r.is_unmapped]
    assert places == sorted(places)
    primary = [r for r in records if not r.is_secondary and not r.is_supplementary]
    assert len(primary) == 2 * sample.mates.shape[0]
    assert all(r.is_paired and (r.is_read1 != r.is_read2) for r in records)
    with pysam.VariantFile(str(files.truth)) as vcf:
        written = [(r.pos - 1, r.ref, r.alts[0], r.samples[0]["GT"]) for r in vcf]
    truth = sample.truth_variants()
    assert written == [(v.position, v.reference, v.alternate, v.genotype) for v in truth]
    # Het and hom, SNVs and indels.
    kinds = {(v.is_indel, v.genotype == (1, 1)) for v in truth}
    assert kinds == {(False, False), (False, True), (True, False), (True, True)}


def test_confident_bed_is_the_sequence_outside_every_planted_repeat(sample, files):
    covered = np.zeros(sample.reference.size, dtype=bool)
    for element in sample.elements:
        covered[element.start : element.end] = True
    bed = np.zeros(sample.reference.size, dtype=bool)
    for line in files.confident.read_text().splitlines():
        contig, start, end = line.split("\t")
        assert contig == "chrR"
        bed[int(start) : int(end)] = True
    np.testing.assert_array_equal(bed, ~covered)
    assert 0.6 < bed.mean() < 0.85
    kinds = {element.kind for element in sample.elements}
    assert kinds == {"paralog", "segmental_duplication", "interspersed", "tandem"}


def test_copies_are_copies_with_their_divergence(sample):
    reference = sample.reference_string
    for element in sample.elements:
        if element.source < 0:
            continue
        size = element.end - element.start
        copy = reference[element.start : element.end]
        source = reference[element.source : element.source + size]
        if element.inverted:
            source = source.translate(COMPLEMENT)[::-1]
        differences = sum(a != b for a, b in zip(copy, source))
        # Each base is substituted (by another base) with probability `divergence`.
        expected = element.divergence * size
        assert abs(differences - expected) <= 4 * np.sqrt(expected) + 2


def test_truth_variants_are_in_the_aligned_reads(sample, files):
    """Allele fractions at the truth SNVs, counted from the BAM, in unique sequence."""
    het, hom = [], []
    with pysam.AlignmentFile(str(files.reads)) as bam:
        for variant in sample.truth_variants():
            if variant.is_indel or not sample.confident[variant.position]:
                continue
            counts = bam.count_coverage(
                "chrR", variant.position, variant.position + 1, quality_threshold=0
            )
            depth = sum(c[0] for c in counts)
            alternate = counts["ACGT".index(variant.alternate)][0] / max(depth, 1)
            (hom if variant.genotype == (1, 1) else het).append(alternate)
    assert len(het) > 30 and len(hom) > 10
    assert min(hom) > 0.8 and 0.4 < np.mean(het) < 0.6 and max(het) < 0.9
    # Away from the SNVs the reads carry the reference (only sequencing errors).
    with pysam.AlignmentFile(str(files.reads)) as bam:
        counts = np.array(bam.count_coverage("chrR", 20_000, 20_500, quality_threshold=0))
    variant_positions = {v.position - 20_000 for v in sample.truth_variants()}
    reference = np.array(["ACGT".index(b) for b in sample.reference_string[20_000:20_500]])
    plain = [j for j in range(500) if j not in variant_positions and sample.confident[20_000 + j]]
    share = counts[reference[plain], plain] / counts[:, plain].sum(axis=0)
    assert share.min() > 0.85


def test_the_aligner_misplaces_reads_in_paralogs_and_nowhere_unique(sample, records):
    copies = [e for e in sample.elements if e.kind == "paralog" and e.source >= 0]
    assert copies
    partner_spans = []
    for copy in copies:
        size = copy.end - copy.start
        partner_spans += [((copy.start, copy.end), (copy.source, copy.source + size))]
        partner_spans += [((copy.source, copy.source + size), (copy.start, copy.end))]
    mapq_zero = on_partner = 0
    inside = unique = unique_misplaced = 0
    for read in records:
        if read.is_secondary or read.is_supplementary:
            continue
        mate = 0 if read.is_read1 else 1
        fragment = int(read.query_name[1:])
        start, end = sample.true_starts[fragment, mate], sample.true_ends[fragment, mate]
        if sample.confident[start:end].all():
            unique += 1
            unique_misplaced += read.is_unmapped or abs(read.reference_start - start) > 10
        for (first, last), (other_first, other_last) in partner_spans:
            if first <= start and end <= last:
                inside += 1
                mapq_zero += read.mapping_quality == 0
                on_partner += (
                    not read.is_unmapped and other_first <= read.reference_start < other_last
                )
    assert inside > 100
    # Reads wholly inside a near-identical paralog: bwa mem often cannot tell the copies apart.
    assert mapq_zero > 0.2 * inside and on_partner > 0.05 * inside
    assert unique > 5000 and unique_misplaced <= 0.002 * unique


def test_pairs_have_a_realistic_insert_size_spread(records):
    lengths = np.array(
        [r.template_length for r in records if r.is_proper_pair and r.template_length > 0]
    )
    proper = np.mean([r.is_proper_pair for r in records])
    assert proper > 0.9
    q25, median, q75 = np.percentile(lengths, [25, 50, 75])
    # Documented: log-normal, median 350, sd of its log 0.15 (interquartile range ~0.2 x median).
    assert abs(median - 350) < 10
    assert 0.17 < (q75 - q25) / median < 0.23


def test_error_profile_and_miscalibration_measured_on_the_reads():
    """Documented: errors rise along the read; a base reported at Q is wrong about 1.6 x as
    often as Q states at the first cycle and 4 x at the last (top bin, Q41, apart)."""
    sample = simulate_realistic(9, reference_length=300_000, coverage=30, snv_rate=0.0)
    wrong = sample.mates != error_free_mates(sample)
    quality = sample.quality.astype(float)
    claimed = 10.0 ** (-quality / 10.0)
    length = wrong.shape[-1]
    first, last = slice(0, 10), slice(length - 10, length)
    assert wrong[..., last].mean() > 8 * wrong[..., first].mean()
    assert 35 < quality[..., first].mean() < 37 and 25.5 < quality[..., last].mean() < 28
    for cycles, expected in ((first, 1.6), (last, 4.0)):
        below_top = quality[..., cycles] < 41
        observed = wrong[..., cycles][below_top].sum()
        stated = claimed[..., cycles][below_top].sum()
        assert observed > 200
        assert abs(observed / stated / expected - 1) < 0.2, (observed / stated, expected)


def test_layout_sizes_the_repeats():
    bare = simulate_realistic(
        0,
        reference_length=20_000,
        coverage=1,
        layout=GenomeLayout(
            paralogs=0, segmental_duplications=0, interspersed_repeats=0, tandem_repeats=0
        ),
    )
    assert bare.elements == () and bare.confident.all()


def test_simulate_command_realistic(tmp_path, capsys):
    arguments = ["simulate", "--realistic", "--out", str(tmp_path), "--length", "20000"]
    assert cli.main(arguments + ["--coverage", "3"]) == 0
    out = capsys.readouterr().out
    assert "400 reads in pairs, aligned with bwa mem" in out and "confident.bed" in out
    with pysam.AlignmentFile(str(tmp_path / "reads.bam")) as bam:
        assert bam.check_index() and bam.count(until_eof=True) >= 400
    assert cli.main(arguments + ["--max-quality", "30"]) == 2
    assert "--realistic draws them from its error profile" in capsys.readouterr().err
    assert cli.main(["simulate", "--realistic", "--out", str(tmp_path), "--length", "600"]) == 2
    assert "--length must be >= 700 with --realistic" in capsys.readouterr().err


def test_without_pybwa_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pybwa", None)  # import fails
    sample = simulate_realistic(0, reference_length=5_000, coverage=1)
    with pytest.raises(ImportError, match=r"pip install 'softpile\[simulate\]'"):
        write_simulation(sample, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="reference_length"):
        simulate_realistic(0, reference_length=500)
    with pytest.raises(ValueError, match="max_indel_length"):
        simulate_realistic(0, reference_length=5_000, max_indel_length=0)


def test_simulation_page_shows_the_scripts_output(tmp_path):
    page = (ROOT / "docs" / "simulation.md").read_text()
    recorded = re.search(
        r"<!-- realistic-output-start -->\n```text\n(.*?)```\n<!-- realistic-output-end -->",
        page,
        re.DOTALL,
    )
    assert recorded, "simulation.md lost its output block markers"
    script = ROOT / "docs" / "examples" / "realistic_simulation.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "sim")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorded.group(1).splitlines() == result.stdout.splitlines(), (
        "docs/simulation.md is stale: paste the output of "
        "`python docs/examples/realistic_simulation.py` into it"
    )

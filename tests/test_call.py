"""Variant calling: the VCF it writes, the calls it makes on simulated truth, and agreement of
the BAM path with the arrays path and with a NumPy reference of the genotype model."""

import dataclasses

import equinox as eqx
import jax
import numpy as np
import pysam
import pysam.bcftools
import pytest

import softpile
from softpile import cli
from softpile.io import (
    ReadBatch,
    SampleCall,
    VariantRecord,
    call_reads,
    call_region,
    indel_scores,
    load_params,
    sample_name,
    write_simulation,
    write_vcf,
)
from softpile.simulate import simulate

SEED, LENGTH = 3, 4000
OPTIONS = dict(reference_length=LENGTH, read_length=100, coverage=30)


@pytest.fixture(scope="module")
def planted():
    return simulate(SEED, snv_rate=4e-3, indel_rate=8e-3, **OPTIONS)


@pytest.fixture(scope="module")
def planted_files(planted, tmp_path_factory):
    return write_simulation(planted, tmp_path_factory.mktemp("planted"), sample="A")


@pytest.fixture(scope="module")
def clean_files(tmp_path_factory):
    # The same seed draws the same reference first; no variants are planted.
    sample = simulate(SEED, snv_positions=[], indel_rate=0.0, **OPTIONS)
    return write_simulation(sample, tmp_path_factory.mktemp("clean"), sample="B")


@pytest.fixture(scope="module")
def called_vcf(planted_files, tmp_path_factory):
    output = tmp_path_factory.mktemp("calls") / "calls.vcf.gz"
    status = cli.main(
        [
            "call",
            str(planted_files.reads),
            "-f",
            str(planted_files.reference),
            "-o",
            str(output),
            "--quiet",
        ]
    )
    assert status == 0
    return output


def _records(path, passing_only=True):
    with pysam.VariantFile(str(path)) as vcf:
        return [r for r in vcf if not passing_only or list(r.filter) == ["PASS"]]


# --- the VCF file -------------------------------------------------------------------------


def test_output_parses_without_warnings(called_vcf, planted_files, capfd):
    with pysam.VariantFile(str(called_vcf)) as vcf:
        header = str(vcf.header)
        records = list(vcf)
        fetched = list(vcf.fetch("sim", 0, LENGTH))  # needs the tabix index
    assert "##fileformat=VCFv4.2" in header and "##contig=<ID=sim,length=4000>" in header
    assert len(records) == len(fetched) > 10
    text = pysam.bcftools.view(str(called_vcf))
    assert not pysam.bcftools.view.get_messages()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(body) == len(records)
    # bcftools norm -c e fails if any REF allele disagrees with the FASTA.
    pysam.bcftools.norm("-c", "e", "-f", str(planted_files.reference), str(called_vcf))
    assert not capfd.readouterr().err


def _example_records():
    return [
        VariantRecord(
            "chr1",
            9,
            ("A", "G"),
            57.25,
            (
                SampleCall((0, 1), 45, 30, (16, 14), (120, 0, 130)),
                SampleCall((0, 0), 12, 8, (8, 0), (0, 12, 90)),
            ),
        ),
        VariantRecord(
            "chr1",
            99,
            ("C", "T", "G"),
            12.5,
            (
                SampleCall((1, 2), 7, 5, (0, 3, 2), (99, 40, 30, 45, 0, 33)),
                SampleCall(None, 0, 0, (0, 0, 0), (0, 0, 0, 0, 0, 0)),
            ),
        ),
        VariantRecord(
            "chr2",
            4,
            ("TAC", "T"),
            999.0,
            (
                SampleCall((1, 1), 99, 40, (0, 40), (999, 120, 0)),
                SampleCall((0, 1), 60, 22, (11, 11), (300, 0, 310)),
            ),
        ),
    ]


@pytest.mark.parametrize("name", ["calls.vcf", "calls.vcf.gz"])
def test_every_field_round_trips(tmp_path, name):
    records = _example_records()
    path = write_vcf(
        tmp_path / name,
        records,
        contigs=[("chr1", 1000), ("chr2", 500)],
        samples=["first", "second"],
        min_quality=20,
    )
    assert (tmp_path / f"{name}.tbi").exists() == name.endswith(".gz")
    with pysam.VariantFile(str(path)) as vcf:
        assert list(vcf.header.samples) == ["first", "second"]
        assert dict((c, vcf.header.contigs[c].length) for c in vcf.header.contigs) == {
            "chr1": 1000,
            "chr2": 500,
        }
        read = list(vcf)
    assert len(read) == len(records)
    for record, parsed in zip(records, read):
        assert (parsed.contig, parsed.pos, parsed.alleles) == (
            record.contig,
            record.position + 1,
            record.alleles,
        )
        assert parsed.qual == pytest.approx(record.quality)
        assert list(parsed.filter) == (["PASS"] if record.quality >= 20 else ["LowQual"])
        assert parsed.info["DP"] == sum(c.depth for c in record.samples)
        assert parsed.info.get("INDEL", False) == record.is_indel
        for call, sample in zip(record.samples, parsed.samples.values()):
            expected_genotype = (None, None) if call.genotype is None else call.genotype
            assert sample["GT"] == expected_genotype
            assert sample["GQ"] == call.genotype_quality
            assert sample["DP"] == call.depth
            assert sample["AD"] == call.allele_depths
            assert sample["PL"] == call.phred_likelihoods


def test_vcf_writer_rejects_bad_input(tmp_path):
    call = SampleCall((0, 1), 45, 30, (16, 14), (120, 0))
    record = VariantRecord("chr1", 9, ("A", "G"), 57.0, (call,))
    with pytest.raises(ValueError, match="PL"):
        write_vcf(tmp_path / "x.vcf", [record], contigs=[("chr1", 100)], samples=["s"])
    assert not list(tmp_path.iterdir())  # nothing half-written
    with pytest.raises(ValueError, match="unique"):
        write_vcf(tmp_path / "x.vcf", [], contigs=[("chr1", 100)], samples=["s", "s"])
    with pytest.raises(ValueError, match="chr9"):
        write_vcf(
            tmp_path / "x.vcf",
            [VariantRecord("chr9", 1, ("A", "G"), 5.0, ())],
            contigs=[("chr1", 100)],
            samples=[],
        )


# --- calls on simulated truth --------------------------------------------------------------


def test_planted_variants_are_found_at_30x(planted, called_vcf):
    passing = {(r.pos - 1, r.ref, r.alts[0]): r for r in _records(called_vcf)}
    truth = planted.truth_variants()
    homs = [v for v in truth if v.genotype == (1, 1)]
    hets = [v for v in truth if v.genotype != (1, 1)]
    assert len([v for v in homs if not v.is_indel]) >= 3
    assert len([v for v in hets if not v.is_indel]) >= 5
    assert any(v.is_indel for v in truth)
    for variant in homs:
        call = passing[(variant.position, variant.reference, variant.alternate)]
        assert call.samples[0]["GT"] == (1, 1)
    for variant in hets:
        call = passing[(variant.position, variant.reference, variant.alternate)]
        assert call.samples[0]["GT"] == (0, 1)
    assert len(passing) == len(truth)  # and nothing else passes


def test_no_call_on_a_clean_reference(clean_files, tmp_path):
    output = tmp_path / "clean.vcf"
    arguments = ["call", str(clean_files.reads), "-f", str(clean_files.reference)]
    assert cli.main(arguments + ["-o", str(output), "--quiet"]) == 0
    assert _records(output) == []


def test_min_qual_sets_the_low_quality_filter(planted_files, tmp_path):
    output = tmp_path / "strict.vcf"
    arguments = ["call", str(planted_files.reads), "-f", str(planted_files.reference)]
    assert cli.main(arguments + ["-o", str(output), "--min-qual", "500", "--quiet"]) == 0
    records = _records(output, passing_only=False)
    assert records
    for record in records:
        assert list(record.filter) == (["PASS"] if record.qual >= 500 else ["LowQual"])
    assert {list(r.filter)[0] for r in records} == {"PASS", "LowQual"}


def test_read_filters_apply(planted_files):
    # Every simulated base has quality <= 40: a base-quality cut of 41 leaves nothing to call.
    result = call_region(planted_files.reads, planted_files.reference, "sim:1-500", min_baseq=41)
    assert result.records == [] and int(result.pileups.depth.max()) == 0


def test_windows_do_not_change_the_calls(planted_files):
    whole = call_region(planted_files.reads, planted_files.reference, "sim")
    pieces = call_region(planted_files.reads, planted_files.reference, "sim", window_size=700)
    assert pieces.records == whole.records
    np.testing.assert_allclose(pieces.scores.quality, whole.scores.quality, rtol=1e-5)


@pytest.mark.parametrize("trained", [False, True], ids=["untrained", "read-model"])
def test_processes_do_not_change_the_calls(planted_files, clean_files, monkeypatch, trained):
    """Windows called by two worker processes give the records of one sequential pass, also
    with a read model (it travels to the workers)."""
    import softpile.io._shards
    from softpile.io import iter_calls

    monkeypatch.setattr(softpile.io._shards, "MIN_SHARDED_LENGTH", 1)  # shard a small genome
    bams = [planted_files.reads, clean_files.reads]
    read_model = None
    if trained:
        shifts = np.linspace(-4.0, 2.0, 16, dtype=np.float32)
        read_model = softpile.ReadModel(cycle_shift=shifts, quality_shift=np.full(13, -2.0))

    def records(threads):
        windows = iter_calls(
            bams, planted_files.reference, window_size=700, threads=threads, read_model=read_model
        )
        return [record for window in windows for record in window.records]

    one = records(1)
    assert len(one) > 10
    assert records(2) == one
    if trained:  # the model changes the records, so the workers must have used it
        plain = iter_calls(bams, planted_files.reference, window_size=700)
        assert [record for window in plain for record in window.records] != one


# --- the differentiable part agrees with the arrays and with NumPy --------------------------


def test_scores_from_the_bam_equal_scores_from_the_arrays(planted, planted_files):
    result = call_region(planted_files.reads, planted_files.reference, "sim", min_baseq=0)
    reads = softpile.one_hot_reads(planted.reads, gaps=True)
    piled = softpile.pileup(
        reads,
        planted.starts,
        LENGTH,
        quality=np.asarray(planted.quality, dtype=np.float32),
        quality_weighting=False,
    )
    expected = softpile.variant_scores(softpile.VariantModel(), piled, planted.reference)
    for name in ("log_likelihoods", "posteriors", "p_variant", "quality", "genotype_quality"):
        np.testing.assert_allclose(
            getattr(result.scores, name)[0], getattr(expected, name), rtol=1e-4, atol=1e-4
        )
    np.testing.assert_array_equal(result.scores.genotype[0], expected.genotype)
    np.testing.assert_array_equal(result.pileups.depth[0], piled.depth)


def _numpy_genotype_model(bases, quality, reference_base, heterozygosity=1e-3):
    """Log-likelihoods and log-posteriors of the 10 genotypes, read by read (DESIGN §6)."""
    error = np.minimum(10.0 ** (-quality / 10.0), 0.75)
    log_likelihoods = np.zeros(10)
    for g, pair in enumerate(softpile.GENOTYPES):
        a, b = ("ACGT".index(pair[0]), "ACGT".index(pair[1]))
        given_a = np.where(bases == a, 1 - error, error / 3)
        given_b = np.where(bases == b, 1 - error, error / 3)
        log_likelihoods[g] = np.sum(np.log(0.5 * given_a + 0.5 * given_b))
    theta = heterozygosity
    prior = np.zeros(10)
    for g, pair in enumerate(softpile.GENOTYPES):
        a, b = ("ACGT".index(pair[0]), "ACGT".index(pair[1]))
        if a == b:
            prior[g] = 1 - 1.5 * theta - theta**2 if a == reference_base else theta / 6
        elif reference_base in (a, b):
            prior[g] = theta / 3
        else:
            prior[g] = theta**2 / 3
    joint = log_likelihoods + np.log(prior)
    return log_likelihoods, joint - np.logaddexp.reduce(joint)


def test_snv_records_match_a_numpy_genotype_model(planted, planted_files):
    result = call_region(planted_files.reads, planted_files.reference, "sim", min_baseq=0)
    snvs = [r for r in result.records if not r.is_indel and r.quality >= 20]
    assert len(snvs) >= 8
    for record in snvs:
        position = record.position
        column = position - planted.starts
        covering = (column >= 0) & (column < planted.reads.shape[1])
        rows = np.flatnonzero(covering)
        bases = planted.reads[rows, column[rows]]
        quality = planted.quality[rows, column[rows]].astype(float)
        is_base = (bases >= 0) & (bases <= 3)
        reference_base = int(planted.reference[position])
        log_likelihoods, log_posteriors = _numpy_genotype_model(
            bases[is_base], quality[is_base], reference_base
        )
        codes = ["ACGT".index(a) for a in record.alleles]
        pairs = [(i, j) for j in range(len(codes)) for i in range(j + 1)]
        index = [
            softpile.GENOTYPES.index("".join(sorted("ACGT"[codes[i]] + "ACGT"[codes[j]])))
            for i, j in pairs
        ]
        phred = -10 / np.log(10) * (log_likelihoods[index] - log_likelihoods[index].max())
        call = record.samples[0]
        np.testing.assert_allclose(call.phred_likelihoods, phred, atol=1.01)
        hom_ref = softpile.GENOTYPES.index("ACGT"[reference_base] * 2)
        expected_quality = min(-10 / np.log(10) * log_posteriors[hom_ref], 999)
        assert record.quality == pytest.approx(expected_quality, rel=1e-3, abs=0.05)
        assert call.genotype == pairs[int(np.argmax(log_posteriors[index]))]
        assert call.depth == int(np.sum(bases != -1))
        assert call.allele_depths == tuple(int(np.sum(bases == c)) for c in codes)


def test_indel_model_matches_the_formula():
    error = 1e-4  # Q40, bcftools' default gap-open error
    theta = 1e-3 / 8
    cases = [(0.0, 12.0, None), (6.0, 7.0, None), (11.0, 1.0, None), (1.0, 6.0, (2.0, 7.0))]
    for alternate, reference, reads in cases:
        read_args = () if reads is None else tuple(np.array([x]) for x in reads)
        log_likelihoods, posteriors, quality = indel_scores(
            softpile.VariantModel(), np.array([alternate]), np.array([reference]), *read_args
        )
        alternate_reads, reference_reads = (alternate, reference) if reads is None else reads
        expected = np.array(
            [
                alternate_reads * np.log(error) + reference_reads * np.log(1 - error),
                (alternate + reference) * np.log(0.5),
                alternate_reads * np.log(1 - error) + reference_reads * np.log(error),
            ]
        )
        np.testing.assert_allclose(log_likelihoods[0], expected, rtol=1e-5)
        joint = expected + np.log([1 - 1.5 * theta, theta, theta / 2])
        expected_posteriors = np.exp(joint - np.logaddexp.reduce(joint))
        np.testing.assert_allclose(posteriors[0], expected_posteriors, rtol=1e-4, atol=1e-7)
        expected_quality = min(-10 * np.log10(expected_posteriors[0]), 999)
        np.testing.assert_allclose(quality[0], expected_quality, rtol=1e-3, atol=1e-3)


def test_indel_scores_are_differentiable():
    def loss(model, alternate):
        return indel_scores(model, alternate, np.array([5.0]))[2].sum()

    gradient = jax.grad(loss, argnums=(0, 1))(softpile.VariantModel(), np.array([4.0]))
    step = 1e-3
    numeric = (
        loss(softpile.VariantModel(), np.array([4.0 + step]))
        - loss(softpile.VariantModel(), np.array([4.0 - step]))
    ) / (2 * step)
    np.testing.assert_allclose(gradient[1][0], numeric, rtol=2e-2)
    assert float(gradient[0].heterozygosity) > 0  # a larger prior raises QUAL


# --- several samples ------------------------------------------------------------------------


def test_two_bams_give_two_columns(planted, planted_files, clean_files, tmp_path):
    output = tmp_path / "both.vcf.gz"
    arguments = ["call", str(planted_files.reads), str(clean_files.reads)]
    arguments += ["-f", str(planted_files.reference), "-o", str(output), "--quiet"]
    assert cli.main(arguments) == 0
    records = _records(output)
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


# --- parameters and errors ------------------------------------------------------------------


def test_params_file_changes_the_model(planted_files, tmp_path):
    path = tmp_path / "model.eqx"
    eqx.tree_serialise_leaves(path, softpile.VariantModel(heterozygosity=0.1))
    assert load_params(path)[0] is None
    pair = tmp_path / "pair.eqx"
    eqx.tree_serialise_leaves(
        pair, (softpile.QualityFilter(threshold=15.0), softpile.VariantModel())
    )
    quality_filter, model = load_params(pair)
    assert float(quality_filter.threshold) == 15.0 and float(model.heterozygosity) == pytest.approx(
        1e-3
    )
    outputs = {}
    for label, extra in (("default", []), ("trained", ["--params", str(path)])):
        outputs[label] = tmp_path / f"{label}.vcf"
        arguments = ["call", str(planted_files.reads), "-f", str(planted_files.reference)]
        assert cli.main(arguments + ["-o", str(outputs[label]), "--quiet"] + extra) == 0
    default = {r.pos: r.qual for r in _records(outputs["default"], False)}
    trained = {r.pos: r.qual for r in _records(outputs["trained"], False)}
    shared = sorted(set(default) & set(trained))
    assert shared and all(trained[p] > default[p] for p in shared if default[p] < 999)


def test_bad_params_and_inputs_give_one_line_errors(planted_files, tmp_path, capsys):
    junk = tmp_path / "junk.eqx"
    junk.write_bytes(b"not a model")
    arguments = ["call", str(planted_files.reads), "-f", str(planted_files.reference)]
    output = tmp_path / "out.vcf"
    assert cli.main(arguments + ["-o", str(output), "--params", str(junk)]) == 2
    assert "tree_serialise_leaves" in capsys.readouterr().err
    assert cli.main(arguments + ["-o", str(output), "--region", "nochr:1-10"]) == 2
    assert "nochr" in capsys.readouterr().err
    missing = ["call", str(tmp_path / "missing.bam"), "-f", str(planted_files.reference)]
    assert cli.main(missing + ["-o", str(output)]) == 2
    assert "missing.bam: does not exist." in capsys.readouterr().err
    assert cli.main(arguments + ["-o", str(output), "--min-qual", "nan"]) == 2
    assert "--min-qual" in capsys.readouterr().err
    assert not output.exists()


def test_paired_overlapping_mates_and_several_contigs(tmp_path):
    """A real-looking BAM: two contigs, proper pairs whose mates overlap on a deletion, a read
    with a reference skip and soft clips, and a MAPQ 0 read. Mates count once for the indel."""
    rng = np.random.default_rng(5)
    contigs = {name: "".join(rng.choice(list("ACGT"), 400)) for name in ("chrA", "chrB")}
    # A deletion of one base at chrA:201 (0-based 200) that cannot be shifted.
    sequence = contigs["chrA"]
    while sequence[199] == sequence[200] or sequence[200] == sequence[201]:
        sequence = "".join(rng.choice(list("ACGT"), 400))
    contigs["chrA"] = sequence
    fasta = tmp_path / "ref.fa"
    with open(fasta, "w") as handle:
        for name, bases in contigs.items():
            handle.write(f">{name}\n{bases}\n")
    pysam.faidx(str(fasta))
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": 400} for name in contigs],
        "RG": [{"ID": "rg", "SM": "paired"}],
    }
    reads = []

    def add(name, contig, start, cigar, bases, flag, mapq=60, mate_start=-1):
        reads.append((contig, start, name, cigar, bases, flag, mapq, mate_start))

    with_deletion = sequence[150:200] + sequence[201:251]  # 100 bases, 50M1D50M
    for pair in range(6):
        add(f"pair{pair}", "chrA", 150, "50M1D50M", with_deletion, 0x1 | 0x2 | 0x40 | 0x20, 60, 150)
        add(f"pair{pair}", "chrA", 150, "50M1D50M", with_deletion, 0x1 | 0x2 | 0x80 | 0x10, 60, 150)
    for single in range(6):
        add(f"single{single}", "chrA", 160, "100M", sequence[160:260], 0)
    add("spliced", "chrA", 100, "5S40M50N40M", "GGGGG" + sequence[100:140] + sequence[190:230], 0)
    add("ambiguous", "chrA", 180, "60M", sequence[180:240], 0, mapq=0)
    add("other", "chrB", 10, "80M", contigs["chrB"][10:90], 0)
    bam = tmp_path / "paired.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as output:
        for contig, start, name, cigar, bases, flag, mapq, mate_start in sorted(reads):
            read = pysam.AlignedSegment(output.header)
            read.query_name, read.flag, read.mapping_quality = name, flag, mapq
            read.reference_name, read.reference_start, read.cigarstring = contig, start, cigar
            read.query_sequence = bases
            read.query_qualities = pysam.qualitystring_to_array("?" * len(bases))  # Q30
            if flag & 0x1:
                read.next_reference_name, read.next_reference_start = contig, mate_start
                read.template_length = 101 if flag & 0x40 else -101
            read.set_tag("RG", "rg")
            output.write(read)
    pysam.index(str(bam))

    output = tmp_path / "paired.vcf.gz"
    assert cli.main(["call", str(bam), "-f", str(fasta), "-o", str(output), "--quiet"]) == 0
    records = _records(output, passing_only=False)
    assert [(r.contig, r.pos, r.ref, r.alts) for r in records] == [
        ("chrA", 200, sequence[199:201], (sequence[199],))
    ]
    call = records[0].samples["paired"]
    # 6 templates carry the deletion (12 mates); 6 single reads, the spliced read (its second
    # block covers the site) and the MAPQ 0 read (counted, with no weight) do not.
    assert call["AD"] == (8, 6) and call["GT"] == (0, 1)
    with pysam.VariantFile(str(output)) as vcf:
        assert list(vcf.header.contigs) == ["chrA", "chrB"]

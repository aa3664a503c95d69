"""Variant calling: the VCF it writes, the calls it makes on simulated truth, its parameters and
its errors (the genotype model: test_call_model.py; several samples: test_call_samples.py)."""

import equinox as eqx
import numpy as np
import pysam
import pysam.bcftools
import pytest
from call_data import LENGTH, vcf_records

import softpile
from softpile import cli
from softpile.io import (
    SampleCall,
    VariantRecord,
    call_region,
    load_params,
    write_vcf,
)


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
    passing = {(r.pos - 1, r.ref, r.alts[0]): r for r in vcf_records(called_vcf)}
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
    assert vcf_records(output) == []


def test_min_qual_sets_the_low_quality_filter(planted_files, tmp_path):
    output = tmp_path / "strict.vcf"
    arguments = ["call", str(planted_files.reads), "-f", str(planted_files.reference)]
    assert cli.main(arguments + ["-o", str(output), "--min-qual", "500", "--quiet"]) == 0
    records = vcf_records(output, passing_only=False)
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
    default = {r.pos: r.qual for r in vcf_records(outputs["default"], False)}
    trained = {r.pos: r.qual for r in vcf_records(outputs["trained"], False)}
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
    records = vcf_records(output, passing_only=False)
    assert [(r.contig, r.pos, r.ref, r.alts) for r in records] == [
        ("chrA", 200, sequence[199:201], (sequence[199],))
    ]
    call = records[0].samples["paired"]
    # 6 templates carry the deletion (12 mates); 6 single reads, the spliced read (its second
    # block covers the site) and the MAPQ 0 read (counted, with no weight) do not.
    assert call["AD"] == (8, 6) and call["GT"] == (0, 1)
    with pysam.VariantFile(str(output)) as vcf:
        assert list(vcf.header.contigs) == ["chrA", "chrB"]

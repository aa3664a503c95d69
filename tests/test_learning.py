"""Learning the caller from files: labels from a truth VCF, gradients from real reads, and
`softpile train` end to end (the model it writes loads, beats its start, and calls)."""

import jax
import jax.numpy as jnp
import numpy as np
import pysam
import pytest

import softpile
import softpile.io._train
from softpile import cli
from softpile._genotypes import GENOTYPES, HOM_REF
from softpile.io import (
    CallerParams,
    genotype_loss,
    load_caller,
    train_caller,
    training_chunks,
    write_simulation,
)
from softpile.io._training_data import INDEL_FLANK, UNLABELLED, Truth
from softpile.simulate import simulate

LENGTH = 60_000  # five blocks of BLOCK: four to train on, one held out
BLOCK = 12_000  # smaller blocks than the command's, so that a small genome has five


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(softpile.io._train, "BLOCK", BLOCK)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    # Five times the default heterozygosity: there is something to learn.
    sample = simulate(
        7, reference_length=LENGTH, read_length=100, coverage=4, snv_rate=5e-3, indel_rate=2e-4
    )
    return write_simulation(sample, tmp_path_factory.mktemp("learning"))


def test_labels_are_the_true_genotypes(files):
    truth = Truth(files.truth)
    with pysam.FastaFile(str(files.reference)) as fasta:
        letters = fasta.fetch("sim", 0, 20_000)
    reference = np.asarray(softpile.encode_sequence(letters))
    labels = truth.labels("sim", 0, reference)
    seen = 0
    with pysam.VariantFile(str(files.truth)) as variants:
        for record in variants.fetch("sim", 0, 20_000 - 10):
            genotype = record.samples[0]["GT"]
            if all(len(allele) == 1 for allele in record.alleles):
                letters = "".join(sorted(record.alleles[g] for g in genotype))
                assert GENOTYPES[labels[record.start]] == letters
                seen += 1
            else:
                assert labels[record.start] == UNLABELLED
                assert labels[max(record.start - INDEL_FLANK, 0)] == UNLABELLED
    assert seen > 50
    plain = labels != UNLABELLED
    assert np.mean(labels[plain] == np.asarray(HOM_REF)[reference[plain]]) > 0.98


def test_labels_outside_the_confident_regions_are_ignored(files, tmp_path):
    bed = tmp_path / "confident.bed"
    bed.write_text("sim\t100\t200\nsim\t500\t650\n")
    reference = np.zeros(1000, dtype=np.int32)
    labels = Truth(files.truth, bed).labels("sim", 0, reference)
    kept = np.flatnonzero(labels != UNLABELLED)
    assert set(kept) <= set(range(100, 200)) | set(range(500, 650))
    assert len(kept) > 200


def test_confident_intervals_overlapping_unsorted_and_far_apart(files, tmp_path):
    """Any BED (overlapping, nested, unsorted, empty intervals, other contigs) marks exactly
    the positions a plain loop over its intervals marks, in windows anywhere."""
    rng = np.random.default_rng(3)
    rows = [(int(a), int(a + rng.integers(0, 40))) for a in rng.integers(0, 2_000, 60)]
    bed = tmp_path / "confident.bed"
    bed.write_text("".join(f"sim\t{a}\t{b}\nother\t{b}\t{b + 5}\n" for a, b in rows))
    truth = Truth(files.truth, bed)
    for start, size in [(0, 2_100), (150, 37), (1_999, 1), (2_050, 300), (900, 400)]:
        expected = np.zeros(size, dtype=bool)
        for first, last in rows:
            expected[max(first - start, 0) : max(last - start, 0)] = True
        np.testing.assert_array_equal(truth._inside("sim", start, start + size), expected)
        labels = truth.labels("sim", start, np.zeros(size, dtype=np.int32))
        assert not np.any((labels != UNLABELLED) & ~expected)
    assert not truth._inside("chrX", 0, 100).any()  # a contig the BED does not name


def test_gradients_flow_from_a_real_bam_into_every_learnable_part(files):
    chunk = next(training_chunks(files.reads, files.reference, files.truth, "sim:1-20000"))
    grads = jax.grad(genotype_loss)(CallerParams(), chunk)
    assert np.isfinite(float(genotype_loss(CallerParams(), chunk)))
    assert float(grads.variant_model.heterozygosity) < 0  # 5x more SNVs than the prior says
    assert np.any(np.asarray(grads.read_model.quality_shift) != 0)
    for leaf in jax.tree.leaves(grads):
        assert np.all(np.isfinite(np.asarray(leaf)))


def test_training_is_deterministic_and_improves_validation_loss(files, tmp_path):
    runs = []
    for name in ("a.eqx", "b.eqx"):
        lines = []
        params, history = train_caller(
            files.reads,
            files.reference,
            files.truth,
            confident=files.confident,
            output=tmp_path / name,
            epochs=1,
            seed=3,
            report=lines.append,
        )
        runs.append((tmp_path / name).read_bytes())
    assert runs[0] == runs[1]
    start = float(lines[0].split("validation loss ")[1].split(",")[0])
    assert history[-1].validation.loss < start
    assert float(params.variant_model.heterozygosity) > 1e-3


def test_softpile_train_writes_a_model_that_softpile_call_uses(files, tmp_path, capsys):
    model = tmp_path / "model.eqx"
    arguments = ["train", str(files.reads), "-f", str(files.reference), "--truth"]
    arguments += [str(files.truth), "--confident", str(files.confident), "-o", str(model)]
    assert cli.main([*arguments, "--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("epoch 0 (as given): validation loss")
    assert out.splitlines()[-1].startswith(f"wrote {model}: epoch 1, validation SNV F1")
    params = load_caller(model)
    vcf = tmp_path / "calls.vcf"
    call = ["call", str(files.reads), "-f", str(files.reference), "-o", str(vcf)]
    assert cli.main([*call, "--params", str(model), "--quiet"]) == 0
    summary = capsys.readouterr().out
    with pysam.VariantFile(str(vcf)) as calls:
        records = list(calls)
    passing = sum("PASS" in record.filter.keys() for record in records)
    assert f"{passing:,} PASS" in summary
    assert all(
        (record.qual >= float(params.min_qual)) == ("PASS" in record.filter.keys())
        for record in records
    )


def test_softpile_train_refuses_too_small_a_region(files, tmp_path, capsys):
    arguments = ["train", str(files.reads), "-f", str(files.reference), "--truth"]
    arguments += [str(files.truth), "-o", str(tmp_path / "m.eqx"), "-r", "sim:1-20000"]
    assert cli.main(arguments) != 0
    err = capsys.readouterr().err
    assert "at least 5 are needed" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.eqx").exists()


def test_read_model_scores_are_differentiable_end_to_end_under_jit(files):
    chunk = next(training_chunks(files.reads, files.reference, files.truth, "sim:1-20000"))
    loss = jax.jit(
        lambda shift: genotype_loss(
            CallerParams(softpile.ReadModel(cycle_shift=jnp.full(16, shift))), chunk
        )
    )
    step = 0.5
    finite = (loss(step) - loss(-step)) / (2 * step)
    assert np.isclose(float(jax.grad(loss)(0.0)), float(finite), rtol=0.2, atol=1e-6)


def test_softpile_train_names_a_bad_init_file(files, tmp_path, capsys):
    arguments = ["train", str(files.reads), "-f", str(files.reference), "--truth"]
    arguments += [str(files.truth), "-o", str(tmp_path / "m.eqx"), "--init", str(files.reference)]
    assert cli.main(arguments) != 0
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        f"{files.reference}: is not a model saved by softpile train (a CallerParams "
        "written with equinox.tree_serialise_leaves)."
    )
    assert len(err.splitlines()) == 1 and not (tmp_path / "m.eqx").exists()

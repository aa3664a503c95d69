"""docs/examples/train.py: short seeded runs learn through the pileup, deterministically."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "train.py"


@pytest.fixture(scope="module")
def train():
    spec = importlib.util.spec_from_file_location("softpile_docs_train", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def batches(train):
    return train.make_batch([0, 1]), train.make_batch([100])


def test_data_is_seeded_and_low_quality_bases_are_unreliable(train):
    sample, reads = train.unreliable_sample(7)
    again_sample, again_reads = train.unreliable_sample(7)
    np.testing.assert_array_equal(reads, again_reads)
    np.testing.assert_array_equal(sample.quality, again_sample.quality)
    # The corruption touches only bases reported below UNRELIABLE_BELOW.
    changed = reads != sample.reads
    assert changed.any()
    assert np.all(sample.quality[changed] < train.UNRELIABLE_BELOW)


def test_snv_f1_by_hand(train):
    truth = np.array([0, 1, 2, 0, 1])
    # Calls: one correct het, one hom-alt called het (wrong), one false positive.
    predicted = np.array([0, 1, 1, 1, 0])
    precision, recall = 1 / 3, 1 / 3
    assert train.snv_f1(predicted, truth) == pytest.approx(
        2 * precision * recall / (precision + recall)
    )
    assert train.snv_f1(truth, truth) == 1.0
    assert train.snv_f1(np.zeros(5, int), truth) == 0.0


def test_learning_the_filter_improves_the_held_out_loss(train, batches):
    training, held_out = batches
    silent = lambda *args: None  # noqa: E731
    first = train.train_filter(training, held_out, steps=12, learning_rate=0.5, echo=silent)
    before, after = first["before"], first["after"]
    assert before["threshold"] == 20.0 and before["heterozygosity"] == pytest.approx(1e-3)
    assert all(math.isfinite(loss) for loss in first["train_losses"])
    # The hotspots' bad bases lie below Q28: learning raises the threshold towards them and
    # the held-out loss drops well below the default pipeline's.
    assert after["threshold"] > 23.0
    assert after["loss"] < 0.5 * before["loss"]
    assert after["f1"] >= before["f1"]
    # Seeded data, deterministic computation: a second run gives the same numbers.
    second = train.train_filter(training, held_out, steps=12, learning_rate=0.5, echo=silent)
    assert second["train_losses"] == first["train_losses"]
    assert second["after"] == after


def test_the_conv_net_and_its_filter_learn_together(train, batches):
    training, held_out = batches
    result = train.train_net(
        training, held_out, steps=8, learning_rate=1e-2, echo=lambda *args: None
    )
    assert result["after"]["loss"] < result["before"]["loss"]
    # Gradients reach the quality filter in front of the net, through the pileup.
    assert result["after"]["threshold"] != 20.0

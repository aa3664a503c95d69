"""Learning the caller from aligned reads and a truth VCF: minibatches of chunks through the
same scoring program as calling, a smooth loss, validation each epoch, a checkpoint each epoch."""

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._genotypes import ALLELE_1, ALLELE_2
from .._read_model import ReadModel
from .._variants import VariantModel, log_posteriors_of
from ._inputs import Inputs
from ._params import CallerParams, save_caller
from ._scoring import chunk_scores
from ._training_data import UNLABELLED, TrainingChunk, Truth, call_filters, chunks_of

VALIDATION_EVERY = 5
"""One block of the regions in this many is held out for validation."""

BLOCK = 50_000
"""Positions per block of the train/validation split."""

SHUFFLE_BUFFER = 16
"""Chunks shuffled together: training order is random within this many, in reference order
beyond (memory stays bounded by the buffer)."""

MIN_HETEROZYGOSITY, MAX_HETEROZYGOSITY = 1e-6, 0.1
QUAL_GRID = tuple(float(q) for q in range(0, 61))
"""The PASS thresholds tried on the validation data for the best reachable F1."""


class _Trainable(eqx.Module):
    """What the optimiser moves: the read model and the log of the heterozygosity (so that one
    step size suits it and the Phred-scale shifts alike)."""

    read_model: ReadModel
    log_heterozygosity: jax.Array

    def params(self, min_qual) -> CallerParams:
        theta = jnp.clip(jnp.exp(self.log_heterozygosity), MIN_HETEROZYGOSITY, MAX_HETEROZYGOSITY)
        return CallerParams(self.read_model, VariantModel(theta), min_qual)


def genotype_loss(params: CallerParams, chunk: TrainingChunk):
    """The mean negative log posterior of the true genotypes of a chunk's labelled positions
    (a smooth surrogate of genotype accuracy): differentiable with respect to `params`."""
    return _loss(params, chunk.chunk.arrays(), chunk.labels)


def _loss(params: CallerParams, arrays, labels):
    _, scores = chunk_scores(params.variant_model, None, params.read_model, *arrays)
    return _labels_loss(params, scores, arrays[-1], labels)


def _labels_loss(params: CallerParams, scores, reference, labels):
    """The mean negative log posterior of `labels` under one sample's `scores`."""
    log_posteriors = log_posteriors_of(
        params.variant_model, scores.log_likelihoods[0], jnp.asarray(reference)
    )
    labels = jnp.asarray(labels)
    labelled = labels != UNLABELLED
    picked = jnp.take_along_axis(log_posteriors, jnp.maximum(labels, 0)[:, None], axis=-1)[:, 0]
    count = jnp.maximum(labelled.sum(), 1).astype(picked.dtype)
    return -jnp.sum(jnp.where(labelled, picked, 0.0)) / count


@eqx.filter_jit
def _step(trainable, state, arrays, labels, optimiser, min_qual):
    def loss(trainable):
        return _loss(trainable.params(min_qual), arrays, labels)

    value, grads = eqx.filter_value_and_grad(loss)(trainable)
    updates, state = optimiser.update(grads, state, trainable)
    trainable = eqx.apply_updates(trainable, updates)
    trainable = eqx.tree_at(lambda t: t.read_model, trainable, trainable.read_model.projected())
    return trainable, state, value


@eqx.filter_jit
def _evaluate(params: CallerParams, arrays, labels):
    _, scores = chunk_scores(params.variant_model, None, params.read_model, *arrays)
    loss = _labels_loss(params, scores, arrays[-1], labels)
    return loss, scores.genotype[0], scores.quality[0]


@dataclasses.dataclass(frozen=True)
class Validation:
    """Scores on the held-out blocks: mean loss per labelled position, the PASS threshold
    that `f1_threshold` sets and the SNV F1 there (a call is right when its ALT alleles are
    the true ones)."""

    loss: float
    f1: float
    min_qual: float
    f1_at_default: float
    """F1 at the `min_qual` of the parameters scored."""


def _alt_masks(genotypes: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """A 4-bit mask of each genotype's non-reference alleles (0 for hom-ref or no call)."""
    valid = genotypes >= 0
    index = np.maximum(genotypes, 0)
    alleles = (1 << np.asarray(ALLELE_1)[index]) | (1 << np.asarray(ALLELE_2)[index])
    reference_bit = np.where(reference < 4, 1 << np.minimum(reference, 3), 0)
    return np.where(valid, alleles & ~reference_bit, 0)


def _f1(called, truth_masks, qualities, threshold):
    calls = (called != 0) & (qualities >= threshold)
    true_positives = np.sum(calls & (called == truth_masks))
    precision = true_positives / max(calls.sum(), 1)
    recall = true_positives / max(np.sum(truth_masks != 0), 1)
    return 0.0 if true_positives == 0 else 2 * precision * recall / (precision + recall)


def f1_threshold(best_f1: float) -> float:
    """The PASS threshold (QUAL, to 0.1) that maximises the expected F1 of calibrated
    posteriors: call where P(variant) >= F1 / 2, with F1 the best reachable (Lipton, Elkan and
    Naryanaswamy 2014, "Optimal thresholding of classifiers to maximize F1 measure", ECML
    PKDD). It depends on the data only through the best F1, which varies little, so it is
    steadier than the threshold of the best F1 on a few hundred held-out variants.

    ```python
    >>> from softpile.io._train import f1_threshold
    >>> f1_threshold(0.98), f1_threshold(0.9)
    (2.9, 2.6)

    ```
    """
    return round(float(-10.0 * np.log10(1.0 - best_f1 / 2.0)), 1)


def validate(params: CallerParams, chunks: Iterator[TrainingChunk]) -> Validation:
    """Loss and SNV F1 of `params` on `chunks`, and the PASS threshold of `f1_threshold`."""
    losses, weights, called, truth, qualities = [], [], [], [], []
    for chunk in chunks:
        loss, genotype, quality = _evaluate(params, chunk.chunk.arrays(), chunk.labels)
        labelled = chunk.labels != UNLABELLED
        reference = chunk.chunk.reference[labelled]
        losses.append(float(loss))
        weights.append(int(labelled.sum()))
        called.append(_alt_masks(np.asarray(genotype)[labelled], reference))
        truth.append(_alt_masks(chunk.labels[labelled], reference))
        qualities.append(np.asarray(quality)[labelled])
    if not weights or sum(weights) == 0:
        raise ValueError("the validation blocks have no labelled positions.")
    called_all, truth_all = np.concatenate(called), np.concatenate(truth)
    quality_all = np.concatenate(qualities)
    best = max(_f1(called_all, truth_all, quality_all, q) for q in QUAL_GRID)
    min_qual = f1_threshold(best)
    return Validation(
        loss=float(np.average(losses, weights=weights)),
        f1=float(_f1(called_all, truth_all, quality_all, min_qual)),
        min_qual=min_qual,
        f1_at_default=float(_f1(called_all, truth_all, quality_all, float(params.min_qual))),
    )


def split_blocks(
    regions: Sequence[tuple[str, int, int]],
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """`regions` cut into blocks of `BLOCK` positions: (training blocks, validation blocks),
    one block in `VALIDATION_EVERY` held out."""
    blocks = [
        (contig, first, min(first + BLOCK, end))
        for contig, start, end in regions
        for first in range(start, end, BLOCK)
    ]
    validation = blocks[VALIDATION_EVERY - 1 :: VALIDATION_EVERY]
    return [b for b in blocks if b not in validation], validation


@dataclasses.dataclass(frozen=True)
class Epoch:
    """One line of a training history."""

    epoch: int
    train_loss: float
    validation: Validation


def train_caller(
    bams: str | os.PathLike | Sequence[str | os.PathLike],
    reference: str | os.PathLike,
    truth: str | os.PathLike,
    region: str | tuple[str, int, int] | None = None,
    *,
    output: str | os.PathLike,
    confident: str | os.PathLike | None = None,
    epochs: int = 5,
    learning_rate: float = 0.05,
    seed: int = 0,
    init: CallerParams | None = None,
    report: Callable[[str], None] = print,
    progress: Callable[[int], None] | None = None,
    **filters,
) -> tuple[CallerParams, list[Epoch]]:
    """Learn a `CallerParams` from BAMs with known genotypes (what `softpile train` runs).

    The regions are cut into blocks of `BLOCK` positions; one in `VALIDATION_EVERY` is held out.
    Each epoch takes the training blocks' `TrainingChunk`s (shuffled within
    `SHUFFLE_BUFFER`) one Adam step each on `genotype_loss`, projects the read model
    (`ReadModel.projected`), and scores the held-out blocks: their loss, and the best SNV F1
    over the PASS thresholds of `QUAL_GRID`, which sets `min_qual` (`f1_threshold`). The
    parameters with the
    best validation loss so far are saved to `output` (`save_caller`) after each epoch.

    **Arguments:** `bams` (one or several; each is a sample of the same truth), `reference`,
    `region`, `**filters` as in `call_region`; `truth` and `confident` as in
    `training_chunks`; `epochs`, `learning_rate` (Adam), `seed` (the minibatch order: the same
    seed gives the same model); `init` the parameters to start from (default `CallerParams()`);
    `report` receives a line per epoch, `progress` the positions done after each step.

    **Returns:** the saved parameters and one `Epoch` per epoch.
    """
    import optax  # the train extra

    if isinstance(bams, str | os.PathLike):
        bams = [bams]
    with Inputs(bams[0], reference) as source:
        regions = source.regions(region)
    read_filters = call_filters(**filters)
    labelled = Truth(truth, confident)
    done = progress if progress is not None else (lambda positions: None)
    train_blocks, validation_blocks = split_blocks(regions)
    if not train_blocks or not validation_blocks:
        raise ValueError(
            f"the regions hold {len(train_blocks) + len(validation_blocks)} block(s) of "
            f"{BLOCK:,} positions; at least {VALIDATION_EVERY} are needed (one in "
            f"{VALIDATION_EVERY} is held out for validation)."
        )
    params = CallerParams() if init is None else init
    trainable = _Trainable(params.read_model, jnp.log(params.variant_model.heterozygosity))
    optimiser = optax.adam(learning_rate)
    state = optimiser.init(eqx.filter(trainable, eqx.is_inexact_array))
    min_qual = params.min_qual

    def blocks_chunks(blocks):
        for bam in bams:
            yield from chunks_of(bam, reference, labelled, blocks, read_filters)

    start = validate(params, blocks_chunks(validation_blocks))
    report(
        f"epoch 0 (as given): validation loss {start.loss:.4g}, SNV F1 "
        f"{start.f1_at_default:.4f} at QUAL>={float(min_qual):g}"
    )
    best_loss, history, saved_any = start.loss, [], False
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        losses = []
        for chunk in _shuffled(blocks_chunks(train_blocks), rng):
            with jax.numpy_dtype_promotion("standard"):  # optax's bias correction
                trainable, state, loss = _step(
                    trainable, state, chunk.chunk.arrays(), chunk.labels, optimiser, min_qual
                )
            losses.append(float(loss))
            done(chunk.chunk.last - chunk.chunk.first)
        result = validate(trainable.params(min_qual), blocks_chunks(validation_blocks))
        min_qual = jnp.asarray(result.min_qual, dtype=jnp.float32)
        history.append(Epoch(epoch, float(np.mean(losses)), result))
        saved = result.loss < best_loss
        if saved:
            best_loss, params = result.loss, trainable.params(min_qual)
            save_caller(output, params)
            saved_any = True
        report(
            f"epoch {epoch}/{epochs}: train loss {np.mean(losses):.4g}, validation loss "
            f"{result.loss:.4g}, SNV F1 {result.f1:.4f} at QUAL>={result.min_qual:g}"
            + (f" (saved {os.fspath(output)})" if saved else "")
        )
    if not saved_any:
        save_caller(output, params)  # no epoch beat the start: write what was given
    return params, history


def _shuffled(chunks: Iterator[TrainingChunk], rng: np.random.Generator):
    buffer = []
    for chunk in chunks:
        buffer.append(chunk)
        if len(buffer) == SHUFFLE_BUFFER:
            yield buffer.pop(int(rng.integers(len(buffer))))
    rng.shuffle(buffer)
    yield from buffer

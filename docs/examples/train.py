"""Train through the pileup: learn a quality filter, a genotype prior and a small conv net.

Run it (needs the `train` and `plot` extras: optax, matplotlib):

    python docs/examples/train.py --out docs/images

Simulated reads carry *systematic* errors that their reported qualities hide: at a few
error-prone sites, bases reported below Q28 often read one particular wrong base (the kind of
context-specific error real sequencers make). The default pipeline (quality filter at Q20,
heterozygosity 1e-3) trusts those bases and calls false SNVs there.

Example 1 learns the `QualityFilter` threshold and softness and the `VariantModel`
heterozygosity end to end, through `soft_quality_filter` -> `pileup` -> `variant_scores`, by
minimising the negative log posterior of the true genotypes with `optax.adam` on a training
set; it reports the held-out loss and SNV F1 before and after.

Example 2 plugs the `Pileup` into a model, as DiffBio's example promises: a small Equinox
1-D conv net reads windows of the pileup and predicts hom-ref / het / hom-alt at each
position, trained jointly with the quality filter in front of it.
"""

import argparse
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import softpile
from softpile.simulate import simulate

REFERENCE_LENGTH = 2000
READ_LENGTH = 100
COVERAGE = 30
SNV_RATE = 0.005
HOTSPOT_RATE = 0.01  # share of positions with a systematic error
UNRELIABLE_BELOW = 28  # bases reported below this Phred quality are unreliable at hotspots
HOTSPOT_ERROR = 0.6  # chance that such a base reads the hotspot's wrong base
MIN_QUAL = 20.0  # a variant is called where QUAL >= 20 (a strict threshold: P(variant) >= 0.99)
WINDOW = 50  # positions per conv-net window
VARIANT_WEIGHT = 20.0  # class weight of het and hom-alt sites in the conv net's loss


# Adam's bias correction computes `decay ** step_count` (float ** int32), which JAX refuses
# under strict dtype promotion (softpile's tests run with it): allow standard promotion there.
def standard_promotion():
    return jax.numpy_dtype_promotion("standard")


# ---------------------------------------------------------------------------------------------
# Data: simulated samples whose low-quality bases are unreliable
# ---------------------------------------------------------------------------------------------


class Batch(eqx.Module):
    """Samples stacked along a leading axis (same number of reads each), ready for `vmap`."""

    reads: jax.Array  # (S, N, L, 4) one-hot
    quality: jax.Array  # (S, N, L) Phred
    starts: jax.Array  # (S, N)
    reference: jax.Array  # (S, R) codes
    truth: jax.Array  # (S, R) true genotype index (softpile.GENOTYPES)
    zygosity: jax.Array  # (S, R) 0 hom-ref, 1 het, 2 hom-alt


def unreliable_sample(seed: int):
    """A simulated sample plus hotspots where low-quality bases read a fixed wrong base."""
    sample = simulate(
        seed,
        reference_length=REFERENCE_LENGTH,
        read_length=READ_LENGTH,
        coverage=COVERAGE,
        snv_rate=SNV_RATE,
    )
    rng = np.random.default_rng([seed, 1])
    is_variant = np.zeros(REFERENCE_LENGTH, bool)
    is_variant[sample.variant_positions] = True
    hotspot = (rng.random(REFERENCE_LENGTH) < HOTSPOT_RATE) & ~is_variant
    wrong_base = (sample.reference + rng.integers(1, 4, REFERENCE_LENGTH)) % 4
    columns = sample.starts[:, None] + np.arange(READ_LENGTH)
    flip = (
        hotspot[columns]
        & (sample.quality < UNRELIABLE_BELOW)
        & (rng.random(sample.reads.shape) < HOTSPOT_ERROR)
    )
    reads = np.where(flip, wrong_base[columns], sample.reads)
    return sample, reads


def make_batch(seeds) -> Batch:
    parts = [unreliable_sample(seed) for seed in seeds]
    truth = np.stack([sample.truth_genotype for sample, _ in parts])
    reference = np.stack([sample.reference for sample, _ in parts])
    return Batch(
        reads=softpile.one_hot_reads(np.stack([reads for _, reads in parts])),
        quality=jnp.asarray(np.stack([s.quality for s, _ in parts]), dtype=float),
        starts=jnp.asarray(np.stack([s.starts for s, _ in parts])),
        reference=jnp.asarray(reference),
        truth=jnp.asarray(truth),
        zygosity=jnp.asarray(zygosity_of(truth, reference)),
    )


def zygosity_of(genotype: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """0 hom-ref, 1 het (two different alleles), 2 hom-alt, from genotype indices."""
    first = np.array(["ACGT".index(g[0]) for g in softpile.GENOTYPES])[genotype]
    second = np.array(["ACGT".index(g[1]) for g in softpile.GENOTYPES])[genotype]
    hom_ref = (first == reference) & (second == reference)
    return np.where(hom_ref, 0, np.where(first != second, 1, 2))


def snv_f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """F1 of variant calls: a call (zygosity 1 or 2) is correct when the site is a true SNV
    of the same zygosity."""
    called = predicted > 0
    true_positive = np.sum(called & (predicted == truth))
    precision = true_positive / max(int(called.sum()), 1)
    recall = true_positive / max(int(np.sum(truth > 0)), 1)
    return float(2 * precision * recall / max(precision + recall, 1e-12))


# ---------------------------------------------------------------------------------------------
# Example 1: learn the filter threshold/softness and the heterozygosity
# ---------------------------------------------------------------------------------------------


# --8<-- [start:loss]
class Parameters(eqx.Module):
    """Unconstrained parameters for the optimiser: softness and heterozygosity live on a log
    scale (they must stay positive, and Adam's steps are then relative)."""

    threshold: jax.Array
    log_softness: jax.Array
    log_heterozygosity: jax.Array

    @staticmethod
    def from_modules(quality_filter, model):
        return Parameters(
            quality_filter.threshold,
            jnp.log(quality_filter.softness),
            jnp.log(model.heterozygosity),
        )

    def modules(self):
        return (
            softpile.QualityFilter(self.threshold, jnp.exp(self.log_softness)),
            softpile.VariantModel(jnp.exp(self.log_heterozygosity)),
        )


def scores_of(params: Parameters, reads, quality, starts, reference):
    """One sample through the whole pipeline: filter -> pileup -> variant scores."""
    quality_filter, model = params.modules()
    piled = softpile.pileup(
        softpile.soft_quality_filter(quality_filter, reads, quality)[0],
        starts,
        REFERENCE_LENGTH,
        quality=quality,
    )
    return softpile.variant_scores(model, piled, reference)


def genotype_loss(params: Parameters, batch: Batch):
    """Mean negative log posterior of the true genotype, over samples and positions."""

    def one(reads, quality, starts, reference, truth):
        posteriors = scores_of(params, reads, quality, starts, reference).posteriors
        true_posterior = jnp.take_along_axis(posteriors, truth[:, None], axis=-1)[:, 0]
        return -jnp.mean(jnp.log(jnp.maximum(true_posterior, 1e-30)))

    losses = jax.vmap(one)(batch.reads, batch.quality, batch.starts, batch.reference, batch.truth)
    return jnp.mean(losses)


# --8<-- [end:loss]


def called_zygosity(params: Parameters, batch: Batch) -> np.ndarray:
    scores = jax.vmap(scores_of, in_axes=(None, 0, 0, 0, 0))(
        params, batch.reads, batch.quality, batch.starts, batch.reference
    )
    genotype = np.asarray(scores.genotype)
    zygosity = zygosity_of(genotype, np.asarray(batch.reference))
    return np.where(np.asarray(scores.quality) >= MIN_QUAL, zygosity, 0)


def train_filter(train: Batch, held_out: Batch, *, steps: int, learning_rate: float, echo=print):
    params = Parameters.from_modules(softpile.QualityFilter(), softpile.VariantModel())
    optimiser = optax.adam(learning_rate)
    state = optimiser.init(params)

    # The batch is an argument, not a closure: XLA would otherwise fold it into the program.
    @jax.jit
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(genotype_loss)(params, batch)
        with standard_promotion():
            updates, state = optimiser.update(grads, state)
        return optax.apply_updates(params, updates), state, loss

    evaluate = jax.jit(genotype_loss)
    before = describe(params, held_out, evaluate)
    echo(
        f"before: threshold {before['threshold']:.2f}  softness {before['softness']:.2f}  "
        f"heterozygosity {before['heterozygosity']:.2e}  held-out loss "
        f"{before['loss']:.5f}  held-out SNV F1 {before['f1']:.3f}"
    )
    train_losses, held_out_losses = [], []
    for number in range(steps):
        if number % 5 == 0 or number == steps - 1:
            held_out_losses.append((number, float(evaluate(params, held_out))))
        params, state, loss = step(params, state, train)
        train_losses.append(float(loss))
        if number % 25 == 0 or number == steps - 1:
            echo(
                f"step {number:4d}  train loss {train_losses[-1]:.5f}  held-out loss "
                f"{held_out_losses[-1][1]:.5f}  threshold {float(params.threshold):.2f}  "
                f"heterozygosity {float(jnp.exp(params.log_heterozygosity)):.1e}"
            )
    after = describe(params, held_out, evaluate)
    echo(
        f"after:  threshold {after['threshold']:.2f}  softness {after['softness']:.2f}  "
        f"heterozygosity {after['heterozygosity']:.2e}  held-out loss "
        f"{after['loss']:.5f}  held-out SNV F1 {after['f1']:.3f}"
    )
    return {
        "before": before,
        "after": after,
        "train_losses": train_losses,
        "held_out_losses": held_out_losses,
        "params": params,
    }


def describe(params: Parameters, held_out: Batch, evaluate) -> dict:
    quality_filter, model = params.modules()
    return {
        "threshold": float(quality_filter.threshold),
        "softness": float(quality_filter.softness),
        "heterozygosity": float(model.heterozygosity),
        "loss": float(evaluate(params, held_out)),
        "f1": snv_f1(called_zygosity(params, held_out), np.asarray(held_out.zygosity)),
    }


# ---------------------------------------------------------------------------------------------
# Example 2: a small Equinox conv net over Pileup windows, trained with the filter
# ---------------------------------------------------------------------------------------------


# --8<-- [start:net]
class PileupNet(eqx.Module):
    """Per-position zygosity logits (hom-ref, het, hom-alt) from a window of the pileup."""

    layers: tuple

    def __init__(self, key, hidden: int = 16):
        keys = jax.random.split(key, 3)
        self.layers = (
            eqx.nn.Conv1d(FEATURES, hidden, kernel_size=5, padding=2, key=keys[0]),
            eqx.nn.Conv1d(hidden, hidden, kernel_size=5, padding=2, key=keys[1]),
            eqx.nn.Conv1d(hidden, 3, kernel_size=1, key=keys[2]),
        )

    def __call__(self, features):  # (FEATURES, WINDOW) -> (3, WINDOW)
        hidden = jax.nn.relu(self.layers[0](features))
        hidden = jax.nn.relu(self.layers[1](hidden))
        return self.layers[2](hidden)


# distribution (4), reference one-hot (4), 1 - P(reference base), log coverage, mean quality
FEATURES = 11


def features_of(quality_filter, reads, quality, starts, reference):
    """One sample's pileup as conv-net input, cut into windows: (windows, FEATURES, WINDOW)."""
    piled = softpile.pileup(
        softpile.soft_quality_filter(quality_filter, reads, quality)[0],
        starts,
        REFERENCE_LENGTH,
        quality=quality,
    )
    columns = jnp.concatenate(
        [
            piled.distribution,
            jax.nn.one_hot(reference, 4, dtype=piled.distribution.dtype),
            softpile.reference_mismatch(piled, reference)[:, None],
            jnp.log1p(piled.coverage)[:, None] / 4.0,
            piled.mean_quality[:, None] / 40.0,
        ],
        axis=-1,
    )
    return columns.reshape(REFERENCE_LENGTH // WINDOW, WINDOW, FEATURES).transpose(0, 2, 1)


def net_logits(trainable, batch: Batch):
    net, quality_filter = trainable
    windows = jax.vmap(features_of, in_axes=(None, 0, 0, 0, 0))(
        quality_filter, batch.reads, batch.quality, batch.starts, batch.reference
    )
    logits = jax.vmap(jax.vmap(net))(windows)  # (S, windows, 3, WINDOW)
    return logits.transpose(0, 1, 3, 2).reshape(batch.truth.shape + (3,))


def net_loss(trainable, batch: Batch):
    logits = net_logits(trainable, batch)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, batch.zygosity)
    # Variants are rare (about 1 site in 200): weigh them up, or the net learns "never call".
    weights = jnp.where(batch.zygosity > 0, VARIANT_WEIGHT, 1.0)
    return jnp.sum(weights * losses) / jnp.sum(weights)


# --8<-- [end:net]


def train_net(
    train: Batch,
    held_out: Batch,
    *,
    steps: int,
    learning_rate: float,
    filter_learning_rate: float = 0.5,
    echo=print,
):
    trainable = (PileupNet(jax.random.key(0)), softpile.QualityFilter())
    # The filter's parameters are in Phred units, the net's weights are O(0.1): one Adam each.
    optimiser = optax.multi_transform(
        {"net": optax.adam(learning_rate), "filter": optax.adam(filter_learning_rate)},
        lambda params: (
            jax.tree.map(lambda _: "net", params[0]),
            jax.tree.map(lambda _: "filter", params[1]),
        ),
    )
    state = optimiser.init(eqx.filter(trainable, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(trainable, state, batch):
        loss, grads = eqx.filter_value_and_grad(net_loss)(trainable, batch)
        with standard_promotion():
            updates, state = optimiser.update(grads, state, eqx.filter(trainable, eqx.is_array))
        return eqx.apply_updates(trainable, updates), state, loss

    evaluate = eqx.filter_jit(net_loss)
    predict = eqx.filter_jit(net_logits)

    def f1(trainable):
        predicted = np.argmax(np.asarray(predict(trainable, held_out)), axis=-1)
        return snv_f1(predicted, np.asarray(held_out.zygosity))

    before = {"loss": float(evaluate(trainable, held_out)), "f1": f1(trainable)}
    echo(f"before: held-out loss {before['loss']:.5f}  held-out SNV F1 {before['f1']:.3f}")
    losses = []
    for number in range(steps):
        trainable, state, loss = step(trainable, state, train)
        losses.append(float(loss))
        if number % 50 == 0 or number == steps - 1:
            echo(f"step {number:4d}  train loss {losses[-1]:.5f}")
    after = {
        "loss": float(evaluate(trainable, held_out)),
        "f1": f1(trainable),
        "threshold": float(trainable[1].threshold),
    }
    echo(
        f"after:  held-out loss {after['loss']:.5f}  held-out SNV F1 {after['f1']:.3f}  "
        f"(filter threshold learned alongside: {after['threshold']:.2f})"
    )
    return {"before": before, "after": after, "train_losses": losses}


# ---------------------------------------------------------------------------------------------


def loss_figure(first: dict, second: dict | None):
    from matplotlib.figure import Figure

    panels = 1 if second is None else 2
    figure = Figure(figsize=(6 * panels, 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, panels))
    ax = axes[0]
    ax.plot(np.arange(len(first["train_losses"])), first["train_losses"], label="training set")
    steps, values = zip(*first["held_out_losses"])
    ax.plot(steps, values, "o-", markersize=3, label="held-out set")
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("mean -log P(true genotype)")
    ax.set_title(
        f"Filter + prior: held-out SNV F1 {first['before']['f1']:.2f} -> {first['after']['f1']:.2f}"
    )
    ax.legend()
    if second is not None:
        ax = axes[1]
        ax.plot(second["train_losses"], color="tab:purple")
        ax.set_yscale("log")
        ax.set_xlabel("Adam step")
        ax.set_ylabel("weighted cross-entropy (training set)")
        ax.set_title(
            f"Conv net on the pileup: held-out SNV F1 {second['before']['f1']:.2f} -> "
            f"{second['after']['f1']:.2f}"
        )
    return figure


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="Adam steps, example 1")
    parser.add_argument(
        "--net-steps", type=int, default=300, help="Adam steps, example 2 (0: skip)"
    )
    parser.add_argument("--train-samples", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="folder for train_loss.png")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    train = make_batch(range(args.train_samples))
    held_out = make_batch(range(100, 102))  # different seeds: unseen reads and sites
    print(
        f"training set: {args.train_samples} samples x {REFERENCE_LENGTH} positions, "
        f"{int(np.sum(np.asarray(train.zygosity) > 0))} SNVs; held-out: 2 samples, "
        f"{int(np.sum(np.asarray(held_out.zygosity) > 0))} SNVs"
    )
    print("\n== Example 1: learn the quality filter and the heterozygosity ==")
    first = train_filter(train, held_out, steps=args.steps, learning_rate=0.5)
    second = None
    if args.net_steps:
        print("\n== Example 2: a conv net over pileup windows, trained with the filter ==")
        second = train_net(train, held_out, steps=args.net_steps, learning_rate=1e-2)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "train_loss.png"
        loss_figure(first, second).savefig(path, dpi=100)
        print(f"\nloss curves written to {path}")
    print(f"total time {time.perf_counter() - started:.1f} s")
    return {"filter": first, "net": second}


if __name__ == "__main__":
    main()

"""DiffBio's "Pileup Generation Example", step by step, in softpile's functional API.

Run it with `python docs/examples/seed_example.py [FIGURE_DIR]`. Each section matches a
section of the original page; every printed value is also checked with an `assert`, so the
test suite runs this file as a test. Differences from the original: the reads are simulated
from a genome with two planted SNVs (so variant detection has something to find), and the
pileup is a normalised count, not a softmax, so a unanimous column is exactly one-hot.
"""

import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import softpile
from softpile.simulate import simulate

# --- Setup: no operator object, no config: `pileup` is a function. ---------------------
num_reads = 50
read_length = 30
reference_length = 100
planted = (40, 55)  # a homozygous and a heterozygous SNV

# --- Prepare read data -----------------------------------------------------------------
sample = simulate(
    42,
    reference_length=reference_length,
    read_length=read_length,
    coverage=num_reads * read_length / reference_length,
    snv_positions=planted,
    heterozygous=(False, True),
)
reads = softpile.one_hot_reads(sample.reads)
print(f"Reads shape: {reads.shape}")
assert reads.shape == (50, 30, 4)

positions = jnp.asarray(sample.starts)
print(f"Positions shape: {positions.shape}")
print(f"Position range: {positions.min()} to {positions.max()}")
assert positions.shape == (50,)
assert 0 <= int(positions.min()) and int(positions.max()) <= reference_length - read_length

quality = jnp.asarray(sample.quality, dtype=float)
print(f"Quality shape: {quality.shape}")
print(f"Quality range: {quality.min():.1f} to {quality.max():.1f}")
assert quality.shape == (50, 30)
assert 10.0 <= float(quality.min()) and float(quality.max()) <= 40.0

# --- Generate pileup ---------------------------------------------------------------------
result = softpile.pileup(reads, positions, reference_length, quality=quality)
pileup = result.distribution
print(f"Pileup shape: {pileup.shape}")
print(f"Pileup at position 50: {pileup[50]}")
print(f"Sum at position 50 (is 1): {pileup[50].sum():.4f}")
assert pileup.shape == (100, 4)
assert np.allclose(np.asarray(pileup.sum(axis=-1)), 1.0, atol=1e-6)
# The column is a real distribution: the majority base has most of the weight.
assert float(pileup[50].max()) > 0.5

# The same call under jit (DiffBio's second, dict-based interface has no counterpart:
# composition is plain JAX).
jitted = jax.jit(softpile.pileup, static_argnums=2)(
    reads, positions, reference_length, quality=quality
)
assert np.allclose(np.asarray(jitted.distribution), np.asarray(pileup))

# --- Interpret the pileup ----------------------------------------------------------------
pos = 50
print(f"Position {pos}:")
for channel, base in enumerate("ACGT"):
    print(f"  {base}: {pileup[pos, channel]:.4f}")

# --- Find dominant nucleotide --------------------------------------------------------------
consensus = softpile.consensus(pileup)
print(f"Consensus sequence: {consensus[:50]}...")
covered = np.asarray(result.depth) > 0
agree = np.array(list(consensus)) == np.array(list(sample.reference_string))
identity = agree[covered].mean()
print(f"Identity to the reference where covered: {identity:.1%}")
assert identity > 0.95

# --- Visualize coverage: depth is part of the pileup, no Python loop needed ----------------
coverage = result.depth
print(f"Coverage range: {coverage.min()} to {coverage.max()}")
expected_depth = np.zeros(reference_length, dtype=int)
for start in sample.starts:
    expected_depth[start : start + read_length] += 1
assert np.array_equal(np.asarray(coverage), expected_depth)

figure_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
try:
    from softpile import plot
except ImportError:
    plot = None
    print("matplotlib is missing: pip install 'softpile[plot]' for the figures")
if plot is not None:
    figure_dir.mkdir(parents=True, exist_ok=True)
    plot.overview(result).savefig(figure_dir / "coverage_and_pileup.png", dpi=80)

# --- Quality weighting effect ----------------------------------------------------------------
unweighted = softpile.pileup(
    reads, positions, reference_length, quality=quality, quality_weighting=False
)
diff = jnp.abs(result.distribution - unweighted.distribution)
print(f"Mean absolute difference: {diff.mean():.4f}")
print(f"Max absolute difference: {diff.max():.4f}")
# Weighting only re-weights disagreeing bases: unanimous columns do not move at all.
unanimous = np.asarray(result.distribution.max(axis=-1)) == 1.0
assert np.all(np.asarray(diff)[unanimous] == 0.0)
assert 0.0 < float(diff.max()) < 0.2

# --- Variant detection ---------------------------------------------------------------------
reference = jnp.asarray(sample.reference)
variant_prob = softpile.reference_mismatch(result, reference)  # 1 - P(reference base)
threshold = 0.3
variant_positions = jnp.where(variant_prob > threshold)[0]
print(f"Potential variants at positions: {variant_positions[:10]}")
assert set(planted) <= set(np.asarray(variant_positions).tolist())

# ...and the genotype model the seed page does not have.
scores = softpile.variant_scores(softpile.VariantModel(), result, reference)
called = np.flatnonzero(np.asarray(scores.quality) >= 20)
for site in called:
    print(
        f"  {site}: {softpile.GENOTYPES[int(scores.genotype[site])]} "
        f"(truth {softpile.GENOTYPES[int(sample.truth_genotype[site])]}), "
        f"QUAL {scores.quality[site]:.0f}"
    )
assert called.tolist() == list(planted)
assert np.array_equal(np.asarray(scores.genotype)[called], sample.truth_genotype[called])


# --- Gradient computation --------------------------------------------------------------------
def pileup_loss(reads, positions, quality, target_pileup):
    """Loss comparing the pileup distribution to a target."""
    result = softpile.pileup(reads, positions, reference_length, quality=quality)
    return jnp.mean((result.distribution - target_pileup) ** 2)


target = jnp.tile(jnp.array([1.0, 0.0, 0.0, 0.0]), (reference_length, 1))
grads = jax.grad(pileup_loss)(reads, positions, quality, target)
print(f"Gradient shape: {grads.shape}")
print(f"Gradient norm: {jnp.linalg.norm(grads):.4f}")
assert grads.shape == reads.shape
assert bool(jnp.all(jnp.isfinite(grads))) and float(jnp.linalg.norm(grads)) > 0

# --- Integration with variant calling: the quality filter ----------------------------------
# One call over all reads (the original loops over reads in Python).
filtered_reads, weights = softpile.soft_quality_filter(
    softpile.QualityFilter(threshold=20.0), reads, quality
)
filtered = softpile.pileup(filtered_reads, positions, reference_length, quality=quality)
diff = jnp.abs(pileup - filtered.distribution)
print("Effect of quality filtering:")
print(f"  Mean change: {diff.mean():.4f}")
print(f"  Max change: {diff.max():.4f}")
assert float(diff.max()) > 0.0 and float(diff.mean()) < float(diff.max())
if plot is not None:
    plot.compare_pileups(
        result,
        filtered,
        names=("original", "filtered"),
        title="Effect of quality filtering on the pileup",
    ).savefig(figure_dir / "quality_filtering.png", dpi=80)
    print(f"Figures in {figure_dir}")

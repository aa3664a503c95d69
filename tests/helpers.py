"""Plain NumPy reference implementations and problem generators for the tests.

The references follow the documented formulas literally, read by read and column by column,
and share no code with softpile.
"""

import itertools

import numpy as np

GENOTYPE_PAIRS = [(a, b) for a, b in itertools.combinations_with_replacement(range(4), 2)]


def error_probability(quality):
    return np.minimum(10.0 ** (-np.asarray(quality, dtype=np.float64) / 10.0), 0.75)


def numpy_pileup(
    reads,
    starts,
    reference_length,
    quality=None,
    read_weights=None,
    insertions=None,
    quality_weighting=True,
    offset_weights=None,
):
    """Loop over reads, candidate starts and columns; returns a dict of the Pileup fields.

    With `offset_weights` (`(reads, K)`), `starts` is `(reads, K)`: every read is piled up at
    each candidate with its read weight times the candidate's weight, and counts in `depth`
    where that weight is not 0.
    """
    reads = np.asarray(reads, dtype=np.float64)
    num_reads, length, channels = reads.shape
    read_weights = (
        np.ones(num_reads) if read_weights is None else np.asarray(read_weights, np.float64)
    )
    if offset_weights is None:
        placements = [(n, int(starts[n]), 1.0) for n in range(num_reads)]
    else:
        placements = [
            (n, int(starts[n][k]), float(offset_weights[n][k]))
            for n in range(num_reads)
            for k in range(len(starts[n]))
        ]
    counts = np.zeros((reference_length, channels))
    depth = np.zeros(reference_length, dtype=np.int64)
    quality_sum = np.zeros(reference_length)
    insertion_counts = np.zeros(reference_length)
    log_likelihoods = np.zeros((reference_length, 10))
    for n, start, placed in placements:
        for i in range(length):
            r = start + i
            if not 0 <= r < reference_length:
                continue
            column = reads[n, i]
            if quality is None:
                error = 1e-3
            else:
                error = float(error_probability(quality[n, i]))
            use_quality = quality_weighting and quality is not None
            weight = placed * read_weights[n] * ((1.0 - error) if use_quality else 1.0)
            counts[r] += weight * column
            depth[r] += int(np.any(column != 0) and placed != 0)
            if quality is not None:
                quality_sum[r] += weight * column.sum() * float(quality[n, i])
            if insertions is not None:
                insertion_counts[r] += weight * float(insertions[n, i])
            bases = column[:4]
            strength = placed * read_weights[n] * bases.sum()
            if strength != 0:
                p = bases / bases.sum()
                given = p * (1 - error) + (1 - p) * error / 3
                for g, (a, b) in enumerate(GENOTYPE_PAIRS):
                    log_likelihoods[r, g] += strength * np.log(0.5 * given[a] + 0.5 * given[b])
    coverage = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        distribution = np.where(coverage[:, None] > 0, counts / coverage[:, None], 1.0 / channels)
        mean_quality = np.where(coverage > 0, quality_sum / coverage, 0.0)
    return dict(
        counts=counts,
        coverage=coverage,
        depth=depth,
        distribution=distribution,
        mean_quality=mean_quality,
        insertions=insertion_counts,
        log_likelihoods=log_likelihoods,
    )


def numpy_prior(reference_base, theta):
    prior = np.zeros(10)
    for g, (a, b) in enumerate(GENOTYPE_PAIRS):
        if a == b == reference_base:
            prior[g] = 1 - 1.5 * theta - theta**2
        elif a == b:
            prior[g] = theta / 6
        elif reference_base in (a, b):
            prior[g] = theta / 3
        else:
            prior[g] = theta**2 / 3
    return prior


def numpy_variant_scores(log_likelihoods, reference, theta):
    """Posteriors, p_variant, genotype, QUAL and GQ, position by position."""
    out = dict(posteriors=[], p_variant=[], genotype=[], quality=[], genotype_quality=[])
    for r, base in enumerate(reference):
        if base == 5:
            out["posteriors"].append(np.full(10, np.nan))
            out["p_variant"].append(0.0)
            out["genotype"].append(-1)
            out["quality"].append(0.0)
            out["genotype_quality"].append(0.0)
            continue
        joint = log_likelihoods[r] + np.log(numpy_prior(base, theta))
        joint = joint - joint.max()
        posterior = np.exp(joint) / np.exp(joint).sum()
        hom_ref = GENOTYPE_PAIRS.index((base, base))
        best = int(np.argmax(posterior))
        out["posteriors"].append(posterior)
        out["p_variant"].append(1.0 - posterior[hom_ref])
        out["genotype"].append(best)
        out["quality"].append(min(-10 * np.log10(posterior[hom_ref]), 999.0))
        out["genotype_quality"].append(min(-10 * np.log10(1.0 - posterior[best]), 99.0))
    return {key: np.array(value) for key, value in out.items()}


def random_codes(rng, num_reads, length, *, gaps=True, padding=True):
    """Integer codes with bases, N, gaps (optional) and padding (right and inside)."""
    choices = [0, 1, 2, 3, 5] + ([4] if gaps else [])
    codes = rng.choice(choices, size=(num_reads, length), p=None)
    if padding and length:
        cut = rng.integers(0, length + 1, num_reads)
        codes[np.arange(length)[None, :] >= cut[:, None]] = -1
        holes = rng.random((num_reads, length)) < 0.1
        codes[holes] = -1
    return codes.astype(np.int32)


def random_problem(rng, *, num_reads=6, length=5, reference_length=12, channels_gaps=True):
    """A random pileup problem with overhangs on both sides."""
    codes = random_codes(rng, num_reads, length, gaps=channels_gaps)
    starts = rng.integers(-length - 1, reference_length + 2, num_reads).astype(np.int32)
    quality = rng.integers(0, 45, (num_reads, length)).astype(np.float64)
    read_weights = rng.random(num_reads)
    insertions = (rng.random((num_reads, length)) < 0.2).astype(np.float64)
    return codes, starts, quality, read_weights, insertions

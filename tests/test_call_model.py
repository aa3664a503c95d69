"""Variant calling's differentiable part: the scores from a BAM equal those of `pileup` and
`variant_scores` on the same arrays, and the records agree with a NumPy genotype model."""

import jax
import numpy as np
import pytest
from call_data import LENGTH

import softpile
from softpile.io import (
    call_region,
    indel_scores,
)

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

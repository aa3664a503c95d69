"""The genotype fields of a VCF record from likelihoods and posteriors: `PL`, `GQ` and the
VCF order of genotypes."""

import numpy as np

from .._encoding import SYMBOLS
from .._variants import _LN10, MAX_GENOTYPE_QUALITY

LETTERS = np.frombuffer(SYMBOLS.encode("ascii"), dtype="S1")
"""The letter of each code (`ACGT-N`), as bytes: `LETTERS[codes].tobytes()` spells them."""


def phred(log_values: np.ndarray) -> np.ndarray:
    """Natural-log likelihoods to PL: Phred-scaled, normalised to a minimum of 0, rounded."""
    scaled = -10.0 / _LN10 * (log_values - np.max(log_values, axis=-1, keepdims=True))
    return np.rint(np.minimum(scaled, 2**31 - 1)).astype(np.int64)


def genotype_quality(posteriors: np.ndarray) -> int:
    """GQ of the most likely genotype among `posteriors` (renormalised), capped at 99."""
    posteriors = posteriors / np.sum(posteriors)
    best = int(np.argmax(posteriors))
    wrong = float(np.sum(np.delete(posteriors, best)))
    if wrong <= 0:
        return int(MAX_GENOTYPE_QUALITY)
    return int(min(np.rint(-10.0 * np.log10(wrong)), MAX_GENOTYPE_QUALITY))


def vcf_genotypes(allele_count: int) -> list[tuple[int, int]]:
    """Genotypes over `allele_count` alleles in VCF order: 0/0, 0/1, 1/1, 0/2, 1/2, 2/2, ..."""
    return [(i, j) for j in range(allele_count) for i in range(j + 1)]

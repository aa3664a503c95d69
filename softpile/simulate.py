"""Seeded simulation of a diploid sample and its reads, with the truth (NumPy only).

The demo, tests, benchmarks and docs use it instead of ad-hoc random arrays. Qualities are
integer Phred scores and sequencing errors are drawn from them, so quality carries
information: a Q10 base is wrong one time in ten.
"""

import dataclasses

import numpy as np

from ._pileup import GENOTYPES

__all__ = ["Simulation", "simulate", "genotype_index"]


def genotype_index(allele_1: int, allele_2: int) -> int:
    """Index in `softpile.GENOTYPES` of the unordered pair of base codes."""
    pair = "".join(sorted("ACGT"[allele_1] + "ACGT"[allele_2]))
    return GENOTYPES.index(pair)


@dataclasses.dataclass(frozen=True)
class Simulation:
    """A simulated sample (all NumPy; coordinates 0-based).

    - `reference`: `(R,)` reference codes (A=0 C=1 G=2 T=3).
    - `haplotypes`: `(2, R)` the sample's two haplotypes.
    - `reads`, `quality`: `(N, L)` read codes and integer Phred qualities.
    - `starts`: `(N,)` reference position of each read's first base.
    - `read_haplotype`: `(N,)` which haplotype each read came from.
    - `variant_positions`: `(V,)` sorted positions of the planted SNVs.
    - `truth_genotype`: `(R,)` index into `softpile.GENOTYPES` of the true genotype everywhere.
    """

    reference: np.ndarray
    haplotypes: np.ndarray
    reads: np.ndarray
    quality: np.ndarray
    starts: np.ndarray
    read_haplotype: np.ndarray
    variant_positions: np.ndarray
    truth_genotype: np.ndarray

    @property
    def reference_string(self) -> str:
        return "".join(np.array(list("ACGT"))[self.reference])

    @property
    def is_heterozygous(self) -> np.ndarray:
        """`(V,)` whether each planted SNV is heterozygous."""
        return (
            self.haplotypes[0, self.variant_positions] != self.haplotypes[1, self.variant_positions]
        )


def simulate(
    seed: int = 0,
    *,
    reference_length: int = 1000,
    coverage: float | int = 30.0,
    read_length: int = 100,
    snv_rate: float = 1e-3,
    het_fraction: float = 2 / 3,
    snv_positions=None,
    heterozygous=None,
    min_quality: int = 10,
    max_quality: int = 40,
) -> Simulation:
    """Simulate a diploid sample with SNVs and error-bearing reads.

    **Arguments:**

    - `seed`: seeds NumPy's generator; the same seed gives the same sample.
    - `reference_length`, `read_length`: sizes in bases; reads lie fully inside the reference.
    - `coverage`: mean depth; the number of reads is `round(coverage * R / L)`.
    - `snv_rate`: probability that a position carries an SNV (ignored if `snv_positions`).
    - `het_fraction`: share of SNVs that are heterozygous.
    - `snv_positions`: plant SNVs exactly here instead.
    - `heterozygous`: with `snv_positions`, whether each of them is heterozygous (else drawn
      with `het_fraction`).
    - `min_quality`, `max_quality`: integer Phred qualities are uniform in this range and each
      base is replaced by a random other base with probability `10**(-Q/10)`.

    ```python
    >>> from softpile.simulate import simulate
    >>> sample = simulate(1, reference_length=200, coverage=10, read_length=50)
    >>> sample.reads.shape, sample.starts.shape
    ((40, 50), (40,))

    ```
    """
    if reference_length < 1 or read_length < 1 or read_length > reference_length:
        raise ValueError(
            f"simulate: need 1 <= read_length <= reference_length, got read_length={read_length},"
            f" reference_length={reference_length}."
        )
    if not 0 <= min_quality <= max_quality:
        raise ValueError(
            f"simulate: need 0 <= min_quality <= max_quality, got {min_quality}, {max_quality}."
        )
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 4, reference_length).astype(np.int32)
    if snv_positions is None:
        snv_positions = np.flatnonzero(rng.random(reference_length) < snv_rate)
    positions = np.unique(np.asarray(snv_positions, dtype=np.int64))
    if positions.size and (positions[0] < 0 or positions[-1] >= reference_length):
        raise ValueError("simulate: snv_positions must lie inside the reference.")

    haplotypes = np.stack([reference, reference]).copy()
    drawn = rng.random(positions.size) < het_fraction
    if heterozygous is None:
        heterozygous = drawn
    else:
        heterozygous = np.asarray(heterozygous, dtype=bool)[np.argsort(snv_positions)]
        if heterozygous.shape != positions.shape:
            raise ValueError("simulate: `heterozygous` needs one entry per distinct SNV position.")
    alternate = (reference[positions] + rng.integers(1, 4, positions.size)) % 4
    haplotypes[0, positions] = np.where(heterozygous, reference[positions], alternate)
    haplotypes[1, positions] = alternate
    # A het keeps the reference on a random haplotype.
    swap = heterozygous & (rng.random(positions.size) < 0.5)
    haplotypes[:, positions[swap]] = haplotypes[::-1, positions[swap]]

    num_reads = max(1, round(coverage * reference_length / read_length))
    starts = np.sort(rng.integers(0, reference_length - read_length + 1, num_reads))
    read_haplotype = rng.integers(0, 2, num_reads)
    columns = starts[:, None] + np.arange(read_length)
    reads = haplotypes[read_haplotype[:, None], columns]
    quality = rng.integers(min_quality, max_quality + 1, (num_reads, read_length))
    is_error = rng.random(quality.shape) < 10.0 ** (-quality / 10.0)
    reads = np.where(is_error, (reads + rng.integers(1, 4, reads.shape)) % 4, reads)

    pair_index = np.array([[genotype_index(a, b) for b in range(4)] for a in range(4)])
    truth = pair_index[haplotypes[0], haplotypes[1]].astype(np.int32)
    return Simulation(
        reference=reference,
        haplotypes=haplotypes,
        reads=reads.astype(np.int32),
        quality=quality.astype(np.int32),
        starts=starts.astype(np.int32),
        read_haplotype=read_haplotype.astype(np.int32),
        variant_positions=positions,
        truth_genotype=truth,
    )

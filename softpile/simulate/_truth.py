"""The truth a simulation keeps: planted variants, genotype indices, and the uniform sample."""

import dataclasses

import numpy as np

from .._genotypes import GENOTYPES

LETTERS = "ACGT"


def genotype_index(allele_1: int, allele_2: int) -> int:
    """Index in `softpile.GENOTYPES` of the unordered pair of base codes."""
    pair = "".join(sorted(LETTERS[allele_1] + LETTERS[allele_2]))
    return GENOTYPES.index(pair)


@dataclasses.dataclass(frozen=True)
class TruthVariant:
    """One planted variant, as a VCF record would hold it.

    - `position`: 0-based reference position of the first reference base (`POS - 1`); for an
      indel, the anchor base before the event.
    - `reference`, `alternate`: the alleles as strings (`"A"`/`"G"`, or `"AC"`/`"A"` for a
      deletion of `C`, `"A"`/`"AGT"` for an insertion of `GT`).
    - `genotype`: `(0, 1)` for a het, `(1, 1)` for a hom alternate; the first entry is
      haplotype 0.
    """

    position: int
    reference: str
    alternate: str
    genotype: tuple[int, int]

    @property
    def is_indel(self) -> bool:
        return len(self.reference) != len(self.alternate)


def snv_records(
    reference: np.ndarray, haplotypes: np.ndarray, positions: np.ndarray
) -> list[TruthVariant]:
    """The SNVs of two haplotypes at `positions`, as `TruthVariant`s."""
    snvs = []
    for position in positions.tolist():
        base = int(reference[position])
        first, second = (int(h) for h in haplotypes[:, position])
        alternate = second if second != base else first
        genotype = (int(first != base), int(second != base))
        snvs.append(TruthVariant(position, LETTERS[base], LETTERS[alternate], genotype))
    return snvs


def sorted_variants(snvs: list[TruthVariant], indels) -> list[TruthVariant]:
    """SNVs and indels together, by position (an SNV before an indel anchored on it)."""
    return sorted(snvs + list(indels), key=lambda v: (v.position, v.is_indel))


@dataclasses.dataclass(frozen=True)
class Simulation:
    """A simulated sample (all NumPy; coordinates 0-based).

    Reference-space read arrays (what `softpile.one_hot_reads` and `softpile.pileup` take):

    - `reads`, `quality`: `(N, W)` read codes (`0..3` bases, `4` gap for a deleted base, `-1`
      padding) and integer Phred qualities (a gap column has the quality of the next read base,
      as in samtools). `W` is `read_length` without deletions.
    - `insertions`: `(N, W)` 1 on the column after which the read carries inserted bases.
    - `inserted_sequences`: per read, `{column: inserted bases}` for each flagged column.
    - `starts`: `(N,)` reference position of each read's first aligned base.

    Truth and provenance:

    - `reference`: `(R,)` reference codes (A=0 C=1 G=2 T=3).
    - `haplotypes`: `(2, R)` the sample's two haplotypes at the SNVs (indels not applied).
    - `haplotype_sequences`: the two full haplotypes as strings, indels applied.
    - `read_haplotype`: `(N,)` which haplotype each read came from.
    - `read_offsets`: `(N,)` index in its haplotype sequence of each read's first base.
    - `variant_positions`: `(V,)` sorted positions of the planted SNVs.
    - `truth_genotype`: `(R,)` index into `softpile.GENOTYPES` of the true SNV genotype everywhere
      (indels are not part of it; see `indels`).
    - `indels`: the planted indels, sorted by position.

    Query space (what a BAM file holds):

    - `query_sequences`: each read's bases as a string, `read_length` long.
    - `query_quality`: `(N, read_length)` their integer Phred qualities.
    - `cigars`: each read's CIGAR as `(operation, length)` pairs (pysam's codes: 0 M, 1 I,
      2 D, 4 S; inserted bases at either end of a read are soft clips).
    - `reverse`: `(N,)` the strand flag written to the BAM (bases are stored forward).
    """

    reference: np.ndarray
    haplotypes: np.ndarray
    reads: np.ndarray
    quality: np.ndarray
    starts: np.ndarray
    read_haplotype: np.ndarray
    variant_positions: np.ndarray
    truth_genotype: np.ndarray
    insertions: np.ndarray
    inserted_sequences: tuple[dict[int, str], ...]
    indels: tuple[TruthVariant, ...]
    haplotype_sequences: tuple[str, str]
    read_offsets: np.ndarray
    query_sequences: tuple[str, ...]
    query_quality: np.ndarray
    cigars: tuple[tuple[tuple[int, int], ...], ...]
    reverse: np.ndarray

    @property
    def reference_string(self) -> str:
        return "".join(np.array(list(LETTERS))[self.reference])

    @property
    def is_heterozygous(self) -> np.ndarray:
        """`(V,)` whether each planted SNV is heterozygous."""
        return (
            self.haplotypes[0, self.variant_positions] != self.haplotypes[1, self.variant_positions]
        )

    def truth_variants(self) -> list[TruthVariant]:
        """Every planted variant, SNVs and indels, sorted by position."""
        snvs = snv_records(self.reference, self.haplotypes, self.variant_positions)
        return sorted_variants(snvs, self.indels)

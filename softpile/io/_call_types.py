"""The data types of variant calling's output: the records and results (`SampleCall`,
`VariantRecord`, `CallResult`); its input is one `ReadBatch` per sample."""

import dataclasses

from .._pileup import Pileup
from .._variants import VariantScores


@dataclasses.dataclass(frozen=True)
class SampleCall:
    """One sample's FORMAT fields in a `VariantRecord`.

    - `genotype`: allele indices (`(0, 1)` is a het), or `None` for no call (`./.`).
    - `genotype_quality`: GQ, Phred-scaled probability that the genotype is wrong.
    - `depth`: DP, reads covering the site.
    - `allele_depths`: AD, reads supporting each allele (reference first).
    - `phred_likelihoods`: PL, Phred-scaled genotype likelihoods normalised to a minimum of 0,
      in VCF order (`0/0, 0/1, 1/1, 0/2, 1/2, 2/2, ...`).
    """

    genotype: tuple[int, int] | None
    genotype_quality: int
    depth: int
    allele_depths: tuple[int, ...]
    phred_likelihoods: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class VariantRecord:
    """One VCF record: a site, its alleles, its quality and one `SampleCall` per sample.

    `position` is 0-based (`POS - 1`); `alleles` starts with the reference allele; `quality` is
    QUAL, $-10 \\log_{10} P(\\text{every sample is hom-ref})$.
    """

    contig: str
    position: int
    alleles: tuple[str, ...]
    quality: float
    samples: tuple[SampleCall, ...]

    @property
    def is_indel(self) -> bool:
        return any(len(allele) != len(self.alleles[0]) for allele in self.alleles[1:])


@dataclasses.dataclass(frozen=True)
class CallResult:
    """What `call_reads` (and `softpile.io.call_region`) return.

    - `scores`: [`softpile.VariantScores`][] with a leading sample axis, `(S, R, ...)`, for
      the `R` positions called, holding NumPy arrays (on the host, ready for the records and
      for a worker process to send; `jnp.asarray` moves them to a device). To differentiate,
      call `softpile.pileup` and `softpile.variant_scores` on the reads instead.
    - `pileups`: the [`softpile.Pileup`][]s they came from, `(S, R, ...)`, NumPy too. Both
      are None from `iter_calls(..., arrays=False)`, which keeps the records only.
    - `records`: the `VariantRecord`s, sorted by position; every site where some sample's most
      likely genotype is not hom-ref (a caller keeps those with QUAL >= its threshold).
    - `contig`, `start`: where position 0 of the arrays lies (0-based).
    """

    scores: VariantScores | None
    pileups: Pileup | None
    records: list[VariantRecord]
    contig: str
    start: int

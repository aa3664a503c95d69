"""The data types of variant calling: one sample's reads in (`SampleReads`), the records and
results out (`SampleCall`, `VariantRecord`, `CallResult`)."""

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from .._pileup import Pileup
from .._variants import VariantScores


@dataclasses.dataclass(frozen=True)
class SampleReads:
    """One sample's reads in reference space (NumPy), the input of `call_reads`.

    - `codes`: `(N, L)` int, `0..3` bases, `4` gap (deleted base), `5` N, `-1` padding.
    - `quality`: `(N, L)` Phred qualities.
    - `insertions`: `(N, L)` nonzero on a column followed by inserted bases.
    - `inserted_sequences`: per read, `{column: inserted bases}` for its flagged columns.
    - `starts`: `(N,)` absolute 0-based reference position of column 0.
    - `read_weights`: `(N,)` per-read weights of the pileup, or None for 1.
    - `mapq`: `(N,)` mapping qualities, or None. Each base quality is capped at its read's
      MAPQ (as bcftools does; 255, "unavailable", caps nothing), so a MAPQ 0 read carries no
      evidence; indel support is weighted by $1 - 10^{-\text{MAPQ}/10}$.
    - `names`: the `N` read names, or None. Reads with the same name (the two mates of a
      pair) count once as indel support, so overlapping mates are not double evidence.
    """

    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    inserted_sequences: Sequence[Mapping[int, str]]
    starts: np.ndarray
    read_weights: np.ndarray | None = None
    mapq: np.ndarray | None = None
    names: Sequence[str] | None = None

    def __post_init__(self):
        codes = np.asarray(self.codes)
        if codes.ndim != 2:
            raise ValueError(f"SampleReads: `codes` must be (reads, length), got {codes.shape}.")
        for name in ("quality", "insertions"):
            if np.shape(getattr(self, name)) != codes.shape:
                raise ValueError(
                    f"SampleReads: `{name}` must have the shape of `codes` {codes.shape}, got "
                    f"{np.shape(getattr(self, name))}."
                )
        per_read = {"starts": self.starts, "inserted_sequences": self.inserted_sequences}
        per_read.update(read_weights=self.read_weights, mapq=self.mapq, names=self.names)
        for name, value in per_read.items():
            if value is not None and len(value) != len(codes):
                raise ValueError(
                    f"SampleReads: `{name}` needs one entry per read ({len(codes)}), got "
                    f"{len(value)}."
                )

    def capped_quality(self) -> np.ndarray:
        """`quality` capped at each read's MAPQ (255 caps nothing)."""
        quality = np.asarray(self.quality, dtype=np.float32)
        if self.mapq is None:
            return quality
        mapq = np.asarray(self.mapq, dtype=np.float32)
        return np.minimum(quality, np.where(mapq == 255, np.inf, mapq)[:, None])

    def templates(self) -> np.ndarray:
        """`(N,)` an id per read name (mates share one), or one id per read without names."""
        if self.names is None:
            return np.arange(len(self.codes))
        return np.unique(np.asarray(self.names, dtype=object), return_inverse=True)[1]

    @classmethod
    def from_simulation(cls, simulation) -> "SampleReads":
        """The reads of a `softpile.simulate.Simulation`."""
        return cls(
            codes=simulation.reads,
            quality=simulation.quality,
            insertions=simulation.insertions,
            inserted_sequences=simulation.inserted_sequences,
            starts=simulation.starts,
        )


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

"""The realistic simulation: a reference with repeats, a diploid sample with SNVs and indels,
and paired-end reads with a cycle-dependent error profile, left unaligned for a real aligner."""

import dataclasses

import numpy as np

from ._errors import ErrorProfile
from ._genome import GenomeLayout, RepeatElement, repeated_genome
from ._planting import apply_indels, plant_indels, plant_snvs
from ._truth import LETTERS, TruthVariant, snv_records, sorted_variants

BLOCK = 10_000  # fragments sequenced at a time, which bounds the memory of the temporaries


@dataclasses.dataclass(frozen=True)
class RealisticSimulation:
    """A realistic simulated sample (all NumPy; coordinates 0-based).

    The reference and the truth:

    - `reference`: `(R,)` reference codes (A=0 C=1 G=2 T=3).
    - `elements`: the planted repeats (`RepeatElement`s), sorted by start.
    - `confident`: `(R,)` whether each position is outside every planted element (both copies
      of a paralog or segmental duplication, every interspersed and tandem repeat): the unique
      sequence, where a read can be placed without doubt.
    - `haplotypes`: `(2, R)` the two haplotypes at the SNVs; `variant_positions`: `(V,)` the
      SNVs' positions; `indels`: the planted indels.
    - `haplotype_sequences`: the two full haplotypes as strings, indels applied.

    The reads, `F` fragments of two mates each, as the sequencer gives them (no alignment):

    - `mates`: `(F, 2, L)` base codes, each mate in sequencing order (its first cycle first);
      mate 1 reads the fragment's forward strand unless `fragment_reverse`, mate 2 the other.
    - `quality`: `(F, 2, L)` the reported Phred qualities (see `ErrorProfile`).
    - `fragment_haplotype`, `fragment_offset`, `insert_size`, `fragment_reverse`: `(F,)` each
      fragment's haplotype, the index of its first base in that haplotype's sequence, its
      length and its strand.
    - `true_starts`, `true_ends`: `(F, 2)` the reference span `[start, end)` each mate was
      drawn from.
    """

    reference: np.ndarray
    elements: tuple[RepeatElement, ...]
    confident: np.ndarray
    haplotypes: np.ndarray
    variant_positions: np.ndarray
    indels: tuple[TruthVariant, ...]
    haplotype_sequences: tuple[str, str]
    mates: np.ndarray
    quality: np.ndarray
    fragment_haplotype: np.ndarray
    fragment_offset: np.ndarray
    insert_size: np.ndarray
    fragment_reverse: np.ndarray
    true_starts: np.ndarray
    true_ends: np.ndarray

    @property
    def reference_string(self) -> str:
        return "".join(np.array(list(LETTERS))[self.reference])

    def truth_variants(self) -> list[TruthVariant]:
        """Every planted variant, SNVs and indels, sorted by position."""
        snvs = snv_records(self.reference, self.haplotypes, self.variant_positions)
        return sorted_variants(snvs, self.indels)

    def confident_intervals(self) -> list[tuple[int, int]]:
        """The confident positions as sorted, disjoint half-open `(start, end)` intervals."""
        edges = np.diff(np.concatenate([[0], self.confident.astype(np.int8), [0]]))
        return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def simulate_realistic(
    seed: int = 0,
    *,
    reference_length: int = 100_000,
    coverage: float | int = 30.0,
    read_length: int = 150,
    snv_rate: float = 1e-3,
    indel_rate: float = 1e-4,
    max_indel_length: int = 5,
    het_fraction: float = 2 / 3,
    insert_median: int = 350,
    insert_spread: float = 0.15,
    layout: GenomeLayout = GenomeLayout(),
    errors: ErrorProfile = ErrorProfile(),
) -> RealisticSimulation:
    """Simulate a diploid sample on a reference with repeats, and its paired-end reads.

    The reference is random sequence with the repeats of `layout` planted in it. SNVs and
    indels (het with probability `het_fraction`, else hom) are planted anywhere, repeats
    included; indels keep 10 bases from other variants and have one left-aligned
    representation. Fragments are drawn uniformly from a random haplotype, with a log-normal
    length (median `insert_median`, sd of its log `insert_spread`, at least `read_length`); each
    gives two reads of `read_length` bases, one from each end, facing each other. Errors and
    reported qualities follow `errors`. The reads are not aligned:
    `softpile.io.write_simulation` aligns them with bwa mem.

    **Arguments:**

    - `seed`: seeds NumPy's generator; the same seed gives the same sample.
    - `reference_length`, `read_length`: sizes in bases.
    - `coverage`: mean depth; the number of fragments is `round(coverage * R / (2 L))`.
    - `snv_rate`, `indel_rate`: per base; `max_indel_length`: indels are 1 to this long.
    - `het_fraction`: share of heterozygous variants.
    - `insert_median`, `insert_spread`: the fragment length distribution.
    - `layout`: a `GenomeLayout`; `errors`: an `ErrorProfile`.

    **Returns:**

    A `RealisticSimulation`.

    ```python
    >>> from softpile.simulate import simulate_realistic
    >>> sample = simulate_realistic(1, reference_length=40_000, coverage=5)
    >>> sample.mates.shape, sample.quality.shape
    ((667, 2, 150), (667, 2, 150))
    >>> sorted({element.kind for element in sample.elements})
    ['interspersed', 'paralog', 'segmental_duplication', 'tandem']

    ```
    """
    if read_length < 1 or reference_length < max(insert_median, read_length) * 2:
        raise ValueError(
            f"simulate_realistic: need 1 <= read_length and reference_length >= twice the "
            f"fragment length, got read_length={read_length}, insert_median={insert_median}, "
            f"reference_length={reference_length}."
        )
    if not 1 <= max_indel_length < read_length or not 0 <= indel_rate <= 1:
        raise ValueError(
            f"simulate_realistic: need 0 <= indel_rate <= 1 and 1 <= max_indel_length < "
            f"read_length, got indel_rate={indel_rate}, max_indel_length={max_indel_length}."
        )
    rng = np.random.default_rng(seed)
    reference, elements = repeated_genome(rng, reference_length, layout)
    confident = np.ones(reference_length, dtype=bool)
    for element in elements:
        confident[element.start : element.end] = False

    positions = np.flatnonzero(rng.random(reference_length) < snv_rate)
    haplotypes = plant_snvs(rng, reference, positions, het_fraction)
    indels = plant_indels(rng, reference, positions, indel_rate, max_indel_length, het_fraction)
    sequences, reference_positions = zip(
        *(apply_indels(h, indels, i) for i, h in enumerate(haplotypes))
    )

    fragments = max(1, round(coverage * reference_length / (2 * read_length)))
    haplotype = rng.integers(0, 2, fragments)
    shortest = min(s.size for s in sequences)
    insert = np.rint(insert_median * np.exp(insert_spread * rng.standard_normal(fragments)))
    insert = np.clip(insert, read_length, shortest).astype(np.int64)
    offset = np.floor(rng.random(fragments) * (shortest - insert + 1)).astype(np.int64)
    reverse = rng.random(fragments) < 0.5

    cycles = np.arange(read_length)
    mates = np.empty((fragments, 2, read_length), dtype=np.int8)
    quality = np.empty((fragments, 2, read_length), dtype=np.uint8)
    for first in range(0, fragments, BLOCK):
        rows = slice(first, first + BLOCK)
        mates[rows], quality[rows] = _sequence(
            rng,
            sequences,
            haplotype[rows],
            offset[rows, None] + cycles,
            (offset + insert - read_length)[rows, None] + cycles,
            reverse[rows],
            errors,
        )

    # Each haplotype's reference position of each base; an inserted base takes the one before.
    filled = [np.maximum.accumulate(p) for p in reference_positions]
    ends = [offset, offset + read_length - 1, offset + insert - read_length, offset + insert - 1]
    spans = np.where(haplotype == 0, filled[0][ends], filled[1][ends]).T.reshape(-1, 2, 2)
    spans[..., 1] += 1  # (F, leftmost/rightmost read, start/end)
    spans = np.where(reverse[:, None, None], spans[:, ::-1], spans)  # (F, mate, start/end)
    letters = np.array(list(LETTERS))
    return RealisticSimulation(
        reference=reference,
        elements=elements,
        confident=confident,
        haplotypes=haplotypes,
        variant_positions=positions,
        indels=tuple(indels),
        haplotype_sequences=("".join(letters[sequences[0]]), "".join(letters[sequences[1]])),
        mates=mates,
        quality=quality,
        fragment_haplotype=haplotype,
        fragment_offset=offset,
        insert_size=insert,
        fragment_reverse=reverse,
        true_starts=spans[..., 0],
        true_ends=spans[..., 1],
    )


def _sequence(
    rng: np.random.Generator,
    sequences,
    haplotype: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    reverse: np.ndarray,
    errors: ErrorProfile,
) -> tuple[np.ndarray, np.ndarray]:
    """`(F, 2, L)` mates and reported qualities of fragments whose leftmost and rightmost reads
    cover the haplotype indices `left` and `right`, with sequencing errors."""
    on_zero = (haplotype == 0)[:, None]
    forward = np.where(on_zero, sequences[0][left], sequences[1][left])
    backward = 3 - np.where(on_zero, sequences[0][right], sequences[1][right])[:, ::-1]
    pairs = np.where(
        reverse[:, None, None],
        np.stack([backward, forward], axis=1),
        np.stack([forward, backward], axis=1),
    )
    true_quality = errors.true_quality(rng, 2 * haplotype.size, left.shape[1])
    wrong = rng.random(true_quality.shape) < 10.0 ** (-true_quality / 10.0)
    reads = pairs.reshape(true_quality.shape)
    reads = np.where(wrong, (reads + rng.integers(1, 4, wrong.shape)) % 4, reads)
    return reads.reshape(pairs.shape), errors.reported_quality(true_quality).reshape(pairs.shape)

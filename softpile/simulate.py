"""Seeded simulation of a diploid sample and its reads, with the truth (NumPy only).

The demo, tests, benchmarks and docs use it instead of ad-hoc random arrays. Qualities are
integer Phred scores and sequencing errors are drawn from them, so quality carries
information: a Q10 base is wrong one time in ten.

The sample carries SNVs and, optionally, short insertions and deletions. Reads are drawn from
the two haplotypes and projected into reference space: a deleted base becomes a
gap column (code 4), inserted bases are removed from the row and flagged on the column before
them. Each read also keeps its query-space sequence, qualities and CIGAR, which is what
`softpile.io.write_simulation` writes to a BAM file.
"""

import dataclasses

import numpy as np

from ._genotypes import GENOTYPES

__all__ = ["Simulation", "TruthVariant", "simulate", "genotype_index"]

GAP, PAD = 4, -1
# CIGAR operation codes, as in the SAM specification and pysam.
CIGAR_MATCH, CIGAR_INSERTION, CIGAR_DELETION, CIGAR_SOFT_CLIP = 0, 1, 2, 4
# Indels keep this many bases away from every other variant, so that no two events share reads'
# ambiguous alignments and each has one normalised (left-aligned) VCF representation.
INDEL_SPACING = 10


def genotype_index(allele_1: int, allele_2: int) -> int:
    """Index in `softpile.GENOTYPES` of the unordered pair of base codes."""
    pair = "".join(sorted("ACGT"[allele_1] + "ACGT"[allele_2]))
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
        return "".join(np.array(list("ACGT"))[self.reference])

    @property
    def is_heterozygous(self) -> np.ndarray:
        """`(V,)` whether each planted SNV is heterozygous."""
        return (
            self.haplotypes[0, self.variant_positions] != self.haplotypes[1, self.variant_positions]
        )

    def truth_variants(self) -> list[TruthVariant]:
        """Every planted variant, SNVs and indels, sorted by position."""
        letters = "ACGT"
        snvs = []
        for position in self.variant_positions.tolist():
            reference = int(self.reference[position])
            first, second = (int(h) for h in self.haplotypes[:, position])
            alternate = second if second != reference else first
            genotype = (int(first != reference), int(second != reference))
            snvs.append(TruthVariant(position, letters[reference], letters[alternate], genotype))
        return sorted(snvs + list(self.indels), key=lambda v: (v.position, v.is_indel))


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
    indel_rate: float = 0.0,
    max_indel_length: int = 3,
) -> Simulation:
    """Simulate a diploid sample with SNVs, short indels and error-bearing reads.

    Reads are drawn uniformly along the reference from a random haplotype, each base replaced
    by a random other base with probability `10**(-Q/10)` of its quality. Indels are placed so
    that each has exactly one left-aligned representation (no repeat around it) and lies at
    least 10 bases from every other variant. With `indel_rate=0` the result is the same as
    before indels existed, for a given seed.

    **Arguments:**

    - `seed`: seeds NumPy's generator; the same seed gives the same sample.
    - `reference_length`, `read_length`: sizes in bases; reads lie fully inside the reference.
    - `coverage`: mean depth; the number of reads is `round(coverage * R / L)`.
    - `snv_rate`: probability that a position carries an SNV (ignored if `snv_positions`).
    - `het_fraction`: share of SNVs (and of indels) that are heterozygous.
    - `snv_positions`: plant SNVs exactly here instead.
    - `heterozygous`: with `snv_positions`, whether each of them is heterozygous (else drawn
      with `het_fraction`).
    - `min_quality`, `max_quality`: integer Phred qualities are uniform in this range.
    - `indel_rate`: probability that a position anchors an indel (half insertions, half
      deletions); candidates too close to another variant or in a repeat are skipped.
    - `max_indel_length`: indel lengths are uniform in `1..max_indel_length`.

    **Returns:**

    A `Simulation`; `Simulation.truth_variants()` lists the planted variants.

    ```python
    >>> from softpile.simulate import simulate
    >>> sample = simulate(1, reference_length=200, coverage=10, read_length=50)
    >>> sample.reads.shape, sample.starts.shape
    ((40, 50), (40,))
    >>> sample = simulate(1, reference_length=2000, read_length=50, indel_rate=0.01)
    >>> [(v.reference, v.alternate) for v in sample.indels][:2]
    [('C', 'CT'), ('TAC', 'T')]

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
    if (
        not 0 <= indel_rate <= 1
        or max_indel_length < 1
        or (indel_rate > 0 and max_indel_length >= read_length)
    ):
        raise ValueError(
            f"simulate: need 0 <= indel_rate <= 1 and 1 <= max_indel_length < read_length, got "
            f"indel_rate={indel_rate}, max_indel_length={max_indel_length}, read_length="
            f"{read_length}."
        )
    rng = np.random.default_rng(seed)
    # Indels and strands draw from their own stream, so that the SNVs, reads and errors of a
    # seed are the same with and without indels.
    indel_rng = np.random.default_rng([seed, 1])
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

    indels = _plant_indels(
        indel_rng, reference, positions, indel_rate, max_indel_length, het_fraction
    )
    sequences, reference_positions = zip(
        *(_apply_indels(h, indels, i) for i, h in enumerate(haplotypes))
    )

    num_reads = max(1, round(coverage * reference_length / read_length))
    starts = np.sort(rng.integers(0, reference_length - read_length + 1, num_reads))
    read_haplotype = rng.integers(0, 2, num_reads)
    offsets = np.empty(num_reads, dtype=np.int64)
    for h in (0, 1):
        mine = read_haplotype == h
        aligned = np.flatnonzero(reference_positions[h] >= 0)
        # The first aligned haplotype base at or after the drawn reference start.
        first = aligned[np.searchsorted(reference_positions[h][aligned], starts[mine])]
        offsets[mine] = np.minimum(first, sequences[h].size - read_length)
    columns = offsets[:, None] + np.arange(read_length)
    query = np.where(
        read_haplotype[:, None] == 0,
        sequences[0][np.minimum(columns, sequences[0].size - 1)],
        sequences[1][np.minimum(columns, sequences[1].size - 1)],
    )
    quality = rng.integers(min_quality, max_quality + 1, (num_reads, read_length))
    is_error = rng.random(quality.shape) < 10.0 ** (-quality / 10.0)
    query = np.where(is_error, (query + rng.integers(1, 4, query.shape)) % 4, query)
    reverse = indel_rng.random(num_reads) < 0.5

    positions_of_read = np.where(
        read_haplotype[:, None] == 0,
        reference_positions[0][np.minimum(columns, sequences[0].size - 1)],
        reference_positions[1][np.minimum(columns, sequences[1].size - 1)],
    )
    projected = [_project(query[n], quality[n], positions_of_read[n]) for n in range(num_reads)]
    read_starts = np.array([p[0] for p in projected], dtype=np.int64)
    width = max(p[1].size for p in projected)
    reads = np.full((num_reads, width), PAD, dtype=np.int32)
    reference_quality = np.zeros((num_reads, width), dtype=np.int32)
    insertion_flags = np.zeros((num_reads, width), dtype=np.int32)
    for n, (_, codes, column_quality, flags, _, _) in enumerate(projected):
        reads[n, : codes.size] = codes
        reference_quality[n, : codes.size] = column_quality
        insertion_flags[n, : codes.size] = flags
    order = np.argsort(read_starts, kind="stable")

    pair_index = np.array([[genotype_index(a, b) for b in range(4)] for a in range(4)])
    truth = pair_index[haplotypes[0], haplotypes[1]].astype(np.int32)
    letters = np.array(list("ACGT"))
    return Simulation(
        reference=reference,
        haplotypes=haplotypes,
        reads=reads[order],
        quality=reference_quality[order],
        starts=read_starts[order].astype(np.int32),
        read_haplotype=read_haplotype[order].astype(np.int32),
        variant_positions=positions,
        truth_genotype=truth,
        insertions=insertion_flags[order],
        inserted_sequences=tuple(projected[n][5] for n in order),
        indels=tuple(indels),
        haplotype_sequences=("".join(letters[sequences[0]]), "".join(letters[sequences[1]])),
        read_offsets=offsets[order],
        query_sequences=tuple("".join(letters[query[n]]) for n in order),
        query_quality=quality[order].astype(np.int32),
        cigars=tuple(projected[n][4] for n in order),
        reverse=reverse[order],
    )


def _plant_indels(
    rng: np.random.Generator,
    reference: np.ndarray,
    snv_positions: np.ndarray,
    rate: float,
    max_length: int,
    het_fraction: float,
) -> list[TruthVariant]:
    """Draw indels with a unique normalised representation, away from other variants."""
    length = reference.size
    candidates = np.flatnonzero(rng.random(length) < rate) if rate > 0 else np.array([], int)
    letters = "ACGT"
    taken = snv_positions.tolist()
    indels = []
    for anchor in candidates.tolist():
        size = int(rng.integers(1, max_length + 1))
        is_deletion = bool(rng.random() < 0.5)
        is_het = bool(rng.random() < het_fraction)
        haplotype = int(rng.integers(0, 2))
        inserted = rng.integers(0, 4, size)
        end = anchor + size + 1  # last reference base the event touches, plus one
        if anchor < 1 or end + 1 >= length:
            continue
        if any(abs(anchor - t) < INDEL_SPACING + size for t in taken):
            continue
        if is_deletion:
            # Not shiftable left (anchor == last deleted) or right (first deleted == next).
            if (
                reference[anchor] == reference[anchor + size]
                or reference[anchor + 1] == reference[end]
            ):
                continue
            ref_allele = "".join(letters[c] for c in reference[anchor:end])
            alt_allele = letters[reference[anchor]]
        else:
            if inserted[-1] == reference[anchor] or inserted[0] == reference[anchor + 1]:
                continue
            ref_allele = letters[reference[anchor]]
            alt_allele = ref_allele + "".join(letters[c] for c in inserted)
        genotype = ((0, 1) if haplotype else (1, 0)) if is_het else (1, 1)
        indels.append(TruthVariant(anchor, ref_allele, alt_allele, genotype))
        taken.append(anchor)
    return indels


def _apply_indels(
    haplotype: np.ndarray, indels: list[TruthVariant], which: int
) -> tuple[np.ndarray, np.ndarray]:
    """A haplotype's sequence with its indels, and the reference position of each base (-1 for
    an inserted base)."""
    pieces, positions, cursor = [], [], 0
    for indel in indels:
        if not indel.genotype[which]:
            continue
        after_anchor = indel.position + 1
        pieces.append(haplotype[cursor:after_anchor])
        positions.append(np.arange(cursor, after_anchor))
        if len(indel.reference) > 1:
            cursor = after_anchor + len(indel.reference) - 1
        else:
            inserted = np.array(["ACGT".index(b) for b in indel.alternate[1:]])
            pieces.append(inserted)
            positions.append(np.full(inserted.size, -1))
            cursor = after_anchor
    pieces.append(haplotype[cursor:])
    positions.append(np.arange(cursor, haplotype.size))
    return np.concatenate(pieces).astype(np.int32), np.concatenate(positions).astype(np.int64)


def _project(
    query: np.ndarray, quality: np.ndarray, positions: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, tuple[tuple[int, int], ...], dict[int, str]]:
    """Project one read into reference space: start, codes, qualities, insertion flags, CIGAR
    and inserted sequences.

    `positions` holds each query base's reference position, -1 for an inserted base.
    """
    aligned = np.flatnonzero(positions >= 0)
    first, last = int(aligned[0]), int(aligned[-1])
    start = int(positions[first])
    width = int(positions[last]) - start + 1
    codes = np.full(width, GAP, dtype=np.int32)
    column_quality = np.zeros(width, dtype=np.int32)
    flags = np.zeros(width, dtype=np.int32)
    columns = positions[aligned] - start
    codes[columns] = query[aligned]
    column_quality[columns] = quality[aligned]
    # A deleted column takes the quality of the next read base (samtools' rule).
    following = np.searchsorted(columns, np.arange(width))
    gap = codes == GAP
    column_quality[gap] = quality[aligned[following[gap]]]

    operations, inserted = [], {}
    if first:
        operations.append((CIGAR_SOFT_CLIP, first))
    index, previous = first, start
    while index <= last:
        run_end = index + 1
        if positions[index] < 0:
            while positions[run_end] < 0:
                run_end += 1
            flags[previous - start] = 1
            inserted[previous - start] = "".join("ACGT"[c] for c in query[index:run_end])
            operations.append((CIGAR_INSERTION, run_end - index))
        else:
            if positions[index] > previous + 1:
                operations.append((CIGAR_DELETION, int(positions[index] - previous - 1)))
            while run_end <= last and positions[run_end] == positions[run_end - 1] + 1:
                run_end += 1
            operations.append((CIGAR_MATCH, run_end - index))
            previous = int(positions[run_end - 1])
        index = run_end
    if last < query.size - 1:
        operations.append((CIGAR_SOFT_CLIP, query.size - 1 - last))
    return start, codes, column_quality, flags, tuple(operations), inserted

"""The uniform simulation: a random reference, SNVs and short indels, and single reads with
uniform qualities whose errors are exactly as their qualities state.

The demo, tests, benchmarks and docs use it instead of ad-hoc random arrays. Reads are drawn
from the two haplotypes and projected into reference space: a deleted base becomes a gap column
(code 4), inserted bases are removed from the row and flagged on the column before them. Each
read also keeps its query-space sequence, qualities and CIGAR, which is what
`softpile.io.write_simulation` writes to a BAM file, at the read's true place.
"""

import numpy as np

from .._encoding import PAD
from ._planting import apply_indels, plant_indels, plant_snvs
from ._projection import project
from ._truth import LETTERS, Simulation, genotype_index


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

    if heterozygous is not None:
        heterozygous = np.asarray(heterozygous, dtype=bool)[np.argsort(snv_positions)]
    haplotypes = plant_snvs(rng, reference, positions, het_fraction, heterozygous)

    indels = plant_indels(
        indel_rng, reference, positions, indel_rate, max_indel_length, het_fraction
    )
    sequences, reference_positions = zip(
        *(apply_indels(h, indels, i) for i, h in enumerate(haplotypes))
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
    projected = [project(query[n], quality[n], positions_of_read[n]) for n in range(num_reads)]
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
    letters = np.array(list(LETTERS))
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

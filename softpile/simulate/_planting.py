"""Planting a diploid sample's variants in a reference: SNVs, then indels, then haplotypes."""

import numpy as np

from ._truth import LETTERS, TruthVariant

# Indels keep this many bases away from every other variant, so that no two events share reads'
# ambiguous alignments and each has one normalised (left-aligned) VCF representation.
INDEL_SPACING = 10


def plant_snvs(
    rng: np.random.Generator,
    reference: np.ndarray,
    positions: np.ndarray,
    het_fraction: float,
    heterozygous=None,
) -> np.ndarray:
    """The `(2, R)` haplotypes with an SNV at each of the sorted, distinct `positions`.

    `heterozygous` (one entry per position, in the order given before sorting) fixes which are
    het; otherwise each is het with probability `het_fraction`. A het keeps the reference on a
    random haplotype.
    """
    haplotypes = np.stack([reference, reference]).copy()
    drawn = rng.random(positions.size) < het_fraction
    if heterozygous is None:
        heterozygous = drawn
    else:
        heterozygous = np.asarray(heterozygous, dtype=bool)
        if heterozygous.shape != positions.shape:
            raise ValueError("simulate: `heterozygous` needs one entry per distinct SNV position.")
    alternate = (reference[positions] + rng.integers(1, 4, positions.size)) % 4
    haplotypes[0, positions] = np.where(heterozygous, reference[positions], alternate)
    haplotypes[1, positions] = alternate
    swap = heterozygous & (rng.random(positions.size) < 0.5)
    haplotypes[:, positions[swap]] = haplotypes[::-1, positions[swap]]
    return haplotypes


def plant_indels(
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
            ref_allele = "".join(LETTERS[c] for c in reference[anchor:end])
            alt_allele = LETTERS[reference[anchor]]
        else:
            if inserted[-1] == reference[anchor] or inserted[0] == reference[anchor + 1]:
                continue
            ref_allele = LETTERS[reference[anchor]]
            alt_allele = ref_allele + "".join(LETTERS[c] for c in inserted)
        genotype = ((0, 1) if haplotype else (1, 0)) if is_het else (1, 1)
        indels.append(TruthVariant(anchor, ref_allele, alt_allele, genotype))
        taken.append(anchor)
    return indels


def apply_indels(
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
            inserted = np.array([LETTERS.index(b) for b in indel.alternate[1:]])
            pieces.append(inserted)
            positions.append(np.full(inserted.size, -1))
            cursor = after_anchor
    pieces.append(haplotype[cursor:])
    positions.append(np.arange(cursor, haplotype.size))
    return np.concatenate(pieces).astype(np.int32), np.concatenate(positions).astype(np.int64)

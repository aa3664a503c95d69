"""A reference with the sequence that makes mapping hard: tandem repeats, interspersed repeat
families, segmental duplications and near-identical paralogs, placed in random sequence."""

import dataclasses

import numpy as np

# Kinds of planted repeat, in the order they are placed (largest first, so that they fit).
PARALOG, SEGMENTAL_DUPLICATION, INTERSPERSED, TANDEM = (
    "paralog",
    "segmental_duplication",
    "interspersed",
    "tandem",
)
SPACING = 20  # bases of unique sequence kept between two planted elements
TRIES = 100  # placements tried per element before it is left out (the genome is full)


@dataclasses.dataclass(frozen=True)
class GenomeLayout:
    """How much repeated sequence a realistic reference carries (counts per 100 kb).

    Each copy substitutes a random share of its bases, drawn uniformly in the `divergence`
    range: near-identical paralogs (0-0.5 %) defeat the aligner (a read inside one often has
    MAPQ 0 and may be placed on the other copy), segmental duplications (1-4 %) and repeat
    family members (2-15 %) mostly do not. Paralogs and segmental duplications are copies of
    another place of the same reference, half of them inverted; interspersed repeats are copies
    of a few family consensus sequences; tandem repeats are a 1-6 base unit repeated.
    """

    paralogs: float | int = 3.0
    paralog_length: tuple[int, int] = (400, 2000)
    paralog_divergence: tuple[float, float] = (0.0, 0.005)
    segmental_duplications: float | int = 2.0
    segmental_duplication_length: tuple[int, int] = (1000, 5000)
    segmental_duplication_divergence: tuple[float, float] = (0.01, 0.04)
    repeat_families: int = 3
    interspersed_repeats: float | int = 20.0
    interspersed_length: tuple[int, int] = (150, 320)
    interspersed_divergence: tuple[float, float] = (0.02, 0.15)
    tandem_repeats: float | int = 40.0
    tandem_length: tuple[int, int] = (12, 60)
    tandem_unit: tuple[int, int] = (1, 6)


@dataclasses.dataclass(frozen=True)
class RepeatElement:
    """One planted element: `kind` (`"paralog"`, `"segmental_duplication"`, `"interspersed"`
    or `"tandem"`) over the 0-based half-open `[start, end)`; for a copy of the reference,
    `source` is where it was copied from (the same length; -1 otherwise) and `inverted` whether
    it was reverse-complemented; `divergence` is the share of substituted bases drawn for it."""

    kind: str
    start: int
    end: int
    source: int = -1
    inverted: bool = False
    divergence: float | int = 0.0


def repeated_genome(
    rng: np.random.Generator, length: int, layout: GenomeLayout
) -> tuple[np.ndarray, tuple[RepeatElement, ...]]:
    """`(R,)` reference codes and the elements planted in them, sorted by start."""
    reference = rng.integers(0, 4, length).astype(np.int32)
    taken = np.zeros(length + 2 * SPACING, dtype=bool)  # padded, so a span never runs off
    elements = []

    def place(size: int) -> int | None:
        for _ in range(TRIES):
            start = int(rng.integers(0, length - size + 1))
            if not taken[start : start + size + 2 * SPACING].any():
                taken[start : start + size + 2 * SPACING] = True
                return start
        return None

    def count(per_100kb: float | int) -> int:
        return int(round(per_100kb * length / 100_000))

    for kind, number, sizes, divergences in (
        (PARALOG, layout.paralogs, layout.paralog_length, layout.paralog_divergence),
        (
            SEGMENTAL_DUPLICATION,
            layout.segmental_duplications,
            layout.segmental_duplication_length,
            layout.segmental_duplication_divergence,
        ),
    ):
        for _ in range(count(number)):
            size = int(rng.integers(sizes[0], sizes[1] + 1))
            divergence = float(rng.uniform(*divergences))
            inverted = bool(rng.random() < 0.5)
            if size > length:
                continue
            source, start = place(size), place(size)
            if source is None or start is None:
                continue
            copy = reference[source : source + size]
            copy = 3 - copy[::-1] if inverted else copy
            reference[start : start + size] = _diverge(rng, copy, divergence)
            elements.append(RepeatElement(kind, source, source + size, -1, False, 0.0))
            elements.append(RepeatElement(kind, start, start + size, source, inverted, divergence))

    consensus = rng.integers(0, 4, (layout.repeat_families, layout.interspersed_length[1]))
    for _ in range(count(layout.interspersed_repeats) if layout.repeat_families else 0):
        family = consensus[rng.integers(0, layout.repeat_families)]
        size = int(rng.integers(layout.interspersed_length[0], layout.interspersed_length[1] + 1))
        divergence = float(rng.uniform(*layout.interspersed_divergence))
        start = place(size)
        if start is None:
            continue
        # A copy keeps the consensus' 3' end, as truncated retrotransposed copies do.
        reference[start : start + size] = _diverge(rng, family[-size:], divergence)
        elements.append(RepeatElement(INTERSPERSED, start, start + size, -1, False, divergence))

    for _ in range(count(layout.tandem_repeats)):
        unit = rng.integers(
            0, 4, int(rng.integers(layout.tandem_unit[0], layout.tandem_unit[1] + 1))
        )
        size = int(rng.integers(layout.tandem_length[0], layout.tandem_length[1] + 1))
        start = place(size)
        if start is None:
            continue
        reference[start : start + size] = np.resize(unit, size)
        elements.append(RepeatElement(TANDEM, start, start + size))
    return reference, tuple(sorted(elements, key=lambda e: e.start))


def _diverge(rng: np.random.Generator, codes: np.ndarray, divergence: float) -> np.ndarray:
    """`codes` with each base substituted with probability `divergence`."""
    changed = rng.random(codes.size) < divergence
    return np.where(changed, (codes + rng.integers(1, 4, codes.size)) % 4, codes).astype(np.int32)

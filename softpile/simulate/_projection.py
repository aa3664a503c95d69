"""Projecting a read drawn from a haplotype into reference space, with its CIGAR."""

import numpy as np

from .._encoding import GAP
from ._truth import LETTERS

# CIGAR operation codes, as in the SAM specification and pysam.
CIGAR_MATCH, CIGAR_INSERTION, CIGAR_DELETION, CIGAR_SOFT_CLIP = 0, 1, 2, 4


def project(
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
            inserted[previous - start] = "".join(LETTERS[c] for c in query[index:run_end])
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

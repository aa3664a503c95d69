"""Aligning the paired reads of a `softpile.simulate.RealisticSimulation` with bwa mem (through
pybwa), into a coordinate-sorted, indexed BAM written by pysam.

pybwa aligns single reads, so each mate is placed on its own (bwa mem without its pairing step:
no mate rescue, and a mate's MAPQ reflects that read alone). The mate fields are then filled from
the two primary alignments as `samtools fixmate` would, and a pair is flagged proper (0x2) when
both mates map to the contig facing each other (forward mate leftmost) with a template length
inside the bounds bwa mem uses: the quartiles of such pairs' lengths, widened by three
interquartile ranges on each side.
"""

import contextlib
import importlib.metadata
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pysam

from .._files import atomic_path
from ..simulate import RealisticSimulation

CHUNK = 20_000  # fragments aligned (and held in memory) at a time
PROPER_BOUND = 3  # interquartile ranges around the quartiles, as bwa mem's MAPPING_BOUND
SECONDARY_OR_SUPPLEMENTARY = 0x900
PAIRED, PROPER, MATE_UNMAPPED, MATE_REVERSE, FIRST, SECOND = 0x1, 0x2, 0x8, 0x20, 0x40, 0x80
PHRED_OFFSET = 33


def align_simulation(
    simulation: RealisticSimulation, fasta: Path, bam: Path, contig: str, sample: str
) -> None:
    """Align `simulation`'s reads to `fasta` (its one contig `contig`) into `bam` (+ `.bai`)."""
    try:
        from pybwa import BwaIndex, BwaMem, BwaVerbosity, set_bwa_verbosity
    except ImportError as error:
        raise ImportError(
            f"{error}; aligning the realistic simulation needs the simulate extra: "
            "pip install 'softpile[simulate]'"
        ) from None
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": contig, "LN": int(simulation.reference.size)}],
        "RG": [{"ID": sample, "SM": sample}],
        "PG": [
            {"ID": "bwa", "PN": "bwa mem (pybwa)", "VN": importlib.metadata.version("pybwa")},
            {"ID": "softpile", "PN": "softpile", "PP": "bwa", "CL": "softpile simulate"},
        ],
    }
    set_bwa_verbosity(BwaVerbosity.QUIET)
    with tempfile.TemporaryDirectory(prefix=".softpile-bwa.", dir=bam.parent) as folder:
        BwaIndex.index(fasta, prefix=Path(folder) / "ref")
        unsorted = Path(folder) / "unsorted.bam"
        with contextlib.ExitStack() as stack:
            with warnings.catch_warnings():
                # pybwa leaves the index's sequence dictionary to the garbage collector, open.
                warnings.simplefilter("ignore", ResourceWarning)
                aligner = stack.enter_context(BwaMem(prefix=Path(folder) / "ref"))
            output = stack.enter_context(pysam.AlignmentFile(str(unsorted), "wb", header=header))
            for first in range(0, simulation.mates.shape[0], CHUNK):
                hits = aligner.align(_records(simulation, first, first + CHUNK))
                for read in _paired(hits):
                    read.set_tag("RG", sample)
                    output.write(read)
        with atomic_path(bam) as temporary:
            pysam.sort("--no-PG", "-o", str(temporary), str(unsorted))
    pysam.index(str(bam))


def _records(simulation: RealisticSimulation, first: int, last: int) -> list[pysam.FastxRecord]:
    """Mate 1 then mate 2 of each fragment in `[first, last)`, named by fragment."""
    mates = simulation.mates[first:last]
    length = mates.shape[-1]
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)[mates].reshape(-1, length)
    qualities = (simulation.quality[first:last] + PHRED_OFFSET).astype(np.uint8)
    sequences = bases.view(f"S{length}").ravel()
    texts = qualities.reshape(-1, length).view(f"S{length}").ravel()
    return [
        pysam.FastxRecord(
            name=f"f{first + n // 2:07d}", sequence=sequence.decode(), quality=text.decode()
        )
        for n, (sequence, text) in enumerate(zip(sequences, texts))
    ]


def _paired(hits: list[list[pysam.AlignedSegment]]) -> list[pysam.AlignedSegment]:
    """Every alignment of each pair, with its pairing flags, mate fields and template length."""
    primaries = [
        next(r for r in reads if not r.flag & SECONDARY_OR_SUPPLEMENTARY) for reads in hits
    ]
    pairs = list(zip(primaries[0::2], primaries[1::2]))
    lengths = [_template_length(a, b) for a, b in pairs if _facing(a, b)]
    low, high = -1, -1
    if lengths:
        q25, q75 = np.percentile(lengths, [25, 75])
        low = q25 - PROPER_BOUND * (q75 - q25)
        high = q75 + PROPER_BOUND * (q75 - q25)
    out = []
    for index, reads in enumerate(hits):
        own, mate = primaries[index], primaries[index ^ 1]
        proper = bool(_facing(own, mate) and low <= _template_length(own, mate) <= high)
        for read in reads:
            _set_mate(read, mate, index % 2 == 0, proper)
        if own.is_unmapped and not mate.is_unmapped:  # placed at its mate, as samtools does
            own.reference_id, own.reference_start = mate.reference_id, mate.reference_start
        if not own.is_unmapped and not mate.is_unmapped:
            length = _template_length(own, mate)
            leftmost = (own.reference_start, own.is_reverse) <= (
                mate.reference_start,
                mate.is_reverse,
            )
            own.template_length = length if leftmost else -length
        out.extend(reads)
    return out


def _set_mate(read, mate, is_first: bool, proper: bool) -> None:
    read.flag |= PAIRED | (FIRST if is_first else SECOND) | (PROPER if proper else 0)
    if mate.is_unmapped:
        read.flag |= MATE_UNMAPPED
        if not read.is_unmapped:
            read.next_reference_id, read.next_reference_start = (
                read.reference_id,
                read.reference_start,
            )
        return
    read.flag |= MATE_REVERSE if mate.is_reverse else 0
    read.next_reference_id, read.next_reference_start = mate.reference_id, mate.reference_start
    read.set_tag("MC", mate.cigarstring)


def _facing(a, b) -> bool:
    """Both mapped, on opposite strands, the forward one starting first."""
    if a.is_unmapped or b.is_unmapped or a.is_reverse == b.is_reverse:
        return False
    forward, backward = (b, a) if a.is_reverse else (a, b)
    return forward.reference_start <= backward.reference_start


def _template_length(a, b) -> int:
    return max(a.reference_end, b.reference_end) - min(a.reference_start, b.reference_start)

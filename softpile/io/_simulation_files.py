"""Write a simulated sample as the files a real pipeline reads.

`ref.fa` (+ `.fai`), `reads.bam` (+ `.bai`, coordinate-sorted), `truth.vcf.gz` (+ `.tbi`) and
`confident.bed`, all through pysam, so that `softpile call`, `samtools` and `bcftools` can run on
a sample whose truth is known. The reads of a `Simulation` are written at their true place
(CIGARs with the indels); those of a `RealisticSimulation` are aligned with bwa mem.
"""

import contextlib
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pysam

from .._files import atomic_path
from ..simulate import RealisticSimulation, Simulation
from ._alignment import align_simulation

FASTA_LINE_WIDTH = 60
MAPPING_QUALITY = 60


@dataclasses.dataclass(frozen=True)
class SimulationFiles:
    """Paths written by `write_simulation`."""

    reference: Path
    reads: Path
    truth: Path
    confident: Path


def write_simulation(
    simulation: Simulation | RealisticSimulation,
    directory: str | os.PathLike,
    *,
    contig: str = "sim",
    sample: str = "sim",
) -> SimulationFiles:
    """Write a simulated sample as `ref.fa`, `reads.bam`, `truth.vcf.gz` and `confident.bed`
    in `directory`.

    The files and their indexes (`.fai`, `.bai`, `.tbi`) are written in a temporary folder
    inside `directory` and moved into place together once all are complete: a failure, or an
    interruption, leaves `directory` as it was. Reads are in a read group whose `SM` is `sample`.

    - A `Simulation` (from `softpile.simulate.simulate`): reads are unpaired, MAPQ 60, at their
      true place; every read's bases are stored on the forward strand (its `reverse` flag only
      sets the BAM flag). `confident.bed` is the whole contig.
    - A `RealisticSimulation` (from `softpile.simulate.simulate_realistic`, needs the
      `simulate` extra for pybwa): each mate is aligned with bwa mem, so MAPQ, placement, clips
      and CIGARs are the aligner's, mistakes in repeats included; the mate fields and the
      proper-pair flag are filled from the two primary alignments. `confident.bed` lists the
      positions outside every planted repeat (`RealisticSimulation.confident`).

    **Arguments:**

    - `simulation`: a `Simulation` or a `RealisticSimulation`.
    - `directory`: created if missing; existing files of these names are replaced.
    - `contig`: name of the one reference sequence.
    - `sample`: sample name of the read group and of the truth VCF column.

    **Returns:**

    A `SimulationFiles` with the four paths.

    ```python
    >>> import tempfile, pysam
    >>> from softpile.simulate import simulate
    >>> from softpile.io import write_simulation
    >>> sample = simulate(0, reference_length=300, read_length=50, indel_rate=0.01)
    >>> files = write_simulation(sample, tempfile.mkdtemp())
    >>> pysam.AlignmentFile(str(files.reads)).count() == sample.starts.size
    True

    ```
    """
    if not contig or any(c.isspace() for c in contig):
        raise ValueError(f"write_simulation: `contig` must be a non-empty word, got {contig!r}.")
    directory = Path(directory)
    missing = [folder for folder in (directory, *directory.parents) if not folder.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".softpile-simulate.", dir=directory))
    try:
        _write_fasta(staging / "ref.fa", contig, simulation.reference_string)
        if isinstance(simulation, RealisticSimulation):
            align_simulation(simulation, staging / "ref.fa", staging / "reads.bam", contig, sample)
            intervals = simulation.confident_intervals()
        else:
            _write_bam(staging / "reads.bam", simulation, contig, sample)
            intervals = [(0, int(simulation.reference.size))]
        _write_truth(staging / "truth.vcf.gz", simulation, contig, sample)
        _write_bed(staging / "confident.bed", contig, intervals)
        # Each index after its file: an index never stands beside data it does not describe.
        for name in (
            "ref.fa",
            "ref.fa.fai",
            "reads.bam",
            "reads.bam.bai",
            "truth.vcf.gz",
            "truth.vcf.gz.tbi",
            "confident.bed",
        ):
            os.replace(staging / name, directory / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in missing:  # the folders made here, deepest first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    staging.rmdir()
    return SimulationFiles(
        reference=directory / "ref.fa",
        reads=directory / "reads.bam",
        truth=directory / "truth.vcf.gz",
        confident=directory / "confident.bed",
    )


def _write_fasta(path: Path, contig: str, sequence: str) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write(f">{contig}\n")
            for offset in range(0, len(sequence), FASTA_LINE_WIDTH):
                handle.write(sequence[offset : offset + FASTA_LINE_WIDTH] + "\n")
    pysam.faidx(str(path))


def _write_bam(path: Path, simulation: Simulation, contig: str, sample: str) -> None:
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": contig, "LN": int(simulation.reference.size)}],
        "RG": [{"ID": sample, "SM": sample}],
        "PG": [{"ID": "softpile", "PN": "softpile", "CL": "softpile simulate"}],
    }
    # `simulate` returns reads sorted by start, which is coordinate order for one contig.
    order = np.argsort(simulation.starts, kind="stable")
    with atomic_path(path) as temporary:
        with pysam.AlignmentFile(str(temporary), "wb", header=header) as output:
            for n in order.tolist():
                read = pysam.AlignedSegment(output.header)
                read.query_name = f"read{n:07d}_h{int(simulation.read_haplotype[n])}"
                read.flag = 16 if simulation.reverse[n] else 0
                read.reference_id = 0
                read.reference_start = int(simulation.starts[n])
                read.mapping_quality = MAPPING_QUALITY
                read.cigartuples = [(int(op), int(size)) for op, size in simulation.cigars[n]]
                read.query_sequence = simulation.query_sequences[n]
                read.query_qualities = pysam.qualitystring_to_array(
                    "".join(chr(int(q) + 33) for q in simulation.query_quality[n])
                )
                read.set_tag("RG", sample)
                output.write(read)
    pysam.index(str(path))


def _write_bed(path: Path, contig: str, intervals: list[tuple[int, int]]) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.writelines(f"{contig}\t{start}\t{end}\n" for start, end in intervals)


def _write_truth(
    path: Path, simulation: Simulation | RealisticSimulation, contig: str, sample: str
) -> None:
    header = pysam.VariantHeader()
    header.add_line("##source=softpile.simulate")
    header.contigs.add(contig, length=int(simulation.reference.size))
    header.formats.add("GT", 1, "String", "Genotype")
    header.add_sample(sample)
    with atomic_path(path) as temporary, atomic_path(f"{path}.tbi") as temporary_index:
        with pysam.VariantFile(str(temporary), "wz", header=header) as output:
            for variant in simulation.truth_variants():
                record = output.new_record(
                    contig=contig,
                    start=variant.position,
                    alleles=(variant.reference, variant.alternate),
                )
                record.samples[sample]["GT"] = variant.genotype
                record.samples[sample].phased = True
                output.write(record)
        pysam.tabix_index(str(temporary), preset="vcf", force=True, index=str(temporary_index))

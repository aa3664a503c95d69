"""A tiny BAM + FASTA for docstring examples (written with pysam)."""

import os
from pathlib import Path

import pysam

EXAMPLE_REFERENCE = "ACGTACGTACGGTTCCAAGGTTAACCGGTTACGTACGTAC"


def write_example(directory: str | os.PathLike) -> tuple[Path, Path]:
    """Write `example.bam` (sorted, indexed; 3 reads on `chr1`) and `example.fa`.

    Reads: `3M2I2M1D3M` at 2 (an insertion and a deletion), `10M` at 4 and `8M` at 6.
    """
    directory = Path(directory)
    fasta = directory / "example.fa"
    fasta.write_text(f">chr1\n{EXAMPLE_REFERENCE}\n")
    pysam.faidx(str(fasta))
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 40}]}
    )
    bam = directory / "example.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for name, start, cigar, sequence in [
            ("r1", 2, "3M2I2M1D3M", "GTATTCGACG"),
            ("r2", 4, "10M", EXAMPLE_REFERENCE[4:14]),
            ("r3", 6, "8M", EXAMPLE_REFERENCE[6:14]),
        ]:
            read = pysam.AlignedSegment(header)
            read.query_name, read.reference_id, read.reference_start = name, 0, start
            read.cigarstring, read.query_sequence, read.mapping_quality = cigar, sequence, 60
            read.query_qualities = pysam.qualitystring_to_array("I" * len(sequence))
            out.write(read)
    pysam.index(str(bam))
    return bam, fasta

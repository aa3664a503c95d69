"""The small sample that the command-line tests run on (a 100 bp contig, and 20 reads that
carry one homozygous SNV), and a complete command line of each subcommand."""

import pysam
from io_helpers import make_read

REFERENCE = "ACGTTGCAAC" * 10
SNV = 30  # 0-based position of a homozygous SNV that every covering read carries


def snv_reads(header: pysam.AlignmentHeader) -> list[pysam.AlignedSegment]:
    """20 reads of 20M along chr1 of `REFERENCE`, 3 bp apart; those covering `SNV` carry it."""
    reads = []
    for number in range(20):
        start = number * 3
        sequence = list(REFERENCE[start : start + 20])
        if start <= SNV < start + 20:
            sequence[SNV - start] = "T" if REFERENCE[SNV] != "T" else "A"
        reads.append(make_read(header, f"r{number}", "chr1", start, "20M", "".join(sequence)))
    return reads


def command(name: str, bam: str = "reads.bam", reference: str = "ref.fa") -> list[str]:
    """A complete command line of `name`, whose output goes to the current folder."""
    return {
        "pileup": ["pileup", bam, "-f", reference, "-o", "out.tsv"],
        "call": ["call", bam, "-f", reference, "-o", "out.vcf.gz", "--quiet"],
        "plot": ["plot", bam, "-f", reference, "-r", "chr1:1-50", "-o", "out.png"],
        "simulate": ["simulate", "--out", "simulated", "--length", "500", "--coverage", "2"],
        "demo": ["demo", "--out", "figures"],
    }[name]

"""Check the files of a command line before any work, so that a bad one fails in one line
that starts with its path as the user gave it (`reads.sam: is SAM text; ...`).

The readers would fail later too, but with htslib's words, the path in the middle and
sometimes after minutes of work; these checks read only headers and a few bytes.
"""

import contextlib
import os
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import pysam

from ..cli import CommandError
from ._regions import parse_region

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
"""The empty block that ends every complete BGZF file (BAM, bgzipped VCF and FASTA)."""

CRAM3_EOF = bytes.fromhex(
    "0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b"
)
"""The empty container that ends every complete CRAM 3.x file."""

_SAM_HEADER = re.compile(rb"@(HD|SQ|RG|PG|CO)\t")

_DESCRIPTIONS = {
    "BAM": "a BAM file",
    "CRAM": "a CRAM file",
    "SAM": "SAM text",
    "FASTA": "a FASTA file",
    "FASTQ": "a FASTQ file (unaligned reads)",
    "VCF": "a VCF file",
    "BCF": "a BCF file",
    "gzip": "gzip-compressed data of an unknown format",
    "text": "a text file",
    "binary": "binary data of an unknown format",
}


def file_kind(path: str) -> str:
    """What `path` holds, from its first bytes: a key of `_DESCRIPTIONS`, or "empty"."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)  # a whole BGZF block at most
    if not head:
        return "empty"
    if head.startswith(b"CRAM"):
        return "CRAM"
    if head.startswith(b"\x1f\x8b"):
        try:
            # The first gzip member (a BGZF block) holds the start of the content.
            head = zlib.decompressobj(wbits=31).decompress(head, 4096)
        except zlib.error:
            return "gzip"
        if head.startswith(b"BAM\x01"):
            return "BAM"
        if head.startswith(b"BCF\x02"):
            return "BCF"
        kind = _text_kind(head)
        return "gzip" if kind in ("text", "binary") else kind
    return _text_kind(head)


def _text_kind(head: bytes) -> str:
    lines = head.split(b"\n", 4)
    if head.startswith(b"##fileformat=VCF"):
        return "VCF"
    if head.startswith(b">"):
        return "FASTA"
    if _SAM_HEADER.match(head) or len(lines[0].split(b"\t")) >= 11:
        return "SAM"
    if head.startswith(b"@") and len(lines) > 3 and lines[2].startswith(b"+"):
        return "FASTQ"
    if b"\x00" in head:
        return "binary"
    return "text"


def check_readable(path: str, expected: str) -> str:
    """Fail unless `path` is a readable, non-empty file; return its `file_kind`, or "stream"
    for a pipe or device (e.g. `<(samtools view -b ...)`), whose bytes can be read only once
    and so are left to the reader.

    `expected` names what it should be, for the messages (e.g. "a BAM or CRAM file").
    """
    if not os.path.exists(path):
        raise CommandError(f"{path}: does not exist.")
    if os.path.isdir(path):
        raise CommandError(f"{path}: is a folder; expected {expected}.")
    if not os.access(path, os.R_OK):
        raise CommandError(f"{path}: is not readable (permission denied).")
    if not os.path.isfile(path):
        return "stream"
    kind = file_kind(path)
    if kind == "empty":
        raise CommandError(f"{path}: is empty (0 bytes); expected {expected}.")
    return kind


def check_alignments(path: str, reference: str, *, need_index: bool) -> dict[str, int] | None:
    """Fail unless `path` is a complete BAM/CRAM (indexed if `need_index`); its contigs, or
    None for a stream (read once, by the reader)."""
    kind = check_readable(path, "a BAM or CRAM file")
    if kind == "stream":
        if need_index:
            raise CommandError(
                f"{path}: is a pipe or device, which has no index; a region is read through "
                "the index, so give an indexed BAM or CRAM file."
            )
        return None
    if kind == "SAM":
        bam = re.sub(r"\.sam$", "", path) + ".bam"
        raise CommandError(
            f"{path}: is SAM text; softpile reads indexed BAM/CRAM. Convert it with "
            f"`samtools sort -o {bam} {path} && samtools index {bam}`."
        )
    if kind not in ("BAM", "CRAM"):
        hint = " (the reference goes after -f)" if kind == "FASTA" else ""
        raise CommandError(
            f"{path}: is {_DESCRIPTIONS[kind]}, not BAM or CRAM; pass the aligned reads as a "
            f"coordinate-sorted BAM or CRAM{hint}."
        )
    if not _complete(path, kind):
        raise CommandError(
            f"{path}: is truncated (its end-of-file marker is missing); copy or write it again."
        )
    try:
        with _quiet_htslib():
            alignments = pysam.AlignmentFile(
                path, "r", reference_filename=reference, require_index=False, check_sq=False
            )
    except (OSError, ValueError) as error:
        raise CommandError(f"{path}: cannot be read as {kind} ({error}); is it corrupt?") from None
    with alignments:
        lengths = dict(zip(alignments.references, alignments.lengths))
        indexed = alignments.has_index()
    if not lengths:
        raise CommandError(
            f"{path}: its header lists no reference sequence (@SQ); pass reads aligned to the "
            "reference."
        )
    if need_index and not indexed:
        raise CommandError(
            f"{path}: has no index (.{'crai' if kind == 'CRAM' else 'bai'} or .csi); run "
            f"`samtools index {path}` (a region is read through the index)."
        )
    return lengths


def check_reference(path: str) -> dict[str, int]:
    """Fail unless `path` is a FASTA that pysam can index; its contigs and lengths."""
    kind = check_readable(path, "a FASTA file")
    if kind == "stream":
        raise CommandError(
            f"{path}: is a pipe or device; the reference must be a FASTA file (it is read "
            "through its .fai index)."
        )
    if kind != "FASTA":
        raise CommandError(
            f"{path}: is {_DESCRIPTIONS[kind]}, not FASTA; pass the reference the reads were "
            "aligned to with -f."
        )
    try:
        with _quiet_htslib(), pysam.FastaFile(path) as fasta:
            return dict(zip(fasta.references, fasta.lengths))
    except (OSError, ValueError) as error:
        raise CommandError(
            f"{path}: cannot be read as FASTA ({error}); it must be plain or bgzip-compressed, "
            "with a .fai index or in a folder where one can be written."
        ) from None


def check_inputs(
    bams: Sequence[str], reference: str, region: str | None, *, need_index: bool
) -> None:
    """Check the BAM/CRAM files and the reference of `pileup`, `call` and `plot`, and that the
    reference has the contigs of `region` (every contig when None) with the BAMs' lengths."""
    reference_lengths = check_reference(reference)
    first_lengths = None
    for bam in bams:
        lengths = check_alignments(bam, reference, need_index=need_index)
        if lengths is None:
            continue  # a stream: the reader checks its header
        if first_lengths is None:
            first_lengths = lengths
        elif lengths != first_lengths:
            raise CommandError(
                f"{bam}: its contigs differ from those of {bams[0]}; every BAM must be aligned "
                "to the same reference."
            )
        for contig, _, _ in parse_region(region, lengths):
            if contig not in reference_lengths:
                raise CommandError(
                    f"{reference}: has no contig {contig!r}, which the header of {bam} lists; "
                    "pass the FASTA the reads were aligned to."
                )
            if reference_lengths[contig] != lengths[contig]:
                raise CommandError(
                    f"{reference}: contig {contig!r} has length {reference_lengths[contig]} in "
                    f"the FASTA but {lengths[contig]} in the header of {bam}; pass the FASTA "
                    "the reads were aligned to."
                )


def check_variants(path: str) -> None:
    """Fail unless `path` is a VCF or BCF file (plain or bgzip-compressed)."""
    kind = check_readable(path, "a VCF file")
    if kind not in ("VCF", "BCF", "stream"):
        raise CommandError(f"{path}: is {_DESCRIPTIONS[kind]}, not VCF; pass a VCF file.")


def check_output(path: str, inputs: Sequence[str] = ()) -> None:
    """Fail before any work if the output file `path` could not be written in the end."""
    if os.path.isdir(path):
        raise CommandError(f"{path}: is a folder; give the name of the file to write.")
    for source in inputs:
        if os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise CommandError(f"{path}: is also an input; write the output to another name.")
    for folder in Path(path).parents:
        if folder.exists():
            if not folder.is_dir():
                raise CommandError(f"{path}: cannot be written: {folder} is a file, not a folder.")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise CommandError(f"{path}: cannot be written: no permission in {folder}.")
            return


def _complete(path: str, kind: str) -> bool:
    with open(path, "rb") as handle:
        if kind == "CRAM":
            major_version = handle.read(5)[4]
            if major_version != 3:  # other versions end differently; htslib checks them
                return True
            marker = CRAM3_EOF
        else:
            marker = BGZF_EOF
        size = handle.seek(0, os.SEEK_END)
        if size < len(marker):
            return False
        handle.seek(size - len(marker))
        return handle.read() == marker


@contextlib.contextmanager
def _quiet_htslib():
    # htslib logs to stderr (e.g. "[E::cram_index_load] Could not retrieve index file" for an
    # unindexed CRAM); the checks report what matters in their own one line.
    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)

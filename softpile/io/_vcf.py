"""Write variant calls as VCF 4.2 with pysam (bgzipped and tabix-indexed for `.gz`)."""

import contextlib
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pysam

from .._files import atomic_path
from ._call_types import VariantRecord

LOW_QUALITY_FILTER = "LowQual"


def write_vcf(
    path: str | os.PathLike,
    records: Iterable[VariantRecord],
    *,
    contigs: Sequence[tuple[str, int]],
    samples: Sequence[str],
    min_quality: float | int = 10.0,
    reference: str | os.PathLike | None = None,
    command_line: str | None = None,
) -> Path:
    """Write records as VCF 4.2: `GT:GQ:DP:AD:PL` per sample, `LowQual` below `min_quality`.

    A path ending in `.gz` is bgzip-compressed and gets a tabix index (`.tbi`). The file (and
    its index) appear only once complete: a failure leaves no partial output.

    **Arguments:**

    - `path`: output file (`.vcf` or `.vcf.gz`).
    - `records`: `VariantRecord`s sorted by contig (in `contigs` order) and position.
    - `contigs`: `(name, length)` of every contig, in order, for the `##contig` lines.
    - `samples`: one name per sample column (unique).
    - `min_quality`: records with QUAL below it get the `LowQual` filter, the others `PASS`.
    - `reference`: path of the reference FASTA, for a `##reference` line.
    - `command_line`: recorded as `##softpile_command`.

    **Returns:**

    The path written.

    ```python
    >>> import tempfile, pysam
    >>> from softpile.io import SampleCall, VariantRecord, write_vcf
    >>> call = SampleCall((0, 1), 45, 30, (15, 15), (120, 0, 130))
    >>> path = write_vcf(tempfile.mkdtemp() + "/calls.vcf.gz",
    ...                  [VariantRecord("chr1", 99, ("A", "G"), 60.0, (call,))],
    ...                  contigs=[("chr1", 1000)], samples=["NA12878"])
    >>> record = next(iter(pysam.VariantFile(str(path))))
    >>> record.pos, record.alleles, record.samples["NA12878"]["GT"], list(record.filter)
    (100, ('A', 'G'), (0, 1), ['PASS'])

    ```
    """
    path = Path(path)
    if len(set(samples)) != len(samples):
        raise ValueError(
            f"write_vcf: sample names must be unique, got {list(samples)}; rename the read "
            "groups (SM) or pass distinct names."
        )
    if not math.isfinite(min_quality):
        raise ValueError(f"write_vcf: `min_quality` must be a finite number, got {min_quality}.")
    header = _header(contigs, samples, min_quality, reference, command_line)
    lengths = dict(contigs)
    compressed = path.name.endswith(".gz")
    # Both files are renamed into place only once the index is built; the index goes first.
    with contextlib.ExitStack() as stack:
        temporary = stack.enter_context(atomic_path(path))
        temporary_index = stack.enter_context(atomic_path(f"{path}.tbi")) if compressed else None
        mode = "wz" if compressed else "w"
        with pysam.VariantFile(str(temporary), mode, header=header) as output:
            for record in records:
                _write_record(output, record, samples, min_quality, lengths)
        if compressed:
            pysam.tabix_index(str(temporary), preset="vcf", force=True, index=str(temporary_index))
    return path


def _header(contigs, samples, min_quality, reference, command_line) -> pysam.VariantHeader:
    header = pysam.VariantHeader()
    header.add_line("##source=softpile")
    if reference is not None:
        header.add_line(f"##reference=file://{Path(reference).resolve()}")
    if command_line is not None:
        header.add_line(f"##softpile_command={command_line}")
    for name, length in contigs:
        header.contigs.add(name, length=int(length))
    header.filters.add(LOW_QUALITY_FILTER, None, None, f"QUAL below {min_quality:g}")
    header.info.add("DP", 1, "Integer", "Total read depth over all samples")
    header.info.add("INDEL", 0, "Flag", "The record is an insertion or a deletion")
    header.formats.add("GT", 1, "String", "Genotype")
    header.formats.add("GQ", 1, "Integer", "Phred-scaled probability that the genotype is wrong")
    header.formats.add("DP", 1, "Integer", "Reads covering the site")
    header.formats.add("AD", "R", "Integer", "Reads supporting each allele")
    header.formats.add(
        "PL", "G", "Integer", "Phred-scaled genotype likelihoods, normalised to a minimum of 0"
    )
    for sample in samples:
        header.add_sample(sample)
    return header


def _write_record(out, record: VariantRecord, samples, min_quality, lengths) -> None:
    if record.contig not in lengths:
        raise ValueError(
            f"write_vcf: record on contig {record.contig!r} which is not in `contigs`."
        )
    if len(record.samples) != len(samples):
        raise ValueError(
            f"write_vcf: record at {record.contig}:{record.position + 1} has "
            f"{len(record.samples)} sample calls for {len(samples)} samples."
        )
    allele_count = len(record.alleles)
    genotype_count = allele_count * (allele_count + 1) // 2
    variant = out.new_record(
        contig=record.contig,
        start=record.position,
        alleles=record.alleles,
        qual=round(float(record.quality), 2),
        filter=LOW_QUALITY_FILTER if record.quality < min_quality else "PASS",
    )
    variant.info["DP"] = sum(call.depth for call in record.samples)
    if record.is_indel:
        variant.info["INDEL"] = True
    for name, call in zip(samples, record.samples):
        if len(call.allele_depths) != allele_count or len(call.phred_likelihoods) != (
            genotype_count
        ):
            raise ValueError(
                f"write_vcf: sample {name!r} at {record.contig}:{record.position + 1} needs "
                f"{allele_count} AD values and {genotype_count} PL values, got "
                f"{len(call.allele_depths)} and {len(call.phred_likelihoods)}."
            )
        fields = variant.samples[name]
        fields["GT"] = (None, None) if call.genotype is None else call.genotype
        fields["GQ"] = int(call.genotype_quality)
        fields["DP"] = int(call.depth)
        fields["AD"] = tuple(int(d) for d in call.allele_depths)
        fields["PL"] = tuple(int(p) for p in call.phred_likelihoods)
    out.write(variant)

"""`softpile plot`: a figure of one region of a BAM/CRAM (needs the `io` and `plot` extras).

Three panels share the x axis, in 1-based genome coordinates (as samtools, IGV and VCF):
the read depth, the pileup distribution over A, C, G, T and deletions with the reference
letters, and the genotype model's QUAL with a dashed line at `--min-qual`: the sites at or above
it are red on that track and outlined on the heatmap (and the variants of a truth VCF starred,
when given).
"""

import argparse
from pathlib import Path

import numpy as np

from ._files import atomic_path
from .cli import CheckedOption, CommandError, number_option
from .io._cli_options import add_filter_arguments, filter_options

MAX_POSITIONS = 20_000
"""Longest region drawn: beyond it the columns are thinner than a pixel."""

FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Plot one region of an indexed BAM/CRAM: depth, pileup heatmap and variant scores, "
        "with the read filters of `softpile pileup` (samtools' names and defaults)."
    )
    parser.add_argument("bam", help="coordinate-sorted, indexed BAM or CRAM")
    parser.add_argument("-f", "--reference", required=True, help="FASTA the reads were aligned to")
    parser.add_argument(
        "-r",
        "--region",
        required=True,
        help=f"samtools region, e.g. chr1:1,001-1,100 (at most {MAX_POSITIONS:,} positions)",
    )
    parser.add_argument(
        "-o", "--output", required=True, help="figure file: .png, .pdf or .svg (e.g. fig.png)"
    )
    parser.add_argument("--truth", help="VCF of known variants, starred on the variant track")
    parser.add_argument(
        "--min-qual",
        action=CheckedOption,
        check=number_option(float, minimum=0),
        default=10.0,
        help="outline sites whose QUAL is at least this (default 10, as softpile call)",
    )
    add_filter_arguments(parser)
    parser.add_argument(
        "--dpi",
        action=CheckedOption,
        check=number_option(minimum=1),
        default=100,
        help="resolution of a PNG (default 100)",
    )
    parser.add_argument("--title", help="figure title (default: file name and region)")


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    file_format = FORMATS.get(output.suffix.lower())
    if file_format is None:
        raise CommandError(
            f"{args.output}: the file name must end in .png, .pdf or .svg (the figure's format "
            f"is taken from it), e.g. {output.with_suffix('.png')}."
        )
    try:  # pysam and matplotlib are imported when used: `softpile demo` runs without them
        from . import plot  # noqa: F401
        from .io._inputs_check import check_inputs, check_output, check_variants
    except ImportError as error:
        raise CommandError(
            f"{error}; install the io and plot extras: pip install 'softpile[io,plot]'"
        ) from None
    check_inputs([args.bam], args.reference, args.region, need_index=True)
    if args.truth is not None:
        check_variants(args.truth)
    check_output(args.output, inputs=[args.bam, args.reference])
    figure, summary = region_figure(
        args.bam,
        args.reference,
        args.region,
        truth=args.truth,
        min_qual=args.min_qual,
        title=args.title,
        **filter_options(args),
    )
    with atomic_path(output) as temporary:
        figure.savefig(temporary, format=file_format, dpi=args.dpi)
    print(f"wrote {output}: {summary}")
    return 0


def region_figure(
    bam,
    reference,
    region,
    *,
    truth=None,
    min_qual: float = 10.0,
    title: str | None = None,
    **filters,
):
    """The figure of `softpile plot` and a one-line summary of what it shows.

    `region` is a samtools string (1-based, inclusive) or a 0-based half-open
    `(contig, start, end)` tuple; `filters` go to `softpile.io.pileup_region`. The x axis is
    in 1-based coordinates.
    """
    import pysam

    from . import io, plot
    from ._encoding import encode_sequence
    from ._variants import VariantModel, variant_scores

    with pysam.FastaFile(str(reference)) as fasta:
        lengths = dict(zip(fasta.references, fasta.lengths))
        ((contig, start, end),) = _one_region(io.parse_region(region, lengths), region)
        if end - start > MAX_POSITIONS:
            raise ValueError(
                f"region {region!r} has {end - start:,} positions; plot at most "
                f"{MAX_POSITIONS:,} at a time (e.g. {contig}:{start + 1}-{start + 1000})."
            )
        codes = encode_sequence(fasta.fetch(contig, start, end))
    piled = io.pileup_region(bam, reference, (contig, start, end), **filters)
    scores = variant_scores(VariantModel(), piled, codes)
    first = start + 1  # 1-based coordinate of the first position
    called = first + np.flatnonzero(np.asarray(scores.quality) >= min_qual)
    truth_positions = None if truth is None else _truth_positions(truth, contig, start, end)
    label = f"{region[0]}:{region[1] + 1}-{region[2]}" if isinstance(region, tuple) else region
    figure = plot.overview(
        piled,
        start=first,
        reference=np.asarray(codes),
        variants=called,
        scores=scores,
        truth=truth_positions,
        value="quality",
        threshold=min_qual,
        xlabel=f"{contig} position (1-based)",
        title=title if title is not None else f"{Path(bam).name}  {label}",
    )
    depth = np.asarray(piled.depth)
    summary = (
        f"{contig}:{first}-{end}, {end - start:,} positions, depth {int(depth.min())}-"
        f"{int(depth.max())}, {called.size} site(s) with QUAL >= {min_qual:g}"
    )
    if truth_positions is not None:
        summary += f", {truth_positions.size} truth variant(s)"
    return figure, summary


def _one_region(regions, given):
    if len(regions) != 1:
        raise ValueError(f"--region {given!r}: give one region, e.g. chr1:1,001-1,100.")
    return regions


def _truth_positions(path, contig: str, start: int, end: int) -> np.ndarray:
    """1-based positions of the truth VCF's records on `contig` inside the region."""
    import pysam

    with pysam.VariantFile(str(path)) as vcf:
        if contig not in vcf.header.contigs and len(vcf.header.contigs):
            return np.zeros(0, dtype=np.int64)
        # Scan rather than fetch: a small truth VCF need not be indexed.
        positions = [
            record.pos for record in vcf if record.chrom == contig and start < record.pos <= end
        ]
    return np.asarray(positions, dtype=np.int64)

"""Scoring for `accuracy.py`: call sets read with pysam after `bcftools norm`, each record
tagged with the regions it lies in, matched against the truth, and printed as Markdown tables.

- A record lies in the **confident** regions when its whole REF span is inside the BED (as a
  benchmark's high-confidence BED is used), and in a **repeat** when any base of its REF span is
  inside a planted element (either copy of a paralog or segmental duplication included).
- A call is a true positive when its key, `(seed, contig, POS, REF, ALT)` after `bcftools norm
  -f ref -m -any` (left-aligned, one ALT per record), is a truth record's key; its genotype is
  concordant when the unordered alleles match.
- F1 is `2 TP / (calls + truth)`; a ratio with nothing to count is NaN, printed as `-`.
"""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools

# QUAL bin edges of the calibration table; the last bin is open.
QUAL_BINS = (0.0, 10.0, 20.0, 30.0, 50.0, 100.0, math.inf)
FLAG_MIN_CALLS = 20  # a bin is flagged only with at least this many calls ...
FLAG_FACTOR = 2.0  # ... when its observed error is more than this times the claimed one


@dataclasses.dataclass(frozen=True)
class Call:
    """One normalised VCF record with a non-reference genotype."""

    key: tuple  # (seed, contig, POS, REF, ALT)
    genotype: tuple[int, ...]  # sorted allele indexes
    qual: float  # 0 when missing
    passed: bool  # FILTER is PASS or empty
    indel: bool
    confident: bool
    repeat: bool


def bed_mask(path: Path, contig: str, length: int) -> np.ndarray:
    """`(length,)` whether each 0-based position of `contig` is inside the BED file."""
    mask = np.zeros(length, dtype=bool)
    for line in Path(path).read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] == contig:
            mask[int(fields[1]) : int(fields[2])] = True
    return mask


def repeat_mask(elements, length: int) -> np.ndarray:
    """`(length,)` whether each position is inside a planted element (`RepeatElement`s): the
    element itself and, for a copy of another place, the place it was copied from."""
    mask = np.zeros(length, dtype=bool)
    for element in elements:
        mask[element.start : element.end] = True
        if element.source >= 0:
            mask[element.source : element.source + element.end - element.start] = True
    return mask


def load_calls(
    path: Path,
    reference: Path,
    normalised: Path,
    seed: int,
    confident: np.ndarray,
    repeat: np.ndarray,
) -> list[Call]:
    """The records of `path` whose genotype carries an ALT allele, after `bcftools norm -f
    reference -m -any` (written to `normalised`), tagged with the regions of the masks."""
    pysam.bcftools.norm(
        "-f", str(reference), "-m", "-any", "-o", str(normalised), str(path), catch_stdout=False
    )
    calls = []
    with pysam.VariantFile(str(normalised)) as vcf:
        for record in vcf:
            genotype = record.samples[0]["GT"]
            if not record.alts or genotype is None or None in genotype or not any(genotype):
                continue
            span = slice(record.start, record.stop)
            calls.append(
                Call(
                    key=(seed, record.contig, record.pos, record.ref, record.alts[0]),
                    genotype=tuple(sorted(genotype)),
                    qual=float(record.qual) if record.qual is not None else 0.0,
                    passed="PASS" in record.filter or len(record.filter) == 0,
                    indel=len(record.ref) != len(record.alts[0]),
                    confident=bool(confident[span].all()),
                    repeat=bool(repeat[span].any()),
                )
            )
    return calls


def match(calls: list[Call], truth: list[Call]) -> dict:
    """Precision, recall and F1 of `calls` against `truth` (both already restricted)."""
    keys = {t.key for t in truth}
    hits = sum(c.key in keys for c in calls)
    return dict(
        precision=_ratio(hits, len(calls)),
        recall=_ratio(hits, len(truth)),
        f1=_ratio(2 * hits, len(calls) + len(truth)),
    )


def score(calls: list[Call], truth: list[Call]) -> dict:
    """The row of a call set: SNV and indel precision, recall and F1 and genotype concordance
    (over the true SNVs and indels called) in the confident regions; SNV F1 over the whole
    genome split into unique sequence and repeats, and SNV precision in repeats."""

    def scored(test) -> dict:
        return match([c for c in calls if test(c)], [t for t in truth if test(t)])

    snv = scored(lambda v: not v.indel and v.confident)
    indel = scored(lambda v: v.indel and v.confident)
    unique = scored(lambda v: not v.indel and not v.repeat)
    repeat = scored(lambda v: not v.indel and v.repeat)
    genotypes = {t.key: t.genotype for t in truth if t.confident}
    concordant = [c.genotype == genotypes[c.key] for c in calls if c.key in genotypes]
    return {
        "SNV precision": snv["precision"],
        "SNV recall": snv["recall"],
        "SNV F1": snv["f1"],
        "indel precision": indel["precision"],
        "indel recall": indel["recall"],
        "indel F1": indel["f1"],
        "GT concordance": _ratio(sum(concordant), len(concordant)),
        "SNV F1 unique": unique["f1"],
        "SNV F1 repeat": repeat["f1"],
        "SNV precision repeat": repeat["precision"],
    }


def calibration(calls: list[Call], truth: list[Call]) -> list[tuple]:
    """Per non-empty QUAL bin: `(bin, calls, claimed error, observed error, flag)`. Claimed is
    the mean of 10^(-QUAL/10), observed the share of calls not in the truth; the flag says
    `over-confident` when observed is above `FLAG_FACTOR` times claimed in a bin of at least
    `FLAG_MIN_CALLS` calls."""
    keys = {t.key for t in truth}
    quals = np.array([c.qual for c in calls], dtype=float)
    wrong = np.array([c.key not in keys for c in calls], dtype=bool)
    rows = []
    for low, high in zip(QUAL_BINS[:-1], QUAL_BINS[1:]):
        chosen = (quals >= low) & (quals < high)
        if not chosen.any():
            continue
        claimed = float(np.mean(10.0 ** (-np.minimum(quals[chosen], 300.0) / 10.0)))
        observed = float(np.mean(wrong[chosen]))
        count = int(chosen.sum())
        flagged = count >= FLAG_MIN_CALLS and observed > FLAG_FACTOR * claimed
        label = f"[{low:g}, {high:g})" if high < math.inf else f">= {low:g}"
        rows.append((label, count, claimed, observed, "over-confident" if flagged else ""))
    return rows


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; floats with 4 decimals (NaN as `-`), other cells as `str`."""

    def cell(value) -> str:
        if isinstance(value, float):
            return "-" if math.isnan(value) else f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def alt_read_counts(bam: Path, reference: Path, contig: str, truth: list[Call]) -> np.ndarray:
    """For each confident true SNV, the reads whose base at its position is its ALT (softpile's
    exact counts, every base quality kept)."""
    from softpile.io import read_region

    snvs = [t for t in truth if t.confident and not t.indel]
    if not snvs:
        return np.zeros(0, dtype=np.int64)
    counts = np.asarray(
        read_region(bam, reference, contig, min_baseq=0).pileup(quality_weighting=False).counts
    )
    positions = np.array([t.key[2] - 1 for t in snvs])
    alts = np.array(["ACGT".index(t.key[4]) for t in snvs])
    return np.rint(counts[positions, alts]).astype(np.int64)


def recall_ceiling(alt_reads: np.ndarray, needed: int = 2) -> str:
    """What the reads allow: the share of true SNVs that `needed` reads show, and the best
    SNV F1 of a caller that needs that many (recall at most that share, precision 1)."""
    shown = float(np.mean(alt_reads >= needed)) if alt_reads.size else 0.0
    best = 2 * shown / (1 + shown) if shown else 0.0
    return (
        f"{np.sum(alt_reads >= needed)} of {alt_reads.size} confident true SNVs ({shown:.1%}) "
        f"have at least {needed} reads showing the ALT; a caller that needs {needed} recalls at "
        f"most that share, so its SNV F1 is at most {best:.4f}"
    )

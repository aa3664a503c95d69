"""The scoring of the accuracy benchmark (`benchmarks/accuracy_scoring.py`): region masks,
normalised records tagged with their regions, the score columns and the QUAL calibration."""

import math
import sys
from pathlib import Path

import numpy as np
import pysam

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from accuracy_scoring import (  # noqa: E402
    Call,
    bed_mask,
    calibration,
    load_calls,
    markdown_table,
    recall_ceiling,
    repeat_mask,
    score,
)

from softpile.simulate import RepeatElement  # noqa: E402


def test_masks(tmp_path):
    bed = tmp_path / "confident.bed"
    bed.write_text("sim\t0\t5\nother\t0\t50\nsim\t8\t10\n")
    assert bed_mask(bed, "sim", 12).nonzero()[0].tolist() == [0, 1, 2, 3, 4, 8, 9]
    elements = (
        RepeatElement("paralog", 2, 4),  # the copied place, listed as its own element ...
        RepeatElement("paralog", 10, 12, source=2, inverted=True),
        RepeatElement("tandem", 6, 7),
        RepeatElement("paralog", 14, 16, source=18),  # ... or only through `source`
    )
    assert repeat_mask(elements, 20).nonzero()[0].tolist() == [2, 3, 6, 10, 11, 14, 15, 18, 19]
    assert not repeat_mask((), 5).any()


def test_load_calls_normalises_and_tags(tmp_path):
    reference = "ACGTACGTAAAAACGTACGTACGTCCGATTGACA"
    (tmp_path / "ref.fa").write_text(f">sim\n{reference}\n")
    pysam.faidx(str(tmp_path / "ref.fa"))
    header = pysam.VariantHeader()
    header.contigs.add("sim", length=len(reference))
    header.formats.add("GT", 1, "String", "Genotype")
    header.filters.add("LowQual", None, None, "Low quality")
    header.add_sample("s")
    path = tmp_path / "calls.vcf"
    with pysam.VariantFile(str(path), "w", header=header) as vcf:
        for pos, alleles, gt, qual, filt in [
            (2, ("C", "T"), (0, 1), 50.0, "PASS"),
            (11, ("AA", "A"), (1, 1), 30.0, "PASS"),  # a deletion in the A run: left-aligned
            (22, ("C", "G"), (0, 0), 5.0, "LowQual"),  # no ALT allele called: left out
            (26, ("C", "A", "T"), (1, 2), 7.0, "LowQual"),  # split into two records
        ]:
            record = vcf.new_record(contig="sim", start=pos - 1, alleles=alleles, qual=qual)
            record.filter.add(filt)
            record.samples["s"]["GT"] = gt
            vcf.write(record)
    confident = np.ones(len(reference), dtype=bool)
    confident[9:12] = False
    repeat = ~confident
    calls = load_calls(path, tmp_path / "ref.fa", tmp_path / "norm.vcf", 7, confident, repeat)
    assert [c.key for c in calls] == [
        (7, "sim", 2, "C", "T"),
        (7, "sim", 8, "TA", "T"),
        (7, "sim", 26, "C", "A"),
        (7, "sim", 26, "C", "T"),
    ]
    assert [c.genotype for c in calls] == [(0, 1), (1, 1), (0, 1), (0, 1)]
    assert [c.passed for c in calls] == [True, True, False, False]
    assert [c.indel for c in calls] == [False, True, False, False]
    # The deletion's REF span, positions 7-8 (0-based), now ends before the masked 9-11.
    assert [c.confident for c in calls] == [True, True, True, True]
    assert not any(c.repeat for c in calls)


def _call(position, alt="T", genotype=(0, 1), qual=50.0, indel=False, repeat=False):
    return Call((1, "sim", position, "A", alt), genotype, qual, True, indel, not repeat, repeat)


def test_score():
    truth = [_call(1), _call(2, genotype=(1, 1)), _call(3), _call(4, "AT", indel=True)]
    truth += [_call(10, repeat=True), _call(11, repeat=True)]
    calls = [_call(1), _call(2), _call(5), _call(4, "AT", indel=True)]
    calls += [_call(10, repeat=True), _call(12, repeat=True), _call(13, repeat=True)]
    row = score(calls, truth)
    assert row["SNV precision"] == row["SNV recall"] == 2 / 3
    assert row["SNV F1"] == row["SNV F1 unique"] == 2 / 3
    assert row["indel precision"] == row["indel recall"] == row["indel F1"] == 1.0
    assert row["GT concordance"] == 2 / 3  # the hom SNV called het; the indel right
    assert row["SNV precision repeat"] == 1 / 3
    assert row["SNV F1 repeat"] == 2 * 1 / (3 + 2)
    empty = score([], [])
    assert all(math.isnan(value) for value in empty.values())


def test_calibration_bins_and_flag():
    truth = [_call(position) for position in range(25)]
    calls = [_call(position, qual=15.0) for position in range(20)]  # claims 3 %, all true
    calls += [_call(100 + position, qual=35.0) for position in range(5)]  # few: no flag
    calls += [_call(position, qual=120.0) for position in range(20, 25)]
    calls += [_call(200 + position, qual=120.0) for position in range(15)]  # 15 of 20 wrong
    rows = calibration(calls, truth)
    assert [row[:2] for row in rows] == [("[10, 20)", 20), ("[30, 50)", 5), (">= 100", 20)]
    assert math.isclose(rows[0][2], 10**-1.5) and rows[0][3] == 0.0 and rows[0][4] == ""
    assert rows[1][3] == 1.0 and rows[1][4] == ""
    assert rows[2][3] == 0.75 and rows[2][4] == "over-confident"


def test_markdown_table():
    table = markdown_table(["a", "b", "c"], [["x", 0.5, math.nan]])
    assert table.splitlines() == ["| a | b | c |", "|---|---|---|", "| x | 0.5000 | - |"]


def test_recall_ceiling_counts_snvs_that_enough_reads_show():
    line = recall_ceiling(np.array([0, 1, 2, 5, 9]))
    # 3 of 5 shown by >= 2 reads: recall <= 0.6, F1 <= 2 * 0.6 / 1.6 = 0.75.
    assert line.startswith("3 of 5 confident true SNVs (60.0%)")
    assert line.endswith("its SNV F1 is at most 0.7500")

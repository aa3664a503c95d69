"""`softpile pileup` against `samtools mpileup -B` (pysam's bundled samtools is the truth).

Every test compares all TSV columns (ref, depth, A, C, G, T, N, del, ins) on small BAMs
written here, with samtools' defaults and in raw mode, plus the options the case is about.
Where a case exists to exercise a filter, the test also checks that the filter changes
samtools' output, so the comparison cannot pass vacuously.
"""

import random

import pytest
from io_helpers import (
    RAW,
    differences,
    header_of,
    make_read,
    samtools_table,
    softpile_table,
    write_bam,
    write_fasta,
)

LENGTH = 200


@pytest.fixture(scope="module")
def reference() -> str:
    rng = random.Random(7)
    letters = [rng.choice("ACGT") for _ in range(LENGTH)]
    letters[120] = "N"
    return "".join(letters)


@pytest.fixture(scope="module")
def fasta(tmp_path_factory, reference):
    return write_fasta(tmp_path_factory.mktemp("fasta") / "ref.fa", {"chr1": reference})


class Builder:
    """Reads whose sequence follows the reference, with chosen changes."""

    def __init__(self, reference: str):
        self.reference = reference
        self.header = header_of({"chr1": LENGTH})
        self.reads = []

    def sequence(self, start: int, cigar: str, changes: dict[int, str] | None = None) -> str:
        import re

        letters, position, query = [], start, 0
        for count, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar):
            count = int(count)
            if op in "M=X":
                letters += list(self.reference[position : position + count])
                position += count
            elif op in "IS":
                letters += ["ACGT"[(query + k) % 4] for k in range(count)]
            elif op in "DN":
                position += count
            if op in "MIS=X":
                query += count
        for index, letter in (changes or {}).items():
            letters[index] = letter
        return "".join(letters)

    def add(self, name, start, cigar, *, changes=None, quality=None, **options):
        sequence = self.sequence(start, cigar, changes)
        if callable(quality):
            quality = [quality(i) for i in range(len(sequence))]
        elif isinstance(quality, int):
            quality = [quality] * len(sequence)
        read = make_read(self.header, name, "chr1", start, cigar, sequence, quality, **options)
        self.reads.append(read)
        return read

    def pair(self, name, first, second, *, flag=0x3, first_options=None, second_options=None):
        (first_start, first_cigar), (second_start, second_cigar) = first, second
        span = second_start + 60 - first_start
        self.add(
            name,
            first_start,
            first_cigar,
            flag=flag | 0x40 | 0x20,
            mate_contig="chr1",
            mate_start=second_start,
            template_length=span,
            **(first_options or {}),
        )
        self.add(
            name,
            second_start,
            second_cigar,
            flag=flag | 0x80 | 0x10,
            mate_contig="chr1",
            mate_start=first_start,
            template_length=-span,
            **(second_options or {}),
        )

    def write(self, path):
        return write_bam(path, {"chr1": LENGTH}, self.reads)


def assert_parity(bam, fasta, *options, truth_options=None):
    truth = samtools_table(bam, fasta, *(truth_options or options))
    ours = softpile_table(bam, fasta, *options)
    assert truth, "samtools printed nothing: the case exercises nothing"
    assert ours == truth, differences(truth, ours)[:10]
    return truth


MODES = [pytest.param([], id="defaults"), pytest.param(RAW, id="raw")]


@pytest.fixture(scope="module")
def cigar_bam(tmp_path_factory, reference):
    """Every CIGAR operation, reads starting/ending in indels, N bases, QUAL '*'."""
    b = Builder(reference)
    b.add("match", 5, "30M", changes={3: "T", 4: "N"})
    b.add("equal_diff", 8, "10=1X10=", changes={10: "G"})
    b.add("ins", 10, "10M3I10M")
    b.add("del", 12, "8M4D12M", quality=lambda i: 20 if i != 8 else 5)
    b.add("skip", 14, "6M20N6M", flag=0x10)
    b.add("soft_hard", 16, "3H4S15M5S2H")
    b.add("starts_with_del", 20, "3D12M")
    b.add("starts_with_ins", 22, "2S3I12M")
    b.add("ends_with_del", 24, "12M3D")
    b.add("ends_with_ins", 26, "12M4I")
    b.add("ends_with_ins_clip", 26, "12M2I3S")
    b.add("del_then_ins", 28, "6M2D2I6M", quality=lambda i: 9 if i == 6 else 30)
    b.add("skip_then_ins", 30, "6M5N2I6M")
    b.add("pad_then_ins", 32, "6M1P2I6M")
    b.add("ins_del_ins", 34, "5M1I2D1I5M")
    b.add("ref_n", 110, "20M")  # covers the reference N at 120
    b.add("read_ns", 112, "15M", changes={0: "N", 5: "N", 7: "N"})
    b.add("low_quality", 40, "20M", quality=lambda i: (0, 5, 12, 13, 14, 40)[i % 6])
    b.add("del_low_next", 44, "5M2D10M", quality=lambda i: 30 if i != 5 else 10)
    qual_star = b.add("qual_star", 50, "10M")
    qual_star.query_qualities = None
    return b.write(tmp_path_factory.mktemp("cigars") / "cigars.bam")


@pytest.mark.parametrize("mode", MODES)
def test_every_cigar_operation(cigar_bam, fasta, mode):
    truth = assert_parity(cigar_bam, fasta, *mode)
    # The cases are really there: insertions, deletions and N bases are counted.
    assert sum(row[8] for row in truth.values()) >= 6
    assert sum(row[7] for row in truth.values()) >= 5
    assert sum(row[6] for row in truth.values()) >= 3


@pytest.mark.parametrize("options", [["-Q", "0"], ["-Q", "14"], ["-Q", "30"], ["-Q", "41"]])
def test_base_quality_thresholds(cigar_bam, fasta, options):
    assert_parity(cigar_bam, fasta, *options)


@pytest.fixture(scope="module")
def flag_bam(tmp_path_factory, reference):
    """Unmapped, secondary, supplementary, duplicate, QC-fail reads; orphans; MAPQ."""
    b = Builder(reference)
    b.add("plain", 10, "20M")
    b.add("unmapped_placed", 12, "20M", flag=0x4)
    b.add("secondary", 14, "20M", flag=0x100)
    b.add("supplementary", 16, "20M", flag=0x800)
    b.add("duplicate", 18, "20M", flag=0x400)
    b.add("qc_fail", 20, "20M", flag=0x200)
    b.add("orphan", 22, "20M", flag=0x1 | 0x40, mate_contig="chr1", mate_start=100)
    b.add("orphan_mate_unmapped", 24, "20M", flag=0x1 | 0x8 | 0x40)
    b.pair("proper", (26, "20M"), (90, "20M"))
    b.add("mapq0", 28, "20M", mapq=0)
    b.add("mapq19", 30, "20M", mapq=19)
    b.add("mapq20", 32, "20M", mapq=20)
    b.add("mapq255", 34, "20M", mapq=255)
    return b.write(tmp_path_factory.mktemp("flags") / "flags.bam")


@pytest.mark.parametrize(
    "options",
    [
        [],
        RAW,
        ["-q", "20"],
        ["-q", "60"],
        ["-A"],
        ["--ff", "UNMAP"],
        ["--ff", "0"],
        ["--ff", "0x904"],
        ["--excl-flags", "UNMAP,SECONDARY,SUPPLEMENTARY"],
    ],
)
def test_read_filters(flag_bam, fasta, options):
    assert_parity(flag_bam, fasta, *options)


def test_baq_flag_is_accepted(flag_bam, fasta):
    # `-B` (BAQ off) is what softpile always does; accepting it keeps command lines portable.
    assert softpile_table(flag_bam, fasta, "-B") == samtools_table(flag_bam, fasta)


def test_read_filters_are_exercised(flag_bam, fasta):
    defaults = samtools_table(flag_bam, fasta)
    for options in (["-q", "20"], ["-A"], ["--ff", "UNMAP"]):
        assert samtools_table(flag_bam, fasta, *options) != defaults, options


@pytest.fixture(scope="module")
def overlap_bam(tmp_path_factory, reference):
    """Overlapping mates that agree and disagree, with both name-hash parities."""
    b = Builder(reference)
    for k, name in enumerate(["q1", "q2", "q3", "q4", "pair_a", "pair_b"]):
        start = 5 + 12 * k
        # Agreeing: two Q9 bases become one Q18 base that passes -Q 13.
        b.pair(
            name + "_agree",
            (start, "20M"),
            (start + 8, "20M"),
            first_options={"quality": 9},
            second_options={"quality": 9},
        )
        # Disagreeing bases, unequal and equal qualities.
        b.pair(
            name + "_disagree",
            (start + 2, "20M"),
            (start + 6, "20M"),
            first_options={"quality": 30},
            second_options={
                "quality": lambda i: 30 if i % 2 else 20,
                "changes": {
                    i: "A" if b.reference[start + 6 + i] != "A" else "C" for i in range(14)
                },
            },
        )
    # Gapped overlaps: deletions and reference skips inside the overlap.
    b.pair(
        "gap_del",
        (100, "10M3D15M"),
        (104, "20M"),
        first_options={"quality": 15},
        second_options={"quality": 15},
    )
    b.pair(
        "gap_skip",
        (130, "8M6N15M"),
        (133, "25M"),
        first_options={"quality": 12},
        second_options={"quality": 12},
    )
    b.pair(
        "gap_both",
        (150, "5M2D10M"),
        (152, "4M3N8M2D4M"),
        first_options={"quality": 14},
        second_options={"quality": 10},
    )
    b.pair(
        "ins_overlap",
        (170, "6M2I10M"),
        (172, "4M2I10M"),
        first_options={"quality": 9},
        second_options={"quality": 9},
    )
    return b.write(tmp_path_factory.mktemp("overlaps") / "overlaps.bam")


@pytest.mark.parametrize(
    "options", [[], RAW, ["-Q", "20"], ["-Q", "25"], ["-x"], ["-Q", "10", "-A"]]
)
def test_overlapping_mates(overlap_bam, fasta, options):
    assert_parity(overlap_bam, fasta, *options)


def test_overlap_removal_is_exercised(overlap_bam, fasta):
    assert samtools_table(overlap_bam, fasta) != samtools_table(overlap_bam, fasta, "-x")
    assert samtools_table(overlap_bam, fasta, "-Q", "25") != samtools_table(
        overlap_bam, fasta, "-Q", "25", "-x"
    )


@pytest.fixture(scope="module")
def deep_bam(tmp_path_factory, reference):
    """Depth above --max-depth: many reads at one start, and reads failing min-BQ."""
    b = Builder(reference)
    for i in range(12):
        b.add(f"same_start{i}", 10, "30M", quality=8 if i % 3 == 0 else 30)
    for i in range(6):
        b.add(f"next_start{i}", 11 + i % 2, "20M")
    for i in range(8):
        b.add(f"later{i}", 39, "10M")  # starts where the first group has just ended
    return b.write(tmp_path_factory.mktemp("deep") / "deep.bam")


@pytest.mark.parametrize(
    "options", [[], RAW, ["-d", "1"], ["-d", "5"], ["-d", "9"], ["-d", "5", "-Q", "0"]]
)
def test_max_depth(deep_bam, fasta, options):
    assert_parity(deep_bam, fasta, *options)


def test_max_depth_is_exercised(deep_bam, fasta):
    assert samtools_table(deep_bam, fasta, "-d", "5") != samtools_table(deep_bam, fasta, "-d", "0")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("region", ["chr1:15-40", "chr1:1,5-4,0", "chr1:33-33", "chr1:100-"])
def test_regions_and_overhanging_reads(cigar_bam, fasta, mode, region):
    truth = samtools_table(cigar_bam, fasta, "-r", region, *mode)
    ours = softpile_table(cigar_bam, fasta, "-r", region, *mode)
    assert ours == truth, differences(truth, ours)[:10]


@pytest.mark.parametrize("window", ["1", "7", "1000"])
def test_window_size_does_not_change_results(cigar_bam, overlap_bam, fasta, window, tmp_path):
    for bam in (cigar_bam, overlap_bam):
        truth = samtools_table(bam, fasta)
        ours = softpile_table(
            bam, fasta, "--window-size", window, output=tmp_path / f"{bam.stem}.tsv"
        )
        assert ours == truth, differences(truth, ours)[:10]


@pytest.mark.parametrize("all_positions", ["-a", "-aa"])
def test_all_positions_match_samtools(cigar_bam, fasta, all_positions):
    """-a and -aa print every position of a contig with reads; of a region without reads,
    only -aa prints the positions."""
    truth = samtools_table(cigar_bam, fasta, all_positions, keep_empty=True)
    ours = softpile_table(cigar_bam, fasta, all_positions)
    assert len(ours) == LENGTH
    assert ours == truth, differences(truth, ours)[:10]
    truth = samtools_table(cigar_bam, fasta, all_positions, "-r", "chr1:150-170", keep_empty=True)
    ours = softpile_table(cigar_bam, fasta, all_positions, "-r", "chr1:150-170")
    assert len(ours) == (21 if all_positions == "-aa" else 0) and ours == truth
    truth = samtools_table(cigar_bam, fasta, all_positions, "-r", "chr1:20-60", keep_empty=True)
    ours = softpile_table(cigar_bam, fasta, all_positions, "-r", "chr1:20-60")
    assert len(ours) == 41 and ours == truth


def test_several_contigs_soft_masked_reference_and_cram(tmp_path):
    rng = random.Random(3)
    contigs = {
        "c1": "".join(rng.choice("ACGTacgt") for _ in range(80)),
        "c2": "".join(rng.choice("ACGT") for _ in range(40)),
        "c3": "".join(rng.choice("ACGT") for _ in range(60)),
    }
    fasta = write_fasta(tmp_path / "multi.fa", contigs)
    lengths = {name: len(sequence) for name, sequence in contigs.items()}
    header = header_of(lengths)
    reads = []
    for name, contig, start, cigar in [
        ("a", "c1", 3, "20M"),
        ("b", "c1", 10, "5M2D10M"),
        ("c", "c3", 0, "30M"),
        ("d", "c3", 25, "10M2I10M"),
    ]:
        sequence = "".join(
            contigs[contig][start + i].upper() for i in range(int(cigar.split("M")[0]))
        )
        if "D" in cigar:
            sequence += contigs[contig][start + 7 : start + 17].upper()
        if "I" in cigar:
            sequence += "AC" + contigs[contig][start + 10 : start + 20].upper()
        reads.append(make_read(header, name, contig, start, cigar, sequence))
    bam = write_bam(tmp_path / "multi.bam", lengths, reads)
    for mode in ([], RAW):
        assert_parity(bam, fasta, *mode)
    # -a prints the contigs where some read passed the filters (c1, c3), -aa every contig;
    # without reads in a region, -a prints nothing and -aa the region.
    for all_positions, contigs_printed in (("-a", {"c1", "c3"}), ("-aa", {"c1", "c2", "c3"})):
        truth = samtools_table(bam, fasta, all_positions, keep_empty=True)
        assert {contig for contig, _ in truth} == contigs_printed
        assert softpile_table(bam, fasta, all_positions) == truth
        truth = samtools_table(bam, fasta, all_positions, "-r", "c2:5-9", keep_empty=True)
        assert len(truth) == (5 if all_positions == "-aa" else 0)
        assert softpile_table(bam, fasta, all_positions, "-r", "c2:5-9") == truth
    # CRAM needs the reference to decode; same counts.
    import pysam

    cram = tmp_path / "multi.cram"
    pysam.view("-C", "-T", str(fasta), "-o", str(cram), str(bam), catch_stdout=False)
    pysam.index(str(cram))
    assert softpile_table(cram, fasta, output=tmp_path / "cram.tsv") == samtools_table(bam, fasta)


@pytest.fixture(scope="module")
def corner_bam(tmp_path_factory, reference):
    """`=` bases, zero-length operations, reads without SEQ, and names shared by three reads
    (a "triplet": htslib's mate hash sees the third read after the first two paired)."""
    header = header_of({"chr1": LENGTH})
    reads = []

    def add(name, start, cigar, sequence, **options):
        reads.append(make_read(header, name, "chr1", start, cigar, sequence, **options))

    ref = reference
    add("equals", 5, "12M", "==" + ref[7:12] + "=" + ref[13:14] + "A==")
    add("equals_star", 6, "8M", "=" * 8)
    add("zero_ops", 8, "3M0I4M0D2M0N3M", ref[8:20])
    add("zero_lead", 9, "0M2S6M0I", "TT" + ref[9:15])
    add("no_seq", 10, "10M", None)
    add("no_seq_gap", 11, "4M2D4M", None)
    paired = dict(flag=0x1 | 0x2, mate_contig="chr1")
    for name, starts in (("trip", (40, 45, 50)), ("quad", (60, 62, 64, 66))):
        for k, start in enumerate(starts):
            mate = starts[(k + 1) % len(starts)]
            sequence = ref[start : start + 20]
            if k % 2:
                sequence = sequence[:5] + ("A" if sequence[5] != "A" else "C") + sequence[6:]
            quality = [10 + 7 * k + i % 5 for i in range(20)]
            add(name, start, "20M", sequence, quality=quality, mate_start=mate, **paired)
    path = tmp_path_factory.mktemp("corners") / "corners.bam"
    return write_bam(path, {"chr1": LENGTH}, reads)


@pytest.mark.parametrize("options", [[], ["-Q", "0"], ["-Q", "20"], RAW])
def test_rare_corners_match_samtools(corner_bam, fasta, options):
    truth = assert_parity(corner_bam, fasta, *options)
    assert ("chr1", 6) in truth  # the `=` reads are counted


@pytest.mark.parametrize("options", [[], ["-d", "3"], RAW])
def test_processes_do_not_change_results(
    cigar_bam, overlap_bam, deep_bam, corner_bam, fasta, options, tmp_path, monkeypatch
):
    """Shards counted by two processes give samtools' table, also where the buffer cap may
    drop reads (the contig is then finished by one sequential pass)."""
    import softpile.io._shards

    monkeypatch.setattr(softpile.io._shards, "MIN_SHARDED_LENGTH", 1)  # shard these small files
    for bam in (cigar_bam, overlap_bam, deep_bam, corner_bam):
        truth = samtools_table(bam, fasta, *options)
        ours = softpile_table(
            bam,
            fasta,
            *options,
            "--threads",
            "2",
            "--window-size",
            "9",
            output=tmp_path / f"{bam.stem}.tsv",
        )
        assert ours == truth, differences(truth, ours)[:10]

"""The Python API of softpile.io: ReadBatch contents, regions, flags, windows, pileups."""

import dataclasses
import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest
from io_helpers import (
    header_of,
    make_read,
    random_alignments,
    samtools_table,
    write_bam,
    write_fasta,
)

import softpile
import softpile.io
from softpile.io._overlaps import name_hash_bits

REFERENCE = "ACGTACGTACGGTTCCAAGGTTAACCGGTTACGTACGTAC"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    directory = tmp_path_factory.mktemp("api")
    fasta = write_fasta(directory / "ref.fa", {"chr1": REFERENCE, "chr2": "ACGT" * 5})
    lengths = {"chr1": 40, "chr2": 20}
    header = header_of(lengths)
    reads = [
        # 3M 2I 2M 1D 3M at 2: G T A [TT] C G - A C G
        make_read(
            header,
            "r1",
            "chr1",
            2,
            "3M2I2M1D3M",
            "GTATTCGACG",
            list(range(30, 40)),
            flag=16,
            mapq=50,
        ),
        # 2S 2M 3N 2M at 5: C (Q20) G (Q5: filtered) skip skip skip C (Q25) G (Q30)
        make_read(header, "r2", "chr1", 5, "2S2M3N2M", "AACGCG", [10, 10, 20, 5, 25, 30], mapq=7),
        # 10M at 8, clipped by the region's end (12).
        make_read(header, "r3", "chr1", 8, "10M", REFERENCE[8:18], mapq=60),
        make_read(header, "other", "chr2", 0, "5M", "ACGTA"),
    ]
    bam = write_bam(directory / "small.bam", lengths, reads)
    return bam, fasta


def test_read_region_contents(small):
    bam, fasta = small
    batch = softpile.io.read_region(bam, fasta, ("chr1", 0, 12))
    assert (batch.contig, batch.region_start, batch.region_end) == ("chr1", 0, 12)
    assert batch.names == ("r1", "r2", "r3")
    np.testing.assert_array_equal(batch.starts, [2, 5, 8])
    A, C, G, T, GAP, PAD = 0, 1, 2, 3, 4, -1
    np.testing.assert_array_equal(
        batch.codes,
        [
            [G, T, A, C, G, GAP, A, C, G],
            [C, PAD, PAD, PAD, PAD, C, G, PAD, PAD],
            [A, C, G, G, PAD, PAD, PAD, PAD, PAD],
        ],
    )
    # The deletion carries the quality of the next query base (index 7, Q37).
    np.testing.assert_array_equal(
        batch.quality,
        [
            [30, 31, 32, 35, 36, 37, 37, 38, 39],
            [20, 0, 0, 0, 0, 25, 30, 0, 0],
            [30, 30, 30, 30, 0, 0, 0, 0, 0],
        ],
    )
    expected_insertions = np.zeros((3, 9))
    expected_insertions[0, 2] = 1.0
    np.testing.assert_array_equal(batch.insertions, expected_insertions)
    assert batch.inserted_sequences == ({2: "TT"}, {}, {})
    # Cycles: r1 is reverse (10 bases: query index q is cycle 9 - q; the deletion takes the
    # next base's), r2 counts its soft clip, r3 is cut by the region.
    np.testing.assert_array_equal(
        batch.cycles,
        [
            [9, 8, 7, 4, 3, 2, 2, 1, 0],
            [2, -1, -1, -1, -1, 4, 5, -1, -1],
            [0, 1, 2, 3, -1, -1, -1, -1, -1],
        ],
    )
    np.testing.assert_array_equal(batch.mapq, [50, 7, 60])
    np.testing.assert_array_equal(batch.reverse, [True, False, False])
    np.testing.assert_array_equal(batch.reference, softpile.encode_sequence(REFERENCE[:12]))


def test_read_region_filters_and_region_forms(small):
    bam, fasta = small
    strict = softpile.io.read_region(bam, fasta, "chr1:1-12", min_mapq=10, min_baseq=31)
    assert strict.names == ("r1", "r3")
    # Q30..Q32 bases fail min_baseq=31 except Q31 and Q32; r3's Q30 bases all fail.
    np.testing.assert_array_equal(strict.codes[0, :3], [-1, 3, 0])
    assert not np.any(strict.codes[1] >= 0)
    whole = softpile.io.read_region(bam, fasta, "chr2")
    assert whole.names == ("other",) and whole.region_end == 20
    commas = softpile.io.read_region(bam, fasta, "chr1:1,1-2,0")
    assert (commas.region_start, commas.region_end) == (10, 20)


def test_a_batch_built_by_hand_gets_defaults():
    batch = softpile.io.ReadBatch(
        starts=[3, 5], codes=[[0, 1, 4, 2], [2, -1, -1, -1]], quality=np.full((2, 4), 30.0)
    )
    assert (batch.contig, batch.region_start, batch.region_end) == ("chr", 0, 7)
    assert batch.num_reads == 2 and batch.inserted_sequences == ({}, {})
    np.testing.assert_array_equal(batch.insertions, np.zeros((2, 4)))
    unknown = (batch.cycles, batch.mapq, batch.reverse, batch.names, batch.read_weights)
    assert unknown == (None,) * 5 and batch.reference is None
    np.testing.assert_array_equal(batch.templates(), [0, 1])
    np.testing.assert_array_equal(batch.capped_quality(), batch.quality)
    # Per-read weights weigh the pileup; those given to `pileup` replace them.
    weighted = dataclasses.replace(batch, read_weights=np.array([2.0, 0.5]))
    coverage = weighted.pileup(quality_weighting=False).coverage.tolist()
    assert coverage == [0.0, 0.0, 0.0, 2.0, 2.0, 2.5, 2.0]
    coverage = weighted.pileup(quality_weighting=False, read_weights=np.ones(2)).coverage
    assert coverage.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 1.0]
    # Mates share a template; MAPQ caps the qualities (255 caps nothing).
    named = dataclasses.replace(batch, names=["a", "a"], mapq=np.array([20, 255]))
    np.testing.assert_array_equal(named.templates(), [0, 0])
    np.testing.assert_array_equal(named.capped_quality(), [[20.0] * 4, [30.0] * 4])
    empty = softpile.io.ReadBatch(
        starts=np.zeros(0, int), codes=np.zeros((0, 0)), quality=np.zeros((0, 0))
    )
    assert (empty.num_reads, empty.region_end) == (0, 0)


def test_a_batch_from_a_simulation():
    from softpile.simulate import simulate

    sample = simulate(0, reference_length=300, read_length=50, indel_rate=1e-2)
    batch = softpile.io.ReadBatch.from_simulation(sample)
    assert (batch.contig, batch.region_start, batch.region_end) == ("sim", 0, 300)
    for name, field in [("starts", "starts"), ("reads", "codes"), ("quality", "quality")]:
        np.testing.assert_array_equal(getattr(batch, field), getattr(sample, name))
    np.testing.assert_array_equal(batch.insertions, sample.insertions)
    assert batch.inserted_sequences == sample.inserted_sequences
    np.testing.assert_array_equal(batch.reference, sample.reference)
    assert batch.cycles is not None and batch.cycles.dtype == np.int16
    columns = np.broadcast_to(np.arange(sample.reads.shape[1]), sample.reads.shape)
    np.testing.assert_array_equal(batch.cycles, np.where(sample.reads == -1, -1, columns))
    assert (batch.mapq, batch.reverse, batch.names, batch.read_weights) == (None,) * 4


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(codes=np.zeros(4)), "`codes` must be (reads, columns), got (4,)"),
        (dict(quality=np.zeros((2, 3))), "`quality` needs the shape of `codes` (2, 4)"),
        (dict(insertions=np.zeros((1, 4))), "`insertions` needs the shape of `codes`"),
        (dict(cycles=np.zeros((2, 5))), "`cycles` needs the shape of `codes`"),
        (dict(starts=[1]), "`starts` needs one entry per read (2), got shape (1,)"),
        (dict(mapq=[60, 60, 60]), "`mapq` needs one entry per read (2)"),
        (dict(reverse=[[True, False]]), "`reverse` needs one entry per read (2)"),
        (dict(read_weights=[1.0]), "`read_weights` needs one entry per read (2)"),
        (dict(names=["a"]), "`names` needs one entry per read (2), got 1"),
        (dict(inserted_sequences=[{}]), "`inserted_sequences` needs one entry per read (2)"),
        (dict(region_start=10, region_end=5), "`region_end` (5) is before `region_start` (10)"),
        (dict(reference=[0, 1]), "`reference` needs 9 codes, got shape (2,)"),
    ],
)
def test_a_batch_built_by_hand_is_checked(changes, message):
    fields = dict(starts=[3, 5], codes=np.zeros((2, 4), int), quality=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=re.escape(f"ReadBatch: {message}")):
        softpile.io.ReadBatch(**{**fields, **changes})


def test_regions():
    lengths = {"chr1": 1000, "chr2": 50}
    parse = softpile.io.parse_region
    assert parse("chr1", lengths) == [("chr1", 0, 1000)]
    assert parse("chr1:101-200", lengths) == [("chr1", 100, 200)]
    assert parse("chr1:1,000-", lengths) == [("chr1", 999, 1000)]
    assert parse("chr1:101", lengths) == [("chr1", 100, 1000)]
    assert parse("chr2:10-5,000", lengths) == [("chr2", 9, 50)]
    assert parse(("chr2", 3, 8), lengths) == [("chr2", 3, 8)]
    assert parse(None, lengths) == [("chr1", 0, 1000), ("chr2", 0, 50)]
    for bad, message in [
        ("chr1:0-10", "1-based"),
        ("chr1:30-20", "start <= end"),
        ("chr1:x-2", "malformed"),
        ("chrX", "unknown contig 'chrX'"),
        ("chr2:51-60", "starts after the end"),
        (("chr1", 5, 5), "0 <= start < end"),
        (("chr1", 5), "(contig, start, end)"),
    ]:
        with pytest.raises(ValueError) as error:
            parse(bad, lengths)
        assert message in str(error.value), (bad, str(error.value))


def test_flags():
    parse = softpile.io.parse_flags
    assert parse("UNMAP,SECONDARY,QCFAIL,DUP") == 0x704
    assert parse("unmap, supplementary") == 0x804
    assert parse(0x904) == 0x904
    assert parse("0x904") == 0x904 and parse("2308") == 2308
    with pytest.raises(ValueError, match="unknown flag name 'DUPE'"):
        parse("DUPE")


def test_name_hash_bit_matches_samtools_choice():
    # Measured with samtools 1.24 (pysam 0.24.1): for pairs named q1..q4 whose overlapping
    # bases agree, only q3's first mate kept the summed quality (see test_io_parity).
    names = np.array([f"q{i}".encode() for i in range(1, 5)])
    assert name_hash_bits(names).tolist() == [False, False, True, False]


@pytest.fixture(scope="module")
def random_case(tmp_path_factory):
    return random_alignments(4242, tmp_path_factory.mktemp("random"))


def test_pileup_region_gives_samtools_counts(random_case):
    bam, fasta = random_case
    result = softpile.io.pileup_region(
        bam, fasta, "chr1", n_channel=True, quality_weighting=False, window_size=50
    )
    truth = samtools_table(bam, fasta)
    assert truth
    counts = np.asarray(result.counts)
    depth = np.asarray(result.depth)
    insertions = np.asarray(result.insertions)
    for position in range(150):
        row = truth.get(("chr1", position + 1))
        if row is None:
            assert depth[position] == 0
            continue
        _, samtools_depth, a, c, g, t, n, deletions, inserted = row
        assert depth[position] == samtools_depth
        np.testing.assert_array_equal(counts[position], [a, c, g, t, deletions, n])
        assert insertions[position] == inserted


def test_pileup_region_is_window_invariant(random_case):
    bam, fasta = random_case
    whole = softpile.io.pileup_region(bam, fasta, ("chr1", 5, 140), window_size=1000)
    pieces = softpile.io.pileup_region(bam, fasta, ("chr1", 5, 140), window_size=7)
    assert whole.counts.shape == (135, 5)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6), whole, pieces)


def test_batch_pileup_equals_unpadded_kernel(random_case):
    bam, fasta = random_case
    batch = softpile.io.read_region(bam, fasta, ("chr1", 10, 140))
    assert batch.num_reads > 3
    padded = batch.pileup(read_weights=1.0 - 10.0 ** (-batch.mapq / 10.0))
    direct = softpile.pileup(
        batch.one_hot(),
        batch.starts - batch.region_start,
        130,
        quality=batch.quality,
        insertions=batch.insertions,
        read_weights=(1.0 - 10.0 ** (-batch.mapq / 10.0)).astype(np.float32),
    )
    jax.tree.map(
        lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5), padded, direct
    )


def test_windows_stream_in_order_and_compile_few_shapes(random_case):
    from softpile.io._read_batch import _pileup_of_codes

    bam, fasta = random_case
    windows = list(softpile.io.iter_windows(bam, fasta, "chr1:3-150", window_size=9))
    assert [w.region_start for w in windows] == list(range(2, 150, 9))
    assert windows[-1].region_end == 150
    for window in windows:
        assert window.codes.shape[1] <= window.region_end - window.region_start
        rows, columns = np.nonzero(window.codes != -1)
        positions = window.starts[rows] + columns
        assert np.all(positions >= window.region_start) and np.all(positions < window.region_end)
    before = _pileup_of_codes._cache_size()
    for window in windows:
        window.pileup()
    # 17 windows with different read counts, but padded to a handful of bucket shapes.
    assert _pileup_of_codes._cache_size() - before <= 3


def test_progress_bar_only_when_enabled_and_slow(monkeypatch, capsys):
    from softpile.io import _progress
    from softpile.io._progress import Progress

    clock = iter([0.0, 0.5, 2.0, 3.0])
    monkeypatch.setattr(_progress.time, "monotonic", lambda: next(clock))
    bar = Progress(1000, True)  # started at t=0
    bar.advance(100)  # t=0.5: too early to show anything
    assert capsys.readouterr().err == ""
    bar.advance(400)  # t=2.0: shown
    bar.close()
    err = capsys.readouterr().err
    assert "50.0%" in err and "500/1,000 bp" in err and err.endswith("\n")
    quiet = Progress(1000, False)
    quiet.advance(1000)
    quiet.close()
    assert capsys.readouterr().err == ""


def test_table_to_stdout(small, capsys):
    from softpile.cli import main

    bam, fasta = small
    assert main(["pileup", str(bam), "--reference", str(fasta), "-r", "chr2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "#chrom\tpos\tref\tdepth\tA\tC\tG\tT\tN\tdel\tins"
    assert lines[1:] == [
        "chr2\t1\tA\t1\t1\t0\t0\t0\t0\t0\t0",
        "chr2\t2\tC\t1\t0\t1\t0\t0\t0\t0\t0",
        "chr2\t3\tG\t1\t0\t0\t1\t0\t0\t0\t0",
        "chr2\t4\tT\t1\t0\t0\t0\t1\t0\t0\t0",
        "chr2\t5\tA\t1\t1\t0\t0\t0\t0\t0\t0",
    ]


def test_dir_lists_the_lazy_names_without_importing_pysam():
    # Completion (dir(), IPython, editors) must see read_region & co. before their first use,
    # and listing them must not import pysam: `softpile demo` runs without it.
    code = (
        "import sys, softpile.io\n"
        "names = dir(softpile.io)\n"
        "assert 'pysam' not in sys.modules, 'dir() imported pysam'\n"
        "missing = set(softpile.io.__all__) - set(names)\n"
        "assert not missing, missing\n"
        "assert {'read_region', 'write_vcf', 'parse_region', 'CallResult'} <= set(names)\n"
        "assert names == sorted(names)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"}
    )
    assert all(hasattr(softpile.io, name) for name in softpile.io.__all__)

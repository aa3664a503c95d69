"""Bad input to `softpile pileup`: one clear line on stderr, exit status 2, no output file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from io_helpers import header_of, make_read, run_cli, write_bam, write_fasta
from pysam.libcbgzf import BGZFile

REFERENCE = "ACGTTGCAAC" * 10


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("errors")
    fasta = write_fasta(directory / "ref.fa", {"chr1": REFERENCE})
    header = header_of({"chr1": 100})
    reads = [
        make_read(header, f"r{i}", "chr1", i * 3, "20M", REFERENCE[i * 3 : i * 3 + 20])
        for i in range(20)
    ]
    indexed = write_bam(directory / "indexed.bam", {"chr1": 100}, reads)
    unindexed = write_bam(directory / "unindexed.bam", {"chr1": 100}, reads, index=False)
    unsorted = write_bam(
        directory / "unsorted.bam", {"chr1": 100}, reads[::-1], index=False, sort=False
    )
    return directory, fasta, indexed, unindexed, unsorted


def assert_fails(directory: Path, message: str, *arguments: str) -> None:
    output = directory / "out.tsv"
    before = set(os.listdir(directory))
    status, stderr = run_cli("pileup", *arguments, "-o", str(output))
    assert status == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("softpile pileup: error: ")
    assert message in lines[0], lines[0]
    assert not output.exists()
    assert set(os.listdir(directory)) == before  # no temporary file left behind


def test_missing_index(files):
    directory, fasta, _, unindexed, _ = files
    assert_fails(directory, "has no index", str(unindexed), "-f", str(fasta), "-r", "chr1:1-50")


def test_whole_file_needs_no_index(files):
    directory, fasta, _, unindexed, _ = files
    status, stderr = run_cli(
        "pileup", str(unindexed), "-f", str(fasta), "-o", str(directory / "whole.tsv")
    )
    assert status == 0, stderr
    assert len((directory / "whole.tsv").read_text().splitlines()) == 1 + 77


def test_unsorted_file(files):
    directory, fasta, _, _, unsorted = files
    assert_fails(directory, "not sorted by coordinate", str(unsorted), "-f", str(fasta))


def test_unknown_contig(files):
    directory, fasta, indexed, _, _ = files
    assert_fails(directory, "unknown contig 'chrZ'", str(indexed), "-f", str(fasta), "-r", "chrZ")
    assert_fails(
        directory, "unknown contig 'chrZ'", str(indexed), "-f", str(fasta), "-r", "chrZ:1-5"
    )


@pytest.mark.parametrize("region", ["chr1:abc", "chr1:20-10", "chr1:0-5", "chr1:-5", ""])
def test_malformed_region(files, region):
    directory, fasta, indexed, _, _ = files
    status, stderr = run_cli(
        "pileup", str(indexed), "-f", str(fasta), "-r", region, "-o", str(directory / "o.tsv")
    )
    assert status == 2
    assert "region" in stderr and repr(region) in stderr, stderr
    assert not (directory / "o.tsv").exists()


def test_reference_not_matching_header(files, tmp_path):
    _, _, indexed, _, _ = files
    shorter = write_fasta(tmp_path / "short.fa", {"chr1": REFERENCE[:90]})
    assert_fails(tmp_path, "length 90 in the FASTA but 100", str(indexed), "-f", str(shorter))
    other = write_fasta(tmp_path / "other.fa", {"chrX": REFERENCE})
    assert_fails(tmp_path, "has no contig 'chr1'", str(indexed), "-f", str(other))


def test_unreadable_paths(files, tmp_path):
    directory, fasta, indexed, _, _ = files
    assert_fails(tmp_path, "does not exist", str(tmp_path / "missing.bam"), "-f", str(fasta))
    assert_fails(tmp_path, "does not exist", str(indexed), "-f", str(tmp_path / "missing.fa"))
    garbage = tmp_path / "garbage.bam"
    garbage.write_bytes(bytes(range(256)) * 2)
    assert_fails(
        tmp_path, "garbage.bam: is binary data of an unknown format", str(garbage), "-f", str(fasta)
    )
    # A BAM whose header is cut short but whose end-of-file marker is intact: pysam refuses it.
    damaged = tmp_path / "damaged.bam"
    with BGZFile(str(damaged), "wb") as handle:
        handle.write(b"BAM\x01" + (1000).to_bytes(4, "little") + b"@HD")
    assert_fails(tmp_path, "damaged.bam: cannot be read as BAM", str(damaged), "-f", str(fasta))


def test_truncated_bam(files, tmp_path):
    _, fasta, indexed, _, _ = files
    truncated = tmp_path / "truncated.bam"
    truncated.write_bytes(indexed.read_bytes()[:-60])
    assert_fails(tmp_path, "truncated", str(truncated), "-f", str(fasta))


def test_corrupt_block_inside_bam(files, tmp_path):
    """Damage inside a compressed block (EOF marker intact) surfaces while reading."""
    _, fasta, indexed, _, _ = files
    data = bytearray(indexed.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 40] = b"\xff" * 40
    corrupt = tmp_path / "corrupt.bam"
    corrupt.write_bytes(bytes(data))
    assert_fails(tmp_path, "corrupt", str(corrupt), "-f", str(fasta))


def test_bad_options(files):
    directory, fasta, indexed, _, _ = files
    assert_fails(
        directory, "unknown flag name 'DUPE'", str(indexed), "-f", str(fasta), "--ff", "UNMAP,DUPE"
    )
    assert_fails(directory, "-Q must be >= 0, got -1.", str(indexed), "-f", str(fasta), "-Q", "-1")
    assert_fails(
        directory,
        "--window-size must be >= 1",
        str(indexed),
        "-f",
        str(fasta),
        "--window-size",
        "0",
    )


def _package_root() -> str:
    import softpile

    root = str(Path(softpile.__file__).resolve().parents[1])
    return os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])


def test_command_line_prints_one_line(files, tmp_path):
    """In a real process nothing else (htslib's own warnings) reaches stderr."""
    _, fasta, indexed, _, _ = files
    truncated = tmp_path / "truncated.bam"
    truncated.write_bytes(indexed.read_bytes()[:-60])
    output = tmp_path / "out.tsv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "softpile",
            "pileup",
            str(truncated),
            "-f",
            str(fasta),
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": _package_root()},
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "truncated" in result.stderr
    assert not output.exists()


def test_error_prints_nothing_on_stdout(files, capsys):
    directory, fasta, indexed, _, _ = files
    status = run_cli("pileup", str(indexed), "-f", str(fasta), "-r", "chrX:1-5")[0]
    assert status == 2
    assert capsys.readouterr().out == ""

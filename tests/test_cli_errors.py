"""How every `softpile` subcommand fails: one line on stderr (`softpile COMMAND: error: ...`),
exit status 2, options named as the user typed them, files named as the user gave them and
first, and nothing left behind: no output, no index, no temporary file, no new folder, and a
file that was there before keeps its bytes (runs stopped half-way: test_cli_runs.py). Tests
run inside the folder of the inputs and give relative paths, so "as given" is checked
literally."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from cli_helpers import REFERENCE, command, snv_reads
from io_helpers import header_of, run_cli, write_bam, write_fasta

from softpile.io import pileup_region


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Good and bad inputs side by side, all in one folder."""
    directory = tmp_path_factory.mktemp("inputs")
    write_fasta(directory / "ref.fa", {"chr1": REFERENCE})
    write_fasta(directory / "short.fa", {"chr1": REFERENCE[:90]})
    write_fasta(directory / "other.fa", {"chrX": REFERENCE})
    reads = snv_reads(header_of({"chr1": 100}))
    bam = write_bam(directory / "reads.bam", {"chr1": 100}, reads)
    write_bam(directory / "unindexed.bam", {"chr1": 100}, reads, index=False)
    pysam.view("-h", "-o", str(directory / "reads.sam"), str(bam), catch_stdout=False)
    (directory / "truncated.bam").write_bytes(bam.read_bytes()[:-60])
    (directory / "empty.bam").write_bytes(b"")
    (directory / "empty.fa").write_bytes(b"")
    (directory / "notes.txt").write_text("reads are in the other folder\n")
    (directory / "reads.fq").write_text("@r1\nACGT\n+\nIIII\n")
    (directory / "subfolder").mkdir()
    return directory


@pytest.fixture
def inside(folder, monkeypatch):
    monkeypatch.chdir(folder)
    return folder


def fails(*arguments: str) -> str:
    """Run a command that must fail: exit status 2, one line on stderr, nothing written in the
    current folder. Returns the line."""
    before = sorted(os.listdir("."))
    status, stderr = run_cli(*arguments)
    assert status == 2, stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert sorted(os.listdir(".")) == before
    return stderr[:-1]


# --- usage errors: one line, not argparse's usage block ------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("pileup", "bam, -f/--reference"),
        ("call", "BAM, -f/--reference, -o/--output"),
        ("plot", "bam, -f/--reference, -r/--region, -o/--output"),
        ("simulate", "--out"),
    ],
)
def test_missing_arguments_are_one_line(inside, name, expected):
    assert fails(name) == (
        f"softpile {name}: error: the following arguments are required: {expected} "
        f"(see `softpile {name} --help`)"
    )


@pytest.mark.parametrize("name", ["pileup", "call", "plot", "simulate", "demo"])
def test_unknown_options_are_reported_by_the_subcommand(inside, name):
    assert fails(*command(name), "--bogus") == (
        f"softpile {name}: error: unrecognized arguments: --bogus (see `softpile {name} --help`)"
    )


@pytest.mark.parametrize(
    "name, option", [("pileup", "-q"), ("call", "-Q"), ("plot", "-d"), ("simulate", "--seed")]
)
def test_a_bad_integer_is_one_line(inside, name, option):
    assert fails(*command(name), option, "abc") == (
        f"softpile {name}: error: {option} must be an integer, got 'abc'."
    )


def test_no_or_unknown_command(inside):
    assert fails() == (
        "softpile: error: the following arguments are required: COMMAND (see `softpile --help`)"
    )
    assert fails("pilup").startswith("softpile: error: argument COMMAND: invalid choice: 'pilup'")


def _package_root() -> str:
    import softpile

    root = str(Path(softpile.__file__).resolve().parents[1])
    return os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])


def test_usage_error_in_a_real_process(tmp_path):
    """argparse prints and exits by itself; in a real process too only the one line shows."""
    result = subprocess.run(
        [sys.executable, "-m", "softpile", "pileup", "--min-MQ", "-1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": _package_root()},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "softpile pileup: error: --min-MQ must be >= 0, got -1.\n"


# --- options named as typed ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, arguments, message",
    [
        ("pileup", ["--min-MQ", "-1"], "--min-MQ must be >= 0, got -1."),
        ("pileup", ["-q", "-1"], "-q must be >= 0, got -1."),
        ("call", ["--min-MQ=-1"], "--min-MQ must be >= 0, got -1."),
        ("call", ["--min-BQ", "-3"], "--min-BQ must be >= 0, got -3."),
        ("plot", ["--max-depth", "-1"], "--max-depth must be >= 0, got -1."),
        ("pileup", ["-d", "many"], "-d must be an integer, got 'many'."),
        ("pileup", ["--window-size", "0"], "--window-size must be >= 1, got 0."),
        ("call", ["--window-size", "0"], "--window-size must be >= 1, got 0."),
        ("call", ["--min-qual", "nan"], "--min-qual must be a finite number, got 'nan'."),
        ("plot", ["--min-qual", "-1"], "--min-qual must be >= 0, got -1."),
        ("plot", ["--dpi", "0"], "--dpi must be >= 1, got 0."),
        ("call", ["--ff", "-4"], "--ff: flags must be >= 0, got '-4'."),
        ("simulate", ["--coverage", "0"], "--coverage must be > 0, got 0."),
        ("simulate", ["--snv-rate", "2"], "--snv-rate must be <= 1, got 2."),
        ("simulate", ["--max-quality", "94"], "--max-quality must be <= 93, got 94."),
        (
            "simulate",
            ["--read-length", "600"],
            "--read-length must be <= --length (500), got 600.",
        ),
        (
            "simulate",
            ["--min-quality", "41"],
            "--min-quality must be <= --max-quality (40), got 41.",
        ),
        ("simulate", ["--contig", "chr 1"], "--contig must be one word (no spaces), got 'chr 1'."),
        ("demo", ["--seed", "-1"], "--seed must be >= 0, got -1."),
    ],
)
def test_bad_option_values_name_the_option_as_typed(inside, name, arguments, message):
    assert fails(*command(name), *arguments) == f"softpile {name}: error: {message}"


@pytest.mark.parametrize("name", ["pileup", "call", "plot"])
@pytest.mark.parametrize("option", ["--ff", "--excl-flags"])
def test_unknown_flag_name_names_the_option(inside, name, option):
    line = fails(*command(name), option, "UNMAP,DUPE")
    assert line.startswith(
        f"softpile {name}: error: {option}: unknown flag name 'DUPE' in 'UNMAP,DUPE'; use an int "
        "or names from PAIRED, PROPER_PAIR,"
    ), line


def test_the_library_keeps_its_keyword_names(folder):
    # Python users pass keywords: the messages name those, not the command-line options.
    with pytest.raises(ValueError, match="min_mapq must be an int >= 0, got -1"):
        pileup_region(folder / "reads.bam", folder / "ref.fa", "chr1", min_mapq=-1)


# --- files named as given, first ---------------------------------------------------------------

SAM_FIX = (
    "reads.sam: is SAM text; softpile reads indexed BAM/CRAM. Convert it with "
    "`samtools sort -o reads.bam reads.sam && samtools index reads.bam`."
)
NOT_ALIGNMENTS = "not BAM or CRAM; pass the aligned reads as a coordinate-sorted BAM or CRAM"


@pytest.mark.parametrize("name", ["pileup", "call", "plot"])
@pytest.mark.parametrize(
    "bam, reference, message",
    [
        ("missing.bam", "ref.fa", "missing.bam: does not exist."),
        ("empty.bam", "ref.fa", "empty.bam: is empty (0 bytes); expected a BAM or CRAM file."),
        ("subfolder", "ref.fa", "subfolder: is a folder; expected a BAM or CRAM file."),
        ("notes.txt", "ref.fa", f"notes.txt: is a text file, {NOT_ALIGNMENTS}."),
        (
            "ref.fa",
            "ref.fa",
            f"ref.fa: is a FASTA file, {NOT_ALIGNMENTS} (the reference goes after -f).",
        ),
        ("reads.fq", "ref.fa", f"reads.fq: is a FASTQ file (unaligned reads), {NOT_ALIGNMENTS}."),
        ("reads.sam", "ref.fa", SAM_FIX),
        (
            "truncated.bam",
            "ref.fa",
            "truncated.bam: is truncated (its end-of-file marker is missing); copy or write it "
            "again.",
        ),
        ("reads.bam", "missing.fa", "missing.fa: does not exist."),
        ("reads.bam", "empty.fa", "empty.fa: is empty (0 bytes); expected a FASTA file."),
        (
            "reads.bam",
            "reads.bam",
            "reads.bam: is a BAM file, not FASTA; pass the reference the reads were aligned to "
            "with -f.",
        ),
        (
            "reads.bam",
            "notes.txt",
            "notes.txt: is a text file, not FASTA; pass the reference the reads were aligned to "
            "with -f.",
        ),
        (
            "reads.bam",
            "short.fa",
            "short.fa: contig 'chr1' has length 90 in the FASTA but 100 in the header of "
            "reads.bam; pass the FASTA the reads were aligned to.",
        ),
        (
            "reads.bam",
            "other.fa",
            "other.fa: has no contig 'chr1', which the header of reads.bam lists; pass the FASTA "
            "the reads were aligned to.",
        ),
    ],
)
def test_bad_inputs_are_named_first(inside, name, bam, reference, message):
    assert fails(*command(name, bam, reference)) == f"softpile {name}: error: {message}"


@pytest.mark.parametrize(
    "arguments",
    [command("call", "unindexed.bam"), command("plot", "unindexed.bam"),
     [*command("pileup", "unindexed.bam"), "-r", "chr1"]],
)  # fmt: skip
def test_a_region_needs_an_index(inside, arguments):
    assert fails(*arguments) == (
        f"softpile {arguments[0]}: error: unindexed.bam: has no index (.bai or .csi); run "
        "`samtools index unindexed.bam` (a region is read through the index)."
    )


def test_a_pipe_is_left_to_the_reader(inside, tmp_path):
    """`softpile pileup <(samtools view -b ...)` reads the whole stream once; the checks must
    not consume its first bytes (a real process: a check that reads the pipe would hang or
    fail it). A region needs an index, which a pipe cannot have."""
    command_line = (
        f"{shlex.quote(sys.executable)} -m softpile pileup <(cat reads.bam) -f ref.fa "
        f"-o {shlex.quote(str(tmp_path / 'piped.tsv'))}"
    )
    result = subprocess.run(
        ["bash", "-c", command_line],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": _package_root()},
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert run_cli("pileup", "reads.bam", "-f", "ref.fa", "-o", str(tmp_path / "file.tsv"))[0] == 0
    assert (tmp_path / "piped.tsv").read_text() == (tmp_path / "file.tsv").read_text()
    fifo = tmp_path / "reads.pipe"
    os.mkfifo(fifo)
    assert fails("call", str(fifo), "-f", "ref.fa", "-o", "out.vcf") == (
        f"softpile call: error: {fifo}: is a pipe or device, which has no index; a region is "
        "read through the index, so give an indexed BAM or CRAM file."
    )


def test_other_files_of_the_command_line(inside):
    assert fails(*command("call"), "--params", "model.eqx") == (
        "softpile call: error: model.eqx: does not exist."
    )
    assert fails(*command("plot"), "--truth", "truth.vcf") == (
        "softpile plot: error: truth.vcf: does not exist."
    )
    assert fails(*command("plot"), "--truth", "notes.txt") == (
        "softpile plot: error: notes.txt: is a text file, not VCF; pass a VCF file."
    )


@pytest.mark.parametrize("name", ["pileup", "call", "plot"])
def test_outputs_that_cannot_be_written(inside, name):
    arguments = command(name)
    fix = {"plot": "figure.png", "pileup": "out.tsv", "call": "out.vcf.gz"}[name]
    assert fails(*arguments, "-o", "subfolder") == (
        f"softpile {name}: error: subfolder: is a folder; give the name of the file to write."
        if name != "plot"
        else "softpile plot: error: subfolder: the file name must end in .png, .pdf or .svg "
        "(the figure's format is taken from it), e.g. subfolder.png."
    )
    assert fails(*arguments, "-o", f"notes.txt/{fix}") == (
        f"softpile {name}: error: notes.txt/{fix}: cannot be written: notes.txt is a file, not "
        "a folder."
    )


@pytest.mark.parametrize("name, output", [("pileup", "reads.bam"), ("call", "ref.fa")])
def test_an_input_is_never_overwritten(inside, name, output):
    assert fails(*command(name), "-o", output) == (
        f"softpile {name}: error: {output}: is also an input; write the output to another name."
    )


@pytest.mark.parametrize(
    "name, message",
    [
        ("simulate", "notes.txt: is a file; --out takes a folder (created if missing)."),
        ("demo", "notes.txt: is a file; --out takes a folder for the figures."),
    ],
)
def test_output_folder_that_is_a_file(inside, name, message):
    assert fails(*command(name), "--out", "notes.txt") == f"softpile {name}: error: {message}"

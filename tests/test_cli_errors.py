"""How every `softpile` subcommand fails: one line on stderr (`softpile COMMAND: error: ...`),
exit status 2, options named as the user typed them, files named as the user gave them and
first, and nothing left behind: no output, no index, no temporary file, no new folder, and a
file that was there before keeps its bytes. Tests run inside the folder of the inputs and
give relative paths, so "as given" is checked literally."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib.figure
import pysam
import pytest
from io_helpers import header_of, make_read, run_cli, write_bam, write_fasta

import softpile.io._simulation_files
import softpile.io._table
import softpile.io._vcf
import softpile.plot
from softpile.io import pileup_region, write_simulation
from softpile.simulate import simulate

REFERENCE = "ACGTTGCAAC" * 10
SNV = 30  # 0-based position of a homozygous SNV that every covering read carries


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Good and bad inputs side by side, all in one folder."""
    directory = tmp_path_factory.mktemp("inputs")
    write_fasta(directory / "ref.fa", {"chr1": REFERENCE})
    write_fasta(directory / "short.fa", {"chr1": REFERENCE[:90]})
    write_fasta(directory / "other.fa", {"chrX": REFERENCE})
    header = header_of({"chr1": 100})
    reads = []
    for number in range(20):
        start = number * 3
        sequence = list(REFERENCE[start : start + 20])
        if start <= SNV < start + 20:
            sequence[SNV - start] = "T" if REFERENCE[SNV] != "T" else "A"
        reads.append(make_read(header, f"r{number}", "chr1", start, "20M", "".join(sequence)))
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


def command(name: str, bam: str = "reads.bam", reference: str = "ref.fa") -> list[str]:
    """A complete command line of `name`, whose output goes to the current folder."""
    return {
        "pileup": ["pileup", bam, "-f", reference, "-o", "out.tsv"],
        "call": ["call", bam, "-f", reference, "-o", "out.vcf.gz", "--quiet"],
        "plot": ["plot", bam, "-f", reference, "-r", "chr1:1-50", "-o", "out.png"],
        "simulate": ["simulate", "--out", "simulated", "--length", "500", "--coverage", "2"],
        "demo": ["demo", "--out", "figures"],
    }[name]


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


# --- a failed or interrupted run leaves nothing behind ---------------------------------------

OLD = b"the output of an earlier run\n"


def fail_after(function, calls: int, error: BaseException):
    """`function`, raising `error` instead of its call number `calls` + 1."""
    done = []

    def wrapper(*args, **kwargs):
        if len(done) == calls:
            raise error
        done.append(True)
        return function(*args, **kwargs)

    return wrapper


ERRORS = {
    "interrupted": (KeyboardInterrupt(), 130, "interrupted"),
    "failed": (OSError("No space left on device"), 2, "error: No space left on device"),
}


@pytest.fixture(params=list(ERRORS))
def stop(request, monkeypatch):
    """Make the output writers of pileup, call and plot stop half-way, once their temporary
    file holds something, by an interruption or a failure; returns the expected exit status
    and the end of the stderr line."""
    error, status, ending = ERRORS[request.param]

    def partial_table(*arguments, **options):
        yield "#chrom\tpos\n"
        yield "chr1\t1\n"
        raise error

    def partial_figure(self, path, **options):
        Path(path).write_bytes(b"half a figure")
        raise error

    monkeypatch.setattr(softpile.io._table, "table_text", partial_table)
    # The header is written before the first record: the record fails.
    monkeypatch.setattr(
        softpile.io._vcf, "_write_record", fail_after(softpile.io._vcf._write_record, 0, error)
    )
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", partial_figure)
    return status, ending


@pytest.mark.parametrize(
    "name, outputs",
    [
        ("pileup", ["out.tsv"]),
        ("call", ["out.vcf.gz", "out.vcf.gz.tbi"]),
        ("call", ["out.vcf"]),
        ("plot", ["out.png"]),
    ],
)
def test_a_stopped_run_leaves_earlier_outputs_as_they_were(
    folder, tmp_path, monkeypatch, stop, name, outputs
):
    status, ending = stop
    monkeypatch.chdir(tmp_path)
    for output in outputs:
        Path(output).write_bytes(OLD)
    arguments = command(name, str(folder / "reads.bam"), str(folder / "ref.fa"))
    arguments[arguments.index("-o") + 1] = outputs[0]
    before = sorted(os.listdir("."))
    assert run_cli(*arguments) == (status, f"softpile {name}: {ending}\n")
    assert sorted(os.listdir(".")) == before
    assert all(Path(output).read_bytes() == OLD for output in outputs)


@pytest.mark.parametrize("name, output", [("pileup", "out.tsv"), ("call", "out.vcf.gz")])
def test_a_stopped_run_leaves_no_new_folder(folder, tmp_path, monkeypatch, stop, name, output):
    status, _ = stop
    monkeypatch.chdir(tmp_path)
    arguments = command(name, str(folder / "reads.bam"), str(folder / "ref.fa"))
    arguments[arguments.index("-o") + 1] = f"new/deeper/{output}"
    assert run_cli(*arguments)[0] == status
    assert os.listdir(".") == []


def test_a_failed_index_leaves_the_earlier_vcf_and_index(folder, tmp_path, monkeypatch):
    # The index is built after the whole VCF is written: a failure there must not leave a
    # new VCF beside an old index, nor a half-written index.
    def partial_index(filename, *, index, **options):
        Path(index).write_bytes(b"half an index")
        raise OSError("No space left on device")

    monkeypatch.setattr(pysam, "tabix_index", partial_index)
    monkeypatch.chdir(tmp_path)
    for name in ("out.vcf.gz", "out.vcf.gz.tbi"):
        Path(name).write_bytes(OLD)
    arguments = command("call", str(folder / "reads.bam"), str(folder / "ref.fa"))
    assert run_cli(*arguments) == (2, "softpile call: error: No space left on device\n")
    assert sorted(os.listdir(".")) == ["out.vcf.gz", "out.vcf.gz.tbi"]
    assert Path("out.vcf.gz").read_bytes() == OLD == Path("out.vcf.gz.tbi").read_bytes()


def test_a_corrupt_block_fails_the_call_and_leaves_nothing(tmp_path, monkeypatch):
    """A real failure half-way: a BAM whose header block and index are fine but a later
    block is damaged; the VCF and its index were being written when reading failed."""
    files = write_simulation(
        simulate(0, reference_length=20_000, coverage=10), tmp_path / "data", sample="S"
    )
    data = bytearray(files.reads.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 40] = b"\xff" * 40
    files.reads.write_bytes(bytes(data))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    Path("calls.vcf.gz").write_bytes(OLD)
    Path("calls.vcf.gz.tbi").write_bytes(OLD)
    status, stderr = run_cli(
        "call", str(files.reads), "-f", str(files.reference), "-o", "calls.vcf.gz", "--quiet"
    )
    assert status == 2
    assert stderr.startswith("softpile call: error: ") and stderr.count("\n") == 1, stderr
    assert sorted(os.listdir(".")) == ["calls.vcf.gz", "calls.vcf.gz.tbi"]
    assert Path("calls.vcf.gz").read_bytes() == OLD == Path("calls.vcf.gz.tbi").read_bytes()


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt(), 130), (OSError("full"), 2)])
def test_a_stopped_simulation_leaves_the_folder_as_it_was(tmp_path, monkeypatch, error, status):
    # The truth VCF is written last: the FASTA and the BAM are complete when the run stops.
    monkeypatch.setattr(
        softpile.io._simulation_files,
        "_write_truth",
        fail_after(softpile.io._simulation_files._write_truth, 0, error),
    )
    monkeypatch.chdir(tmp_path)
    Path("simulated").mkdir()
    Path("simulated/ref.fa").write_bytes(OLD)
    assert run_cli(*command("simulate"))[0] == status
    assert os.listdir("simulated") == ["ref.fa"]
    assert Path("simulated/ref.fa").read_bytes() == OLD
    assert run_cli("simulate", "--out", "new/simulated", "--length", "500")[0] == status
    assert sorted(os.listdir(".")) == ["simulated"]


def test_a_stopped_demo_writes_no_figure(tmp_path, monkeypatch):
    # The first figure is drawn and saved to its temporary file when the second one fails.
    monkeypatch.setattr(softpile.plot, "compare_pileups", fail_after(lambda: None, 0, OSError("x")))
    monkeypatch.chdir(tmp_path)
    assert run_cli("demo", "--out", "figures")[0] == 2
    assert os.listdir(".") == []


# --- success: softpile call says what it wrote ----------------------------------------------


@pytest.mark.parametrize("min_qual", ["10", "1000"])
def test_call_prints_a_summary(folder, tmp_path, capsys, min_qual):
    output = tmp_path / "calls.vcf"
    arguments = ["call", str(folder / "reads.bam"), "-f", str(folder / "ref.fa")]
    status, stderr = run_cli(*arguments, "-o", str(output), "--min-qual", min_qual, "--quiet")
    assert (status, stderr) == (0, "")
    with pysam.VariantFile(str(output)) as vcf:
        records = list(vcf)
    passing = sum(list(record.filter) == ["PASS"] for record in records)
    assert [record.pos for record in records] == [SNV + 1]  # the SNV, and nothing else
    assert passing == (1 if min_qual == "10" else 0)
    assert capsys.readouterr().out == (
        f"wrote {output}: 1 record(s), {passing} PASS, 1 sample(s) (reads), 100 positions\n"
    )

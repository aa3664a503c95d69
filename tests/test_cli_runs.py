"""How a `softpile` run ends: a failed or interrupted run leaves nothing behind (no output, no
index, no temporary file, no new folder, and a file that was there before keeps its bytes),
and a successful `softpile call` says what it wrote."""

import os
from pathlib import Path

import matplotlib.figure
import pysam
import pytest
from cli_helpers import REFERENCE, SNV, command, snv_reads
from io_helpers import header_of, run_cli, write_bam, write_fasta

import softpile.io._simulation_files
import softpile.io._table
import softpile.io._vcf
import softpile.plot
from softpile.io import write_simulation
from softpile.simulate import simulate


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The good inputs: `ref.fa` and an indexed `reads.bam`."""
    directory = tmp_path_factory.mktemp("inputs")
    write_fasta(directory / "ref.fa", {"chr1": REFERENCE})
    write_bam(directory / "reads.bam", {"chr1": 100}, snv_reads(header_of({"chr1": 100})))
    return directory


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

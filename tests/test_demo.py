import runpy
import sys
from pathlib import Path

import pytest

from softpile import GENOTYPES, cli
from softpile._demo import PLANTED, run_demo

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 10_000 and path.read_bytes()[:8] == PNG_MAGIC


def test_demo_tells_the_whole_story(tmp_path):
    lines = []
    results = run_demo(tmp_path / "figures", echo=lines.append)
    assert results["reads_shape"] == (100, 30, 4)
    assert results["distribution_shape"] == (100, 4)
    assert results["row_sum_error"] < 1e-6
    assert results["identity"] > 0.95
    # Both scores find the planted SNVs; the genotype model gets the genotypes right.
    assert set(PLANTED) <= set(results["simple_positions"])
    assert results["calls"] == results["truth"]
    assert {GENOTYPES.index(g) for g in results["calls"].values()} != {0}
    assert results["gradient_finite"] and results["read_gradient_norm"] > 0
    assert results["threshold_gradient"] != 0.0
    assert 0 < results["filter_max_change"] < 1
    assert [p.name for p in results["figures"]] == ["pileup.png", "quality_filter.png"]
    assert all(_is_png(p) for p in results["figures"])
    text = "\n".join(lines)
    for heading in (
        "Generate the pileup",
        "Consensus",
        "Quality weighting",
        "Variant detection",
        "Gradients",
        "Quality filter",
        "Figures written to",
    ):
        assert heading in text


def test_demo_command_line(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "Figures written to" in out and str(tmp_path / "out") in out


def test_demo_without_matplotlib_still_prints_numbers(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "softpile.plot", None)  # import fails
    lines = []
    results = run_demo(tmp_path, echo=lines.append)
    assert results["figures"] == []
    assert "pip install 'softpile[plot]'" in lines[-1]
    assert results["calls"] == results["truth"]


def test_bad_arguments_exit_non_zero(capsys):
    assert cli.main(["demo", "--seed", "many"]) == 2
    assert (
        capsys.readouterr().err == "softpile demo: error: --seed must be an integer, got 'many'.\n"
    )


def test_seed_example_runs_and_checks_itself(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["seed_example.py", str(tmp_path)])
    runpy.run_path(str(ROOT / "docs" / "examples" / "seed_example.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "Potential variants at positions" in out
    assert _is_png(tmp_path / "coverage_and_pileup.png")
    assert _is_png(tmp_path / "quality_filtering.png")


def test_atomic_output_has_ordinary_permissions_and_vanishes_on_failure(tmp_path):
    import os

    from softpile._files import atomic_path

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.txt") as temporary:
            temporary.write_text("done")
        assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644
        with pytest.raises(RuntimeError):
            with atomic_path(tmp_path / "failed.txt") as temporary:
                temporary.write_text("half")
                raise RuntimeError("boom")
    finally:
        os.umask(umask)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]

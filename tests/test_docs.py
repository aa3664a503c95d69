"""The documentation site builds strictly, and the code in it runs.

- `mkdocs build --strict` (broken links, missing API objects and unresolved cross-references
  are errors);
- the ```python blocks of the pages listed in EXECUTED_PAGES run in order, one namespace per
  page (blocks that are not meant to run use another language tag, e.g. ```text);
- the example scripts in docs/examples/ run, with small sizes (seed_example.py has its own test).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

EXECUTED_PAGES = ["index.md", "concepts.md", "coming-from-diffbio.md", "simulation.md"]

# Arguments that keep each example script quick; scripts not listed run without arguments.
EXAMPLE_ARGUMENTS = {
    "train.py": ["--steps", "3", "--net-steps", "2", "--train-samples", "1"],
}
# Each has its own test, which checks the output its page shows.
TESTED_ELSEWHERE = {"seed_example.py", "realistic_simulation.py"}

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    return _BLOCK.findall(page.read_text())


def quiet_env() -> dict:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # mkdocs-material's notice about MkDocs 2.0
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_mkdocs_build_is_strict_and_passes(tmp_path):
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^strict: true$", config, re.MULTILINE)
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # mkdocstrings rendered the docstrings (not empty stubs) and MathJax markup is there.
    pileup_page = (site / "api" / "pileup" / "index.html").read_text()
    assert 'id="softpile.pileup"' in pileup_page
    assert "Pile reads up" in pileup_page
    assert 'class="arithmatex"' in pileup_page
    # Code included from the example scripts (pymdownx.snippets sections) is really there.
    training_page = (site / "examples" / "training" / "index.html").read_text()
    for included in ("genotype_loss", "PileupNet", "features_of"):
        assert included in training_page, f"training page lost the snippet with {included}"
    plot_page = (site / "api" / "plot" / "index.html").read_text()
    assert 'id="softpile.plot.variant_track"' in plot_page
    # Every image a page shows was built into the site.
    for page in DOCS.rglob("*.md"):
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", page.read_text()):
            assert (page.parent / image).resolve().is_file(), f"{page.name}: {image} missing"
    # The seed page includes the script itself once the script exists.
    seed_script = DOCS / "examples" / "seed_example.py"
    if seed_script.exists():
        seed_page = (site / "examples" / "seed_example" / "index.html").read_text()
        assert "soft_quality_filter" in seed_page


@pytest.mark.parametrize("page", EXECUTED_PAGES)
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(DOCS / page)
    assert blocks, f"{page} has no ```python blocks to run"
    monkeypatch.chdir(tmp_path)  # anything a block writes lands here
    namespace: dict = {"__name__": f"docs_{page}"}
    for number, block in enumerate(blocks):
        code = compile(block, f"{page} block {number + 1}", "exec")
        exec(code, namespace)


def test_seed_page_shows_the_scripts_output(tmp_path):
    script = DOCS / "examples" / "seed_example.py"
    if not script.exists():
        pytest.skip("docs/examples/seed_example.py is not in this checkout yet")
    page = (DOCS / "examples" / "seed_example.md").read_text()
    recorded = re.search(
        r"<!-- seed-output-start -->\n```text\n(.*?)```\n<!-- seed-output-end -->", page, re.DOTALL
    )
    assert recorded, "seed_example.md lost its output block markers"
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The last line names the (temporary) figure folder.
    printed = [line for line in result.stdout.splitlines() if not line.startswith("Figures in")]
    assert recorded.group(1).splitlines() == printed, (
        "docs/examples/seed_example.md is stale: paste the output of "
        "`python docs/examples/seed_example.py docs/images/seed` into it"
    )


def example_scripts() -> list[Path]:
    return sorted(p for p in (DOCS / "examples").glob("*.py") if p.name not in TESTED_ELSEWHERE)


@pytest.mark.parametrize("script", example_scripts(), ids=lambda p: p.name)
def test_example_script_runs(script, tmp_path):
    arguments = EXAMPLE_ARGUMENTS.get(script.name, [])
    if script.name == "train.py":
        arguments = [*arguments, "--out", str(tmp_path)]
    env = quiet_env()
    # The strict promotion rules of the test suite apply to the examples too.
    env["JAX_NUMPY_RANK_PROMOTION"] = "raise"
    env["JAX_NUMPY_DTYPE_PROMOTION"] = "strict"
    result = subprocess.run(
        [sys.executable, str(script), *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if script.name == "train.py":
        assert "held-out SNV F1" in result.stdout
        assert (tmp_path / "train_loss.png").read_bytes()[:4] == b"\x89PNG"

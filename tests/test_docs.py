"""The documentation site builds strictly, and the code in it runs.

- `mkdocs build --strict` (broken links, missing API objects and unresolved cross-references
  are errors);
- every page's code blocks run, in order, in one folder and one namespace per page:
  ```python blocks are executed, and what a block prints must be exactly the ```text
  title="Output" block that follows it (no such block: it prints nothing); ```console blocks
  are replayed, each `$ command` line in bash with what it prints compared line by line (runs
  of spaces equal to tabs, so that columns may be aligned) to the lines below it;
- blocks that do not run say so by their tag: ```text (output, diagrams), ```bash (commands
  that take long or need files of your own), and ```{.python} for a script included with
  `--8<--` (the scripts run in test_example_script_runs);
- the example scripts in docs/examples/ run, with small sizes (seed_example.py has its own test).
"""

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

PAGES = sorted(str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md"))
OUTPUT = 'text title="Output"'
NOT_RUN = {"text", "bash"}
# Arguments that keep each example script quick; scripts not listed run without arguments.
EXAMPLE_ARGUMENTS = {
    "train.py": ["--steps", "3", "--net-steps", "2", "--train-samples", "1"],
}
# Each has its own test, which checks the output its page shows.
TESTED_ELSEWHERE = {"seed_example.py", "realistic_simulation.py"}

_INCLUDE = re.compile(r'^--8<-- "docs/examples/[\w.]+\.py(:\w+)?"\n$')


@dataclass
class Block:
    tag: str  # what follows the opening ```
    code: str
    line: int  # of the opening fence, 1-based


def fenced_blocks(text: str) -> list[Block]:
    lines = text.splitlines(keepends=True)
    blocks, number = [], 0
    while number < len(lines):
        if lines[number].startswith("```"):
            end = number + 1
            while not lines[end].startswith("```"):
                end += 1
            code = "".join(lines[number + 1 : end])
            blocks.append(Block(lines[number][3:].strip(), code, number + 1))
            number = end
        number += 1
    return blocks


def console_commands(block: Block) -> list[tuple[str, list[str]]]:
    """The `$ command` lines of a console block, each with the lines printed below it."""
    commands: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            assert commands, f"line {block.line}: a console block starts with a `$ ` line"
            commands[-1][1].append(line)
    return commands


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


def test_fenced_blocks_and_console_commands_are_parsed():
    text = "a\n```python\nx = 1\n```\n\n```console\n$ echo a\na\n$ true\n```\n"
    python, console = fenced_blocks(text)
    assert (python.tag, python.code, python.line) == ("python", "x = 1\n", 2)
    assert console_commands(console) == [("echo a", ["a"]), ("true", [])]


@pytest.mark.parametrize("page", PAGES)
def test_every_block_has_a_known_tag(page):
    blocks = fenced_blocks((DOCS / page).read_text())
    for block in blocks:
        where = f"{page}:{block.line}"
        if block.tag == "{.python}":
            assert _INCLUDE.match(block.code), f"{where}: a {{.python}} block includes a script"
        else:
            assert block.tag in NOT_RUN | {"python", "console", OUTPUT}, (
                f"{where}: tag {block.tag!r}; use python or console (run), or text or bash"
            )
    for before, block in zip([None, *blocks], blocks):
        if block.tag == OUTPUT:
            assert before is not None and before.tag == "python", (
                f"{page}:{block.line}: an Output block follows a python block"
            )


@pytest.mark.parametrize("page", PAGES)
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = fenced_blocks((DOCS / page).read_text())
    monkeypatch.chdir(tmp_path)  # anything a block writes lands here
    namespace: dict = {"__name__": f"docs_{page}"}
    for number, block in enumerate(blocks):
        where = f"{page}:{block.line}"
        if block.tag == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(block.code, where, "exec"), namespace)
            following = blocks[number + 1] if number + 1 < len(blocks) else None
            shown = following.code if following and following.tag == OUTPUT else ""
            assert printed.getvalue() == shown, f"{where}: it printed\n{printed.getvalue()}"
        elif block.tag == "console":
            replay(block, where, tmp_path)


def replay(block: Block, where: str, folder: Path) -> None:
    env = quiet_env()
    # `softpile` is the command of the Python that runs the tests.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    for command, shown in console_commands(block):
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{where}: `{command}` failed: {result.stderr}"
        printed = [line.split() for line in result.stdout.splitlines()]
        assert printed == [line.split() for line in shown], (
            f"{where}: `{command}` printed\n{result.stdout}"
        )


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


@pytest.mark.parametrize("page", [*PAGES, "../README.md"])
def test_pages_speak_to_users(page):
    # The reasons are given in the docs' own words, not as pointers to internal notes.
    text = (DOCS / page).read_text()
    internal = re.findall(r"DESIGN|STYLE\.md", text) + re.findall(r"\bissues?\b", text, re.I)
    assert not internal, f"{page} mentions internal notes: {internal}"

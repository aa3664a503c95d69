"""The README's quick start and its Python example are what users run first."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_quick_start_is_two_commands():
    first_block = re.search(r"```[^\n]*\n(.*?)```", README, re.S).group(1)
    assert first_block.split("\n")[:2] == ["make demo", "make test"]
    assert len(first_block.strip().splitlines()) == 2


def test_python_example_prints_what_the_readme_shows(capsys):
    example = re.search(r"## Use\n\n```python\n(.*?)```\n\n```text\n(.*?)```", README, re.S)
    assert example, "the Use section is a ```python block followed by its ```text output"
    code, shown = example.groups()
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert capsys.readouterr().out == shown
    assert namespace["piled"].counts.shape == (10, 4)
    assert namespace["scores"].p_variant.shape == (10,)

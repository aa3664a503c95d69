"""Every public name of softpile has an entry in the API reference (docs/api/*.md).

An entry is a mkdocstrings `::: softpile.name` line, or a name in the `members:` list under
`::: softpile.module`. The public names of a module are its `__all__` where it has one, else
the names of `dir(module)` without a leading underscore that are not modules.
"""

import importlib
import pkgutil
import re
import types
from pathlib import Path

import pytest

import softpile

API_DOCS = Path(__file__).resolve().parent.parent / "docs" / "api"

API_MODULES = ["softpile", "softpile.io", "softpile.simulate", "softpile.plot"]
# Public modules that are not Python API: the command line has its own pages.
NOT_API = {"softpile.cli"}

_ENTRY = re.compile(r"^::: (\S+)\n((?:[ \t]+\S.*\n)*)", re.MULTILINE)
_MEMBERS = re.compile(r"^\s+members:\n((?:\s+- \S+\n)+)", re.MULTILINE)


def public_names(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return set(module.__all__)
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    }


def documented_names() -> set[str]:
    names = set()
    for page in API_DOCS.glob("*.md"):
        for entry in _ENTRY.finditer(page.read_text()):
            target, options = entry.group(1), entry.group(2)
            names.add(target)
            members = _MEMBERS.search(options)
            if members:
                names |= {f"{target}.{m}" for m in re.findall(r"- (\S+)", members.group(1))}
    return names


def test_every_public_module_is_covered():
    public = {
        f"softpile.{module.name}"
        for module in pkgutil.iter_modules(softpile.__path__)
        if not module.name.startswith("_")
    }
    assert public == set(API_MODULES[1:]) | NOT_API


@pytest.mark.parametrize("module_name", API_MODULES)
def test_every_public_name_has_an_api_entry(module_name):
    documented = documented_names()
    missing = sorted(
        name for name in public_names(module_name) if f"{module_name}.{name}" not in documented
    )
    assert not missing, f"no entry in docs/api/*.md for {module_name}: {missing}"


def test_the_entry_parser_sees_entries_and_members():
    documented = documented_names()
    assert "softpile.pileup" in documented
    assert "softpile.plot.variant_track" in documented  # from a members list
    assert "softpile.nothing_of_that_name" not in documented


def test_the_public_names_of_a_module_without_all():
    names = public_names("softpile")
    assert {"pileup", "Pileup", "variant_scores", "BASES"} <= names
    assert "io" not in names and "importlib" not in names and "__version__" not in names

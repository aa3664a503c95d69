"""How the command line sets up its process: it keeps compiled programs in JAX's persistent
cache (a second run loads them instead of compiling, and writes the same output) and limits
glibc's malloc arenas."""

import os
import subprocess
import sys

from softpile.io import write_simulation
from softpile.simulate import simulate


def _call(files, output, cache):
    env = {**os.environ, "SOFTPILE_CACHE_DIR": str(cache), "JAX_LOG_COMPILES": "1"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    command = [sys.executable, "-m", "softpile", "call", str(files.reads), "-f"]
    command += [str(files.reference), "-o", str(output), "--quiet"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def test_a_second_call_loads_its_programs_from_the_cache(tmp_path):
    files = write_simulation(simulate(2, reference_length=3000, read_length=80), tmp_path / "s")
    cache = tmp_path / "cache"
    first = _call(files, tmp_path / "first.vcf", cache)
    assert any(entry.name.startswith("jit_chunk_scores") for entry in cache.iterdir())
    second = _call(files, tmp_path / "second.vcf", cache)
    hit = "Persistent compilation cache hit for 'jit_chunk_scores'"
    assert hit not in first.stderr and hit in second.stderr

    def body(path):
        return [line for line in path.read_text().splitlines() if not line.startswith("##soft")]

    assert body(tmp_path / "first.vcf") == body(tmp_path / "second.vcf")


def test_an_empty_cache_variable_turns_the_cache_off(tmp_path):
    files = write_simulation(simulate(2, reference_length=3000, read_length=80), tmp_path / "s")
    env = {**os.environ, "SOFTPILE_CACHE_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "home")}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    command = [sys.executable, "-m", "softpile", "call", str(files.reads), "-f"]
    command += [str(files.reference), "-o", str(tmp_path / "x.vcf"), "--quiet"]
    subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert not (tmp_path / "home").exists()


def test_commands_keep_one_malloc_arena_unless_told():
    """A command sets `MALLOC_ARENA_MAX` in its environment (which its worker processes
    inherit); a value the user set is kept."""
    script = (
        "import contextlib, io, os, sys\n"
        "from softpile import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main(['demo', '--help'])\n"
    )
    for given, expected in [(None, "1"), ("4", "4")]:
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
        if given is not None:
            env["MALLOC_ARENA_MAX"] = given
        probe = script + "print(os.environ['MALLOC_ARENA_MAX'], file=sys.stderr)\n"
        result = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True
        )
        assert result.stderr.strip().splitlines()[-1] == expected

import os

import jax
import pytest
from call_data import OPTIONS, SEED
from hypothesis import settings

# Commands run by the tests (in this process or in child processes) keep no compilation cache
# in the user's home; tests/test_cli_cache.py turns it on in a folder of its own.
os.environ["SOFTPILE_CACHE_DIR"] = ""

# Strict harness: implicit rank promotion and mixed-dtype promotion are bugs in library code.
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

settings.register_profile("softpile", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("softpile")


@pytest.fixture(params=["eager", "jit"])
def maybe_jit(request):
    """Run a test once as is and once under `jax.jit` (static arguments by keyword)."""
    if request.param == "eager":
        return lambda fn, **kwargs: fn
    return lambda fn, **kwargs: jax.jit(fn, **kwargs)


# Simulated samples shared by the variant-calling tests (made once per session).


@pytest.fixture(scope="session")
def planted():
    """A sample with planted SNVs and indels at 30x."""
    from softpile.simulate import simulate

    return simulate(SEED, snv_rate=4e-3, indel_rate=8e-3, **OPTIONS)


@pytest.fixture(scope="session")
def planted_files(planted, tmp_path_factory):
    """`planted` as BAM, FASTA and truth VCF files (sample "A")."""
    from softpile.io import write_simulation

    return write_simulation(planted, tmp_path_factory.mktemp("planted"), sample="A")


@pytest.fixture(scope="session")
def clean_files(tmp_path_factory):
    """The same reference (the same seed draws it first) with no variants, as files (sample
    "B")."""
    from softpile.io import write_simulation
    from softpile.simulate import simulate

    sample = simulate(SEED, snv_positions=[], indel_rate=0.0, **OPTIONS)
    return write_simulation(sample, tmp_path_factory.mktemp("clean"), sample="B")

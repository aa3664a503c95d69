import os

import jax
import pytest
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

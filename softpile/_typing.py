"""jaxtyping aliases shared by softpile's modules.

Public functions accept JAX arrays and NumPy arrays alike; under `jax.jit`/`jax.vmap`
they see tracers, which are `jax.Array`s.
"""

from typing import TypeAlias

import numpy as np
from jax import Array

ArrayLike: TypeAlias = Array | np.ndarray
"""An array argument: a `jax.Array` (or tracer) or a `numpy.ndarray`."""

ScalarLike: TypeAlias = float | int | Array | np.ndarray
"""A scalar argument: a Python number or a 0-d array."""

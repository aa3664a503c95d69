"""Seeded simulation of a diploid sample and its reads, with the truth (NumPy only).

Two simulations share the variant planting:

- `simulate`, the uniform one that the demo, tests, benchmarks and docs use: a random
  reference, reads at their true place with qualities whose errors are exactly as stated, in
  reference space and query space;
- `simulate_realistic`, for data that looks like a sequencer's: a reference with repeats,
  segmental duplications and near-identical paralogs (`GenomeLayout`), paired-end reads with a
  spread of fragment lengths, and an error profile that depends on the position in the read,
  with qualities that overstate it (`ErrorProfile`). Its reads are unaligned;
  `softpile.io.write_simulation` aligns them with bwa mem.
"""

from ._errors import ErrorProfile
from ._genome import GenomeLayout, RepeatElement
from ._realistic import RealisticSimulation, simulate_realistic
from ._truth import Simulation, TruthVariant, genotype_index
from ._uniform import simulate

__all__ = [
    "Simulation",
    "TruthVariant",
    "simulate",
    "genotype_index",
    "RealisticSimulation",
    "simulate_realistic",
    "GenomeLayout",
    "RepeatElement",
    "ErrorProfile",
]

"""Real data: BAM/CRAM + FASTA -> reads in reference space -> `Pileup` (needs pysam).

Install with the `io` extra (`pip install softpile[io]`). pysam is imported on first use of a
name below, so `softpile --help` and `softpile demo` work without it.
"""

import importlib
from typing import TYPE_CHECKING

from ._filters import DEFAULT_EXCLUDED as DEFAULT_EXCLUDED, parse_flags as parse_flags
from ._regions import DEFAULT_WINDOW as DEFAULT_WINDOW, parse_region as parse_region

if TYPE_CHECKING:
    from ._reads import (
        iter_windows as iter_windows,
        pileup_region as pileup_region,
        read_region as read_region,
    )
    from ._table import HEADER as HEADER

_LAZY = {
    "iter_windows": "._reads",
    "pileup_region": "._reads",
    "read_region": "._reads",
    "HEADER": "._table",
}

__all__ = [
    "DEFAULT_EXCLUDED",
    "DEFAULT_WINDOW",
    "HEADER",
    "ReadBatch",
    "iter_windows",
    "parse_flags",
    "parse_region",
    "pileup_region",
    "read_region",
]


def __getattr__(name: str):
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name], __name__)
        except ImportError as error:
            raise ImportError(
                f"softpile.io.{name} needs pysam: pip install 'softpile[io]' ({error})."
            ) from error
        return getattr(module, name)
    raise AttributeError(f"module 'softpile.io' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names are not in globals() until first used; list them so that completion
    # (dir(), IPython, editors) sees the whole public API without importing pysam.
    return sorted(set(globals()) | set(__all__))


# Reads built from arrays, and variant calling on them: these need no pysam; the rest loads
# lazily.
from ._call_reads import call_reads as call_reads  # noqa: E402
from ._call_types import (  # noqa: E402
    CallResult as CallResult,
    SampleCall as SampleCall,
    VariantRecord as VariantRecord,
)
from ._indels import indel_scores as indel_scores  # noqa: E402
from ._params import (  # noqa: E402
    CallerParams as CallerParams,
    load_caller as load_caller,
    load_params as load_params,
    save_caller as save_caller,
)
from ._read_batch import ReadBatch as ReadBatch  # noqa: E402

if TYPE_CHECKING:
    from ._call import (
        call_region as call_region,
        iter_calls as iter_calls,
        sample_name as sample_name,
    )
    from ._simulation_files import (
        SimulationFiles as SimulationFiles,
        write_simulation as write_simulation,
    )
    from ._train import genotype_loss as genotype_loss, train_caller as train_caller
    from ._training_data import (
        TrainingChunk as TrainingChunk,
        training_chunks as training_chunks,
    )
    from ._vcf import write_vcf as write_vcf

_LAZY.update(
    call_region="._call",
    iter_calls="._call",
    sample_name="._call",
    write_vcf="._vcf",
    genotype_loss="._train",
    train_caller="._train",
    TrainingChunk="._training_data",
    training_chunks="._training_data",
    write_simulation="._simulation_files",
    SimulationFiles="._simulation_files",
)
__all__ += [
    "CallResult",
    "CallerParams",
    "SampleCall",
    "VariantRecord",
    "call_reads",
    "call_region",
    "indel_scores",
    "iter_calls",
    "load_caller",
    "load_params",
    "save_caller",
    "sample_name",
    "write_vcf",
    "genotype_loss",
    "train_caller",
    "TrainingChunk",
    "training_chunks",
    "write_simulation",
    "SimulationFiles",
]

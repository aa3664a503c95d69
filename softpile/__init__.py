"""softpile: a differentiable pileup and diploid genotype model in pure JAX."""

import importlib.metadata

from ._encoding import (
    BASES as BASES,
    SYMBOLS as SYMBOLS,
    consensus as consensus,
    decode as decode,
    encode_sequence as encode_sequence,
    one_hot_reads as one_hot_reads,
)
from ._genotypes import GENOTYPES as GENOTYPES
from ._pileup import Pileup as Pileup, pileup as pileup
from ._quality import (
    QualityFilter as QualityFilter,
    error_to_phred as error_to_phred,
    phred_to_error as phred_to_error,
    soft_quality_filter as soft_quality_filter,
)
from ._read_model import (
    ReadModel as ReadModel,
    read_evidence as read_evidence,
)
from ._sharding import sharded as sharded
from ._variants import (
    VariantModel as VariantModel,
    VariantScores as VariantScores,
    reference_mismatch as reference_mismatch,
    variant_scores as variant_scores,
)

__version__ = importlib.metadata.version("softpile")

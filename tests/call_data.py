"""The simulated samples that the variant-calling tests share (one with planted variants, one
without), and a reader of the records a VCF holds."""

import pysam

SEED, LENGTH = 3, 4000
OPTIONS = dict(reference_length=LENGTH, read_length=100, coverage=30)


def vcf_records(path, passing_only=True):
    """The records of a VCF, only those that PASS unless `passing_only` is False."""
    with pysam.VariantFile(str(path)) as vcf:
        return [r for r in vcf if not passing_only or list(r.filter) == ["PASS"]]

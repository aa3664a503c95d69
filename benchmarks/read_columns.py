"""Reading a BAM's records as columns: which library decodes them fastest.

    python benchmarks/read_columns.py [--length 1000000] [--repeats 3]

On the simulated 30x sample of `simulate_bam.py` (cached), times, in this one process and
after a warm-up pass, one full pass over the records reading the fields a pileup needs
(position, flag, MAPQ, CIGAR, sequence, qualities, name, mate fields):

- pysam: `AlignmentFile.fetch(until_eof=True)`, each field read in Python per record (the
  reader softpile used before);
- oxbow: Arrow record batches of those fields (decoded in compiled code);
- oxbow + `alignments_of`: the same batches turned into softpile's NumPy tables (CIGARs parsed
  for the whole batch), what `softpile pileup` reads;
- bionumpy (only if installed): its chunks, with the CIGAR, sequence and quality columns.

Prints seconds and reads/s per reader, and each one's time relative to oxbow.
"""

import argparse
import time

import oxbow
import pyarrow as pa
import pysam
from simulate_bam import simulate_bam

from softpile.io._records import FIELDS, alignments_of


def pysam_fields(bam: str) -> int:
    count = 0
    with pysam.AlignmentFile(bam) as alignments:
        for read in alignments.fetch(until_eof=True):
            (
                read.reference_start,
                read.flag,
                read.mapping_quality,
                read.cigartuples,
                read.query_sequence,
                read.query_qualities,
                read.query_name,
                read.next_reference_id,
                read.next_reference_start,
                read.template_length,
            )
            count += 1
    return count


def oxbow_batches(bam: str) -> int:
    return sum(
        len(pa.record_batch(batch)) for batch in oxbow.from_bam(bam, fields=FIELDS).batches()
    )


def oxbow_tables(bam: str) -> int:
    batches = oxbow.from_bam(bam, fields=FIELDS).batches()
    return sum(len(alignments_of(batch, "chr1")) for batch in batches)


def bionumpy_chunks(bam: str) -> int:
    import bionumpy

    count = 0
    for chunk in bionumpy.open(bam).read_chunks():
        chunk.cigar_op, chunk.cigar_length, chunk.sequence, chunk.quality, chunk.position
        count += len(chunk)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sample = simulate_bam(args.length)
    readers = {
        "pysam, fields in Python": pysam_fields,
        "oxbow, Arrow batches": oxbow_batches,
        "oxbow + alignments_of": oxbow_tables,
    }
    try:
        import bionumpy  # noqa: F401

        readers["bionumpy chunks"] = bionumpy_chunks
    except ImportError:
        pass
    bam = str(sample.bam)
    times = {}
    for label, reader in readers.items():
        reader(bam)  # warm-up: file cache, imports
        runs = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            count = reader(bam)
            runs.append(time.perf_counter() - started)
        times[label] = (min(runs), count)
    reference = times["oxbow, Arrow batches"][0]
    print(f"{args.length:,} bp sample, best of {args.repeats}")
    print(f"{'reader':28}{'records':>12}{'s':>8}{'records/s':>12}{'/ oxbow':>9}")
    for label, (seconds, count) in times.items():
        print(
            f"{label:28}{count:12,}{seconds:8.2f}{count / seconds:12,.0f}{seconds / reference:9.2f}"
        )


if __name__ == "__main__":
    main()

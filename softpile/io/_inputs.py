"""Opening a BAM/CRAM/SAM and its FASTA once per run, and streaming alignment tables from it.

pysam reads the header, checks the index and serves the reference sequence; the records
themselves are decoded by oxbow into Arrow batches (compiled code, no Python per read).
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import oxbow
import pysam

from ._records import FIELDS, Alignments, alignments_of, contig_batches
from ._regions import parse_region

BATCH_READS = 32_768
"""Records per decoded batch: large enough that per-batch overheads vanish, small enough that
the reads held between windows stay a few MB."""


class ReadError(OSError):
    """The alignment file could not be decoded (truncated or corrupt)."""


class Inputs:
    """An open BAM/CRAM/SAM and FASTA whose contigs agree; closes both."""

    def __init__(self, bam: str | os.PathLike, reference: str | os.PathLike):
        self.bam_path = os.fspath(bam)
        self.reference_path = os.fspath(reference)
        self._spooled = None
        self.fasta = _open_fasta(self.reference_path)
        try:
            self._source_path = self._spool_stream(self.bam_path)
            with _open_alignments(self._source_path, self.reference_path) as alignments:
                self.lengths = dict(zip(alignments.references, alignments.lengths))
                self.indexed = alignments.has_index()
                self.format = alignments.format  # BAM, CRAM or SAM
        except BaseException:
            self.close()
            raise
        self._fasta_lengths = dict(zip(self.fasta.references, self.fasta.lengths))
        self._whole = None

    def check_contig(self, contig: str) -> None:
        if contig not in self._fasta_lengths:
            raise ValueError(
                f"{self.reference_path}: has no contig {contig!r}, which the header of "
                f"{self.bam_path} lists; pass the FASTA the reads were aligned to."
            )
        if self._fasta_lengths[contig] != self.lengths[contig]:
            raise ValueError(
                f"{self.reference_path}: does not match the header of {self.bam_path}: contig "
                f"{contig!r} has length {self._fasta_lengths[contig]} in the FASTA but "
                f"{self.lengths[contig]} in the alignments; pass the FASTA the reads were "
                "aligned to."
            )

    def _source(self, regions: list[str] | None):
        path = self._source_path
        if self.format == "CRAM":
            return oxbow.from_cram(
                path,
                reference=self.reference_path,
                fields=FIELDS,
                regions=regions,
                batch_size=BATCH_READS,
            )
        if self.format == "SAM":
            return oxbow.from_sam(path, fields=FIELDS, regions=regions, batch_size=BATCH_READS)
        return oxbow.from_bam(path, fields=FIELDS, regions=regions, batch_size=BATCH_READS)

    def _batches(self, regions: list[str] | None) -> Iterator:
        """The Arrow batches of the file (or of `regions`), read errors made clear."""
        with _NativeErrors() as native:
            try:
                batches = iter(native.call(self._source(regions).batches))
                while (batch := native.call(next, batches, None)) is not None:
                    yield batch
            except BaseException as error:
                # oxbow reports a damaged file as a plain exception, or as a Rust panic
                # (pyo3's PanicException, a BaseException).
                if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit):
                    raise
                message = str(error).split("\n")[0]
                raise ReadError(
                    f"{self.bam_path}: error reading the alignments ({message}); the file "
                    "looks truncated or corrupt."
                ) from None

    def _spool_stream(self, path: str) -> str:
        """A pipe (`<(samtools view -b ...)`) can be read only once, but its header and its
        records are read separately: it is copied to a temporary file first."""
        if not os.path.exists(path) or os.path.isfile(path) or os.path.isdir(path):
            return path
        handle, self._spooled = tempfile.mkstemp(prefix="softpile-", suffix=".bam")
        with open(path, "rb") as stream, os.fdopen(handle, "wb") as copy:
            shutil.copyfileobj(stream, copy, 1 << 20)
        return self._spooled

    def regions(self, region) -> list[tuple[str, int, int]]:
        """The contig ranges of `region` (None: every contig, in header order), checked
        against the FASTA, and the index when a region is given."""
        regions = parse_region(region, self.lengths)
        for contig, _, _ in regions:
            self.check_contig(contig)
        if region is not None and not self.indexed:
            raise ValueError(
                f"{self.bam_path}: has no index (.bai/.csi/.crai); run `samtools index` on it "
                "to read a region."
            )
        return regions

    def tables(self, contig: str, start: int, end: int, whole_file: bool) -> Iterator[Alignments]:
        """The alignment tables of the reads overlapping `[start, end)` of `contig`, in file
        order. With `whole_file`, the contigs are taken in header order from one sequential
        pass over the file (no index needed); otherwise the index is queried."""
        if whole_file:
            if self._whole is None:
                self._whole = _WholeFile(
                    contig_batches(self._batches(None)), list(self.lengths), self.bam_path
                )
            return self._whole.tables(contig)
        batches = self._batches([f"{contig}:{start + 1}-{end}"])
        return (alignments_of(batch, contig) for batch in batches)

    def sequence(self, contig: str, start: int, end: int) -> str:
        return self.fasta.fetch(contig, start, end)

    def close(self) -> None:
        self.fasta.close()
        if self._spooled is not None and os.path.exists(self._spooled):
            os.unlink(self._spooled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _NativeErrors:
    """Runs decoder calls with the process's stderr (fd 2) caught in a temporary file, so that
    a Rust panic's report does not reach the user beside our one-line error; what a call that
    succeeds printed there is passed on."""

    def __enter__(self):
        self._capture = tempfile.TemporaryFile()
        return self

    def call(self, function, *arguments):
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(self._capture.fileno(), 2)
        try:
            result = function(*arguments)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        if self._capture.tell():
            self._capture.seek(0)
            sys.stderr.write(self._capture.read().decode(errors="replace"))
            self._capture.seek(0)
            self._capture.truncate()
        return result

    def __exit__(self, *exc):
        self._capture.close()


class _WholeFile:
    """One pass over a coordinate-sorted file, handed out contig by contig."""

    def __init__(self, runs: Iterator, contigs: list[str], path: str):
        self._runs = runs
        self._order = {contig: index for index, contig in enumerate(contigs)}
        self._path = path
        self._pending = None

    def tables(self, contig: str) -> Iterator[Alignments]:
        index = self._order[contig]
        while True:
            run = self._pending if self._pending is not None else next(self._runs, None)
            self._pending = None
            if run is None:
                return
            run_contig, batch = run
            if run_contig == contig:
                yield alignments_of(batch, contig)
                continue
            if run_contig is not None and self._order[run_contig] < index:
                raise ValueError(
                    f"{self._path}: the file is not sorted by coordinate (reads on "
                    f"{run_contig!r} come after reads on {contig!r}); run `samtools sort`."
                )
            self._pending = run  # a later contig, or unplaced reads at the end
            return


def _open_fasta(path: str) -> pysam.FastaFile:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: reference FASTA does not exist.")
    try:
        return pysam.FastaFile(path)
    except (OSError, ValueError) as error:
        raise OSError(
            f"{path}: cannot open the reference FASTA ({error}); it must be a readable FASTA "
            "(plain or bgzip), with a .fai index or a writable directory to create one."
        ) from None


def _open_alignments(path: str, reference: str) -> pysam.AlignmentFile:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: alignment file does not exist.")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{path}: alignment file is not readable.")
    try:
        return pysam.AlignmentFile(path, "r", reference_filename=reference)
    except (OSError, ValueError) as error:
        raise OSError(
            f"{path}: cannot read it as BAM/CRAM/SAM ({error}); is it truncated or corrupt?"
        ) from None

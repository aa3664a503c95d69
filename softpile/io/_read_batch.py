"""`ReadBatch`: reads in reference space as NumPy arrays, what `read_region` and `iter_windows`
give and what `call_reads` takes. No pysam here: a batch can be built by hand from arrays."""

import dataclasses
import functools
import types
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .._encoding import PAD, one_hot_reads
from .._pileup import Pileup, pileup
from .._read_model import UNAVAILABLE_MAPQ

_NO_INSERTIONS = types.MappingProxyType({})  # the inserted bases of a read without any

MAX_CYCLE = int(np.iinfo(np.int16).max)
"""The largest cycle `cycles` holds (int16): longer reads' later cycles read as this."""


@dataclasses.dataclass(frozen=True, eq=False, init=False)
class ReadBatch:
    """Reads in reference space (NumPy arrays): the reads of one region, or any reads built
    by hand.

    Column `j` of read `n` lies at the 0-based reference position `starts[n] + j`. Reads from
    `read_region` and `iter_windows` passed samtools' filters and are clipped to the region,
    so `region_start <= starts[n]` and every column is inside it.

    **Fields** (`N` reads, `L` columns; all keyword arguments, only `starts`, `codes` and
    `quality` required):

    - `contig`, `region_start`, `region_end`: the region, 0-based half-open. Defaults:
      `"chr"`, 0, and the end of the last column that is not padding (at least
      `region_start`).
    - `starts`: `(N,)` int, absolute 0-based position of each row's first column.
    - `codes`: `(N, L)` int (int8 from a BAM): `0..3` A, C, G, T; `4` gap (a `D`); `5` N;
      `-1` padding (a reference skip `N`, a base that failed `min_baseq`, or past the read's
      end).
    - `quality`: `(N, L)` Phred qualities (float32 from a BAM, after the overlapping-mate
      adjustment; a gap carries the quality samtools filters it by: the next query base's);
      0 on padding.
    - `insertions`: `(N, L)`, nonzero (1) on the column right before an insertion. Default:
      no insertions.
    - `inserted_sequences`: per read, `{column: inserted bases}` for each insertion flag.
      Default: none.
    - `cycles`: `(N, L)` int16, the sequencing cycle of the query base each column comes
      from: its 0-based position in the read as sequenced, i.e. the query index (soft clips
      counted, hard clips not) on the forward strand and `len(SEQ) - 1 -` it on the reverse
      strand. A gap carries the cycle of the base whose quality it carries (the next query
      base). Overlapping mates keep a row each, so a column that holds the base samtools
      kept of the two carries that base's cycle in its own read. -1 on padding and where no
      stored base is read (a deletion ending the read, `SEQ *`); cycles past 32,767 (the
      largest int16) read as 32,767. None: not known (a batch built by hand).
    - `mapq`: `(N,)` mapping qualities, or None (none known). Calling caps each base
      quality at its read's MAPQ (as bcftools does; 255, "unavailable", caps nothing), so a
      MAPQ 0 read carries no evidence, and weighs indel support by
      $1 - 10^{-\\text{MAPQ}/10}$.
    - `reverse`: `(N,)` bool, the read maps to the reverse strand, or None (not known).
    - `names`: the `N` read names, or None. Reads with the same name (the two mates of a
      pair) count once as indel support in calling, so overlapping mates are not double
      evidence; None: every read is its own template.
    - `read_weights`: `(N,)` per-read weights of the pileup (and of calling), or None for 1.
    - `reference`: `(region_end - region_start,)` int codes of the region's reference (see
      `softpile.encode_sequence`), or None (not known).

    Made by `read_region` and `iter_windows`:

    ```python
    >>> import tempfile
    >>> import softpile.io
    >>> from softpile.io._example import write_example
    >>> bam, fasta = write_example(tempfile.mkdtemp())
    >>> batch = softpile.io.read_region(bam, fasta, ("chr1", 0, 40))
    >>> batch.num_reads, batch.codes.shape, batch.one_hot().shape
    (3, (3, 10), (3, 10, 5))
    >>> piled = batch.pileup(quality_weighting=False)
    >>> piled.depth[:8].tolist(), piled.insertions[:8].tolist()
    ([0, 0, 1, 1, 2, 2, 3, 3], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])

    ```

    or by hand (here two reads, the second one base shorter):

    ```python
    >>> import numpy as np
    >>> from softpile.io import ReadBatch
    >>> reads = ReadBatch(starts=np.array([0, 2]), codes=np.array([[0, 1, 2], [2, 3, -1]]),
    ...                   quality=np.full((2, 3), 30.0), read_weights=np.array([1.0, 0.5]))
    >>> reads.region_start, reads.region_end
    (0, 4)
    >>> reads.pileup(quality_weighting=False).coverage.tolist()
    [1.0, 1.0, 1.5, 0.5]

    ```
    """

    contig: str
    region_start: int
    region_end: int
    starts: np.ndarray
    codes: np.ndarray
    quality: np.ndarray
    insertions: np.ndarray
    inserted_sequences: tuple[Mapping[int, str], ...]
    cycles: np.ndarray | None
    mapq: np.ndarray | None
    reverse: np.ndarray | None
    names: tuple[str, ...] | None
    read_weights: np.ndarray | None
    reference: np.ndarray | None

    def __init__(
        self,
        *,
        starts,
        codes,
        quality,
        insertions=None,
        inserted_sequences: Sequence[Mapping[int, str]] | None = None,
        cycles=None,
        mapq=None,
        reverse=None,
        names: Sequence[str] | None = None,
        read_weights=None,
        reference=None,
        contig: str = "chr",
        region_start: int = 0,
        region_end: int | None = None,
    ):
        codes = np.asarray(codes)
        if codes.ndim != 2:
            raise ValueError(f"ReadBatch: `codes` must be (reads, columns), got {codes.shape}.")
        count = len(codes)
        starts = np.asarray(starts)
        quality = np.asarray(quality)
        insertions = (
            np.zeros(codes.shape, np.float32) if insertions is None else np.asarray(insertions)
        )
        if inserted_sequences is None:
            inserted_sequences = (_NO_INSERTIONS,) * count
        optional = {"cycles": cycles, "mapq": mapq, "reverse": reverse}
        optional.update(read_weights=read_weights, reference=reference)
        arrays = {k: None if v is None else np.asarray(v) for k, v in optional.items()}
        for name, value in (("quality", quality), ("insertions", insertions)):
            _check_shape(name, value, codes.shape, f"the shape of `codes` {codes.shape}")
        if arrays["cycles"] is not None:
            _check_shape("cycles", arrays["cycles"], codes.shape, "the shape of `codes`")
        for name, value in [("starts", starts)] + [
            (name, arrays[name]) for name in ("mapq", "reverse", "read_weights")
        ]:
            if value is not None:
                _check_shape(name, value, (count,), f"one entry per read ({count})")
        for name, sequence in (("inserted_sequences", inserted_sequences), ("names", names)):
            if sequence is not None and len(sequence) != count:
                raise ValueError(
                    f"ReadBatch: `{name}` needs one entry per read ({count}), got {len(sequence)}."
                )
        region_start = int(region_start)
        region_end = _reads_end(starts, codes, region_start) if region_end is None else region_end
        if region_end < region_start:
            raise ValueError(
                f"ReadBatch: `region_end` ({region_end}) is before `region_start` ({region_start})."
            )
        if arrays["reference"] is not None:
            length = region_end - region_start
            _check_shape("reference", arrays["reference"], (length,), f"{length} codes")
        fields = dict(
            contig=contig,
            region_start=region_start,
            region_end=int(region_end),
            starts=starts,
            codes=codes,
            quality=quality,
            insertions=insertions,
            inserted_sequences=tuple(inserted_sequences),
            names=None if names is None else tuple(names),
            **arrays,
        )
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def num_reads(self) -> int:
        return int(self.codes.shape[0])

    def one_hot(self, gaps: bool = True, n_channel: bool = False) -> jax.Array:
        """`softpile.one_hot_reads` of `codes`.

        **Arguments:** `gaps` adds the gap channel `-`; `n_channel` gives `N` its own channel
        (channels A, C, G, T, -, N), for exact counts.

        **Returns:** `(N, L, C)` floats with `C = 4 + gaps + n_channel`.
        """
        return one_hot_reads(self.codes, gaps=gaps, n_channel=n_channel)

    def capped_quality(self) -> np.ndarray:
        """`quality` (float32) capped at each read's `mapq` (255 caps nothing), as calling
        uses it; `quality` itself without `mapq`."""
        quality = np.asarray(self.quality, dtype=np.float32)
        if self.mapq is None:
            return quality
        mapq = np.asarray(self.mapq, dtype=np.float32)
        return np.minimum(quality, np.where(mapq == UNAVAILABLE_MAPQ, np.inf, mapq)[:, None])

    def templates(self) -> np.ndarray:
        """`(N,)` an id per read name (mates share one), or one id per read without names."""
        if self.names is None:
            return np.arange(self.num_reads)
        return np.unique(np.asarray(self.names, dtype=object), return_inverse=True)[1]

    @classmethod
    def from_simulation(cls, simulation) -> "ReadBatch":
        """The reads of a `softpile.simulate.Simulation`, over its whole reference (contig
        `"sim"`, as `write_simulation` names it).

        `cycles` is the column index (every read taken as forward, without clips); `mapq`,
        `reverse` and `names` are None.
        """
        codes = np.asarray(simulation.reads)
        columns = np.arange(codes.shape[1], dtype=np.int16)
        reference = np.asarray(simulation.reference)
        return cls(
            contig="sim",
            region_start=0,
            region_end=reference.size,
            starts=simulation.starts,
            codes=codes,
            quality=simulation.quality,
            insertions=simulation.insertions,
            inserted_sequences=simulation.inserted_sequences,
            cycles=np.where(codes == PAD, np.int16(-1), columns[None, :]),
            reference=reference,
        )

    def pileup(
        self,
        *,
        gaps: bool = True,
        n_channel: bool = False,
        quality_weighting: bool = True,
        read_weights: np.ndarray | None = None,
    ) -> Pileup:
        """`softpile.pileup` of these reads over the region (position 0 = `region_start`).

        Reads and columns are padded to a few bucket sizes (padding adds nothing), so a stream
        of windows compiles a handful of shapes.

        **Arguments:**

        - `gaps`, `n_channel`: the channels, as in `one_hot`.
        - `quality_weighting`: weight counts by `1 - e` of `quality` (as `softpile.pileup`).
        - `read_weights`: `(N,)` per-read weights (e.g. from `mapq`); default: the batch's
          `read_weights` (1 when None).

        **Returns:**

        A [`softpile.Pileup`][] with `region_end - region_start` positions.
        """
        if read_weights is None:
            read_weights = self.read_weights
        length = self.region_end - self.region_start
        reads = _bucket(self.num_reads)
        columns = _bucket(self.codes.shape[1])
        positions = _bucket(length)
        codes = _pad(self.codes, (reads, columns), -1)
        quality = _pad(self.quality, (reads, columns), 0)
        insertions = _pad(self.insertions, (reads, columns), 0)
        starts = _pad(self.starts - self.region_start, (reads,), 0)
        weights = None
        if read_weights is not None:
            weights = _pad(np.asarray(read_weights, dtype=np.float32), (reads,), 0)
        dtype = jnp.zeros((), float).dtype
        result = _pileup_of_codes(
            jnp.asarray(codes),
            jnp.asarray(starts),
            jnp.asarray(quality, dtype),
            jnp.asarray(insertions, dtype),
            None if weights is None else jnp.asarray(weights, dtype),
            reference_length=positions,
            gaps=gaps,
            n_channel=n_channel,
            quality_weighting=quality_weighting,
        )
        return jax.tree.map(lambda field: field[:length], result)


def _check_shape(name: str, value: np.ndarray, shape: tuple, wanted: str) -> None:
    if value.shape != shape:
        raise ValueError(f"ReadBatch: `{name}` needs {wanted}, got shape {value.shape}.")


def _reads_end(starts: np.ndarray, codes: np.ndarray, region_start: int) -> int:
    """Past the last column that is not padding (`region_start` without one)."""
    occupied = codes != PAD
    rows = occupied.any(axis=1)
    if not rows.any():
        return region_start
    width = codes.shape[1] - np.argmax(occupied[rows, ::-1], axis=1)
    return max(region_start, int((starts[rows] + width).max()))


def _bucket(size: int) -> int:
    """Round up to 16, or to a power of two times 1, 1.25, 1.5 or 1.75: few distinct shapes
    (four per doubling), at most 25% padding."""
    if size <= 16:
        return 16
    power = 1 << (int(size) - 1).bit_length() - 1
    for step in (power + power // 4, power + power // 2, power + 3 * power // 4):
        if size <= step:
            return step
    return 2 * power


def _pad(array: np.ndarray, shape: tuple[int, ...], value) -> np.ndarray:
    widths = [(0, target - current) for current, target in zip(array.shape, shape)]
    return np.pad(array, widths, constant_values=value)


@functools.partial(
    jax.jit, static_argnames=("reference_length", "gaps", "n_channel", "quality_weighting")
)
def _pileup_of_codes(
    codes,
    starts,
    quality,
    insertions,
    weights,
    *,
    reference_length,
    gaps,
    n_channel,
    quality_weighting,
):
    reads = one_hot_reads(codes, gaps=gaps, n_channel=n_channel)
    return pileup(
        reads,
        starts,
        reference_length,
        quality=quality,
        read_weights=weights,
        insertions=insertions,
        quality_weighting=quality_weighting,
    )

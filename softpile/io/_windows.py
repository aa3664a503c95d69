"""The one window loop: every reader of BAM files (`iter_windows`, `pileup_region`, the count
table, calling, plotting, training data) takes its reads from `stream_windows`."""

import dataclasses
from collections.abc import Iterator, Sequence

from ._filters import Filters
from ._inputs import Inputs
from ._progress import Progress
from ._records import Alignments
from ._stream import ContigStream


@dataclasses.dataclass(frozen=True)
class Window:
    """Positions `[start, end)` of `contig`, and the accepted reads of each input that cover
    `[start, read_end)` (`read_end` is `end` plus the margin asked for, within the range
    read); `letters` is the reference of `[start, read_end)`."""

    contig: str
    start: int
    end: int
    read_end: int
    letters: str
    reads: tuple[Alignments, ...]
    needs_history: bool = False
    """Whether the reads before the range read may change the results of this contig range
    (see `ContigStream.needs_history`); a pass from the contig's start never needs them."""


def stream_windows(
    inputs: Sequence[Inputs],
    region,
    *,
    window_size: int,
    filters: Filters,
    margin: int = 0,
    lookahead: int = 0,
    progress: bool | None = None,
) -> Iterator[Window]:
    """Windows of `window_size` positions over `region` (None: every contig of the first
    input's header), in reference order, with each input's reads.

    Each input is read once, front to back (one index query per contig range, or one pass over
    the whole file); samtools' read selection carries over window boundaries, so the windows
    together hold exactly the reads of one pass, whatever `window_size`. `margin` more
    positions of reads are given past each window's end (within the contig); `lookahead`
    more positions of reads are read past the region's end, as samtools reads on before it
    reports the region's last positions (a region cut from a longer range needs them).
    """
    if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
        raise ValueError(f"window_size must be a positive int, got {window_size!r}.")
    regions = inputs[0].regions(region)
    for other in inputs[1:]:
        other.regions(region)
    bar = Progress(sum(end - start for _, start, end in regions), progress)
    for contig, start, end in regions:
        read_to = min(end + max(margin, lookahead), inputs[0].lengths[contig])
        streams = [
            ContigStream(
                source.tables(contig, start, read_to, whole_file=region is None),
                contig,
                filters,
                source.bam_path,
            )
            for source in inputs
        ]
        for window_start in range(start, end, window_size):
            window_end = min(window_start + window_size, end)
            read_end = min(window_end + margin, read_to)
            reads = tuple(stream.window(window_start, read_end) for stream in streams)
            yield Window(
                contig,
                window_start,
                window_end,
                read_end,
                inputs[0].sequence(contig, window_start, read_end),
                reads,
                any(stream.needs_history for stream in streams),
            )
            bar.advance(window_end - window_start)
    bar.close()

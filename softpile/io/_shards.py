"""Long regions on several processes: the region is cut into shards, each shard is read
(through the index) and processed by a worker process, and the results come back in
reference order.

A shard gives exactly what one pass over the whole region gives when samtools' buffer state at
the shard's start is rebuilt from the reads that overlap it: true unless the buffer cap may
have dropped a read, three or more reads sharing a name began before the shard, or a read
spans more than the lookahead read past each shard. A worker reports these cases, and the
contig is then finished by one sequential pass from its start, so the result is the same for
any number of processes.
"""

import collections
import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence

from ._filters import Filters
from ._inputs import Inputs
from ._windows import Window, stream_windows

MIN_SHARDED_LENGTH = 5_000_000
"""Positions from which worker processes pay off: starting them costs about 2 s (a server
process imports softpile, each worker compiles its programs), about what 3 Mb of counting
takes on one core (`python benchmarks/bam_pileup.py`)."""

LOOKAHEAD = 10_000
"""Positions of reads read past a shard's end: samtools reads on until a read starts past
the position it reports, and a mate starting there may still change a read of the shard."""


def plan_shards(
    regions: list[tuple[str, int, int]], window_size: int, processes: int
) -> list[tuple[str, int, int]]:
    """About eight shards per process (small enough that the results of the shards in flight
    stay small), each a whole number of windows."""
    total = sum(end - start for _, start, end in regions)
    windows = max(-(-total // (8 * processes * window_size)), 1)
    size = windows * window_size
    return [
        (contig, shard_start, min(shard_start + size, end))
        for contig, start, end in regions
        for shard_start in range(start, end, size)
    ]


def _run_shard(job) -> tuple[list, bool]:
    """In a worker: the task's results for the windows of one shard, and whether they are
    exactly those of one pass over the whole region."""
    bams, reference, shard, window_size, margin, filters, task = job
    results, exact = [], True
    with contextlib.ExitStack() as stack:
        inputs = [stack.enter_context(Inputs(bam, reference)) for bam in bams]
        windows = stream_windows(
            inputs,
            shard,
            window_size=window_size,
            filters=filters,
            margin=margin,
            lookahead=max(LOOKAHEAD, margin),
            progress=False,
        )
        for window in windows:
            if window.needs_history or any(
                len(reads) and (reads.end - reads.start).max() > LOOKAHEAD for reads in window.reads
            ):
                exact = False
                break
            results.append(task(window))
    return results, exact


def sharded_results(
    inputs: Sequence[Inputs],
    regions: list[tuple[str, int, int]],
    task: Callable[[Window], object],
    *,
    window_size: int,
    filters: Filters,
    processes: int,
    progress: Callable[[int], None],
    margin: int = 0,
) -> Iterator:
    """`task(window)` for every window of `regions` (the windows of `stream_windows` with
    these options), in reference order, computed by `processes` worker processes (`task` must
    be a picklable, module-level function or partial). Needs every input's index."""
    shards = plan_shards(regions, window_size, processes)
    bams = [source.bam_path for source in inputs]
    reference = inputs[0].reference_path
    jobs = [(bams, reference, shard, window_size, margin, filters, task) for shard in shards]
    context = _context()
    _check_workers_start(context)
    with context.Pool(processes) as pool:
        sequential_contig = None
        for (contig, start, end), (results, exact) in zip(shards, _bounded(pool, jobs, processes)):
            if contig == sequential_contig:
                continue  # already done by the sequential pass
            if exact:
                yield from results
                progress(end - start)
                continue
            # Finish the contig's range with one pass from its start (output from `start`).
            sequential_contig = contig
            (first, last) = _contig_range(regions, contig)
            windows = stream_windows(
                inputs,
                (contig, first, last),
                window_size=window_size,
                filters=filters,
                margin=margin,
                progress=False,
            )
            for window in windows:
                if window.start >= start:
                    yield task(window)
                    progress(window.end - window.start)


def _bounded(pool, jobs: list, processes: int) -> Iterator:
    """`pool.imap(_run_shard, jobs)`, but with at most `2 * processes` shards submitted and
    not yet taken, so memory stays bounded by the shards in flight when the results are used
    more slowly than they are made."""
    pending: collections.deque = collections.deque()
    for job in jobs:
        pending.append(pool.apply_async(_run_shard, (job,)))
        if len(pending) >= 2 * processes:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _context():
    """Workers forked from a server process that has imported softpile but never run JAX
    (forking a process whose JAX runtime has started can deadlock)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _check_workers_start(context) -> None:
    """Start one worker that does nothing. A pool replaces a worker that dies as it starts, and
    goes on replacing it for ever: when the main script cannot be imported again in a worker
    (its top level starts workers itself, or it came on stdin: `python - < script.py`), say
    so instead."""
    process = context.Process(target=_nothing)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(
            f"worker processes exit as they start (exit code {process.exitcode}): each one "
            "imports the main script again, so a script that runs softpile on several threads "
            "must be a file (not stdin) that starts them under `if __name__ == '__main__':`; "
            "or use one thread."
        )


def _nothing() -> None:
    pass


def _contig_range(regions, contig: str) -> tuple[int, int]:
    for name, start, end in regions:
        if name == contig:
            return start, end
    raise KeyError(contig)

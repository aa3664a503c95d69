"""Windows processed on several threads, results handed back in reference order."""

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor


def default_threads() -> int:
    """All the cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_threads(threads: int, argument: str = "threads") -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"{argument} must be an int >= 1, got {threads!r}.")
    return threads


def ordered_map(function: Callable, items: Iterable, threads: int) -> Iterator:
    """`map(function, items)` with up to `threads` calls running at once, in order.

    NumPy and XLA release the interpreter lock in their heavy work, so the calls of different
    windows overlap with each other and with the reading of the next window. At most
    `2 * threads` results wait at a time, so memory stays bounded by the windows in flight.
    """
    if threads == 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="softpile") as pool:
        pending: collections.deque = collections.deque()
        try:
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) >= 2 * threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

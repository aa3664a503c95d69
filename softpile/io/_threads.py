"""How many processes to use: all the cores this process may run on, unless told."""

import os


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_threads(threads: int, argument: str = "threads") -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"{argument} must be >= 1, got {threads!r}.")
    return threads

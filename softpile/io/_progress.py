"""A one-line progress bar on stderr, shown only for terminals and long work."""

import sys
import time


class Progress:
    """Counts base pairs done out of `total`; draws after the first second of work."""

    def __init__(self, total: int, enabled: bool | None):
        self.total = max(total, 1)
        self.done = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.shown = False

    def advance(self, amount: int) -> None:
        self.done += amount
        if not self.enabled or time.monotonic() - self.started < 1.0:
            return
        fraction = self.done / self.total
        bar = "#" * int(30 * fraction)
        print(
            f"\rsoftpile: [{bar:<30}] {100 * fraction:5.1f}% {self.done:,}/{self.total:,} bp",
            end="",
            file=sys.stderr,
            flush=True,
        )
        self.shown = True

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr, flush=True)

"""Items of an iterator made ahead in a background thread."""

import queue
import threading
from collections.abc import Iterable, Iterator

_END = object()


def prefetched(items: Iterable, ahead: int = 2) -> Iterator:
    """The items of `items`, made by a background thread up to `ahead` items before they are
    taken, so that making them (reading windows of records) overlaps with the work done on
    them wherever that work releases Python's lock (compiled JAX programs do; the BAM decoder
    does not).

    An exception raised while making an item is raised here, where that item would have been
    taken. Closing this generator stops the thread (after the item it is making) and closes
    `items` there.
    """
    handoff: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def hand(entry) -> bool:
        """Put `entry` in the queue unless the consumer has stopped; whether it was put."""
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not hand((item, None)):
                    return
            hand((_END, None))
        except BaseException as error:  # raised in the consumer instead
            hand((_END, error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=make, name="softpile-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()

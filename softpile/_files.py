"""Atomic output files: a failed command never leaves a half-written file."""

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it to `path` only if the block succeeds.

    On failure (an interruption too) the temporary file is removed, with the folders made for
    it: nothing is left behind, and an existing `path` is untouched.
    """
    target = Path(path)
    missing = [folder for folder in target.parents if not folder.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    os.close(handle)
    # mkstemp makes the file private (0600); give it the mode a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
            for folder in missing:  # deepest first; one that got other files stays
                with contextlib.suppress(OSError):
                    folder.rmdir()

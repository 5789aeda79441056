"""One run at a time in a dataset folder: an exclusive ``flock`` on a lock file inside it, held while the run
writes. The kernel releases it when the process (and the workers it forked) end, however they end, so a
killed run never leaves the folder locked; the file itself stays, empty."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from scenegen.errors import DatasetError

LOCK_FILE = ".scenegen.lock"


@contextlib.contextmanager
def hold_lock(folder: Path) -> Iterator[None]:
    """Hold the lock of the dataset ``folder`` (which exists) while the block runs; ScenegenError naming the
    folder when another run holds it."""
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise DatasetError(f"{folder}: cannot open its lock file {LOCK_FILE} ({err.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(
                f"{folder} is in use by another scenegen run (render, merge or export); wait for it to end"
            ) from None
        except OSError as err:  # a file system without locks
            raise DatasetError(f"{folder}: cannot lock {LOCK_FILE} ({err.strerror})") from None
        yield
    finally:
        os.close(fd)

"""Reading a file that anyone may have put there (a cache file, a record, ``dataset.json``): a regular file of
bounded size only, opened without blocking, so that a FIFO, a device or a folder in its place is refused and
never waited on, and, where asked, without following a symbolic link."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_regular(path: Path, max_bytes: int, follow_links: bool = True) -> bytes:
    """The bytes of the regular file ``path``. ValueError (one line) when it is not a regular file, holds more
    than ``max_bytes`` or, without ``follow_links``, is a symbolic link; OSError when it cannot be opened
    (FileNotFoundError: not there)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError:
        if not follow_links and os.path.islink(path):
            raise ValueError("a symbolic link, not a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{info.st_size} bytes, more than the {max_bytes} allowed")
        chunks, size = [], 0
        while size <= max_bytes and (chunk := os.read(fd, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:  # it grew since
        raise ValueError(f"more than the {max_bytes} bytes allowed")
    return b"".join(chunks)

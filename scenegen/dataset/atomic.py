"""Crash-safe file writes: write to a temporary name in the same folder, sync it to disk, rename it, then
sync the folder, so that after a crash or a power loss a file is either absent, the old one, or whole; a
folder rewritten as a whole (``replaced_folder``) is built beside it and swapped in the same way.

Writes never go through a symbolic link: a file whose folder's real path is not the path itself (a
dataset's sub-folder linked elsewhere) is refused in one line, so callers pass real paths (resolved
dataset folders). A link in place of the file itself is replaced, never followed."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scenegen.errors import DatasetError


def write_bytes(path: Path, data: bytes, sync: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one; with
    ``sync``, on disk (file, then folder) before this returns. Exports written file by file pass
    ``sync=False`` and are made durable together by ``sync_all`` before the dataset is marked complete."""
    refuse_linked_folder(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as file:
            file.write(data)
            if sync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(tmp, path)
        if sync:
            sync_folder(path.parent)
    except OSError as err:  # disk full, out of inodes, read-only: one line, not a traceback
        raise DatasetError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def refuse_linked_folder(path: Path) -> None:
    """ScenegenError unless ``path``'s folder is reached without a symbolic link (its real path is itself)."""
    folder = os.path.abspath(path.parent)
    real = os.path.realpath(folder)
    if real != folder:
        raise DatasetError(
            f"cannot write {path}: {folder} is reached through a symbolic link (to {real}); "
            "scenegen never writes through links"
        )


def sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` (a rename, a new link) durable; a no-op where folders cannot be synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def sync_all() -> None:
    """Everything written so far on disk (``sync``), e.g. the exports, before ``dataset.json`` says complete."""
    os.sync()


def write_json(path: Path, data: Any, sync: bool = True) -> None:
    """Atomically write ``data`` as indented JSON with a trailing newline (``sync``: as ``write_bytes``); NaN
    and infinities (not JSON) raise ValueError."""
    write_bytes(path, (json.dumps(data, indent=1, allow_nan=False) + "\n").encode(), sync)


def link_or_copy(source: Path, target: Path, copy: bool = False) -> None:
    """Make ``target`` a hard link to ``source``, or a copy where the file system refuses links (or ``copy``);
    not synced: see ``sync_all``."""
    refuse_linked_folder(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        if copy:
            shutil.copyfile(source, tmp)
        else:
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def replaced_folder(path: Path) -> Iterator[Path]:
    """An empty folder, the sibling ``.NAME.tmp`` of ``path``, in which to build what replaces the folder
    ``path``: when the block ends, everything is synced and the new folder takes ``path``'s place (the old one
    removed), so nothing of the old folder is left; if the block raises, the new folder is removed and ``path``
    is left as it was. After a crash ``path`` is the old folder, the whole new one, or (between two renames)
    absent; the siblings a crash leaves are removed by the next call (one writer at a time: the dataset's
    lock)."""
    refuse_linked_folder(path)
    new, old = (path.with_name(f".{path.name}.{what}") for what in ("tmp", "old"))
    try:
        for leftover in (new, old):
            _remove(leftover)
        new.mkdir()
    except OSError as err:
        raise DatasetError(f"cannot write {new}: {err.strerror or err}") from None
    try:
        yield new
    except BaseException:
        _remove(new)
        raise
    try:
        sync_all()  # the new folder on disk before its name says it is there
        if path.is_symlink() or path.exists():
            os.replace(path, old)
        os.replace(new, path)
        sync_folder(path.parent)
        _remove(old)
    except OSError as err:
        raise DatasetError(f"cannot write {path}: {err.strerror or err}") from None


def _remove(path: Path) -> None:
    """Remove the folder ``path`` and all it holds (a link or file in its place: only that); nothing if absent."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)

"""Paths stay inside their dataset.

``path_inside`` is the one way a path read from a file (a frame record, ``dataset.json``, a COCO file)
becomes a file-system path: anything that is not a relative path string, or that leaves the dataset folder
(``..``, an absolute path, a symbolic link pointing out), is a one-line error naming the file it was read
from. ``refuse_links`` keeps writes inside: a dataset whose sub-folder is a symbolic link (``flow/``
linked elsewhere) is refused before anything is written into it.
"""

from __future__ import annotations

import os
from pathlib import Path

from scenegen.errors import DatasetError, shown


def path_inside(root: Path, relative: object, source: object) -> Path:
    """``root / relative`` with symbolic links resolved; ScenegenError naming ``source`` (the file the path
    was read from) unless ``relative`` is a non-empty relative path that stays inside ``root``."""
    text = shown(relative)
    if not isinstance(relative, str) or not relative.strip() or "\0" in relative:
        raise DatasetError(f"{source}: {text} is not a file path")
    if Path(relative).is_absolute():
        raise DatasetError(f"{source}: path {text} is absolute; it must be relative to {root}")
    base = Path(root).resolve()
    try:
        path = (base / relative).resolve()
    except (OSError, RuntimeError) as err:  # a symbolic link loop, a name too long
        raise DatasetError(f"{source}: path {text} cannot be resolved ({err})") from None
    if path == base:
        raise DatasetError(f"{source}: path {text} names the folder {root}, not a file in it")
    if not path.is_relative_to(base):
        raise DatasetError(f"{source}: path {text} leaves {root} (.. or a symbolic link pointing out)")
    return path


def refuse_links(root: Path) -> None:
    """ScenegenError naming the first symbolic link under the dataset folder ``root`` that points to a folder
    (or to nothing, where a folder may be made): scenegen writes a dataset's files in its real folders, never
    through a link. Links are not followed while looking; a link in place of a file is replaced when that
    file is written, and checked by whoever reads it (``path_inside``)."""
    base = Path(root).resolve()
    folders = [base]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    target = Path(os.path.realpath(entry.path))
                    if target.is_dir() or not target.exists():
                        where = Path(entry.path).relative_to(base)
                        raise DatasetError(
                            f"{root}: {where} is a symbolic link to {target}; scenegen never writes through "
                            "links: make it a real folder inside the dataset"
                        )
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))

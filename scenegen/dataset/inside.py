"""Paths read from a file (a frame record, ``dataset.json``, a COCO file) must stay inside their dataset.

``path_inside`` is the one way such a path becomes a file-system path: anything that is not a relative
path string, or that leaves the dataset folder (``..``, an absolute path, a symbolic link pointing out),
is a one-line error naming the file it was read from.
"""

from __future__ import annotations

from pathlib import Path

from scenegen.errors import ScenegenError, shown


def path_inside(root: Path, relative: object, source: object) -> Path:
    """``root / relative`` with symbolic links resolved; ScenegenError naming ``source`` (the file the path
    was read from) unless ``relative`` is a non-empty relative path that stays inside ``root``."""
    text = shown(relative)
    if not isinstance(relative, str) or not relative.strip() or "\0" in relative:
        raise ScenegenError(f"{source}: {text} is not a file path")
    if Path(relative).is_absolute():
        raise ScenegenError(f"{source}: path {text} is absolute; it must be relative to {root}")
    base = Path(root).resolve()
    try:
        path = (base / relative).resolve()
    except (OSError, RuntimeError) as err:  # a symbolic link loop, a name too long
        raise ScenegenError(f"{source}: path {text} cannot be resolved ({err})") from None
    if path == base:
        raise ScenegenError(f"{source}: path {text} names the folder {root}, not a file in it")
    if not path.is_relative_to(base):
        raise ScenegenError(f"{source}: path {text} leaves {root} (.. or a symbolic link pointing out)")
    return path

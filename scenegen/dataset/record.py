"""The per-frame files: image, optional masks, and the JSON frame record (the source of truth).

The record is written last, so a frame whose record exists is complete.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenegen.dataset import atomic
from scenegen.dataset.inside import path_inside
from scenegen.errors import ScenegenError

FORMAT = "scenegen.frame/1"
FILE_KEYS = ("image", "instance_mask", "semantic_mask", "depth_png", "depth_npy", "normals")  # relative paths


def frame_name(index: int) -> str:
    return f"{index:06d}"


def record_path(out: Path, index: int) -> Path:
    return out / "labels" / f"{frame_name(index)}.json"


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (h, w, 3) uint8 RGB image or an (h, w) uint8/uint16 image."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def encode_npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of ``array`` (``numpy.load`` reads them)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_file(out: Path, relative: str, data: bytes) -> None:
    """Atomically write ``out/relative``, making its folder if needed."""
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out / relative, data)


def write_record(out: Path, index: int, record: dict[str, Any]) -> None:
    path = record_path(out, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, {"format": FORMAT, **record})


def read_record(out: Path, index: int) -> dict[str, Any]:
    """Frame ``index``'s record; ScenegenError naming it when it is unreadable or a path in it (or the
    record itself, through a symbolic link) leaves the dataset folder ``out``."""
    path = path_inside(out, f"labels/{frame_name(index)}.json", out)
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ScenegenError(f"{path}: not a readable frame record ({' '.join(str(err).split())[:160]})") from None
    if not isinstance(record, dict):
        raise ScenegenError(f"{path}: not a frame record (a JSON object)")
    for key in FILE_KEYS:
        if key in record:
            path_inside(out, record[key], path)
    return record


def record_indices(out: Path) -> list[int]:
    """The frame indices of the records in ``out/labels``, sorted; ScenegenError on a file there that is
    not named as a frame record."""
    indices = []
    for path in (out / "labels").glob("*.json"):
        if not path.stem.isdigit():
            raise ScenegenError(f"{path}: not a frame record (its name is not a frame number)")
        indices.append(int(path.stem))
    return sorted(indices)


def read_records(out: Path, indices: list[int] | None = None) -> list[dict[str, Any]]:
    """The frame records of a dataset folder, in frame order: every one, or those of ``indices``."""
    return [read_record(out, i) for i in (record_indices(out) if indices is None else indices)]

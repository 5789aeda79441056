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

from scenegen import atomic

FORMAT = "scenegen.frame/1"


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


def write_png(out: Path, folder: str, index: int, image: np.ndarray) -> str:
    """Write ``out/folder/NNNNNN.png``; return its path relative to ``out``."""
    return _write(out, f"{folder}/{frame_name(index)}.png", encode_png(image))


def write_npy(out: Path, folder: str, index: int, array: np.ndarray) -> str:
    """Write ``out/folder/NNNNNN.npy`` (``numpy.load`` reads it); return its path relative to ``out``."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return _write(out, f"{folder}/{frame_name(index)}.npy", buffer.getvalue())


def write_record(out: Path, index: int, record: dict[str, Any]) -> None:
    path = record_path(out, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, {"format": FORMAT, **record})


def _write(out: Path, relative: str, data: bytes) -> str:
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out / relative, data)
    return relative


def read_records(out: Path) -> list[dict[str, Any]]:
    """Every frame record of a dataset folder, in frame order."""
    return [json.loads(p.read_text()) for p in sorted((out / "labels").glob("*.json"))]

"""Ultralytics YOLO detection and segmentation labels, built from the frame records.

Ultralytics finds an image's label file by replacing the last ``/images/`` of
its path with ``/labels/`` and the extension with ``.txt``. The dataset's own
``labels/`` folder holds the JSON frame records, so the export is a folder of
its own, ``yolo/`` (detection) or ``yolo_seg/`` (segmentation) inside the dataset::

    yolo/images/NNNNNN.png   hard links to ../images/NNNNNN.png (copies where links fail)
    yolo/labels/NNNNNN.txt   one line per annotated object; empty for a frame without any
    yolo/train.txt           the train images, one ``./images/NNNNNN.png`` a line
    yolo/val.txt             the val images, likewise
    yolo/data.yaml           ``train: train.txt``, ``val: val.txt``, ``names: {0: ball, ...}``

``data.yaml`` has no ``path`` key on purpose: Ultralytics then takes the
dataset root to be the yaml's folder (``path: .`` would mean the working
directory), and it reads list lines that start with ``./`` relative to the list
file's folder, so the folder can be moved or copied as a whole.

Class ``c`` is category ``c + 1``. Coordinates are normalised by the image
width and height, in pixel-edge units: pixel ``i`` spans ``[i, i + 1]``, so a
COCO box ``[x, y, w, h]`` covers ``[x, x + w] x [y, y + h]``.

A segmentation line is one polygon per object, as Ultralytics wants, through
the centres (``i + 0.5``) of the boundary pixels of the object's visible mask.
Visible masks can have holes (a torus, a mug's handle) and pieces (an occluder
cutting an object in two); every contour, outer and hole, is spliced into one
polygon by a zero-width bridge between the nearest points of the two, the way
Ultralytics' own COCO converter joins multi-part polygons. ``cv2.fillPoly``
(which Ultralytics rasterises with) turns the polygon back into the mask, up to
the one-pixel-wide bridges between pieces. A mask whose contours have fewer
than 3 points in all (one or two pixels) gets no segmentation line, since
Ultralytics would read it as a box.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.spatial import KDTree

from scenegen.dataset import atomic
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.record import frame_name
from scenegen.formats.split import split_records
from scenegen.labels.rle import decode_rle

TASKS = ("detect", "segment")
FOLDER = "yolo"


def _annotated(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [ann for ann in record["annotations"] if "bbox" in ann]


def yolo_detection_lines(record: dict[str, Any]) -> list[str]:
    """``"cls cx cy w h"`` lines, normalised to [0, 1] with 6 decimals, one per annotated object."""
    width, height = record["width"], record["height"]
    lines = []
    for ann in _annotated(record):
        x, y, w, h = ann["bbox"]
        values = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
        lines.append(" ".join([str(ann["category_id"] - 1), *(f"{v:.6f}" for v in values)]))
    return lines


def mask_polygon(mask: np.ndarray) -> np.ndarray | None:
    """(n, 2) int pixel indices (x, y) of the (h, w) bool mask's contours spliced into one polygon, largest
    first; None when it has fewer than 3 points."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contours = sorted((c.reshape(-1, 2) for c in contours), key=lambda c: -abs(cv2.contourArea(c)))
    polygon = contours[0]
    for contour in contours[1:]:
        distances, nearest = KDTree(polygon).query(contour)
        j = int(np.argmin(distances))
        i = int(nearest[j])
        # ... polygon[i], contour[j], ..., contour[j - 1], contour[j], polygon[i], ...: out and back on one bridge
        polygon = np.vstack([polygon[: i + 1], np.roll(contour, -j, axis=0), contour[j : j + 1], polygon[i:]])
    return polygon if len(polygon) >= 3 else None


def yolo_segmentation_lines(record: dict[str, Any]) -> list[str]:
    """``"cls x1 y1 x2 y2 ..."`` lines, normalised to [0, 1] with 6 decimals, one per annotated object with a
    ``mask_polygon`` (see the module docstring)."""
    size = np.array([record["width"], record["height"]], dtype=float)
    lines = []
    for ann in _annotated(record):
        polygon = mask_polygon(decode_rle(ann["segmentation"]))
        if polygon is None:
            continue
        points = ((polygon + 0.5) / size).ravel()
        lines.append(" ".join([str(ann["category_id"] - 1), *(f"{v:.6f}" for v in points)]))
    return lines


def data_yaml(classes: list[str]) -> str:
    """The Ultralytics dataset yaml; names are JSON strings, which YAML reads as double-quoted scalars."""
    names = "".join(f"  {i}: {json.dumps(name)}\n" for i, name in enumerate(classes))
    header = "# Ultralytics YOLO dataset written by scenegen; the dataset root is this file's folder.\n"
    return f"{header}train: train.txt\nval: val.txt\nnames:\n{names}"


def write_yolo(
    dataset_dir: Path,
    records: list[dict[str, Any]],
    classes: list[str],
    task: str = "detect",
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Path:
    """Write the ``yolo/`` export of ``task`` (detect or segment) for ``records``; return its ``data.yaml``.

    The train/val split is ``split_records`` (by scene) with ``val_fraction`` and ``seed``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    lines_of = yolo_detection_lines if task == "detect" else yolo_segmentation_lines
    out = Path(dataset_dir) / (FOLDER if task == "detect" else f"{FOLDER}_seg")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    image_of = {}
    for record in records:
        name = frame_name(record["index"])
        image = f"images/{name}{Path(record['files']['image']['path']).suffix}"
        link_or_copy(Path(dataset_dir) / record["files"]["image"]["path"], out / image)
        lines = lines_of(record)
        atomic.write_bytes(out / "labels" / f"{name}.txt", "".join(f"{line}\n" for line in lines).encode())
        image_of[record["index"]] = image
    train, val = split_records(records, val_fraction, seed)
    for split, indices in (("train", train), ("val", val)):
        atomic.write_bytes(out / f"{split}.txt", "".join(f"./{image_of[i]}\n" for i in indices).encode())
    atomic.write_bytes(out / "data.yaml", data_yaml(classes).encode())
    return out / "data.yaml"

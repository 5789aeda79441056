"""Ultralytics YOLO detection and segmentation labels, built from the frame records.

Ultralytics finds an image's label file by replacing the last ``/images/`` of
its path with ``/labels/`` and the extension with ``.txt``. The dataset's own
``labels/`` folder holds the JSON frame records, so the export is a folder of
its own, ``yolo/`` (detection) or ``yolo_seg/`` (segmentation) inside the
dataset, in the layout Ultralytics documents, one folder per split (so train
and val get their own ``labels/{train,val}.cache``)::

    yolo/images/train/NNNNNN.png   hard links to ../images/NNNNNN.png (copies with ``copy``, or where links fail)
    yolo/images/val/NNNNNN.png
    yolo/labels/train/NNNNNN.txt   one line per annotated object; empty for a frame without any
    yolo/labels/val/NNNNNN.txt
    yolo/data.yaml                 ``train: images/train``, ``val: images/val``, ``names: {0: ball, ...}``

``data.yaml`` has no ``path:``: Ultralytics (``check_det_dataset``) then takes the yaml's own folder as the
dataset root, and FiftyOne's ``YOLOv5Dataset`` reads the splits relative to the yaml, so the folder works
wherever it is copied or moved (a relative ``path:`` would be read against the working directory or
Ultralytics' ``datasets_dir``, an absolute one would keep pointing at the original folder).
Hard links take no space but count twice for tools that do not keep them (``cp -r``, ``zip``, ``rsync``
without ``-H``); ``data.yaml`` says so, and ``scenegen export --copy`` writes copies.

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

from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import yaml
from scipy.spatial import KDTree

from scenegen.dataset import atomic
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.record import FrameRecord, ObjectLabel, file_path, frame_name, image_suffix, is_annotated
from scenegen.formats.job import Export, ExportJob, ExportLink
from scenegen.formats.split import Split
from scenegen.labels.rle import decode_rle

TASKS = ("detect", "segment")
FOLDER = "yolo"
SPLITS = ("train", "val")


def _annotated(record: FrameRecord) -> list[ObjectLabel]:
    return [ann for ann in record["annotations"] if is_annotated(ann)]


def yolo_detection_lines(record: FrameRecord) -> list[str]:
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


def yolo_segmentation_lines(record: FrameRecord) -> list[str]:
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


def data_yaml(classes: list[str], copied: bool) -> str:
    """The Ultralytics dataset yaml: no ``path``, so Ultralytics (``check_det_dataset``) and FiftyOne take the
    splits relative to the yaml's own folder, wherever the folder is copied or moved; names in UTF-8."""
    images = (
        "# images/ holds copies of the dataset's images.\n"
        if copied
        else "# images/ holds hard links to the dataset's images/ (copies where links fail): no extra space, but\n"
        "# cp -r, zip and rsync without -H store them twice; `scenegen export DATASET --copy ...` writes copies.\n"
    )
    header = (
        "# Ultralytics YOLO dataset written by scenegen. No path: key, so train and val are read relative to\n"
        "# this file's folder, wherever it is copied or moved.\n"
    )
    body = {"train": "images/train", "val": "images/val", "names": dict(enumerate(classes))}
    return header + images + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=1_000_000)


def write_yolo(
    dataset_dir: Path,
    records: Iterable[FrameRecord],
    classes: list[str],
    task: str,
    split: Split,
    copy: bool = False,
) -> Path:
    """Write the ``yolo/`` export of ``task`` (detect or segment) for ``records``; return its ``data.yaml``.

    The train/val split is ``split`` (by scene); images
    are hard links to the dataset's (copies with ``copy``). Files of an earlier export that are not part of
    this one (a frame now in the other split) are removed.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    lines_of = yolo_detection_lines if task == "detect" else yolo_segmentation_lines
    out = Path(dataset_dir) / (FOLDER if task == "detect" else f"{FOLDER}_seg")
    written: set[Path] = set()
    for side in SPLITS:
        (out / "images" / side).mkdir(parents=True, exist_ok=True)
        (out / "labels" / side).mkdir(parents=True, exist_ok=True)
    for record in records:
        name = frame_name(record["index"])
        side = "val" if split.in_val(record) else "train"
        image = out / "images" / side / f"{name}{image_suffix(record)}"
        link_or_copy(file_path(Path(dataset_dir), record, "image"), image, copy)
        label = out / "labels" / side / f"{name}.txt"
        text = "".join(f"{line}\n" for line in lines_of(record))
        atomic.write_bytes(label, text.encode(), sync=False)  # synced with the dataset
        written.update((image, label))
    for side in SPLITS:
        for folder in (out / "images" / side, out / "labels" / side):
            for stale in folder.iterdir():
                if stale not in written:
                    stale.unlink()
    atomic.write_bytes(out / "data.yaml", data_yaml(classes, copy).encode("utf-8"))
    return out / "data.yaml"


def _detect(job: ExportJob) -> Path:
    return write_yolo(job.dataset_dir, job.records, job.class_names, "detect", job.split, job.copy)


def _segment(job: ExportJob) -> Path:
    return write_yolo(job.dataset_dir, job.records, job.class_names, "segment", job.split, job.copy)


def image_links(export: str, record: FrameRecord) -> Iterator[ExportLink]:
    """The link to ``record``'s image in the YOLO export ``export``: in its train or its val folder."""
    name = f"{frame_name(record['index'])}{image_suffix(record)}"
    yield ExportLink(export, "image", tuple(f"{export}/images/{side}/{name}" for side in SPLITS))


EXPORTS = (
    Export("yolo", _detect, links=partial(image_links, FOLDER)),
    Export("yolo_seg", _segment, links=partial(image_links, f"{FOLDER}_seg")),
)

"""BOP-style pose ground truth, built from the frame records.

Writes, under ``bop/`` in the dataset, the three per-scene files of the BOP
format with one BOP "scene" holding every frame, keyed by frame index:

- ``scene_camera.json``: ``cam_K`` (9 floats, row-major), ``depth_scale`` 1.0,
  and the world-to-camera ``cam_R_w2c`` (9 floats), ``cam_t_w2c`` (3, mm);
- ``scene_gt.json``: per object in spec order, ``cam_R_m2c`` (9 floats,
  row-major), ``cam_t_m2c`` (3, mm) and ``obj_id`` (the category id);
- ``scene_gt_info.json``: per object in the same order, ``bbox_obj`` (the
  amodal box, clipped to the image; -1s when the dataset has no amodal labels
  or the object covers no pixel), ``bbox_visib`` (the COCO box, -1s when not
  annotated), ``px_count_obj`` (amodal pixels, when known), ``px_count_visib``
  (visible pixels) and ``visib_fract`` (-1 when the dataset has no amodal labels).

Camera axes are OpenCV's (see ``scenegen.labels.geometry``). The model points that
``cam_R_m2c`` and ``cam_t_m2c`` act on are the mesh file's coordinates times
the instance's ``scale``, in millimetres: BOP models are in mm.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.dataset import atomic
from scenegen.labels.geometry import world_to_camera_cv

FOLDER = "bop"
UNKNOWN_BOX = [-1, -1, -1, -1]
MM_PER_M = 1000.0


def _floats(array: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(array).ravel()]


def scene_camera_entry(record: dict[str, Any]) -> dict[str, Any]:
    """One frame's ``scene_camera.json`` entry."""
    camera = record["spec"]["camera"]
    world_to_camera = world_to_camera_cv(np.asarray(camera["pose"]))
    return {
        "cam_K": _floats(camera["K"]),
        "depth_scale": 1.0,
        "cam_R_w2c": _floats(world_to_camera[:3, :3]),
        "cam_t_w2c": _floats(world_to_camera[:3, 3] * MM_PER_M),
    }


def scene_gt_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One frame's ``scene_gt.json`` entries, one per object, from the record's 6D poses."""
    return [
        {
            "cam_R_m2c": _floats(ann["cam_R_m2c"]),
            "cam_t_m2c": _floats(np.asarray(ann["cam_t_m2c"]) * MM_PER_M),
            "obj_id": int(ann["category_id"]),
        }
        for ann in record["annotations"]
    ]


def scene_gt_info_entries(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One frame's ``scene_gt_info.json`` entries, in the order of ``scene_gt_entries``."""
    entries = []
    for ann in record["annotations"]:
        entry = {
            "bbox_obj": ann.get("amodal_bbox") or UNKNOWN_BOX,
            "bbox_visib": ann.get("bbox", UNKNOWN_BOX),
            "px_count_visib": int(ann["visible_pixels"]),
            "visib_fract": float(ann.get("visib_fract", -1.0)),
        }
        if "amodal_area" in ann:
            entry["px_count_obj"] = int(ann["amodal_area"])
        entries.append(entry)
    return entries


def write_bop(dataset_dir: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write ``bop/scene_camera.json``, ``scene_gt.json`` and ``scene_gt_info.json`` from one pass over
    ``records``; return the folder."""
    out = Path(dataset_dir) / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    entries = {"scene_camera": scene_camera_entry, "scene_gt": scene_gt_entries, "scene_gt_info": scene_gt_info_entries}
    files: dict[str, dict[str, Any]] = {name: {} for name in entries}
    for record in records:
        for name, entry in entries.items():
            files[name][str(record["index"])] = entry(record)
    for name, content in files.items():
        atomic.write_json(out / f"{name}.json", content)
    return out

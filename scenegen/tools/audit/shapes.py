"""Shape diversity per class, from scenegen's frame records: how many distinct shapes, how varied their proportions.

A shape is an instance's mesh identity: its asset id and, where the record's object carries them, its shape
parameters (the object keys in ``SHAPE_KEYS``: procedural families name their parameters there). Its 3D box's
proportions (along the mesh file's axes) are solved from the record alone, so no pack is needed: with the
camera's K and the pose (``cam_R_m2c``, ``cam_t_m2c``), each of the nine box keypoints gives two equations
linear in the six box bounds, solved by least squares for instances whose keypoints all lie in the image. One
camera cannot tell a box from a larger one farther away whose origin sits elsewhere inside it, so the sides
are known up to a common factor (fixed by making them sum to 1) and the metric size is not measured. A
shape's proportions are its box's sides sorted, over the longest: (middle / longest, shortest / longest).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.dataset.record import read_record, record_path
from scenegen.errors import DatasetError

SHAPE_KEYS = ("shape",)  # object keys of a record's spec that tell apart two meshes of one asset
MAX_LISTED_SHAPES = 50  # shapes listed per class in the summary; all are counted
CORNER_BITS = ((4, 0), (2, 1), (1, 2))  # keypoint 1 + i takes the max on axis a where bit b of i is set


def shape_diversity(dataset: Path, frames: np.ndarray) -> dict[str, Any]:
    """Per class: instances, distinct shapes, the range and spread of their proportions, and the shapes
    themselves (at most ``MAX_LISTED_SHAPES``), from the records of ``frames`` (frame indices)."""
    instances: dict[str, dict[str, list[np.ndarray | None]]] = defaultdict(lambda: defaultdict(list))
    read = 0
    for index in frames:
        path = record_path(dataset, int(index))
        if not path.is_file():
            continue
        read += 1
        for name, shape, sides in _instances(read_record(path), path):
            instances[name][shape].append(sides)
    return {"frames_read": read, "per_class": {name: _class_shapes(instances[name]) for name in sorted(instances)}}


def box_sides(keypoints: np.ndarray, rotation: np.ndarray, translation: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(3,) sides, summing to 1, of the 3D box whose nine keypoints (centre, then corners; ``keypoints`` (9, 2)
    pixels) a camera ``K`` (3, 3) sees with the object at ``rotation`` (3, 3) and ``translation`` (3,):
    u (K P)_z = (K P)_x and v (K P)_z = (K P)_y for P = rotation X + translation, X a fixed mix of the bounds
    (lo, hi) solved for, and the sides' sum as the one more equation that fixes the scale."""
    select = np.zeros((9, 3, 6))  # keypoint k's model point = select[k] @ (lo_x, lo_y, lo_z, hi_x, hi_y, hi_z)
    select[0, :, :3] = select[0, :, 3:] = np.eye(3) / 2
    for i in range(8):
        for bit, axis in CORNER_BITS:
            select[1 + i, axis, axis + 3 * bool(i & bit)] = 1.0
    rows, rhs = [], []
    for (u, v), mix in zip(keypoints, select, strict=True):
        for coordinate, row in ((u, 0), (v, 1)):
            line = K[row] - coordinate * K[2]  # line . P = 0
            rows.append(line @ rotation @ mix)
            rhs.append(-line @ translation)
    weight = float(np.abs(rows).max())
    rows.append(weight * np.array([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0]))
    rhs.append(weight)
    bounds = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return np.abs(bounds[3:] - bounds[:3])


def proportions(sides: np.ndarray) -> np.ndarray:
    """(2,) middle / longest and shortest / longest of (3,) box ``sides``."""
    longest, middle, shortest = np.sort(sides)[::-1]
    return np.array([middle / longest, shortest / longest])


def _instances(record: Mapping[str, Any], path: Path) -> list[tuple[str, str, np.ndarray | None]]:
    """(class, shape, box sides or None) of each labelled instance of ``record`` (one with a box, as the exports
    have), its values checked; a shape is
    named by its asset id, followed by its parameters as JSON where the record's object has any."""
    spec: dict[str, Any] = record["spec"] if isinstance(record.get("spec"), dict) else {}
    objects = {o.get("instance_id"): o for o in spec.get("objects", []) if isinstance(o, dict)}
    K = _numbers(spec.get("camera", {}).get("K") if isinstance(spec.get("camera"), dict) else None, (3, 3))
    out = []
    for n, ann in enumerate(record.get("annotations", [])):
        if not isinstance(ann, dict) or "bbox" not in ann:  # not labelled: fewer visible pixels than the minimum
            continue
        where = f"{path}: annotations[{n}]"
        name, asset = ann.get("class_name"), ann.get("asset_id")
        if not isinstance(name, str) or not isinstance(asset, str):
            raise DatasetError(f"{where}: needs class_name and asset_id (strings)")
        obj = objects.get(ann.get("instance_id"), {})
        parameters = json.dumps({key: obj[key] for key in SHAPE_KEYS if obj.get(key) is not None}, sort_keys=True)
        shape = asset if parameters == "{}" else f"{asset} {parameters}"
        keypoints = _numbers(ann.get("keypoints"), (9, 3))
        rotation, translation = _numbers(ann.get("cam_R_m2c"), (9,)), _numbers(ann.get("cam_t_m2c"), (3,))
        if keypoints is None or rotation is None or translation is None or K is None:
            raise DatasetError(f"{where}: keypoints (9 x 3), cam_R_m2c (9), cam_t_m2c (3) and the camera's K "
                                "(3 x 3) must be finite numbers")  # fmt: skip
        inside = (keypoints[:, 2] > 0).all()
        sides = box_sides(keypoints[:, :2], rotation.reshape(3, 3), translation, K) if inside else None
        out.append((name, shape, sides))
    return out


def _numbers(value: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """``value`` as a float array of ``shape`` when it is one, all finite; else None."""
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return array if array.shape == shape and np.isfinite(array).all() else None


def _class_shapes(shapes: dict[str, list[np.ndarray | None]]) -> dict[str, Any]:
    """One class's figures from its shapes' instances (box sides, None where not solved)."""
    listed: dict[str, Any] = {}
    points: list[Any] = []
    for key in sorted(shapes):
        solved = [s for s in shapes[key] if s is not None]
        ratio = np.median([proportions(s) for s in solved], axis=0) if solved else None
        if ratio is not None:
            points.append(ratio)
        if len(listed) < MAX_LISTED_SHAPES:
            listed[key] = {
                "instances": len(shapes[key]),
                "proportions": None if ratio is None else ratio.tolist(),
            }
    points_array = np.array(points).reshape(-1, 2)
    spread = float(np.linalg.norm(points_array - points_array.mean(axis=0), axis=1).mean()) if points else None
    return {
        "instances": sum(len(v) for v in shapes.values()),
        "distinct_shapes": len(shapes),
        "measured_shapes": len(points),
        "proportions_range": [[float(points_array[:, i].min()), float(points_array[:, i].max())] for i in (0, 1)]
        if points
        else None,
        "proportions_spread": spread,
        "shapes": listed,
    }

"""Labels from the id image: numpy only, exact by construction.

A pixel belongs to instance ``k`` when ``ids == k``; boxes are the tight boxes
of those masks in COCO ``[x, y, w, h]`` with ``w = xmax - xmin + 1``; areas are
pixel counts; segmentations are COCO compressed RLE strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scenegen.labels.crop import Crop, instance_crops
from scenegen.labels.rle import encode_rle


def instance_annotations(
    ids: np.ndarray, num_instances: int, min_visible_pixels: int, crops: list[Crop | None] | None = None
) -> list[dict[str, Any]]:
    """One dict per instance 1..num_instances: ``instance_id``, ``visible_pixels``, and when it has at
    least ``min_visible_pixels`` (and at least one) also ``bbox``, ``area`` and ``segmentation``;
    ``crops``: ``instance_crops(ids, num_instances)`` when the caller has them."""
    out = []
    for k, crop in enumerate(crops if crops is not None else instance_crops(ids, num_instances), start=1):
        area = 0 if crop is None else int(np.count_nonzero(crop.mask))
        record: dict[str, Any] = {"instance_id": k, "visible_pixels": area}
        if crop is not None and area >= min_visible_pixels:
            record.update(bbox=crop.box(), area=area, segmentation=encode_rle(crop))
        out.append(record)
    return out


def semantic_image(ids: np.ndarray, category_of_instance: np.ndarray) -> np.ndarray:
    """(h, w) uint16 category ids from instance ids; ``category_of_instance[k]`` is instance k's category (0 at 0)."""
    return category_of_instance.astype(np.uint16)[ids]


def depth_millimetres(depth: np.ndarray) -> np.ndarray:
    """(h, w) uint16 millimetres of an (h, w) float depth in metres, rounded; saturates at 65535 (65.535 m)."""
    return np.minimum(np.round(depth * 1000.0), 65535).astype(np.uint16)


def disjoint_groups(boxes: list[list[int] | None]) -> list[list[int]]:
    """Positions of ``boxes`` ([x0, y0, x1, y1] inclusive, or None: skipped) grouped so that no two
    boxes of a group overlap (first fit, in order): objects of one group cannot occlude each other."""
    groups: list[list[int]] = []
    for i, box in enumerate(boxes):
        if box is None:
            continue
        for group in groups:
            if all(disjoint(box, boxes[j]) for j in group):  # type: ignore[arg-type]
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def disjoint(a: list[int], b: list[int]) -> bool:
    """Whether boxes ``a`` and ``b`` ([x0, y0, x1, y1] inclusive) share no pixel."""
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def amodal_fields(amodal: Crop, visible_pixels: int, truncated: bool, rle: dict | None = None) -> dict:
    """Amodal box, area and RLE of the unoccluded mask, ``visib_fract`` = visible pixels / amodal pixels
    (0 when the object covers no pixel), and ``truncated`` (cut by the image border); ``rle``: the mask's
    RLE when the caller has it (an unoccluded object's visible one)."""
    area = int(np.count_nonzero(amodal.mask))
    return {
        "amodal_bbox": amodal.box() if area else None,
        "amodal_area": area,
        "amodal_segmentation": rle if rle is not None else encode_rle(amodal),
        "visib_fract": visible_pixels / area if area else 0.0,
        "truncated": truncated,
    }


KEYPOINT_DEPTH_TOLERANCE = (0.005, 0.01)  # metres, fraction of the depth


def keypoints_2d(uv: np.ndarray, depth: np.ndarray, depth_image: np.ndarray) -> list[list[float]]:
    """``[u, v, visibility]`` per point, COCO style, from (n, 2) pixel coordinates and (n,) depths.

    visibility 2: in front of the camera, its pixel inside the image, and no surface nearer than the point
    there (the rendered depth is 0 or at least the point's depth minus ``KEYPOINT_DEPTH_TOLERANCE``);
    1: in the image but occluded; 0: outside the image or behind the camera (then u = v = 0).
    """
    height, width = depth_image.shape
    out = []
    for (u, v), z in zip(uv, depth, strict=True):
        col, row = int(np.floor(u + 0.5)) if z > 0 else -1, int(np.floor(v + 0.5)) if z > 0 else -1
        if not (0 <= col < width and 0 <= row < height):
            out.append([0.0, 0.0, 0])
            continue
        surface = float(depth_image[row, col])
        tolerance = KEYPOINT_DEPTH_TOLERANCE[0] + KEYPOINT_DEPTH_TOLERANCE[1] * z
        out.append([float(u), float(v), 2 if surface == 0 or surface >= z - tolerance else 1])
    return out

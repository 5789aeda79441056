"""Labels from the id image: numpy only, exact by construction.

A pixel belongs to instance ``k`` when ``ids == k``; boxes are the tight boxes
of those masks in COCO ``[x, y, w, h]`` with ``w = xmax - xmin + 1``; areas are
pixel counts; segmentations are COCO compressed RLE strings.
"""

from __future__ import annotations

import numpy as np


def mask_box(mask: np.ndarray) -> list[int]:
    """Tight COCO box ``[x, y, w, h]`` of a non-empty (h, w) bool mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def instance_areas(ids: np.ndarray, count: int) -> np.ndarray:
    """(count + 1,) int64 pixel count of every id 0..count in the (h, w) id image."""
    return np.bincount(ids.ravel(), minlength=count + 1)[: count + 1]


def rle_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO RLE: run lengths of the column-major flattened mask, starting with zeros."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return counts


def rle_string(counts: list[int]) -> str:
    """COCO's compressed RLE string for uncompressed ``counts`` (the LEB128-like code of maskApi.c)."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count  # counts after the second are delta coded
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def encode_rle(mask: np.ndarray) -> dict:
    """COCO RLE ``{"size": [h, w], "counts": str}`` of an (h, w) bool mask."""
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle_string(rle_counts(mask))}


def instance_annotations(ids: np.ndarray, num_instances: int, min_visible_pixels: int) -> list[dict]:
    """One dict per instance 1..num_instances: ``instance_id``, ``visible_pixels``, and when it has at
    least ``min_visible_pixels`` (and at least one) also ``bbox``, ``area`` and ``segmentation``."""
    areas = instance_areas(ids, num_instances)
    out = []
    for k in range(1, num_instances + 1):
        record = {"instance_id": k, "visible_pixels": int(areas[k])}
        if areas[k] >= max(min_visible_pixels, 1):
            mask = ids == k
            record.update(bbox=mask_box(mask), area=int(areas[k]), segmentation=encode_rle(mask))
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
            if all(_disjoint(box, boxes[j]) for j in group):  # type: ignore[arg-type]
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def _disjoint(a: list[int], b: list[int]) -> bool:
    return a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def amodal_fields(amodal: np.ndarray, visible_pixels: int, truncated: bool) -> dict:
    """Amodal box, area and RLE of the (h, w) bool unoccluded mask, ``visib_fract`` = visible pixels /
    amodal pixels (0 when the object covers no pixel), and ``truncated`` (cut by the image border)."""
    area = int(np.count_nonzero(amodal))
    return {
        "amodal_bbox": mask_box(amodal) if area else None,
        "amodal_area": area,
        "amodal_segmentation": encode_rle(amodal),
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

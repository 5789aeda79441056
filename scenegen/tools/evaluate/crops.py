"""Crops of annotated boxes: each box grown by a margin, cut from its image (clipped to it), scaled so that
its longer side fills the square and centred on grey: letterboxed, never stretched.

Selection comes first, so that only the images holding a selected box are read, each once: boxes with a
side under ``min_box_pixels`` are skipped, and for the synthetic set instances whose ``visib_fract`` (from the
frame records) is under ``min_visible`` too, and at most ``max_per_class`` crops of a class, drawn with the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.formats.coco_reader import CocoDataset

PAD = 128  # grey of the letterbox bars


@dataclass
class Crops:
    """``n`` crops and where they come from."""

    pixels: np.ndarray  # (n, s, s, 3) uint8 RGB
    labels: np.ndarray  # (n,) int64 probe label
    image_ids: np.ndarray  # (n,) int64 image id of each crop
    annotations: np.ndarray  # (n,) int64 index into the dataset's annotations
    skipped: dict[str, int]  # why boxes were left out -> how many


def select(
    ds: CocoDataset,
    to_probe: dict[int, int],
    min_box_pixels: int,
    min_visible: float = 0.0,
    max_per_class: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Indices into ``ds.annotations`` of the boxes to crop (sorted), and counts of those left out and why.
    ``to_probe`` maps the dataset's class indices to probe labels; other classes are left out."""
    labels = np.array([a["label"] for a in ds.annotations], dtype=np.int64)
    sides = np.array([min(a["bbox"][2], a["bbox"][3]) for a in ds.annotations], dtype=float)
    matched = np.isin(labels, list(to_probe))
    small = matched & (sides < min_box_pixels)
    hidden = matched & ~small & (ds.visibility < min_visible)  # NaN (unknown) compares False: kept
    keep = matched & ~small & ~hidden
    skipped = {"unmatched_class": int((~matched).sum()), "small": int(small.sum()), "occluded": int(hidden.sum())}
    chosen = np.flatnonzero(keep)
    if max_per_class is not None:
        rng = rng or np.random.default_rng(0)
        capped = []
        for label in sorted(set(labels[chosen].tolist())):
            members = chosen[labels[chosen] == label]
            if len(members) > max_per_class:
                members = np.sort(rng.choice(members, max_per_class, replace=False))
            capped.append(members)
        kept = np.sort(np.concatenate(capped)) if capped else chosen
        skipped["over_class_cap"] = len(chosen) - len(kept)
        chosen = kept
    return chosen, skipped


def cut(ds: CocoDataset, chosen: np.ndarray, size: int, margin: float) -> np.ndarray:
    """(len(chosen), size, size, 3) uint8: the letterboxed crops of ``ds.annotations[chosen]``, each image read once."""
    pixels = np.empty((len(chosen), size, size, 3), np.uint8)
    by_image: dict[int, list[int]] = {}
    for row, index in enumerate(chosen.tolist()):
        by_image.setdefault(ds.annotations[index]["image_id"], []).append(row)
    for image_id in sorted(by_image):
        image = ds.read_image(image_id)
        for row in by_image[image_id]:
            pixels[row] = letterbox(image, ds.annotations[int(chosen[row])]["bbox"], size, margin)
    return pixels


def crops_of(
    ds: CocoDataset, chosen: np.ndarray, skipped: dict[str, int], to_probe: dict[int, int], size: int, margin: float
) -> Crops:
    """The ``Crops`` of ``ds.annotations[chosen]``."""
    anns = [ds.annotations[int(i)] for i in chosen]
    return Crops(
        pixels=cut(ds, chosen, size, margin),
        labels=np.array([to_probe[a["label"]] for a in anns], dtype=np.int64),
        image_ids=np.array([a["image_id"] for a in anns], dtype=np.int64),
        annotations=chosen.astype(np.int64),
        skipped=skipped,
    )


def letterbox(image: np.ndarray, box: list[float], size: int, margin: float) -> np.ndarray:
    """(size, size, 3) uint8: the box ``[x, y, w, h]`` of ``image`` ((h, w, 3) uint8) grown by ``margin`` times
    its width and height on each side and clipped to the image, scaled to fit the square and centred on grey."""
    x, y, w, h = box
    height, width = image.shape[:2]
    x0 = int(np.clip(np.floor(x - margin * w), 0, width - 1))
    y0 = int(np.clip(np.floor(y - margin * h), 0, height - 1))
    x1 = int(np.clip(np.ceil(x + w + margin * w), x0 + 1, width))
    y1 = int(np.clip(np.ceil(y + h + margin * h), y0 + 1, height))
    region = image[y0:y1, x0:x1]
    scale = size / max(region.shape[:2])
    new_w = max(1, min(size, round(region.shape[1] * scale)))
    new_h = max(1, min(size, round(region.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(region, (new_w, new_h), interpolation=interpolation)
    out = np.full((size, size, 3), PAD, np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out

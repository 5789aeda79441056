"""Measuring a sample of the dataset: the nuisance features of instances and the backgrounds of images.

At most ``max_instances`` annotations and ``max_images`` images are drawn, uniformly with the seed; each
image is read once, and only the sampled instances' masks are decoded, one at a time (the union of an
image's masks is merged as RLE), so memory stays a few images however many annotations an image has.

Colour is measured on an instance's visible pixels (its mask) in HSV, hue in degrees:
its hue is the saturation-weighted mean of (cos H, sin H), so a grey instance sits near (0, 0) instead
of at a meaningless angle; its brightness is the mean V. The ring around an instance is its box grown by
``ring_fraction * sqrt(box area)`` pixels (at least 2) on each side, less the box and less every mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from scenegen.formats.coco_reader import CocoDataset
from scenegen.tools.audit.config import AuditConfig
from scenegen.tools.audit.phash import phash

HUE_BINS = 36  # 10 degrees each
VALUE_BINS = 32


@dataclass
class Measurements:
    """Per-instance features of the sampled instances (n) and per-image ones of the sampled images (m)."""

    labels: np.ndarray  # (n,) class index
    instance_images: np.ndarray  # (n,) image id of each instance
    box_size: np.ndarray  # (n,) sqrt(box area / image area)
    box_center: np.ndarray  # (n, 2) box centre x / width, y / height
    hue: np.ndarray  # (n, 2) saturation-weighted mean (cos H, sin H) of the visible pixels; NaN without pixels
    brightness: np.ndarray  # (n,) mean V of the visible pixels in [0, 1]; NaN without pixels
    ring: np.ndarray  # (n, 3) mean RGB in [0, 1] of the ring's pixels; NaN when it has none
    visibility: np.ndarray  # (n,) visib_fract; NaN where unknown
    hue_hist: np.ndarray  # (classes, HUE_BINS) visible pixels per hue bin, saturation >= min_saturation
    value_hist: np.ndarray  # (classes, VALUE_BINS) visible pixels per brightness bin
    image_ids: np.ndarray  # (m,) the sampled images
    background: np.ndarray  # (m, 3) mean RGB in [0, 1] of the pixels outside every mask; NaN when none
    hashes: np.ndarray  # (m, 32) uint8 packed 256-bit pHash


def sample(count: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``count`` items, drawn without replacement."""
    if count <= limit:
        return np.arange(count)
    return np.sort(rng.choice(count, limit, replace=False))


def measure(ds: CocoDataset, cfg: AuditConfig) -> Measurements:
    """Draw the samples and measure them."""
    chosen = [
        ds.annotations[i] for i in sample(len(ds.annotations), cfg.max_instances, np.random.default_rng(cfg.seed))
    ]
    all_ids = np.array(sorted(ds.images))
    image_ids = all_ids[sample(len(all_ids), cfg.max_images, np.random.default_rng([cfg.seed, 1]))]
    per_image: dict[int, list[dict]] = {}
    for ann in ds.annotations:
        per_image.setdefault(ann["image_id"], []).append(ann)
    measured: dict[int, list[dict]] = {}
    for ann in chosen:
        measured.setdefault(ann["image_id"], []).append(ann)

    n, classes = len(chosen), len(ds.classes)
    hue, brightness, ring = np.full((n, 2), np.nan), np.full(n, np.nan), np.full((n, 3), np.nan)
    hue_hist, value_hist = np.zeros((classes, HUE_BINS)), np.zeros((classes, VALUE_BINS))
    background, hashes = np.full((len(image_ids), 3), np.nan), np.zeros((len(image_ids), 32), np.uint8)
    row_of = {ann["id"]: row for row, ann in enumerate(chosen)}
    slot_of = {int(image_id): slot for slot, image_id in enumerate(image_ids)}
    for image_id in sorted(set(measured) | set(slot_of)):
        rgb = ds.read_image(image_id)
        occupied = ds.union(per_image.get(image_id, []), rgb.shape[:2])
        hsv = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
        for ann in measured.get(image_id, []):
            row = row_of[ann["id"]]
            pixels = hsv[ds.mask(ann)]
            if len(pixels):
                angle = np.deg2rad(pixels[:, 0])
                hue[row] = [np.mean(pixels[:, 1] * np.cos(angle)), np.mean(pixels[:, 1] * np.sin(angle))]
                brightness[row] = pixels[:, 2].mean()
                coloured = pixels[pixels[:, 1] >= cfg.min_saturation, 0]
                hue_hist[ann["label"]] += np.histogram(coloured, HUE_BINS, (0.0, 360.0))[0]
                value_hist[ann["label"]] += np.histogram(pixels[:, 2], VALUE_BINS, (0.0, 1.0))[0]
            ring[row] = ring_colour(rgb, occupied, ann["bbox"], cfg.ring_fraction)
        if image_id in slot_of:
            free = rgb[~occupied]
            if len(free):
                background[slot_of[image_id]] = free.mean(axis=0) / 255.0
            hashes[slot_of[image_id]] = phash(rgb)

    sizes = np.array([[ds.images[a["image_id"]]["width"], ds.images[a["image_id"]]["height"]] for a in chosen], float)
    boxes = np.array([a["bbox"] for a in chosen], dtype=float).reshape(-1, 4)
    return Measurements(
        labels=np.array([a["label"] for a in chosen], dtype=np.int64),
        instance_images=np.array([a["image_id"] for a in chosen], dtype=np.int64),
        box_size=np.sqrt(boxes[:, 2] * boxes[:, 3] / (sizes[:, 0] * sizes[:, 1])),
        box_center=(boxes[:, :2] + boxes[:, 2:] / 2) / sizes,
        hue=hue,
        brightness=brightness,
        ring=ring,
        visibility=ds.visibility[[a["id"] for a in chosen]],
        hue_hist=hue_hist,
        value_hist=value_hist,
        image_ids=image_ids,
        background=background,
        hashes=hashes,
    )


def ring_colour(rgb: np.ndarray, occupied: np.ndarray, bbox: list[float], fraction: float) -> np.ndarray:
    """(3,) mean RGB in [0, 1] of the ring around COCO ``bbox`` that no mask covers; NaN when it is empty."""
    h, w = occupied.shape
    x, y, bw, bh = bbox
    x0, y0, x1, y1 = int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + bw)), int(np.ceil(y + bh))
    pad = max(2, round(fraction * np.sqrt(bw * bh)))
    ox0, oy0, ox1, oy1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w), min(y1 + pad, h)
    free = ~occupied[oy0:oy1, ox0:ox1]
    free[max(y0 - oy0, 0) : max(y1 - oy0, 0), max(x0 - ox0, 0) : max(x1 - ox0, 0)] = False
    pixels = rgb[oy0:oy1, ox0:ox1][free]
    return pixels.mean(axis=0) / 255.0 if len(pixels) else np.full(3, np.nan)

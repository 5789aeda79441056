"""``scenegen preview``: a contact sheet of a dataset with its labels drawn over the images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from scenegen.dataset import atomic
from scenegen.dataset.record import encode_png
from scenegen.errors import ConfigError, ExportError
from scenegen.formats.coco_reader import CocoDataset, load_dataset

TILE_WIDTH = 320


def instance_color(k: int) -> tuple[int, int, int]:
    """A distinct, bright RGB colour for the ``k``-th instance (golden-ratio hue steps)."""
    hsv = np.array([[[int(k * 0.618034 * 180) % 180, 200, 255]]], np.uint8)
    r, g, b = (int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])
    return r, g, b


def annotated_tile(ds: CocoDataset, image_id: int) -> np.ndarray:
    """(h', w', 3) uint8 RGB: the image with its masks tinted, boxes outlined and class names written,
    scaled to ``TILE_WIDTH`` pixels wide."""
    image = ds.read_image(image_id).astype(np.float32)
    anns = [a for a in ds.annotations if a["image_id"] == image_id]
    for k, ann in enumerate(anns):
        mask = ds.mask(ann)
        image[mask] = 0.55 * image[mask] + 0.45 * np.array(instance_color(k), np.float32)
    scale = TILE_WIDTH / image.shape[1]
    tile = cv2.resize(np.clip(image, 0, 255).astype(np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for k, ann in enumerate(anns):
        x, y, w, h = (round(v * scale) for v in ann["bbox"])
        cv2.rectangle(tile, (x, y), (x + max(w - 1, 0), y + max(h - 1, 0)), instance_color(k), 1)
        label = ds.classes[ann["label"]]
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1)
        top = max(y - th - 3, 0)
        cv2.rectangle(tile, (x, top), (x + tw + 2, top + th + 3), (0, 0, 0), cv2.FILLED)
        cv2.putText(tile, label, (x + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def preview(
    dataset: Path, out: Path | None = None, count: int = 12, columns: int = 4, images: Path | None = None
) -> Path:
    """Write a grid of the first ``count`` images of ``dataset`` (a scenegen folder or COCO JSON) with
    their labels; return its path (default ``<folder>/preview.png`` or ``<json stem>_preview.png``)."""
    if count < 1 or columns < 1:
        raise ConfigError(f"preview: --count {count} must be at least 1")
    out = out or (dataset / "preview.png" if dataset.is_dir() else dataset.with_name(f"{dataset.stem}_preview.png"))
    if not out.parent.is_dir():
        raise ExportError(f"--out {out}: no folder {out.parent} to write it in")
    ds = load_dataset(dataset, images)
    tiles = [annotated_tile(ds, image_id) for image_id in sorted(ds.images)[:count]]
    height = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0))) for t in tiles]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    try:
        atomic.write_bytes(out.resolve(), encode_png(sheet))  # the path the user named, links resolved
    except OSError as err:
        raise ExportError(f"--out {out}: cannot write: {err.strerror}") from None
    return out

"""The export formats, each built from the frame records alone (so any can be added later, without
re-rendering, by ``scenegen export``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scenegen.dataset.dataset_file import read_dataset_file
from scenegen.dataset.record import read_records
from scenegen.errors import ScenegenError
from scenegen.formats.bop import write_bop
from scenegen.formats.coco import write_coco
from scenegen.formats.mot import write_mot
from scenegen.formats.yolo import write_yolo
from scenegen.formats.youtube_vis import write_youtube_vis

Records = list[dict[str, Any]]

Categories = list[dict[str, Any]]  # COCO categories: id (from 1), name, supercategory


def _names(categories: Categories) -> list[str]:
    return [c["name"] for c in sorted(categories, key=lambda c: c["id"])]


# name -> writer(dataset_dir, records, categories, val_fraction, seed) -> the main file or folder written
FORMATS: dict[str, Callable[[Path, Records, Categories, float, int], Path]] = {
    "coco": lambda d, r, c, f, s: write_coco(d, r, c, f, s, keypoints=False),
    "coco_keypoints": lambda d, r, c, f, s: write_coco(d, r, c, f, s, keypoints=True),
    "yolo": lambda d, r, c, f, s: write_yolo(d, r, _names(c), "detect", f, s),
    "yolo_seg": lambda d, r, c, f, s: write_yolo(d, r, _names(c), "segment", f, s),
    "bop": lambda d, r, c, f, s: write_bop(d, r),
    "youtube_vis": write_youtube_vis,
    "mot": lambda d, r, c, f, s: write_mot(d, r),
}


def export(
    dataset_dir: Path, name: str, records: Records, categories: Categories, val_fraction: float, seed: int
) -> Path:
    """Write format ``name`` of the dataset; return what it wrote."""
    return FORMATS[name](dataset_dir, records, categories, val_fraction, seed)


def export_dataset(dataset_dir: Path, names: list[str], val_fraction: float | None = None) -> list[Path]:
    """Write formats ``names`` of an existing dataset folder from its frame records and ``dataset.json``
    (categories, seed, and the split's ``output.val_fraction`` unless ``val_fraction`` is given)."""
    manifest = read_dataset_file(dataset_dir)
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise ScenegenError(f"--format: unknown format {unknown[0]!r}; known: {list(FORMATS)}")
    fraction = manifest["config"]["output"]["val_fraction"] if val_fraction is None else val_fraction
    if not 0.0 <= fraction <= 1.0:
        raise ScenegenError(f"--val-fraction {fraction} must be in [0, 1]")
    records = read_records(Path(dataset_dir))
    if not records:
        raise ScenegenError(f"{dataset_dir}: the dataset has no frame records in labels/")
    seed = manifest["config"]["seed"]
    return [export(Path(dataset_dir), name, records, manifest["categories"], fraction, seed) for name in names]

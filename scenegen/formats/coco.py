"""COCO instances and keypoints JSON, built from the frame records.

``annotations/coco.json`` holds every frame, ``coco_train.json`` and ``coco_val.json`` the seeded split
(``scenegen.formats.split``); the keypoints files follow the same pattern with ``coco_keypoints``.
Image id = frame index + 1; annotation ids count from 1 in frame, then instance order, within each file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenegen import __version__
from scenegen.dataset import atomic
from scenegen.formats.split import split_records

KEYPOINT_NAMES = ["center"] + [f"corner_{i:03b}" for i in range(8)]  # geometry.box_keypoints order
# The 12 edges of the 3D box, between corners that differ in one bit, as 1-based COCO keypoint indices.
BOX_SKELETON = [[a + 2, b + 2] for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def build_coco(
    records: list[dict[str, Any]], categories: list[dict[str, Any]], keypoints: bool = False
) -> dict[str, Any]:
    """COCO instances dict of the annotated objects; with ``keypoints``, COCO keypoints: each annotation
    adds the 9 projected 3D-box points as ``[x, y, v] * 9`` (pixel centres at integers, v as in COCO)."""
    images, annotations = [], []
    for record in records:
        image_id = record["index"] + 1
        images.append(
            {
                "id": image_id,
                "file_name": record["files"]["image"]["path"],
                "width": record["width"],
                "height": record["height"],
            }
        )
        for ann in record["annotations"]:
            if "bbox" not in ann:
                continue
            entry = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": ann["category_id"],
                "bbox": ann["bbox"],
                "area": ann["area"],
                "segmentation": ann["segmentation"],
                "iscrowd": 0,
            }
            if keypoints:
                entry["keypoints"] = [value for point in ann["keypoints"] for value in point]
                entry["num_keypoints"] = sum(point[2] > 0 for point in ann["keypoints"])
            annotations.append(entry)
    return {
        "info": {"description": "rendered by scenegen", "version": __version__},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{**c, "keypoints": KEYPOINT_NAMES, "skeleton": BOX_SKELETON} for c in categories]
        if keypoints
        else categories,
    }


def write_coco(
    dataset_dir: Path,
    records: list[dict[str, Any]],
    categories: list[dict[str, Any]],
    val_fraction: float,
    seed: int,
    keypoints: bool,
) -> Path:
    """Write the whole file and its train/val split under ``annotations/``; return the whole file's path."""
    name = "coco_keypoints" if keypoints else "coco"
    folder = Path(dataset_dir) / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    train, val = split_records(records, val_fraction, seed)
    for suffix, indices in (("", None), ("_train", set(train)), ("_val", set(val))):
        chosen = records if indices is None else [r for r in records if r["index"] in indices]
        atomic.write_json(folder / f"{name}{suffix}.json", build_coco(chosen, categories, keypoints))
    return folder / f"{name}.json"

"""COCO instances JSON, built from the frame records at the end of a run."""

from __future__ import annotations

from typing import Any

from scenegen import __version__


def coco_categories(classes: list[str]) -> list[dict[str, Any]]:
    """Category ids start at 1, in the dataset's class order."""
    return [{"id": i, "name": name, "supercategory": "object"} for i, name in enumerate(classes, start=1)]


def build_coco(records: list[dict[str, Any]], classes: list[str]) -> dict[str, Any]:
    """COCO dict: image id = frame index + 1; annotation ids 1.. in frame then instance order."""
    images, annotations = [], []
    for record in records:
        image_id = record["index"] + 1
        images.append(
            {"id": image_id, "file_name": record["image"], "width": record["width"], "height": record["height"]}
        )
        for ann in record["annotations"]:
            if "bbox" not in ann:
                continue
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": ann["category_id"],
                    "bbox": ann["bbox"],
                    "area": ann["area"],
                    "segmentation": ann["segmentation"],
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "rendered by scenegen", "version": __version__},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": coco_categories(classes),
    }

"""``scenegen merge --coco``: one COCO file from several datasets (scenegen's or anyone's), with one
category list matched by name and image paths relative to the new file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scenegen.dataset import atomic
from scenegen.errors import ScenegenError
from scenegen.formats.coco_reader import read_coco_json


def read_coco(source: Path) -> tuple[dict[str, Any], Path]:
    """A COCO instances dict and the folder its ``file_name`` paths start from: a scenegen dataset folder
    (``annotations/coco.json``, paths from the folder) or a COCO JSON file (paths from its folder)."""
    data, path, root = read_coco_json(source)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise ScenegenError(f"{path}: not a COCO instances file (needs images, annotations and categories lists)")
    return data, root


def combine_coco(out: Path, sources: list[Path]) -> dict[str, Any]:
    """Write ``out``: every image and annotation of ``sources``, ids renumbered from 1, categories merged
    by name (first seen, first numbered); return the per-source counts."""
    categories: dict[str, dict[str, Any]] = {}
    images, annotations, counts = [], [], {}
    for source in sources:
        data, root = read_coco(source)
        category_of = {}
        for category in data["categories"]:
            merged = categories.setdefault(category["name"], {**category, "id": len(categories) + 1})
            category_of[category["id"]] = merged["id"]
        image_of = {}
        for image in data["images"]:
            image_of[image["id"]] = len(images) + 1
            file_name = os.path.relpath((root / image["file_name"]).resolve(), out.resolve().parent)
            images.append({**image, "id": image_of[image["id"]], "file_name": file_name})
        for ann in data["annotations"]:
            if ann.get("image_id") not in image_of or ann.get("category_id") not in category_of:
                raise ScenegenError(f"{source}: annotation {ann.get('id')} names an unknown image or category")
            annotations.append(
                {
                    **ann,
                    "id": len(annotations) + 1,
                    "image_id": image_of[ann["image_id"]],
                    "category_id": category_of[ann["category_id"]],
                }
            )
        counts[str(source)] = {"images": len(data["images"]), "annotations": len(data["annotations"])}
    out.parent.mkdir(parents=True, exist_ok=True)
    merged = {"info": {"description": "merged by scenegen"}, "licenses": [], "images": images}
    atomic.write_json(out, {**merged, "annotations": annotations, "categories": list(categories.values())})
    return counts

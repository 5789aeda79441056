"""``scenegen merge --coco``: one COCO file from several datasets (scenegen's or anyone's), with one
category list matched by name and image paths relative to the new file.

Image ids are kept, so that predictions keyed by image id (COCO's val2017, Ultralytics' ``predictions.json``:
the number in the file name) still match: an image keeps its id unless an earlier source took it, and then
gets the next id above every id seen so far (counted as ``renumbered``). Annotation ids count from 1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scenegen.dataset import atomic
from scenegen.errors import ScenegenError
from scenegen.formats.coco_reader import read_coco_json


def read_coco(source: Path) -> tuple[dict[str, Any], Path]:
    """A COCO instances dict and the folder its ``file_name`` paths start from (``read_coco_json``)."""
    data, path, root = read_coco_json(source)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise ScenegenError(f"{path}: not a COCO instances file (needs images, annotations and categories lists)")
    return data, root


def combine_coco(out: Path, sources: list[Path]) -> dict[str, Any]:
    """Write ``out``: every image and annotation of ``sources``, categories merged by name (first seen, first
    numbered), image ids kept where unique (see the module); return the per-source counts."""
    categories: dict[str, dict[str, Any]] = {}
    images, annotations, counts = [], [], {}
    taken: set[int] = set()
    for source in sources:
        data, root = read_coco(source)
        category_of = {}
        for category in data["categories"]:
            merged = categories.setdefault(category["name"], {**category, "id": len(categories) + 1})
            category_of[category["id"]] = merged["id"]
        ids = [image.get("id") if isinstance(image, dict) else None for image in data["images"]]
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ScenegenError(f"{source}: an image id is not an integer")
        if len(set(ids)) != len(ids):
            raise ScenegenError(f"{source}: two images share one id")
        image_of, renumbered = {}, 0
        next_free = max([*taken, *ids], default=-1) + 1
        for image in data["images"]:
            if image["id"] in taken:
                image_of[image["id"]], next_free, renumbered = next_free, next_free + 1, renumbered + 1
            else:
                image_of[image["id"]] = image["id"]
            taken.add(image_of[image["id"]])
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
        counts[str(source)] = {
            "images": len(data["images"]),
            "annotations": len(data["annotations"]),
            "renumbered": renumbered,
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    merged = {"info": {"description": "merged by scenegen"}, "licenses": [], "images": images}
    atomic.write_json(out, {**merged, "annotations": annotations, "categories": list(categories.values())})
    return counts

"""``scenegen merge --coco``: one COCO file from several datasets (scenegen's or anyone's), with one
category list matched by name and image paths relative to the new file.

Image ids are kept, so that predictions keyed by image id (COCO's val2017, Ultralytics' ``predictions.json``:
the number in the file name) still match: an image keeps its id unless an earlier source took it, and then
gets the next id above every id seen so far (counted as ``renumbered``). Annotation ids count from 1.
The new file's images must lie inside its folder (as ``scenegen.formats.coco_reader`` wants of any COCO
file it reads), and it may not replace one of its sources.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scenegen.dataset import atomic
from scenegen.errors import ExportError
from scenegen.formats.coco_reader import read_coco


def combine_coco(out: Path, sources: list[Path]) -> dict[str, Any]:
    """Write ``out``: every image and annotation of ``sources``, categories merged by name (first seen, first
    numbered), image ids kept where unique (see the module); return the per-source counts."""
    target, folder = out.resolve(), out.resolve().parent
    categories: dict[str, dict[str, Any]] = {}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    counts: dict[str, dict[str, int]] = {}
    taken: set[int] = set()
    files = [read_coco(source) for source in sources]  # checked: integer ids, unique per file, known references
    for source, coco in zip(sources, files, strict=True):
        if coco.path.resolve() == target:
            raise ExportError(f"{out}: is the COCO file of the source {source}; choose another OUT file")
    for source, coco in zip(sources, files, strict=True):
        category_of = {}
        for category in coco.data["categories"]:
            merged = categories.setdefault(category["name"], {**category, "id": len(categories) + 1})
            category_of[category["id"]] = merged["id"]
        image_of, renumbered = {}, 0
        next_free = max([*taken, *(image["id"] for image in coco.data["images"])], default=-1) + 1
        for image in coco.data["images"]:
            path = (coco.images_dir / image["file_name"]).resolve()
            if not path.is_relative_to(folder):
                raise ExportError(
                    f"{source}: image {image['file_name']!r} is outside {folder}, the folder of {out}; "
                    "write OUT in a folder that holds every source"
                )
            if image["id"] in taken:
                image_of[image["id"]], next_free, renumbered = next_free, next_free + 1, renumbered + 1
            else:
                image_of[image["id"]] = image["id"]
            taken.add(image_of[image["id"]])
            images.append({**image, "id": image_of[image["id"]], "file_name": os.path.relpath(path, folder)})
        for ann in coco.data["annotations"]:
            annotations.append(
                {
                    **ann,
                    "id": len(annotations) + 1,
                    "image_id": image_of[ann["image_id"]],
                    "category_id": category_of[ann["category_id"]],
                }
            )
        counts[str(source)] = {
            "images": len(coco.data["images"]),
            "annotations": len(coco.data["annotations"]),
            "renumbered": renumbered,
        }
    merged = {"info": {"description": "merged by scenegen"}, "licenses": [], "images": images}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        merged |= {"annotations": annotations, "categories": list(categories.values())}
        atomic.write_json(out.resolve(), merged)
    except OSError as err:
        raise ExportError(f"{out}: cannot write: {err.strerror}") from None
    return counts

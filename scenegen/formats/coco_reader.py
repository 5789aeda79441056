"""Reading any COCO instances dataset: a COCO JSON file, or a scenegen dataset folder.

A folder is read as a scenegen dataset: ``annotations/coco.json``, images in ``images/`` (``file_name`` is
relative to it, the standard COCO layout), and ``visib_fract`` from the frame records ``labels/NNNNNN.json`` when
they have it (image id = the frame index, matched by category and box). A JSON file's ``file_name`` paths are
resolved against ``--images`` when given, else the JSON's folder or, in the standard layout
(``annotations/X.json`` beside ``images/``), that ``images/`` folder: whichever holds the first image.

Segmentations may be polygons, uncompressed or compressed RLE; pycocotools (``COCO.annToMask``) turns each
into a mask. Crowd annotations (``iscrowd`` 1) mark regions, not
instances, and are left out; an annotation without a segmentation is measured on its box.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenegen.dataset.record import read_record
from scenegen.errors import ScenegenError


@dataclass
class CocoDataset:
    """A validated COCO instances file and where its images are."""

    source: Path  # what the user named: a folder or a JSON file
    annotations_file: Path
    images_dir: Path
    images: dict[int, dict[str, Any]]  # image id -> COCO image
    classes: list[str]  # category names, in category id order; duplicates get their id appended
    annotations: list[dict[str, Any]]  # non-crowd; "id" = position here, "label" = index into classes
    visibility: np.ndarray  # (len(annotations),) visib_fract, NaN where unknown
    crowd: int  # crowd annotations left out
    box_masks: int  # annotations without a segmentation, measured on their box
    is_scenegen: bool
    coco: Any = field(repr=False)  # pycocotools COCO over images and annotations, for annToMask

    def mask(self, ann: dict[str, Any]) -> np.ndarray:
        """(h, w) bool mask of one of ``annotations``."""
        try:
            mask = self.coco.annToMask(ann)
        except Exception as err:  # pycocotools raises bare TypeError, ValueError, KeyError ...
            raise ScenegenError(f"bad segmentation in annotation {ann['id'] + 1}: {err}") from None
        image = self.images[ann["image_id"]]
        if mask.shape != (image["height"], image["width"]):
            raise ScenegenError(
                f"annotation {ann['id'] + 1} has a {mask.shape[1]}x{mask.shape[0]} mask on a "
                f"{image['width']}x{image['height']} image"
            )
        return mask.astype(bool)

    def read_image(self, image_id: int) -> np.ndarray:
        """(h, w, 3) uint8 RGB of an image; ScenegenError when it is missing or its size is not the file's."""
        entry = self.images[image_id]
        path = self.images_dir / entry["file_name"]
        try:
            data = path.read_bytes()
        except OSError:
            raise ScenegenError(f"cannot read image {path} (image id {image_id}); use --images DIR") from None
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ScenegenError(f"{path} (image id {image_id}) is not an image opencv can decode")
        if bgr.shape[:2] != (entry["height"], entry["width"]):
            raise ScenegenError(
                f"image {path} is {bgr.shape[1]}x{bgr.shape[0]}, the COCO file says {entry['width']}x{entry['height']}"
            )
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_coco_json(dataset: Path) -> tuple[Any, Path, Path]:
    """The parsed COCO JSON of ``dataset``, its path, and the folder its ``file_name`` paths start from:
    a scenegen folder (``annotations/coco.json``, paths from ``images/``) or a JSON file (see the module)."""
    if dataset.is_dir():
        annotations_file = dataset / "annotations" / "coco.json"
        if not annotations_file.is_file():
            raise ScenegenError(f"{dataset} is a folder without annotations/coco.json (not a scenegen dataset)")
    elif dataset.is_file():
        annotations_file = dataset
    else:
        raise ScenegenError(f"{dataset}: no such file or folder")
    try:
        data = json.loads(annotations_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScenegenError(f"{annotations_file} is not a JSON file: {err}") from None
    root = dataset / "images" if dataset.is_dir() else _images_root(data, annotations_file)
    return data, annotations_file, root


def _images_root(data: Any, annotations_file: Path) -> Path:
    """Where a COCO JSON file's ``file_name`` paths start: its folder, or the ``images/`` folder beside its
    ``annotations/`` folder (the standard COCO layout) when the first image is there and not in the former."""
    beside = annotations_file.parent
    standard = beside.parent / "images"
    try:
        first = str(data["images"][0]["file_name"])
    except (KeyError, IndexError, TypeError):
        return beside
    if beside.name == "annotations" and not (beside / first).is_file() and (standard / first).is_file():
        return standard
    return beside


def load_dataset(dataset: Path, images_dir: Path | None = None) -> CocoDataset:
    """Read and check the COCO file of ``dataset`` (a scenegen folder or a JSON file).

    ``images_dir`` overrides where ``file_name`` is resolved (default: ``read_coco_json``'s folder).
    """
    data, annotations_file, root = read_coco_json(dataset)
    images, classes, annotations, crowd, box_masks = _check_coco(data, annotations_file)
    is_scenegen = dataset.is_dir()
    visibility = np.array([ann.get("visib_fract", np.nan) for ann in annotations], dtype=float)
    if is_scenegen:
        _fill_visibility(visibility, annotations, dataset / "labels")
    return CocoDataset(
        source=dataset,
        annotations_file=annotations_file,
        images_dir=images_dir or root,
        images=images,
        classes=classes,
        annotations=annotations,
        visibility=visibility,
        crowd=crowd,
        box_masks=box_masks,
        is_scenegen=is_scenegen,
        coco=_pycocotools_index(images, annotations),
    )


def _check_coco(data: Any, path: Path) -> tuple[dict[int, dict], list[str], list[dict], int, int]:
    """Validate COCO instances ``data``: its images by id, class names, usable annotations, crowd and box counts."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "categories")):
        raise ScenegenError(f"{path} is not COCO instances: it needs 'images' and 'categories' lists")
    if not isinstance(data.get("annotations"), list) or not data["annotations"]:
        raise ScenegenError(f"{path} has no annotations")
    try:
        images = {
            int(im["id"]): {
                **im,
                "file_name": str(im["file_name"]),
                "width": int(im["width"]),
                "height": int(im["height"]),
            }
            for im in data["images"]
        }
        category_ids = [int(c["id"]) for c in data["categories"]]
        names = [str(c["name"]) for c in data["categories"]]
    except (KeyError, TypeError, ValueError) as err:
        raise ScenegenError(f"{path} is not COCO instances: an image or category lacks {err}") from None
    if any(im["width"] < 1 or im["height"] < 1 for im in images.values()):
        raise ScenegenError(f"{path}: an image has no pixels (width or height below 1)")
    order = np.argsort(category_ids, kind="stable")
    repeated = {n for n, count in Counter(names).items() if count > 1}
    classes = [f"{names[i]} ({category_ids[i]})" if names[i] in repeated else names[i] for i in order]
    label_of = {category_ids[i]: label for label, i in enumerate(order)}
    annotations, crowd, box_masks = [], 0, 0
    for number, ann in enumerate(data["annotations"], start=1):
        if not isinstance(ann, dict) or not {"image_id", "category_id", "bbox"} <= ann.keys():
            raise ScenegenError(f"{path}: annotation {number} needs image_id, category_id and bbox")
        if ann["image_id"] not in images or ann["category_id"] not in label_of:
            raise ScenegenError(f"{path}: annotation {number} names an unknown image or category")
        if ann.get("iscrowd", 0):
            crowd += 1
            continue
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (TypeError, ValueError):
            raise ScenegenError(f"{path}: annotation {number} has bbox {ann['bbox']!r}, not [x, y, w, h]") from None
        if not (w >= 0 and h >= 0):
            raise ScenegenError(f"{path}: annotation {number} has a box of negative size")
        segmentation = ann.get("segmentation")
        if not segmentation:
            box_masks += 1
            segmentation = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        annotations.append(
            {
                **ann,
                "id": len(annotations),
                "label": label_of[ann["category_id"]],
                "bbox": [x, y, w, h],
                "segmentation": segmentation,
            }
        )
    if not annotations:
        raise ScenegenError(f"{path} has no annotations that are not crowd regions")
    return images, classes, annotations, crowd, box_masks


def _fill_visibility(visibility: np.ndarray, annotations: list[dict], labels_dir: Path) -> None:
    """Set ``visibility[i]`` from the frame records where they hold ``visib_fract`` (matched by category and box)."""
    by_image: dict[int, list[dict]] = {}
    for ann in annotations:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image_id, anns in by_image.items():
        path = labels_dir / f"{image_id:06d}.json"
        if not path.is_file():
            continue
        record = read_record(path)
        known = {
            (a["category_id"], tuple(float(v) for v in a["bbox"])): a["visib_fract"]
            for a in record.get("annotations", [])
            if "bbox" in a and "visib_fract" in a
        }
        for ann in anns:
            visibility[ann["id"]] = known.get((ann["category_id"], tuple(ann["bbox"])), visibility[ann["id"]])


def _pycocotools_index(images: dict[int, dict], annotations: list[dict]) -> Any:
    """A pycocotools COCO over the checked images and annotations (its progress prints silenced)."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": list(images.values()), "annotations": annotations, "categories": []}
        coco.createIndex()
    return coco

"""Reading any COCO instances dataset: a COCO JSON file, or a scenegen dataset folder.

A folder is read as a scenegen dataset: ``annotations/coco.json``, images in ``images/`` (``file_name`` is
relative to it, the standard COCO layout), and ``visib_fract`` from the frame records ``labels/NNNNNN.json``
when they have it (image id = the frame index, matched by category and box). A JSON file's ``file_name``
paths are resolved against ``--images`` when given, else the JSON's folder or, in the standard layout
(``annotations/X.json`` beside ``images/``), that ``images/`` folder: whichever holds the first image.
``read_coco`` checks the file once, for every command that reads COCO: every id an integer, every number
finite, every box and segmentation well formed, every ``file_name`` a path inside the images folder; a
problem is one line naming the image, category or annotation.
Segmentations may be polygons, uncompressed or compressed RLE; pycocotools (``COCO.annToMask``) turns
each into a mask. Crowd annotations (``iscrowd`` 1) mark regions, not instances, and are left out of
measurements; an annotation without a segmentation is measured on its box.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenegen.dataset.inside import path_inside
from scenegen.dataset.record import is_annotated, read_record, record_path
from scenegen.errors import DatasetError, shown

MAX_ID = 2**63 - 1  # ids must fit numpy's int64


@dataclass
class CocoDataset:
    """A validated COCO instances file and where its images are."""

    source: Path  # what the user named: a folder or a JSON file
    annotations_file: Path
    images_dir: Path
    images: dict[int, dict[str, Any]]  # image id -> COCO image
    classes: list[str]  # category names, in category id order; duplicates get their id appended
    annotations: list[dict[str, Any]]  # non-crowd; "id" = position here, "number" = position in the file,
    # "label" = index into classes
    visibility: np.ndarray  # (len(annotations),) visib_fract, NaN where unknown
    crowd: int  # crowd annotations left out
    box_masks: int  # annotations without a segmentation, measured on their box
    is_scenegen: bool
    coco: Any = field(repr=False)  # pycocotools COCO over images and annotations, for annToMask

    def mask(self, ann: dict[str, Any]) -> np.ndarray:
        """(h, w) bool mask of one of ``annotations``."""
        from pycocotools import mask as mask_api

        return mask_api.decode(self._rle(ann)).astype(bool)

    def union(self, anns: list[dict[str, Any]], shape: tuple[int, int]) -> np.ndarray:
        """(h, w) bool: the pixels any of ``anns`` (annotations of one image of that shape) covers, merged
        as RLE, so that memory stays one image however many annotations it has."""
        from pycocotools import mask as mask_api

        if not anns:
            return np.zeros(shape, bool)
        return mask_api.decode(mask_api.merge([self._rle(ann) for ann in anns], intersect=0)).astype(bool)

    def _rle(self, ann: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.coco.annToRLE(ann)
        except Exception as err:  # pycocotools raises bare TypeError, ValueError, KeyError ...
            where = f"{self.annotations_file}: annotations[{ann['number']}]"
            raise DatasetError(f"{where}: bad segmentation ({' '.join(str(err).split())[:120]})") from None

    def read_image(self, image_id: int) -> np.ndarray:
        """(h, w, 3) uint8 RGB of an image; ScenegenError when it is missing or its size is not the file's."""
        entry = self.images[image_id]
        path = self.images_dir / entry["file_name"]
        try:
            data = path.read_bytes()
        except OSError:
            raise DatasetError(f"cannot read image {path} (image id {image_id}); use --images DIR") from None
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DatasetError(f"{path} (image id {image_id}) is not an image opencv can decode")
        if bgr.shape[:2] != (entry["height"], entry["width"]):
            raise DatasetError(
                f"image {path} is {bgr.shape[1]}x{bgr.shape[0]}, the COCO file says {entry['width']}x{entry['height']}"
            )
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class CocoFile:
    """A checked COCO instances file: ``data`` is its parsed JSON (crowd annotations included), each image's
    ``file_name`` a relative path that stays inside ``images_dir``, every id an integer, every number finite."""

    path: Path  # the JSON file
    images_dir: Path  # the folder file_name is relative to
    data: dict[str, Any]


def read_coco(dataset: Path, images_dir: Path | None = None) -> CocoFile:
    """Read and check the COCO file of ``dataset``: a scenegen folder (``annotations/coco.json``, paths from
    its ``images/``) or a JSON file (paths as the module says); ``images_dir`` overrides where paths start.
    Any problem is a ScenegenError naming the file and the image, category or annotation."""
    if dataset.is_dir():
        path = dataset / "annotations" / "coco.json"
        if not path.is_file():
            raise DatasetError(f"{dataset} is a folder without annotations/coco.json (not a scenegen dataset)")
    elif dataset.is_file():
        path = dataset
    else:
        raise DatasetError(f"{dataset}: no such file or folder")
    data = _parse(path)
    root = images_dir or (dataset / "images" if dataset.is_dir() else _images_root(data, path))
    _check(data, path, root)
    return CocoFile(path, root, data)


class _NonFinite:
    """A NaN or Infinity constant met while parsing (not JSON): kept as a marker, so that the check names
    where it is."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _parse(path: Path) -> Any:
    found: list[str] = []

    def non_finite(name: str) -> _NonFinite:
        found.append(name)
        return _NonFinite(name)

    try:
        data = json.loads(path.read_bytes(), parse_constant=non_finite)
    except OSError as err:
        raise DatasetError(f"{path}: cannot read: {err.strerror}") from None
    except RecursionError:
        raise DatasetError(f"{path}: nested too deeply to be a COCO file") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{path} is not a JSON file: {' '.join(str(err).split())[:160]}") from None
    if found:
        _check_structure(data, path)  # names the entry when the constant is in one
        raise DatasetError(f"{path}: holds {found[0]}, which is not a JSON number")
    return data


def _check(data: Any, path: Path, images_dir: Path) -> None:
    _check_structure(data, path)
    for i, image in enumerate(data["images"]):
        path_inside(images_dir, image["file_name"], f"{path}: images[{i}] (id {image['id']})")


def _check_structure(data: Any, path: Path) -> None:
    """Every image, category and annotation of ``data`` (a parsed COCO file); ScenegenError naming the first
    one that is wrong. Integral numbers as floats (``640.0``) become ints in place."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "categories")):
        raise DatasetError(f"{path} is not COCO instances: it needs 'images' and 'categories' lists")
    if not isinstance(data.get("annotations", []), list):
        raise DatasetError(f"{path} is not COCO instances: 'annotations' must be a list")
    data.setdefault("annotations", [])
    sizes: dict[int, tuple[int, int]] = {}
    for i, image in enumerate(data["images"]):
        where = f"{path}: images[{i}]"
        _require_object(image, where, ("id", "file_name", "width", "height"))
        image["id"] = _integer(image["id"], f"{where}: id", 0, MAX_ID)
        where = f"{where} (id {image['id']})"
        if image["id"] in sizes:
            raise DatasetError(f"{where}: the id is used by another image")
        if not isinstance(image["file_name"], str):
            raise DatasetError(f"{where}: file_name {shown(image['file_name'])} must be a string")
        image["width"] = _integer(image["width"], f"{where}: width", 1, 2**31 - 1)
        image["height"] = _integer(image["height"], f"{where}: height", 1, 2**31 - 1)
        sizes[image["id"]] = (image["height"], image["width"])
    categories: set[int] = set()
    for i, category in enumerate(data["categories"]):
        where = f"{path}: categories[{i}]"
        _require_object(category, where, ("id", "name"))
        category["id"] = _integer(category["id"], f"{where}: id", 0, MAX_ID)
        where = f"{where} (id {category['id']})"
        if category["id"] in categories:
            raise DatasetError(f"{where}: the id is used by another category")
        if not isinstance(category["name"], str) or not category["name"].strip():
            raise DatasetError(f"{where}: name {shown(category['name'])} must be a non-empty string")
        if not isinstance(category.get("supercategory", ""), str):
            raise DatasetError(f"{where}: supercategory {shown(category['supercategory'])} must be a string")
        categories.add(category["id"])
    for i, ann in enumerate(data["annotations"]):
        _check_annotation(ann, f"{path}: annotations[{i}]", sizes, categories)


def _check_annotation(ann: Any, where: str, sizes: dict[int, tuple[int, int]], categories: set[int]) -> None:
    _require_object(ann, where, ("image_id", "category_id", "bbox"))
    if "id" in ann:
        ann["id"] = _integer(ann["id"], f"{where}: id", 0, MAX_ID)
        where = f"{where} (id {ann['id']})"
    ann["image_id"] = _integer(ann["image_id"], f"{where}: image_id", 0, MAX_ID)
    ann["category_id"] = _integer(ann["category_id"], f"{where}: category_id", 0, MAX_ID)
    if ann["image_id"] not in sizes:
        raise DatasetError(f"{where}: image_id {ann['image_id']} is not an image of the file")
    if ann["category_id"] not in categories:
        raise DatasetError(f"{where}: category_id {ann['category_id']} is not a category of the file")
    box = ann["bbox"]
    if not isinstance(box, list) or len(box) != 4 or not all(_is_finite(v) for v in box):
        raise DatasetError(f"{where}: bbox {shown(box)} must be [x, y, w, h], 4 finite numbers")
    if box[2] < 0 or box[3] < 0:
        raise DatasetError(f"{where}: bbox {shown(box)} has a negative width or height")
    ann["iscrowd"] = _integer(ann.get("iscrowd", 0), f"{where}: iscrowd", 0, 1)
    for key in ("area", "visib_fract"):
        if key in ann and not (_is_finite(ann[key]) and ann[key] >= 0):
            raise DatasetError(f"{where}: {key} {shown(ann[key])} must be a finite number >= 0")
    _check_segmentation(ann.get("segmentation"), f"{where}: segmentation", sizes[ann["image_id"]])


def _check_segmentation(segmentation: Any, where: str, size: tuple[int, int]) -> None:
    """Polygons (a list of lists of at least 3 points as x, y numbers), or RLE of the image's size with
    ``counts`` a string or a list of run lengths; empty or absent: the box is used."""
    if segmentation is None or segmentation == []:
        return
    if isinstance(segmentation, list):
        for polygon in segmentation:
            if (
                not isinstance(polygon, list)
                or len(polygon) < 6
                or len(polygon) % 2
                or not all(_is_finite(v) for v in polygon)
            ):
                raise DatasetError(f"{where}: a polygon must be a list of at least 6 finite numbers, x y pairs")
        return
    if not isinstance(segmentation, dict) or set(segmentation) != {"size", "counts"}:
        raise DatasetError(f"{where}: must be a list of polygons or an RLE {{size, counts}}")
    if segmentation["size"] != list(size):
        raise DatasetError(f"{where}: RLE size {shown(segmentation['size'])} is not the image's [h, w] {list(size)}")
    counts = segmentation["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise DatasetError(f"{where}: RLE counts must be run lengths (integers >= 0)")
        if sum(counts) != size[0] * size[1]:
            raise DatasetError(f"{where}: RLE counts cover {sum(counts)} pixels, the image has {size[0] * size[1]}")
    elif not isinstance(counts, str):
        raise DatasetError(f"{where}: RLE counts must be a string or a list of run lengths")


def _require_object(value: Any, where: str, keys: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise DatasetError(f"{where}: {shown(value)} must be an object with {', '.join(keys)}")
    missing = [key for key in keys if key not in value]
    if missing:
        named = f"{where} (id {shown(value['id'])})" if "id" in value else where
        raise DatasetError(f"{named}: {missing[0]} is missing")


def _is_finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


def _integer(value: Any, where: str, low: int, high: int) -> int:
    """``value`` as an int when it is an integer (or an integral float) in [low, high]."""
    if _is_finite(value) and value == int(value) and low <= int(value) <= high:
        return int(value)
    raise DatasetError(f"{where} {shown(value)} must be an integer in [{low}, {high}]")


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
    """Read and check the COCO file of ``dataset`` (a scenegen folder or a JSON file), for measuring.

    ``images_dir`` overrides where ``file_name`` is resolved (default: ``read_coco``'s folder).
    """
    coco = read_coco(dataset, images_dir)
    images = {image["id"]: image for image in coco.data["images"]}
    order = sorted(coco.data["categories"], key=lambda c: c["id"])
    names = [c["name"] for c in order]
    repeated = {n for n, count in Counter(names).items() if count > 1}
    classes = [f"{c['name']} ({c['id']})" if c["name"] in repeated else c["name"] for c in order]
    label_of = {c["id"]: label for label, c in enumerate(order)}
    annotations: list[dict[str, Any]] = []
    crowd = box_masks = 0
    for number, ann in enumerate(coco.data["annotations"]):
        if ann["iscrowd"]:
            crowd += 1
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        segmentation = ann.get("segmentation")
        if not segmentation:
            box_masks += 1
            segmentation = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        entry = {"id": len(annotations), "number": number, "image_id": ann["image_id"]}
        entry.update({"category_id": ann["category_id"], "label": label_of[ann["category_id"]]})
        entry.update({"bbox": [x, y, w, h], "segmentation": segmentation})
        if "visib_fract" in ann:
            entry["visib_fract"] = float(ann["visib_fract"])
        annotations.append(entry)
    if not annotations:
        raise DatasetError(f"{coco.path} has no annotations that are not crowd regions")
    is_scenegen = dataset.is_dir()
    visibility = np.array([ann.get("visib_fract", np.nan) for ann in annotations], dtype=float)
    if is_scenegen:
        _fill_visibility(visibility, annotations, dataset)
    return CocoDataset(
        source=dataset,
        annotations_file=coco.path,
        images_dir=coco.images_dir,
        images=images,
        classes=classes,
        annotations=annotations,
        visibility=visibility,
        crowd=crowd,
        box_masks=box_masks,
        is_scenegen=is_scenegen,
        coco=_pycocotools_index(images, annotations),
    )


def _fill_visibility(visibility: np.ndarray, annotations: list[dict], dataset: Path) -> None:
    """Set ``visibility[i]`` from the frame records where they hold ``visib_fract`` (matched by category and box)."""
    by_image: dict[int, list[dict]] = {}
    for ann in annotations:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image_id, anns in by_image.items():
        if not record_path(dataset, image_id).is_file():
            continue
        record = read_record(record_path(dataset, image_id))
        known = {
            (a["category_id"], tuple(float(v) for v in a["bbox"])): a["visib_fract"]
            for a in record.get("annotations", [])
            if is_annotated(a) and "visib_fract" in a
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

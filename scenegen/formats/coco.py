"""COCO instances and keypoints JSON, built from the frame records.

The standard COCO layout: images in ``images/``, annotations in ``annotations/``, and ``file_name`` relative
to the image folder (``000042.png``), so ``CocoDetection(root="out/images", annFile=...)`` finds every image.
``annotations/coco.json`` holds every frame, ``coco_train.json`` and ``coco_val.json`` the seeded split
(``scenegen.formats.split``); the keypoints files follow the same pattern with ``coco_keypoints``.
Image id = the number in the file name (frame index: ``000042.png`` is image 42, as in COCO's own val2017 and
in the predictions Ultralytics writes); annotation ids count from 1 in frame, then instance order, within each
file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from scenegen import __version__
from scenegen.dataset.dataset_file import Category
from scenegen.dataset.record import FrameRecord, is_annotated
from scenegen.formats.job import Export, ExportJob
from scenegen.formats.split import Split, write_split_files

KEYPOINT_NAMES = ["center"] + [f"corner_{i:03b}" for i in range(8)]  # geometry.box_keypoints order
# The 12 edges of the 3D box, between corners that differ in one bit, as 1-based COCO keypoint indices.
BOX_SKELETON = [[a + 2, b + 2] for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
# Per-keypoint OKS sigmas for COCOeval(..., "keypoints"), whose default holds COCO's 17 person sigmas.
# COCO derived its sigmas from annotators' spread; these points are exact projections, so the sigma is only
# the tolerance of the metric: 0.05 for every point (COCO's 17 range 0.025-0.107, mean 0.067), which scores a
# point 5% of the object's scale (sqrt of its area) off at OKS 0.88.
KEYPOINT_OKS_SIGMAS = [0.05] * len(KEYPOINT_NAMES)
IMAGES_FOLDER = "images"


def coco_file_name(record: FrameRecord) -> str:
    """The record's image path relative to the dataset's ``images/`` folder (``000042.png``)."""
    return str(PurePosixPath(record["files"]["image"]["path"]).relative_to(IMAGES_FOLDER))


def image_id_of(file_name: str) -> int:
    """COCO image id of an image file: the number its name holds (``000042.png`` -> 42)."""
    return int(PurePosixPath(file_name).stem)


def coco_frame(record: FrameRecord, keypoints: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One frame's COCO image and its annotations (without ids) of the annotated objects; with ``keypoints``,
    each adds the 9 projected 3D-box points as ``[x, y, v] * 9`` (pixel centres at integers, v as in COCO)."""
    file_name = coco_file_name(record)
    image_id = image_id_of(file_name)
    image = {
        "id": image_id,
        "file_name": file_name,
        "width": record["width"],
        "height": record["height"],
    }
    annotations = []
    for ann in record["annotations"]:
        if not is_annotated(ann):
            continue
        entry = {
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
    return image, annotations


def build_coco(
    frames: list[tuple[dict[str, Any], list[dict[str, Any]]]], categories: list[Category], keypoints: bool
) -> dict[str, Any]:
    """The COCO instances (or keypoints) dict of ``frames`` (``coco_frame`` of each), annotation ids from 1;
    with ``keypoints`` each category adds the keypoint names, the box edges as skeleton and ``kpt_oks_sigmas``."""
    annotations = [{"id": k, **ann} for k, ann in enumerate((a for _, anns in frames for a in anns), start=1)]
    return {
        "info": {"description": "rendered by scenegen", "version": __version__},
        "licenses": [],
        "images": [image for image, _ in frames],
        "annotations": annotations,
        "categories": [
            {**c, "keypoints": KEYPOINT_NAMES, "skeleton": BOX_SKELETON, "kpt_oks_sigmas": KEYPOINT_OKS_SIGMAS}
            for c in categories
        ]
        if keypoints
        else categories,
    }


def write_coco(
    dataset_dir: Path,
    records: Iterable[FrameRecord],
    categories: list[Category],
    split: Split,
    keypoints: bool,
) -> Path:
    """Write the whole file and its train/val split under ``annotations/`` from one pass over ``records``
    (only each frame's COCO entries are kept); return the whole file's path."""
    frames, val = [], []
    for record in records:
        frames.append(coco_frame(record, keypoints))
        val.append(split.in_val(record))
    name = "coco_keypoints" if keypoints else "coco"
    folder = Path(dataset_dir) / "annotations"
    return write_split_files(folder, name, frames, val, lambda chosen: build_coco(chosen, categories, keypoints))


def _instances(job: ExportJob) -> Path:
    return write_coco(job.dataset_dir, job.records, job.categories, job.split, keypoints=False)


def _keypoints(job: ExportJob) -> Path:
    return write_coco(job.dataset_dir, job.records, job.categories, job.split, keypoints=True)


EXPORTS = (Export("coco", _instances), Export("coco_keypoints", _keypoints))

"""YouTube-VIS video instance segmentation JSON, built from the frame records.

``annotations/youtube_vis.json`` (and ``_train`` / ``_val``, split by scene) holds one video per scene
(its sequence, or its views), ``id`` = scene index + 1, ``file_names`` its images in order, relative to
the dataset folder; one annotation per object that is annotated in at least one of its frames, with
``segmentations``, ``bboxes`` and ``areas`` per frame (COCO compressed RLE, ``[x, y, w, h]``, pixels; None
where the object has fewer than ``output.min_visible_pixels`` visible), ``category_id`` and ``iscrowd`` 0.
The object's ``instance_id`` is its track: the same in every frame of the video.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scenegen import __version__
from scenegen.dataset.dataset_file import Category
from scenegen.dataset.record import FrameRecord, ObjectLabel, is_annotated
from scenegen.formats.job import Export, ExportJob
from scenegen.formats.split import Split, write_split_files

Video = tuple[dict[str, Any], list[dict[str, Any]]]  # a video entry and its annotations (without ids)


def videos_of(records: Iterable[FrameRecord]) -> Iterator[tuple[int, list[FrameRecord]]]:
    """(scene index, its frame records) per scene, from records in frame order (a scene's frames are
    consecutive): one scene in memory at a time."""
    for scene, frames in itertools.groupby(records, key=lambda r: r["scene_index"]):
        yield scene, list(frames)


def video_entry(scene: int, frames: list[FrameRecord]) -> Video:
    """One scene's YouTube-VIS video and the annotations of its objects (see the module)."""
    first = frames[0]
    video = {
        "id": scene + 1,
        "width": first["width"],
        "height": first["height"],
        "length": len(frames),
        "file_names": [f["files"]["image"]["path"] for f in frames],
    }
    tracks: dict[int, list[ObjectLabel | None]] = {}
    category: dict[int, int] = {}
    for t, frame in enumerate(frames):
        for ann in frame["annotations"]:
            category[ann["instance_id"]] = ann["category_id"]
            tracks.setdefault(ann["instance_id"], [None] * len(frames))[t] = ann if is_annotated(ann) else None
    annotations = []
    for instance_id in sorted(tracks):
        per_frame = tracks[instance_id]
        if all(a is None for a in per_frame):
            continue
        annotations.append(
            {
                "video_id": scene + 1,
                "category_id": category[instance_id],
                "iscrowd": 0,
                "width": first["width"],
                "height": first["height"],
                "length": 1,
                "segmentations": [None if a is None else a["segmentation"] for a in per_frame],
                "bboxes": [None if a is None else a["bbox"] for a in per_frame],
                "areas": [None if a is None else a["area"] for a in per_frame],
            }
        )
    return video, annotations


def build_youtube_vis(videos: list[Video], categories: list[Category]) -> dict[str, Any]:
    """The YouTube-VIS dict of ``videos`` (``video_entry`` of each), annotation ids from 1."""
    annotations = [{"id": k, **ann} for k, ann in enumerate((a for _, anns in videos for a in anns), start=1)]
    return {
        "info": {"description": "rendered by scenegen", "version": __version__},
        "licenses": [],
        "videos": [video for video, _ in videos],
        "annotations": annotations,
        "categories": categories,
    }


def write_youtube_vis(
    dataset_dir: Path,
    records: Iterable[FrameRecord],
    categories: list[Category],
    split: Split,
) -> Path:
    """Write ``annotations/youtube_vis.json`` and its train/val split from one pass over ``records`` (in frame
    order); return the whole file's path."""
    videos, val = [], []
    for scene, frames in videos_of(records):
        videos.append(video_entry(scene, frames))
        val.append(split.in_val(frames[0]))
    folder = Path(dataset_dir) / "annotations"
    return write_split_files(folder, "youtube_vis", videos, val, lambda chosen: build_youtube_vis(chosen, categories))


def _youtube_vis(job: ExportJob) -> Path:
    return write_youtube_vis(job.dataset_dir, job.records, job.categories, job.split)


EXPORTS = (Export("youtube_vis", _youtube_vis),)

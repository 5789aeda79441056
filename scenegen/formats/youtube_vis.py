"""YouTube-VIS video instance segmentation JSON, built from the frame records.

``annotations/youtube_vis.json`` (and ``_train`` / ``_val``, split by scene) holds one video per scene
(its sequence, or its views), ``id`` = scene index + 1, ``file_names`` its images in order, relative to
the dataset folder; one annotation per object that is annotated in at least one of its frames, with
``segmentations``, ``bboxes`` and ``areas`` per frame (COCO compressed RLE, ``[x, y, w, h]``, pixels; None
where the object has fewer than ``output.min_visible_pixels`` visible), ``category_id`` and ``iscrowd`` 0.
The object's ``instance_id`` is its track: the same in every frame of the video.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from scenegen import __version__
from scenegen.dataset import atomic
from scenegen.formats.split import split_records


def videos_of(records: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Scene index -> its frame records in frame order."""
    videos: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r["index"]):
        videos[record["scene_index"]].append(record)
    return dict(sorted(videos.items()))


def build_youtube_vis(records: list[dict[str, Any]], categories: list[dict[str, Any]]) -> dict[str, Any]:
    videos, annotations = [], []
    for scene, frames in videos_of(records).items():
        first = frames[0]
        videos.append(
            {
                "id": scene + 1,
                "width": first["width"],
                "height": first["height"],
                "length": len(frames),
                "file_names": [f["files"]["image"]["path"] for f in frames],
            }
        )
        tracks: dict[int, list[dict[str, Any] | None]] = {}
        category: dict[int, int] = {}
        for t, frame in enumerate(frames):
            for ann in frame["annotations"]:
                category[ann["instance_id"]] = ann["category_id"]
                tracks.setdefault(ann["instance_id"], [None] * len(frames))[t] = ann if "bbox" in ann else None
        for instance_id in sorted(tracks):
            per_frame = tracks[instance_id]
            if all(a is None for a in per_frame):
                continue
            annotations.append(
                {
                    "id": len(annotations) + 1,
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
    return {
        "info": {"description": "rendered by scenegen", "version": __version__},
        "licenses": [],
        "videos": videos,
        "annotations": annotations,
        "categories": categories,
    }


def write_youtube_vis(
    dataset_dir: Path, records: list[dict[str, Any]], categories: list[dict[str, Any]], val_fraction: float, seed: int
) -> Path:
    """Write ``annotations/youtube_vis.json`` and its train/val split; return the whole file's path."""
    folder = Path(dataset_dir) / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    train, val = split_records(records, val_fraction, seed)
    for suffix, indices in (("", None), ("_train", set(train)), ("_val", set(val))):
        chosen = records if indices is None else [r for r in records if r["index"] in indices]
        atomic.write_json(folder / f"youtube_vis{suffix}.json", build_youtube_vis(chosen, categories))
    return folder / "youtube_vis.json"

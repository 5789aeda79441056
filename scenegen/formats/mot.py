"""MOTChallenge ground truth, one sequence per scene, built from the frame records.

``mot/SSSSSS/`` (the scene index) holds ``seqinfo.ini`` (name, ``imDir``, ``frameRate``, ``seqLength``,
``imWidth``, ``imHeight``, ``imExt``), ``img1/000001.png ...`` (hard links to the images, numbered from 1)
and ``gt/gt.txt``, one line per object and frame in which it covers any pixel of the image unoccluded:
``frame, id, bb_left, bb_top, bb_width, bb_height, 1, class, visibility``. As in MOTChallenge, frame
numbers and box coordinates are 1-based (the top-left pixel is (1, 1)); ``id`` is the object's
``instance_id`` (its track), ``class`` its category id, the box its amodal box (clipped to the image),
``visibility`` its ``visib_fract``; the consider flag is always 1. Needs the amodal labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scenegen.dataset import atomic
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.record import file_path, image_suffix
from scenegen.errors import ScenegenError
from scenegen.formats.youtube_vis import videos_of


def gt_lines(frames: list[dict[str, Any]]) -> list[str]:
    """The ``gt.txt`` lines of one sequence's frame records, in frame then id order."""
    lines = []
    for number, frame in enumerate(frames, start=1):
        for ann in sorted(frame["annotations"], key=lambda a: a["instance_id"]):
            if "amodal_area" not in ann:
                raise ScenegenError(f"frame {frame['index']}: no amodal labels; mot needs output.amodal=true")
            if ann["amodal_area"] == 0:
                continue
            x, y, w, h = ann["amodal_bbox"]
            lines.append(
                f"{number},{ann['instance_id']},{x + 1},{y + 1},{w},{h},1,{ann['category_id']},{ann['visib_fract']:.6f}"
            )
    return lines


def write_mot(dataset_dir: Path, records: Iterable[dict[str, Any]], copy: bool = False) -> Path:
    """Write ``mot/``, one sequence folder per scene, from one pass over ``records`` (in frame order); images
    are hard links (copies with ``copy``); return the folder."""
    root = Path(dataset_dir) / "mot"
    for scene, frames in videos_of(records):
        folder = root / f"{scene:06d}"
        (folder / "gt").mkdir(parents=True, exist_ok=True)
        (folder / "img1").mkdir(exist_ok=True)
        ext = image_suffix(frames[0])  # one image format per run
        for number, frame in enumerate(frames, start=1):
            link_or_copy(file_path(Path(dataset_dir), frame, "image"), folder / "img1" / f"{number:06d}{ext}", copy)
        times = [f["time"] for f in frames]
        rate = (len(frames) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else 1.0
        info = (
            f"[Sequence]\nname={scene:06d}\nimDir=img1\nframeRate={rate:g}\nseqLength={len(frames)}\n"
            f"imWidth={frames[0]['width']}\nimHeight={frames[0]['height']}\nimExt={ext}\n"
        )
        atomic.write_bytes(folder / "seqinfo.ini", info.encode())
        atomic.write_bytes(folder / "gt" / "gt.txt", "".join(f"{line}\n" for line in gt_lines(frames)).encode())
    return root

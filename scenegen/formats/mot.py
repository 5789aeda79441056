"""MOTChallenge ground truth, one sequence per scene, built from the frame records.

``mot/SSSSSS/`` (the scene index) holds ``seqinfo.ini`` (name, ``imDir``, ``frameRate``, ``seqLength``,
``imWidth``, ``imHeight``, ``imExt``), ``img1/000001.png ...`` (hard links to the images, numbered from 1),
``gt/gt.txt``, one line per object and frame in which it covers any pixel of the image unoccluded:
``frame, id, bb_left, bb_top, bb_width, bb_height, 1, 1, visibility``, and ``gt/categories.json``.

``gt.txt`` is MOT17's: frame numbers and box coordinates are 1-based (the top-left pixel is (1, 1)); ``id``
is the object's ``instance_id`` (its track), the box its amodal box (clipped to the image), the consider flag
1 and ``visibility`` its ``visib_fract``. The class column is MOT17's class 1 (pedestrian) for every object,
since MOTChallenge tools (TrackEval's ``MotChallenge2DBox``) score class 1 only and treat other numbers as
MOT17 classes (distractors, vehicles); the object's own category is in ``gt/categories.json``:
``{"ID": {"category_id": ..., "class_name": ...}}`` for every track id of ``gt.txt``. Needs the amodal labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scenegen.config.schema import OutputConfig
from scenegen.dataset import atomic
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.record import FrameRecord, ObjectLabel, file_path, image_suffix
from scenegen.errors import ExportError
from scenegen.formats.job import Export, ExportJob, ExportLink
from scenegen.formats.youtube_vis import videos_of

MOT_CLASS = 1  # MOT17's pedestrian: the one class MOTChallenge's evaluation counts


def mot_problem(output: OutputConfig) -> str | None:
    """What a run's ``output`` config lacks for a MOT export, in one line; None when nothing."""
    if not output.amodal:
        return "mot needs the unoccluded boxes: render with output.amodal=true"
    return None


def _tracked(frames: list[FrameRecord]) -> list[tuple[int, ObjectLabel, list[int]]]:
    """(1-based frame number, annotation, amodal box) of every object covering a pixel unoccluded, in frame
    then id order."""
    tracked = []
    for number, frame in enumerate(frames, start=1):
        for ann in sorted(frame["annotations"], key=lambda a: a["instance_id"]):
            if "amodal_area" not in ann:
                raise ExportError(f"frame {frame['index']}: no amodal labels; mot needs output.amodal=true")
            box = ann["amodal_bbox"]  # None when the area is 0 (the record's check)
            if ann["amodal_area"] > 0 and box is not None:
                tracked.append((number, ann, box))
    return tracked


def gt_lines(frames: list[FrameRecord]) -> list[str]:
    """The ``gt.txt`` lines of one sequence's frame records, in frame then id order."""
    lines = []
    for number, ann, (x, y, w, h) in _tracked(frames):
        lines.append(f"{number},{ann['instance_id']},{x + 1},{y + 1},{w},{h},1,{MOT_CLASS},{ann['visib_fract']:.6f}")
    return lines


def track_categories(frames: list[FrameRecord]) -> dict[str, dict[str, Any]]:
    """``gt/categories.json`` of one sequence: track id -> its ``category_id`` and ``class_name``."""
    tracks = {ann["instance_id"]: ann for _, ann, _ in _tracked(frames)}
    return {
        str(i): {"category_id": tracks[i]["category_id"], "class_name": tracks[i]["class_name"]} for i in sorted(tracks)
    }


def write_mot(dataset_dir: Path, records: Iterable[FrameRecord], copy: bool = False) -> Path:
    """Write ``mot/``, one sequence folder per scene, from one pass over ``records`` (in frame order); images
    are hard links (copies with ``copy``); return the folder. It is built beside the old ``mot/`` and then
    replaces it (``atomic.replaced_folder``): it holds the sequences of ``records`` and nothing else (none of
    an earlier export that this one leaves out), and a failure part way leaves the old one as it was."""
    root = Path(dataset_dir) / "mot"
    with atomic.replaced_folder(root) as new:
        _write_sequences(Path(dataset_dir), new, records, copy)
    return root


def _write_sequences(dataset_dir: Path, root: Path, records: Iterable[FrameRecord], copy: bool) -> None:
    """One sequence folder per scene of ``records`` in the empty folder ``root``; files not synced."""
    for scene, frames in videos_of(records):
        lines, categories = gt_lines(frames), track_categories(frames)  # a record without labels stops here
        folder = root / f"{scene:06d}"
        (folder / "gt").mkdir(parents=True)
        (folder / "img1").mkdir()
        ext = image_suffix(frames[0])  # one image format per run
        for number, frame in enumerate(frames, start=1):
            link_or_copy(file_path(dataset_dir, frame, "image"), folder / "img1" / f"{number:06d}{ext}", copy)
        times = [f["time"] for f in frames]
        rate = (len(frames) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else 1.0
        info = (
            f"[Sequence]\nname={scene:06d}\nimDir=img1\nframeRate={rate:g}\nseqLength={len(frames)}\n"
            f"imWidth={frames[0]['width']}\nimHeight={frames[0]['height']}\nimExt={ext}\n"
        )
        atomic.write_bytes(folder / "seqinfo.ini", info.encode(), sync=False)  # synced by replaced_folder
        atomic.write_bytes(folder / "gt" / "gt.txt", "".join(f"{line}\n" for line in lines).encode(), sync=False)
        atomic.write_json(folder / "gt" / "categories.json", categories, sync=False)


def _mot(job: ExportJob) -> Path:
    return write_mot(job.dataset_dir, job.records, job.copy)


def image_links(record: FrameRecord) -> Iterator[ExportLink]:
    """The link to ``record``'s image: one sequence per scene, its frames numbered from 1."""
    sequence, number = record["scene_index"], record["view"] + record["frame_in_sequence"] + 1
    yield ExportLink("mot", "image", (f"mot/{sequence:06d}/img1/{number:06d}{image_suffix(record)}",))


EXPORTS = (Export("mot", _mot, needs=mot_problem, links=image_links),)

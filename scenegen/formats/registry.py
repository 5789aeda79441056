"""The export formats, each built from the frame records alone (so any can be added later, without
re-rendering, by ``scenegen export``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenegen.config.load import to_container
from scenegen.config.schema import Config
from scenegen.dataset.dataset_file import DatasetFile, read_dataset_file
from scenegen.dataset.inside import refuse_links
from scenegen.dataset.lock import hold_lock
from scenegen.dataset.record import FrameRecord, file_path, frame_name, iter_records, record_indices
from scenegen.errors import ScenegenError
from scenegen.formats.bop import bop_problem, write_bop
from scenegen.formats.coco import write_coco
from scenegen.formats.mot import mot_problem, write_mot
from scenegen.formats.split import Split
from scenegen.formats.yolo import write_yolo
from scenegen.formats.youtube_vis import write_youtube_vis
from scenegen.scene.frames import scene_frames, shard_scenes

Records = Iterable[FrameRecord]  # frame records, read one at a time (iter_records)

Categories = list[dict[str, Any]]  # COCO categories: id (from 1), name, supercategory


@dataclass(frozen=True)
class ExportJob:
    """What an export is made from: the dataset folder, its frame records and categories, the run's config
    (``dataset.json``'s, typed), the validation share, and whether image files are copied (``copy``) or
    hard-linked (the default) into the export's own folders."""

    dataset_dir: Path
    records: Records
    categories: Categories
    config: Config
    val_fraction: float
    copy: bool = False

    @property
    def split(self) -> Split:
        """The train/val split of the dataset's scenes."""
        return Split(self.val_fraction, self.config.seed, self.config.num_scenes)

    @property
    def class_names(self) -> list[str]:
        return [c["name"] for c in sorted(self.categories, key=lambda c: c["id"])]


# name -> writer(job) -> the main file or folder written
FORMATS: dict[str, Callable[[ExportJob], Path]] = {
    "coco": lambda j: write_coco(j.dataset_dir, j.records, j.categories, j.split, keypoints=False),
    "coco_keypoints": lambda j: write_coco(j.dataset_dir, j.records, j.categories, j.split, keypoints=True),
    "yolo": lambda j: write_yolo(j.dataset_dir, j.records, j.class_names, "detect", j.split, j.copy),
    "yolo_seg": lambda j: write_yolo(j.dataset_dir, j.records, j.class_names, "segment", j.split, j.copy),
    "bop": lambda j: write_bop(j.dataset_dir, j.records, j.config, j.copy),
    "youtube_vis": lambda j: write_youtube_vis(j.dataset_dir, j.records, j.categories, j.split),
    "mot": lambda j: write_mot(j.dataset_dir, j.records, j.copy),
}

# name -> what the format needs of the run's ``output`` config: the problem in one line, or None
NEEDS: dict[str, Callable[[dict[str, Any]], str | None]] = {"bop": bop_problem, "mot": mot_problem}


def check_formats(names: list[str], output: dict[str, Any], where: str = "config: output.formats") -> None:
    """Raise ScenegenError when a format of ``names`` is unknown, or needs an output ``output`` does not make."""
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise ScenegenError(f"{where}: unknown format {unknown[0]!r}; known: {list(FORMATS)}")
    for name in names:
        problem = NEEDS[name](output) if name in NEEDS else None
        if problem:
            raise ScenegenError(f"{where}: {problem}")


def export(
    dataset_dir: Path,
    name: str,
    records: Records,
    categories: Categories,
    config: Config,
    val_fraction: float | None = None,
    copy: bool = False,
) -> Path:
    """Write format ``name`` of the dataset made with ``config``; return what it wrote. ``val_fraction``
    defaults to the config's ``output.val_fraction``."""
    fraction = config.output.val_fraction if val_fraction is None else val_fraction
    return FORMATS[name](ExportJob(Path(dataset_dir).resolve(), records, categories, config, fraction, copy))


def export_dataset(
    dataset_dir: Path, names: list[str], val_fraction: float | None = None, copy: bool = False, partial: bool = False
) -> tuple[list[Path], str | None]:
    """Write formats ``names`` of an existing dataset folder from its frame records and ``dataset.json``
    (config, categories; the split's ``output.val_fraction`` unless ``val_fraction`` is given); return what
    was written and, with ``partial``, a line saying what was left out (None when nothing).

    An incomplete dataset (its run not finished, or a frame of its scenes without a record) is refused,
    naming what is missing; with ``partial`` the scenes whose frames are all there are exported."""
    dataset = read_dataset_file(dataset_dir)
    check_formats(names, to_container(dataset.config)["output"], where="--format")
    if val_fraction is not None and not 0.0 <= val_fraction <= 1.0:
        raise ScenegenError(f"--val-fraction {val_fraction} must be in [0, 1]")
    frames, left_out = _complete_scenes(dataset, partial)
    if not frames:
        raise ScenegenError(f"{dataset_dir}: no scene of the dataset has all its frames: nothing to export")
    folder, categories, config = dataset.folder, dataset.categories, dataset.config
    for record in iter_records(folder, frames, dataset):  # all read and their files found first: a bad one
        for kind in record["files"]:  # stops the export before anything is written
            file_path(folder, record, kind)
    refuse_links(folder)  # before any export's folder is made: never through a link
    with hold_lock(folder.resolve()):  # never while a render (or another export) writes this folder
        written = [  # each export reads the records one at a time
            export(folder, name, iter_records(folder, frames, dataset), categories, config, val_fraction, copy)
            for name in names
        ]
    return written, left_out


def _complete_scenes(dataset: DatasetFile, partial: bool) -> tuple[list[int], str | None]:
    """The frames of this shard's scenes whose records are all there, and a line naming what is missing
    (None when nothing is): ScenegenError with it unless ``partial``. A run that did not finish is
    incomplete too."""
    cfg, folder = dataset.config, dataset.folder
    present = set(record_indices(folder))
    frames, missing, left_out = [], [], []
    scenes = shard_scenes(cfg)
    for scene in scenes:
        lacking = [i for i in scene_frames(cfg, scene) if i not in present]
        missing += lacking
        if lacking:
            left_out.append(scene)
        else:
            frames += scene_frames(cfg, scene)
    problems = []
    if dataset.status != "complete":
        problems.append(f"its run did not finish (status {dataset.status!r})")
    if missing:
        problems.append(
            f"{len(missing)} frames have no record: {_few([f'labels/{frame_name(i)}.json' for i in missing])}"
        )
    if not problems:
        return frames, None
    problem = f"{folder}: incomplete: {'; '.join(problems)}"
    if not partial:
        raise ScenegenError(f"{problem}; rerun its command, or export with --partial")
    return (
        frames,
        f"{problem}; left out {len(left_out)} of its {len(scenes)} scenes{': ' * bool(left_out)}{_few(left_out)}",
    )


def _few(items: list[Any], shown: int = 5) -> str:
    """The first ``shown`` of ``items``, comma-separated, ``...`` when there are more."""
    return ", ".join(map(str, items[:shown])) + (", ..." if len(items) > shown else "")

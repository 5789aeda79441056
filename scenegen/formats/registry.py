"""The export formats, each built from the frame records alone (so any can be added later, without
re-rendering, by ``scenegen export``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenegen.dataset.dataset_file import read_dataset_file, record_counts
from scenegen.dataset.inside import refuse_links
from scenegen.dataset.lock import hold_lock
from scenegen.dataset.record import iter_records
from scenegen.errors import ScenegenError
from scenegen.formats.bop import bop_problem, write_bop
from scenegen.formats.coco import write_coco
from scenegen.formats.mot import write_mot
from scenegen.formats.yolo import write_yolo
from scenegen.formats.youtube_vis import write_youtube_vis

Records = Iterable[dict[str, Any]]  # frame records, read one at a time (iter_records)

Categories = list[dict[str, Any]]  # COCO categories: id (from 1), name, supercategory


@dataclass(frozen=True)
class ExportJob:
    """What an export is made from: the dataset folder, its frame records and categories, the run's config as
    plain data (``dataset.json``'s ``config``), the validation share, and whether image files are copied
    (``copy``) or hard-linked (the default) into the export's own folders."""

    dataset_dir: Path
    records: Records
    categories: Categories
    config: dict[str, Any]
    val_fraction: float
    copy: bool = False

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def class_names(self) -> list[str]:
        return [c["name"] for c in sorted(self.categories, key=lambda c: c["id"])]


# name -> writer(job) -> the main file or folder written
FORMATS: dict[str, Callable[[ExportJob], Path]] = {
    "coco": lambda j: write_coco(j.dataset_dir, j.records, j.categories, j.val_fraction, j.seed, keypoints=False),
    "coco_keypoints": lambda j: write_coco(
        j.dataset_dir, j.records, j.categories, j.val_fraction, j.seed, keypoints=True
    ),
    "yolo": lambda j: write_yolo(j.dataset_dir, j.records, j.class_names, "detect", j.val_fraction, j.seed, j.copy),
    "yolo_seg": lambda j: write_yolo(
        j.dataset_dir, j.records, j.class_names, "segment", j.val_fraction, j.seed, j.copy
    ),
    "bop": lambda j: write_bop(j.dataset_dir, j.records, j.config, j.copy),
    "youtube_vis": lambda j: write_youtube_vis(j.dataset_dir, j.records, j.categories, j.val_fraction, j.seed),
    "mot": lambda j: write_mot(j.dataset_dir, j.records, j.copy),
}

# name -> what the format needs of the run's ``output`` config: the problem in one line, or None
NEEDS: dict[str, Callable[[dict[str, Any]], str | None]] = {"bop": bop_problem}


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
    config: dict[str, Any],
    val_fraction: float | None = None,
    copy: bool = False,
) -> Path:
    """Write format ``name`` of the dataset made with ``config`` (plain data); return what it wrote.
    ``val_fraction`` defaults to the config's ``output.val_fraction``."""
    fraction = config["output"]["val_fraction"] if val_fraction is None else val_fraction
    return FORMATS[name](ExportJob(Path(dataset_dir).resolve(), records, categories, config, fraction, copy))


def export_dataset(
    dataset_dir: Path, names: list[str], val_fraction: float | None = None, copy: bool = False
) -> list[Path]:
    """Write formats ``names`` of an existing dataset folder from its frame records and ``dataset.json``
    (config, categories; the split's ``output.val_fraction`` unless ``val_fraction`` is given)."""
    manifest = read_dataset_file(dataset_dir)
    check_formats(names, manifest["config"]["output"], where="--format")
    if val_fraction is not None and not 0.0 <= val_fraction <= 1.0:
        raise ScenegenError(f"--val-fraction {val_fraction} must be in [0, 1]")
    folder = Path(dataset_dir)
    refuse_links(folder)  # before any export's folder is made: never through a link
    if not record_counts(iter_records(folder))["frames"]:  # reads every record first: a bad one stops here
        raise ScenegenError(f"{dataset_dir}: the dataset has no frame records in labels/")
    config, categories = manifest["config"], manifest["categories"]
    with hold_lock(folder.resolve()):  # never while a render (or another export) writes this folder
        return [export(folder, name, iter_records(folder), categories, config, val_fraction, copy) for name in names]

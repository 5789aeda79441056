"""``dataset.json``: a dataset folder's status, config and its identity, categories, versions, counts and
timings. The one module that writes it, reads it and compares identities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from scenegen import __version__
from scenegen.config.load import config_from_data, to_container
from scenegen.config.schema import MAX_FRAMES, Config
from scenegen.dataset import atomic
from scenegen.dataset.inside import path_inside
from scenegen.dataset.readback import BadValue, checked, read_json
from scenegen.errors import ConfigError, DatasetError, shown
from scenegen.outputs.registry import CONFIG_SCHEMA
from scenegen.scene.frames import num_frames

if TYPE_CHECKING:  # record.py imports this module
    from scenegen.dataset.record import FrameRecord

DATASET_FILE = "dataset.json"
HOW_NOT_WHAT = ("executor", "ray", "output_dir", "cache_dir")  # config keys that do not change the dataset
STATUSES = ("rendering", "complete")
MAX_DATASET_FILE_BYTES = 16 << 20


def identity_of(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a config (as plain data) that decides the dataset's content: all but how and where."""
    return {k: v for k, v in config.items() if k not in HOW_NOT_WHAT}


class Category(TypedDict):
    id: int  # from 1, in the sorted order of class names
    name: str
    supercategory: str


@dataclass(frozen=True)
class DatasetFile:
    """``dataset.json`` read back and checked: the run's typed config, its categories and its status."""

    folder: Path
    status: str  # "rendering" until the run (or merge) finished, then "complete"
    config: Config
    categories: list[Category]

    @property
    def path(self) -> Path:
        return self.folder / DATASET_FILE

    @property
    def identity(self) -> dict[str, Any]:
        return identity_of(to_container(self.config))


def read_dataset_file(folder: Path) -> DatasetFile:
    """A dataset folder's ``dataset.json``, its config loaded into the typed ``Config`` and validated as a
    composed one is; ScenegenError in one line naming the file (and the key) when the folder is not a
    scenegen dataset or the file is not one."""
    folder = Path(folder)
    path = folder / DATASET_FILE
    if not path.exists():
        raise DatasetError(f"{folder}: not a scenegen dataset (no {DATASET_FILE})")
    try:
        data = checked(read_json(path_inside(folder, DATASET_FILE, folder), MAX_DATASET_FILE_BYTES), _Stored)
    except BadValue as err:
        raise DatasetError(f"{path}: {err}") from None
    except ValueError as err:
        raise DatasetError(f"{path}: not a readable dataset file ({err})") from None
    try:
        config = config_from_data(data["config"], CONFIG_SCHEMA)
    except ConfigError as err:
        raise DatasetError(f"{path}: {err}") from None
    if data["status"] not in STATUSES:
        raise DatasetError(f"{path}: status {shown(data['status'])} is not one of {list(STATUSES)}")
    if num_frames(config) > MAX_FRAMES:
        raise DatasetError(
            f"{path}: config: num_scenes x frames per scene = {num_frames(config)} frames is over {MAX_FRAMES}"
        )
    categories = data["categories"]
    for i, category in enumerate(categories):
        if category["id"] != i + 1:
            raise DatasetError(f"{path}: categories[{i}].id = {shown(category['id'])}; ids count from 1 in order")
    return DatasetFile(folder, data["status"], config, categories)


class _Read(TypedDict):
    status: str
    config: dict[str, Any]
    categories: list[Category]


class _Stored(_Read, total=False):
    """What ``dataset.json`` holds; only ``status``, ``config`` and ``categories`` are read back."""

    identity: dict[str, Any]
    versions: dict[str, Any]
    counts: dict[str, Any]
    timings: dict[str, Any]


def record_counts(records: Iterable[FrameRecord]) -> dict[str, int]:
    """The ``counts`` of ``dataset.json``, summed over frame records in one pass."""
    counts = dict.fromkeys(("frames", "objects", "annotations", "below_min_visible_pixels", "distractors"), 0)
    counts["unplaced"] = counts["redropped"] = 0
    for record in records:
        counts["frames"] += 1
        counts["annotations"] += record["counts"]["annotated"]
        for key in ("objects", "below_min_visible_pixels", "distractors", "unplaced", "redropped"):
            counts[key] += record["counts"][key]
    return counts


def write_dataset_file(
    out: Path,
    config: dict[str, Any],
    categories: list[Category],
    status: str,
    counts: dict[str, int] | None = None,
    stats: list[dict[str, Any]] | None = None,
    seconds: float = 0.0,
) -> None:
    """``dataset.json``: status, config and its identity, categories, versions; when complete, the counts
    (``record_counts``) and the timings of this run (``stats``: one FrameWorker.finish() per worker)."""
    data: dict[str, Any] = {
        "status": status,
        "config": config,
        "identity": identity_of(config),
        "categories": categories,
        "versions": {"scenegen": __version__, **{p: version(p) for p in ("pyrender2", "PyOpenGL", "numpy", "trimesh")}},
    }
    if counts is not None:
        data["counts"] = counts
    if stats is not None:
        rendered = sum(s["frames"] for s in stats)
        totals = {stage: sum(s["seconds"].get(stage, 0.0) for s in stats) for s in stats for stage in s["seconds"]}
        data["timings"] = {
            "seconds_this_run": round(seconds, 3),
            "frames_this_run": rendered,
            "workers": len(stats),
            "ms_per_frame_by_stage": {k: round(1000 * v / max(rendered, 1), 2) for k, v in sorted(totals.items())},
        }
    atomic.write_json(out / DATASET_FILE, data)

"""The export formats, each built from the frame records alone (so any can be added later, without
re-rendering, by ``scenegen export``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scenegen.config.schema import Config, OutputConfig
from scenegen.dataset.dataset_file import DatasetFile, read_dataset_file
from scenegen.dataset.inside import refuse_links
from scenegen.dataset.lock import hold_lock
from scenegen.dataset.record import file_path, frame_name, iter_records, record_indices
from scenegen.declarations import declared
from scenegen.errors import ConfigError, ExportError
from scenegen.formats.job import Categories, Export, ExportJob, Records
from scenegen.scene.frames import scene_frames, shard_scenes


def discover_exports() -> dict[str, Export]:
    """Every export declared by a module of ``scenegen.formats`` (its ``EXPORTS``), by name: the built-in
    ones in a fixed order, then any other module's (found on the package's path) by module name."""
    found: dict[str, Export] = {}
    for module, entry in declared("scenegen.formats", BUILT_IN, "EXPORTS"):
        if entry.name in found:
            raise ExportError(f"{module}: export {entry.name!r} is declared twice")
        found[entry.name] = entry
    return found


BUILT_IN = ("coco", "yolo", "bop", "youtube_vis", "mot")  # their order: the order of --help and error messages

FORMATS: dict[str, Export] = discover_exports()

# name -> what the format needs of the run's ``output`` config: the problem in one line, or None
NEEDS: dict[str, Callable[[OutputConfig], str | None]] = {e.name: e.needs for e in FORMATS.values() if e.needs}

LINKS_IMAGES: list[str] = [e.name for e in FORMATS.values() if e.links]  # their folders: hard links


def check_formats(names: list[str], output: OutputConfig, where: str = "config: output.formats") -> None:
    """Raise ScenegenError when a format of ``names`` is unknown, or needs an output ``output`` does not make."""
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise ConfigError(f"{where}: unknown format {unknown[0]!r}; known: {list(FORMATS)}")
    for name in names:
        problem = NEEDS[name](output) if name in NEEDS else None
        if problem:
            raise ConfigError(f"{where}: {problem}")


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
    return FORMATS[name].write(ExportJob(Path(dataset_dir).resolve(), records, categories, config, fraction, copy))


def export_dataset(
    dataset_dir: Path, names: list[str], val_fraction: float | None = None, copy: bool = False, partial: bool = False
) -> tuple[list[Path], str | None]:
    """Write formats ``names`` of an existing dataset folder from its frame records and ``dataset.json``
    (config, categories; the split's ``output.val_fraction`` unless ``val_fraction`` is given); return what
    was written and, with ``partial``, a line saying what was left out (None when nothing).

    An incomplete dataset (its run not finished, or a frame of its scenes without a record) is refused,
    naming what is missing; with ``partial`` the scenes whose frames are all there are exported."""
    dataset = read_dataset_file(dataset_dir)
    check_formats(names, dataset.config.output, where="--format")
    if val_fraction is not None and not 0.0 <= val_fraction <= 1.0:
        raise ConfigError(f"--val-fraction {val_fraction} must be in [0, 1]")
    frames, left_out = _complete_scenes(dataset, partial)
    if not frames:
        raise ExportError(f"{dataset_dir}: no scene of the dataset has all its frames: nothing to export")
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
    frames: list[int] = []
    missing: list[int] = []
    left_out: list[int] = []
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
        raise ExportError(f"{problem}; rerun its command, or export with --partial")
    return (
        frames,
        f"{problem}; left out {len(left_out)} of its {len(scenes)} scenes{': ' * bool(left_out)}{_few(left_out)}",
    )


def _few(items: list[Any], shown: int = 5) -> str:
    """The first ``shown`` of ``items``, comma-separated, ``...`` when there are more."""
    return ", ".join(map(str, items[:shown])) + (", ..." if len(items) > shown else "")

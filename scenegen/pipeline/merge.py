"""``scenegen merge``: assemble the folders of shard jobs into the one dataset a single run would give."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from scenegen.config.schema import ShardConfig
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.dataset_file import DatasetFile, read_dataset_file
from scenegen.dataset.inside import path_inside
from scenegen.dataset.lock import LOCK_FILE, hold_lock
from scenegen.dataset.record import file_path, frame_problems, iter_records, record_indices, record_path
from scenegen.errors import DatasetError
from scenegen.pipeline.finish import finish_dataset
from scenegen.scene.frames import num_frames


def merge_shards(out: Path, shards: list[Path]) -> Path:
    """Link (or copy) every frame of ``shards`` into ``out``, then write its exports and ``dataset.json``.

    The shards must be complete, of one config apart from ``shard`` (and how or where they ran), and
    together hold each frame of ``num_scenes`` scenes exactly once."""
    out = Path(out).resolve()  # written through real paths only (atomic)
    datasets = [_complete(folder) for folder in shards]
    first = datasets[0]
    for folder, dataset in zip(shards, datasets, strict=True):
        difference = _first_difference(_content(first), _content(dataset))
        if difference:
            raise DatasetError(f"{folder}: made with another config than {shards[0]} ({difference})")
    owner: dict[int, DatasetFile] = {}
    for dataset in datasets:
        for index in record_indices(dataset.folder):
            if index in owner:
                raise DatasetError(f"frame {index} is in both {owner[index].folder} and {dataset.folder}")
            owner[index] = dataset
    expected = range(num_frames(first.config))
    missing = [i for i in expected if i not in owner]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise DatasetError(f"{len(missing)} frames missing from the shards: {shown}; render the missing shards")
    _check_empty(out)
    links = [link for index in expected for link in _frame_links(out, owner[index], index)]
    out.mkdir(parents=True, exist_ok=True)
    with hold_lock(out):  # as a render holds its folder: a second merge or render into it stops in one line
        _check_empty(out)  # again, under the lock: another merge may have written here since
        return _write_merged(out, links, first, list(expected))


def _check_empty(out: Path) -> None:
    if out.exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise DatasetError(f"{out}: exists and is not empty; choose a new folder for the merged dataset")


def _write_merged(out: Path, links: list[tuple[Path, Path]], first: DatasetFile, expected: list[int]) -> Path:
    """Make the ``links`` (source, target) of every frame, then the exports and ``dataset.json``."""
    for source, target in links:
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(source, target)
    config = dataclasses.replace(first.config, shard=ShardConfig(index=0, count=1), output_dir=str(out))
    return finish_dataset(DatasetFile(out, "rendering", config, first.categories), expected)


def _frame_links(out: Path, dataset: DatasetFile, index: int) -> list[tuple[Path, Path]]:
    """(source, target) of every file of frame ``index`` of the shard ``dataset``, its record last, once the
    record is read against the shard's ``dataset.json`` and the files are checked against the record; every
    path stays inside its dataset."""
    folder = dataset.folder
    record = next(iter_records(folder, [index], dataset))
    problems = frame_problems(folder, record)
    if problems:
        raise DatasetError(f"frame {index} of {folder} is damaged: {problems[0]}; render it again (rerun the shard)")
    source = record_path(folder, index)
    links = [(file_path(folder, record, k), path_inside(out, e["path"], source)) for k, e in record["files"].items()]
    return [*links, (source, record_path(out, index))]


def _complete(folder: Path) -> DatasetFile:
    dataset = read_dataset_file(folder)
    if dataset.status != "complete":
        raise DatasetError(f"{folder}: the shard did not finish; rerun its command to complete it")
    return dataset


def _content(dataset: DatasetFile) -> dict[str, Any]:
    return {k: v for k, v in dataset.identity.items() if k != "shard"}


def _first_difference(a: Any, b: Any, key: str = "") -> str | None:
    """The first key whose values differ, as ``key: a != b``; None when equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            found = _first_difference(a.get(k), b.get(k), f"{key}.{k}" if key else k)
            if found:
                return found
        return None
    return None if a == b else f"{key}: {a!r} != {b!r}"

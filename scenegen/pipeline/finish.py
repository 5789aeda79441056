"""A dataset's last step, shared by a render and a merge: its exports, then ``dataset.json`` saying complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenegen.config.load import to_container
from scenegen.dataset import atomic
from scenegen.dataset.dataset_file import DatasetFile, record_counts, write_dataset_file
from scenegen.dataset.record import iter_records
from scenegen.formats.registry import export


def finish_dataset(
    dataset: DatasetFile, frames: list[int], stats: list[dict[str, Any]] | None = None, seconds: float = 0.0
) -> Path:
    """Write the exports of ``dataset.config.output.formats`` from the records of ``frames`` of ``dataset``
    (read one at a time), sync, then write ``dataset.json`` as complete with the counts (and this run's
    ``stats`` and ``seconds``); return the folder."""
    out, config, categories = dataset.folder, dataset.config, dataset.categories
    counts = record_counts(iter_records(out, frames, dataset))
    for name in config.output.formats:
        export(out, name, iter_records(out, frames, dataset), categories, config)
    atomic.sync_all()  # exports and links on disk before dataset.json says complete
    write_dataset_file(out, to_container(config), categories, "complete", counts, stats, seconds)
    return out

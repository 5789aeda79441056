"""What an export is made from (``ExportJob``) and how an export module declares itself (``Export``).

A module of ``scenegen/formats/`` that defines ``EXPORTS``, a tuple of ``Export``, is an export: the
registry finds it, and ``output.formats``, ``scenegen export --format`` and its help, the run's checks, the
note on hard links and the check and repair of its links (``links.py``) all follow from the declaration. A new
export is one new module."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scenegen.config.schema import Config, OutputConfig
from scenegen.dataset.dataset_file import Category
from scenegen.dataset.record import FrameRecord
from scenegen.formats.split import Split

Records = Iterable[FrameRecord]  # frame records, read one at a time (iter_records)

Categories = list[Category]  # COCO categories: id (from 1), name, supercategory


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


@dataclass(frozen=True)
class ExportLink:
    """One export file standing for a frame's file of ``kind``: ``places`` are the paths it may have, relative
    to the dataset (two for YOLO, its train and val folders, as the split depends on ``--val-fraction``)."""

    export: str  # the format that wrote it
    kind: str  # the frame's file it stands for: "image" or "depth_png"
    places: tuple[str, ...]


@dataclass(frozen=True)
class Export:
    """One export: its ``name`` (``output.formats``, ``--format``), ``write(job)`` returning the main file or
    folder written, ``needs(output)`` saying in one line what the run's ``output`` config (``OutputConfig``)
    lacks for it (None when nothing), and, for an export whose folder (named ``name``) holds hard links to
    the dataset's files (copies with ``--copy``), ``links(record)``: the links it makes for that frame."""

    name: str
    write: Callable[[ExportJob], Path]
    needs: Callable[[OutputConfig], str | None] | None = None
    links: Callable[[FrameRecord], Iterator[ExportLink]] | None = None

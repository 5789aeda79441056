"""The exports' links to a frame's own files: where they are, whether they still are that file, and repair.

The files of the exports that declare links (``Export.links``: YOLO's, BOP's and MOT's images, and BOP's depth
when the run wrote ``depth/NNNNNN.png``) are hard links to the dataset's files, or copies (``scenegen export
--copy``, or where links fail). A frame rendered again (resume) is written to new files, so an export made
before still names the old ones, whatever became of them (a truncated image stays truncated in
``yolo/images/val/``). ``repair_links`` makes such a link the frame's file again, and ``link_problems``
(``scenegen verify``) names an export file that is missing, not a regular file, or neither the frame's file
(same inode) nor a copy of it (the size and SHA-256 the frame's record lists).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.dataset_file import DatasetFile
from scenegen.dataset.inside import path_inside
from scenegen.dataset.record import FileEntry, FrameRecord, file_path, file_sha256, listed_records, read_record
from scenegen.errors import ExportError, ScenegenError
from scenegen.formats.job import ExportLink

REPAIR_HINT = "rerun its render command to repair it"


def export_links(folder: Path, record: FrameRecord) -> Iterator[ExportLink]:
    """The links to ``record``'s files of every export that ``folder`` holds (its folder, named by the export,
    is there), as each export declares them (``Export.links``)."""
    from scenegen.formats.registry import FORMATS  # here: the registry imports every module of the package

    for export in FORMATS.values():
        if export.links is not None and (folder / export.name).is_dir():
            yield from export.links(record)


def readable_records(folder: Path, dataset: DatasetFile | None = None) -> Iterator[FrameRecord]:
    """The frame records in ``folder/labels`` that read (and agree with ``dataset``, when given: ``scenegen
    verify`` names the others), in frame order."""
    for path, index in listed_records(folder):
        if index is not None and path.is_file():  # not a FIFO, which would block the read
            try:
                yield read_record(path_inside(folder, f"labels/{path.name}", folder), dataset)
            except ScenegenError:
                continue


def link_problems(folder: Path, records: Iterable[FrameRecord] | None = None) -> Iterator[str]:
    """One line per export link of ``records`` (default: every readable record) in ``folder`` that is missing,
    not a regular file, or neither its frame's file nor a copy of it. A link that is the frame's file (one
    inode) is as whole as that file, which the frame's own check covers."""
    folder = Path(folder)
    for record in readable_records(folder) if records is None else records:
        for link in export_links(folder, record):
            try:
                found = _present(folder, link)
            except ScenegenError as err:
                yield str(err)
                continue
            if not found:
                places = " or ".join(str(folder / place) for place in link.places)
                again = f"scenegen export {folder} --format {link.export} writes it again"
                yield f"{places}: missing (frame {record['index']} in the {link.export} export); {again}"
            source = file_path(folder, record, link.kind)
            for path in found:
                problem = _problem(path, source, record["files"][link.kind])
                if problem:
                    yield f"{path}: {problem}; {REPAIR_HINT}"


def hard_links(folder: Path, records: Iterable[FrameRecord]) -> set[Path]:
    """The export links of ``records`` that are their frame's file now (hard links, not copies): taken before
    frames are rendered again, so that ``repair_links`` keeps each a link or a copy, as the export made it."""
    linked: set[Path] = set()
    for record in records:
        for link in export_links(folder, record):
            source = file_path(folder, record, link.kind)
            linked.update(path for path in _present(folder, link) if _same_file(path, source))
    return linked


def repair_links(folder: Path, records: Iterable[FrameRecord], linked: set[Path]) -> list[Path]:
    """Make every export link of ``records`` its frame's file again: one in ``linked`` (``hard_links``) that is
    not the frame's file any more is linked again; another (a copy) whose bytes are not the frame's is copied
    again. Return the links whose bytes were wrong (damaged or stale)."""
    damaged = []
    for record in records:
        for link in export_links(folder, record):
            source = file_path(folder, record, link.kind)
            for path in _present(folder, link):
                if _same_file(path, source):
                    continue
                wrong = _problem(path, source, record["files"][link.kind]) is not None
                if path in linked or wrong:
                    try:
                        link_or_copy(source, path, copy=path not in linked)
                    except OSError as err:
                        raise ExportError(f"cannot repair {path}: {err.strerror or err}") from None
                if wrong:
                    damaged.append(path)
    if damaged:
        shown = ", ".join(str(p.relative_to(folder.resolve())) for p in damaged[:5]) + ", ..." * (len(damaged) > 5)
        print(f"scenegen: repaired {len(damaged)} export files that were not their frame's: {shown}", file=sys.stderr)
    return damaged


def _present(folder: Path, link: ExportLink) -> list[Path]:
    """The places of ``link`` that exist (as any kind of file); ScenegenError naming the place when its folder
    leads out of the dataset (a folder of the export linked elsewhere)."""
    found = []
    for place in link.places:
        parent = path_inside(folder, str(Path(place).parent), folder / place)
        path = parent / Path(place).name
        if os.path.lexists(path):
            found.append(path)
    return found


def _same_file(path: Path, source: Path) -> bool:
    try:
        return os.path.samestat(os.lstat(path), os.stat(source))
    except OSError:
        return False


def _problem(path: Path, source: Path, entry: FileEntry) -> str | None:
    """What keeps ``path`` from standing for the frame's file ``source`` (record entry ``entry``), or None."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return f"not a regular file, where a link to {source} belongs"
        if _same_file(path, source):
            return None
        if info.st_size != entry["bytes"]:
            return f"{info.st_size} bytes, not a link to {source} nor a copy of it ({entry['bytes']} bytes)"
        if file_sha256(path) != entry["sha256"]:  # hashlib.file_digest: Python 3.11 on
            return f"not a link to {source} nor a copy of it (its content differs, SHA-256)"
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    return None

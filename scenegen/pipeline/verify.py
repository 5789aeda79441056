"""``scenegen verify``: check a dataset folder (copied between machines, say) against its own records.

Every frame of the run (its shard's scenes, each of ``scene.views_per_scene`` or ``sequence.frames``
frames: ``scene.frames``) must have a record that reads and agrees with ``dataset.json``, every file
a record lists must be a regular file with the size and SHA-256 the record says, and every export's link
to a frame's image (YOLO, BOP, MOT) must be that file or a copy of it (``formats.links``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scenegen.dataset.dataset_file import read_dataset_file
from scenegen.dataset.record import frame_problems, listed_records, read_record, record_file, record_path
from scenegen.errors import ScenegenError
from scenegen.formats.links import link_problems, readable_records
from scenegen.scene.frames import in_shard, shard_frames


def verify_dataset(folder: Path, report: Callable[[str], None]) -> tuple[int, str]:
    """Check the dataset ``folder`` frame by frame, calling ``report`` with one line per problem as it is
    found; return the number of problems and a summary line. ScenegenError when it is not a dataset."""
    dataset = read_dataset_file(folder)
    problems = 0

    def problem(line: str) -> None:
        nonlocal problems
        problems += 1
        report(line)

    if dataset.status != "complete":
        problem(f"{dataset.path}: status {dataset.status!r}, not complete; rerun its command")
    present = set()
    for path, index in listed_records(folder):
        if index is None:
            problem(f"{path}: not a frame record (its name is not a frame number)")
            continue
        present.add(index)
    expected = shard_frames(dataset.config)
    frames = files = 0
    damaged: set[int] = set()  # frames whose own files are wrong: their exports' links are not checked too
    for index in sorted(set(expected) | present):
        path = record_path(folder, index)
        if index not in present:
            problem(f"{path}: missing (frame {index})")
            continue
        if not in_shard(dataset.config, index):
            problem(f"{path}: frame {index} is not a frame of this dataset's num_scenes and shard")
            continue
        try:
            record = read_record(record_file(folder, index), dataset)
        except ScenegenError as err:
            problem(str(err))
            continue
        frames += 1
        files += len(record["files"])
        for line in frame_problems(folder, record):
            problem(line)
            damaged.add(index)
    sound = (r for r in readable_records(folder, dataset) if r["index"] not in damaged)  # the others are named
    for line in link_problems(folder, sound):  # the exports' links: the frame's file, or a copy of it
        problem(line)
    verdict = "ok" if not problems else f"{problems} problem{'s' * (problems != 1)}"
    return problems, f"{folder}: {frames} of {len(expected)} frames, {files} files checked: {verdict}"

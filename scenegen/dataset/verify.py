"""``scenegen verify``: check a dataset folder (copied between machines, say) against its own records.

Every frame of the run (``num_scenes`` and ``shard`` in ``dataset.json``) must have a readable record, and
every file a record lists must be there with the size and SHA-256 the record says, and every export's link
to a frame's image (YOLO, BOP, MOT) must be that file or a copy of it (``formats.links``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scenegen.dataset.dataset_file import DATASET_FILE, read_dataset_file
from scenegen.dataset.inside import path_inside
from scenegen.dataset.record import frame_problems, read_record, record_path
from scenegen.errors import ScenegenError
from scenegen.formats.links import link_problems


def verify_dataset(folder: Path, report: Callable[[str], None]) -> tuple[int, str]:
    """Check the dataset ``folder`` frame by frame, calling ``report`` with one line per problem as it is
    found; return the number of problems and a summary line. ScenegenError when it is not a dataset."""
    manifest = read_dataset_file(folder)
    problems = 0

    def problem(line: str) -> None:
        nonlocal problems
        problems += 1
        report(line)

    if manifest.get("status") != "complete":
        problem(f"{folder / DATASET_FILE}: status {manifest.get('status')!r}, not complete; rerun its command")
    config = manifest["config"]
    try:
        expected = set(range(config["shard"]["index"], config["num_scenes"], config["shard"]["count"]))
    except (KeyError, TypeError, ValueError):
        raise ScenegenError(f"{folder / DATASET_FILE}: its config lacks num_scenes or shard") from None
    present = set()
    for path in sorted((folder / "labels").glob("*.json")):
        if not path.stem.isdigit():
            problem(f"{path}: not a frame record (its name is not a frame number)")
            continue
        present.add(int(path.stem))
    frames = files = 0
    for index in sorted(expected | present):
        path = record_path(folder, index)
        if index not in present:
            problem(f"{path}: missing (frame {index})")
            continue
        if index not in expected:
            problem(f"{path}: frame {index} is not a frame of this dataset's num_scenes and shard")
            continue
        try:
            record = read_record(path_inside(folder, f"labels/{path.name}", folder))  # not a link out
        except ScenegenError as err:
            problem(str(err))
            continue
        frames += 1
        files += len(record["files"])
        for line in frame_problems(folder, record):
            problem(line)
    for line in link_problems(folder):  # the exports' image links: the frame's file, or a copy of it
        problem(line)
    verdict = "ok" if not problems else f"{problems} problem{'s' * (problems != 1)}"
    return problems, f"{folder}: {frames} of {len(expected)} frames, {files} files checked: {verdict}"

"""``dataset.json``: a dataset folder's status, config and its identity, categories, versions, counts and
timings. The one module that writes it, reads it and compares identities."""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from scenegen import __version__
from scenegen.dataset import atomic
from scenegen.errors import ScenegenError

DATASET_FILE = "dataset.json"
HOW_NOT_WHAT = ("executor", "ray", "output_dir", "cache_dir")  # config keys that do not change the dataset


def identity_of(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a config (as plain data) that decides the dataset's content: all but how and where."""
    return {k: v for k, v in config.items() if k not in HOW_NOT_WHAT}


def read_dataset_file(folder: Path) -> dict[str, Any]:
    """A dataset folder's ``dataset.json``; ScenegenError when the folder is not a scenegen dataset."""
    path = Path(folder) / DATASET_FILE
    if not path.is_file():
        raise ScenegenError(f"{folder}: not a scenegen dataset (no {DATASET_FILE})")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise ScenegenError(f"{path}: unreadable ({err}); delete the folder or choose another") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ScenegenError(f"{path}: not a scenegen dataset file")
    return data


def record_counts(records: Iterable[dict[str, Any]]) -> dict[str, int]:
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
    categories: list[dict[str, Any]],
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

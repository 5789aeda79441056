"""Render a dataset: check the config, run this shard's unfinished scenes, then the exports.

Scenes are independent and their frames written atomically; a frame is done when its record exists and
every file matches the size and SHA-256 the record lists, and a scene when all its frames are, so rerunning
the same command resumes where a crash left off, and renders again a scene with a frame whose record or
files were damaged since; the exports' links to frames rendered again, or damaged, are then repaired
(``formats.links``), whether or not ``output.formats`` makes those exports again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import cast

from scenegen.assets.catalog import Catalog
from scenegen.config.load import to_container
from scenegen.config.schema import Config
from scenegen.dataset.dataset_file import Category, DatasetFile, write_dataset_file
from scenegen.dataset.lock import hold_lock
from scenegen.dataset.record import frame_done, iter_records, record_path
from scenegen.errors import ScenegenError
from scenegen.formats.links import hard_links, readable_records, repair_links
from scenegen.pipeline.checks import check_output_dir, check_run
from scenegen.pipeline.executor import RESUME_HINT, run_frames
from scenegen.pipeline.finish import finish_dataset
from scenegen.scene.frames import scene_frames, shard_frames, shard_scenes


def render_dataset(cfg: Config, progress: bool = True) -> Path:
    """Render this shard's scenes of ``cfg`` into ``cfg.output_dir``, skipping finished ones, then the
    exports; return the folder. One run at a time: it holds the folder's lock (``lock.LOCK_FILE``)."""
    catalog, out = check_run(cfg)
    out.mkdir(parents=True, exist_ok=True)
    with hold_lock(out):
        check_output_dir(cfg)  # again, under the lock: another run may have started here since the checks
        return _render_locked(cfg, catalog, out, progress)


def _render_locked(cfg: Config, catalog: Catalog, out: Path, progress: bool) -> Path:
    for stale in out.rglob(".*.tmp"):  # left by a killed run: never part of a finished frame
        stale.unlink()
    started = time.time()
    scenes, frames = shard_scenes(cfg), shard_frames(cfg)
    categories = cast(list[Category], catalog.categories())  # their keys: id, name, supercategory
    write_dataset_file(out, to_container(cfg), categories, status="rendering")
    dataset = DatasetFile(out, "rendering", cfg, categories)  # what each record is read against
    undone = {s: [i for i in scene_frames(cfg, s) if not frame_done(out, i, dataset)] for s in scenes}
    todo = [s for s in scenes if undone[s]]
    damaged = [i for s in todo for i in undone[s] if record_path(out, i).is_file()]
    if damaged:
        shown = ", ".join(map(str, damaged[:10])) + (", ..." if len(damaged) > 10 else "")
        note = f"rendering again {len(damaged)} frames whose record or files are damaged: {shown} (and their scenes)"
        print(f"scenegen: {note}", file=sys.stderr)
    linked = hard_links(out, readable_records(out, dataset))  # exports' links, before their frames are rendered again
    try:
        stats = run_frames(cfg, out, todo, progress, catalog)
    except ScenegenError as err:  # of the kind it is, with the hint every failure of the run ends with
        raise type(err)(f"{err}; {RESUME_HINT}") from None
    repair_links(out, iter_records(out, frames, dataset), linked)
    return finish_dataset(dataset, frames, stats, time.time() - started)

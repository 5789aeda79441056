"""Render a dataset: check the config, run this shard's unfinished frames, then the exports.

Frames are independent and written atomically; a frame is done when its record exists and every file
matches the size and SHA-256 the record lists, so rerunning the same command resumes where a crash left
off, and renders again a frame whose record or files were damaged since.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scenegen.config.load import to_container
from scenegen.config.schema import Config
from scenegen.dataset import atomic
from scenegen.dataset.dataset_file import record_counts, write_dataset_file
from scenegen.dataset.record import frame_done, iter_records, record_path
from scenegen.errors import ScenegenError
from scenegen.formats.registry import export
from scenegen.pipeline.checks import check_run
from scenegen.pipeline.executor import RESUME_HINT, run_frames


def shard_frames(cfg: Config) -> range:
    """The frames of this shard: ``i`` with ``i % shard.count == shard.index``."""
    return range(cfg.shard.index, cfg.num_scenes, cfg.shard.count)


def render_dataset(cfg: Config, progress: bool = True) -> Path:
    """Render this shard's frames of ``cfg`` into ``cfg.output_dir``, skipping finished ones, then the
    exports; return the folder."""
    catalog, out = check_run(cfg)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob(".*.tmp"):  # left by a killed run: never part of a finished frame
        stale.unlink()
    started = time.time()
    frames = shard_frames(cfg)
    write_dataset_file(out, to_container(cfg), catalog.categories(), status="rendering")
    todo = [i for i in frames if not frame_done(out, i)]
    damaged = [i for i in todo if record_path(out, i).is_file()]
    if damaged:
        shown = ", ".join(map(str, damaged[:10])) + (", ..." if len(damaged) > 10 else "")
        note = f"rendering again {len(damaged)} frames whose record or files are damaged: {shown}"
        print(f"scenegen: {note}", file=sys.stderr)
    try:
        stats = run_frames(cfg, out, todo, progress, catalog)
    except ScenegenError as err:
        raise ScenegenError(str(err) if RESUME_HINT in str(err) else f"{err}; {RESUME_HINT}") from None
    counts = record_counts(iter_records(out, list(frames)))
    for name in cfg.output.formats:  # each export reads the records one at a time
        export(out, name, iter_records(out, list(frames)), catalog.categories(), to_container(cfg))
    atomic.sync_all()  # exports and links on disk before dataset.json says complete
    write_dataset_file(out, to_container(cfg), catalog.categories(), "complete", counts, stats, time.time() - started)
    return out

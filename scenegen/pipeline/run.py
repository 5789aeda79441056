"""Render a dataset: check the config, run this shard's unfinished scenes, then the exports.

Scenes are independent and their frames written atomically; a scene whose frames' records all exist is
done, so rerunning the same command resumes where a crash left off.
"""

from __future__ import annotations

import time
from pathlib import Path

from scenegen.config.load import to_container
from scenegen.config.schema import Config
from scenegen.dataset.dataset_file import write_dataset_file
from scenegen.dataset.record import read_records, record_path
from scenegen.errors import ScenegenError
from scenegen.formats.registry import export
from scenegen.pipeline.checks import check_run
from scenegen.pipeline.executor import RESUME_HINT, run_frames
from scenegen.scene.frames import scene_frames


def shard_scenes(cfg: Config) -> range:
    """The scenes of this shard: ``s`` with ``s % shard.count == shard.index``."""
    return range(cfg.shard.index, cfg.num_scenes, cfg.shard.count)


def render_dataset(cfg: Config, progress: bool = True) -> Path:
    """Render this shard's scenes of ``cfg`` into ``cfg.output_dir``, skipping finished ones, then the
    exports; return the folder."""
    catalog, out = check_run(cfg)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob(".*.tmp"):  # left by a killed run: never part of a finished frame
        stale.unlink()
    started = time.time()
    scenes = shard_scenes(cfg)
    frames = [i for s in scenes for i in scene_frames(cfg, s)]
    write_dataset_file(out, to_container(cfg), catalog.categories(), status="rendering")
    todo = [s for s in scenes if not all(record_path(out, i).is_file() for i in scene_frames(cfg, s))]
    try:
        stats = run_frames(cfg, out, todo, progress, catalog)
    except ScenegenError as err:
        raise ScenegenError(str(err) if RESUME_HINT in str(err) else f"{err}; {RESUME_HINT}") from None
    records = read_records(out, frames)
    for name in cfg.output.formats:
        export(out, name, records, catalog.categories(), cfg.output.val_fraction, cfg.seed)
    write_dataset_file(out, to_container(cfg), catalog.categories(), "complete", records, stats, time.time() - started)
    return out

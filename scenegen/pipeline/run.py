"""Render a dataset: check the config, run this shard's unfinished frames, then the exports.

Frames are independent and written atomically; a frame whose record exists is
done, so rerunning the same command resumes where a crash left off.
"""

from __future__ import annotations

import time
from pathlib import Path

from scenegen.assets.catalog import Catalog, MeshLimits, build_catalog
from scenegen.assets.collision import collision_shape
from scenegen.config.load import to_container
from scenegen.config.schema import Config
from scenegen.dataset.dataset_file import DATASET_FILE, identity_of, read_dataset_file, write_dataset_file
from scenegen.dataset.record import read_records, record_path
from scenegen.errors import ScenegenError
from scenegen.formats.registry import FORMATS, export
from scenegen.pipeline.executor import run_frames
from scenegen.scene.drop import cache_dir
from scenegen.scene.sampler import check_choices, sample_scene


def shard_frames(cfg: Config) -> list[int]:
    """The frames of this shard: ``i`` with ``i % shard.count == shard.index``."""
    return list(range(cfg.shard.index, cfg.num_scenes, cfg.shard.count))


def prepare(cfg: Config) -> tuple[Catalog, Path]:
    """Check everything that can be checked before writing: packs and every mesh, classes, a first scene,
    the folder. For the drop layout, compute the collision shapes missing from the cache, once, here."""
    catalog = build_catalog(list(cfg.objects.packs), list(cfg.objects.classes), MeshLimits.of(cfg.objects))
    check_choices(cfg)
    for assets in catalog.assets_by_class.values():
        for asset in assets:
            asset.load_mesh()  # a bad mesh stops the run here, not after frames were written
            if cfg.scene.layout == "drop":
                collision_shape(asset, cfg.physics.collision, cache_dir(cfg))
    unknown = [name for name in cfg.output.formats if name not in FORMATS]
    if unknown:
        raise ScenegenError(f"config: output.formats: unknown format {unknown[0]!r}; known: {list(FORMATS)}")
    if cfg.executor.kind not in ("local", "ray"):
        raise ScenegenError(f"config: executor.kind must be local or ray, got {cfg.executor.kind!r}")
    if cfg.shard.index >= cfg.shard.count:
        raise ScenegenError(f"config: shard.index {cfg.shard.index} must be below shard.count {cfg.shard.count}")
    if not cfg.render.egl_device or min(cfg.render.egl_device) < 0:
        raise ScenegenError(f"config: render.egl_device must list device indices >= 0, got {cfg.render.egl_device}")
    sample_scene(cfg, catalog, 0)  # raises ScenegenError on bad class weights, background images, ...
    out = Path(cfg.output_dir).expanduser().resolve()
    existing = out / DATASET_FILE
    if existing.is_file():
        if read_dataset_file(out).get("identity") != identity_of(to_container(cfg)):
            raise ScenegenError(
                f"output_dir {out} holds a dataset made with another config; choose a new output_dir or delete it"
            )
    elif out.exists() and any(out.iterdir()):
        raise ScenegenError(f"output_dir {out} exists and is not a scenegen dataset; choose a new output_dir")
    return catalog, out


def render_dataset(cfg: Config, progress: bool = True) -> Path:
    """Render this shard's frames of ``cfg`` into ``cfg.output_dir``, skipping finished ones, then the
    exports; return the folder."""
    catalog, out = prepare(cfg)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob(".*.tmp"):  # left by a killed run: never part of a finished frame
        stale.unlink()
    started = time.time()
    frames = shard_frames(cfg)
    write_dataset_file(out, to_container(cfg), catalog.categories(), status="rendering")
    todo = [i for i in frames if not record_path(out, i).is_file()]
    stats = run_frames(cfg, out, todo, progress, catalog)
    records = read_records(out, frames)
    for name in cfg.output.formats:
        export(out, name, records, catalog.categories(), cfg.output.val_fraction, cfg.seed)
    write_dataset_file(out, to_container(cfg), catalog.categories(), "complete", records, stats, time.time() - started)
    return out

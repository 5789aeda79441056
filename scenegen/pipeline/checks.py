"""Every value a run will use, checked once, before the output folder is touched.

Loading already refused unknown keys, wrong types, names outside each choice (enums), values outside
their bounds and non-finite numbers (``scenegen.config.load``). This module checks what needs more than
one key or the world outside the config: camera clip planes, shards, the GL backend's libraries, EGL
devices, the image folders (backgrounds, object textures), Ray, the drop layout's support, classes and their
weights, every mesh a frame can draw (each asset or shape-family variant of a class of weight above 0) and its
stable poses (and, for the drop layout, its collision shape, computed here once into the cache), a first scene,
and the output folder. Each problem is one ScenegenError line naming the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from scenegen.assets.catalog import Catalog
from scenegen.assets.collision import collision_shape
from scenegen.assets.shapes import run_catalog
from scenegen.config.load import to_container
from scenegen.config.schema import MAX_FRAMES, Config
from scenegen.dataset.dataset_file import DATASET_FILE, identity_of, read_dataset_file
from scenegen.dataset.inside import refuse_links
from scenegen.dataset.lock import LOCK_FILE
from scenegen.errors import ConfigError
from scenegen.formats.registry import check_formats
from scenegen.outputs.registry import SEQUENCE_FLAGS
from scenegen.pipeline.ray_executor import check_ray
from scenegen.render.backend import choose_backend, library_missing
from scenegen.scene.drop import cache_dir
from scenegen.scene.frames import frames_per_scene, num_frames, sample_frames
from scenegen.scene.images import check_images
from scenegen.scene.placement import drawable_assets
from scenegen.scene.sampler import class_probabilities


def check_run(cfg: Config) -> tuple[Catalog, Path]:
    """Check ``cfg`` and what it names; return the catalog of its packs and the resolved output folder."""
    check_settings(cfg)
    catalog = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
    for asset in drawable_assets(catalog, class_probabilities(catalog, cfg)):  # what a frame can draw
        asset.check(resting=cfg.scene.layout == "tabletop")  # as pack validate: a bad one stops here
        if cfg.scene.layout == "drop":  # workers then read the shape from the cache, never compute it
            collision_shape(asset, cfg.physics.collision, cache_dir(cfg))
    sample_frames(cfg, catalog, 0)
    return catalog, check_output_dir(cfg)


def check_settings(cfg: Config) -> None:
    """The checks that need no pack: clip planes, shards, backend, devices, image folders, Ray, the drop
    layout's support."""
    if cfg.camera.znear >= cfg.camera.zfar:
        raise ConfigError(f"config: camera.znear {cfg.camera.znear} must be below camera.zfar {cfg.camera.zfar}")
    check_frames(cfg)
    if cfg.shard.index >= cfg.shard.count:
        raise ConfigError(f"config: shard.index {cfg.shard.index} must be below shard.count {cfg.shard.count}")
    if not cfg.render.egl_device or min(cfg.render.egl_device) < 0:
        raise ConfigError(f"config: render.egl_device must list device indices >= 0, got {cfg.render.egl_device}")
    if cfg.scene.layout == "drop" and cfg.scene.plane_size <= 0:
        raise ConfigError("config: scene.layout=drop needs a support: scene.plane_size must be > 0")
    backend = choose_backend(str(cfg.render.backend))
    missing = library_missing(backend)
    if missing:
        raise ConfigError(
            f"config: render.backend={backend} needs {missing}, which is not installed; see scenegen doctor"
        )
    check_formats([str(name) for name in cfg.output.formats], cfg.output)
    for group in (cfg.background, cfg.materials):  # every header read, no pixel decoded
        if group.image_dir:
            key = "background.image_dir" if group is cfg.background else "materials.image_dir"
            check_images(group.image_dir, key, group.max_image_pixels)
    if cfg.executor.kind == "ray":
        check_ray(cfg.ray.address)  # Ray installed, the address's form, and that it answers


def check_frames(cfg: Config) -> None:
    """Views or sequences (not both), the frame count, and the outputs that need sequences."""
    if cfg.scene.views_per_scene > 1 and cfg.sequence.frames > 1:
        raise ConfigError(
            f"config: scene.views_per_scene={cfg.scene.views_per_scene} and sequence.frames={cfg.sequence.frames}: "
            "choose views or sequences, not both"
        )
    per_scene, views = frames_per_scene(cfg), cfg.scene.views_per_scene > 1
    if per_scene > cfg.scene.max_frames:
        key = f"scene.views_per_scene={per_scene}" if views else f"sequence.frames={per_scene}"
        raise ConfigError(f"config: {key} frames of one scene is over scene.max_frames={cfg.scene.max_frames}")
    seconds = (cfg.sequence.frames - 1) / cfg.sequence.fps
    if seconds > cfg.sequence.max_seconds:
        raise ConfigError(
            f"config: sequence.frames={cfg.sequence.frames} at sequence.fps={cfg.sequence.fps} last {seconds:g} s "
            f"of simulated time, over sequence.max_seconds={cfg.sequence.max_seconds}"
        )
    if num_frames(cfg) > MAX_FRAMES:
        raise ConfigError(f"config: num_scenes x frames per scene = {num_frames(cfg)} is over {MAX_FRAMES} frames")
    if cfg.sequence.frames == 1:
        for flag in SEQUENCE_FLAGS:
            if value := getattr(cfg.output, flag):
                raise ConfigError(f"config: output.{flag}={value} needs sequences: set sequence.frames above 1")


def check_output_dir(cfg: Config) -> Path:
    """The resolved ``output_dir``: new, empty (but for a lock file), or a dataset of this same config with
    no symbolic link to a folder or out of it, and writable."""
    out = Path(cfg.output_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"config: output_dir {out} is a file, not a folder")
    if (out / DATASET_FILE).is_file():
        if read_dataset_file(out).identity != identity_of(to_container(cfg)):
            raise ConfigError(
                f"output_dir {out} holds a dataset made with another config; choose a new output_dir or delete it"
            )
        refuse_links(out)
    elif out.exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise ConfigError(f"output_dir {out} exists and is not a scenegen dataset; choose a new output_dir")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"config: output_dir {out}: {existing} is not a writable folder")
    return out

"""Render a dataset: sample, render, label and write each frame, then build COCO.

Frames are independent and written atomically; a frame whose record exists is
done, so rerunning the same command resumes where a crash left off.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from scenegen import __version__, atomic
from scenegen.annotate import amodal_groups, annotate, project_objects
from scenegen.assets import Catalog, MeshLimits, build_catalog
from scenegen.config import Config, to_container
from scenegen.errors import ScenegenError
from scenegen.labels import depth_millimetres, semantic_image
from scenegen.normals import encode_normals, normals_from_depth
from scenegen.postfx import apply_postfx
from scenegen.render import backend
from scenegen.sampler import check_choices, sample_scene
from scenegen.spec import SceneSpec
from scenegen.writers.exports import DATASET_FILE, FORMATS, export
from scenegen.writers.frame_record import read_records, record_path, write_npy, write_png, write_record

if TYPE_CHECKING:
    from scenegen.render.renderer import SceneRenderer


def prepare(cfg: Config) -> tuple[Catalog, Path]:
    """Check everything that can be checked before writing: packs, classes, a first scene, the folder."""
    catalog = build_catalog(list(cfg.objects.packs), list(cfg.objects.classes), MeshLimits.of(cfg.objects))
    check_choices(cfg)
    unknown = [name for name in cfg.output.formats if name not in FORMATS]
    if unknown:
        raise ScenegenError(f"config: output.formats: unknown format {unknown[0]!r}; known: {list(FORMATS)}")
    sample_scene(cfg, catalog, 0)  # raises ScenegenError on bad class weights, background images, ...
    out = Path(cfg.output_dir).expanduser().resolve()
    existing = out / DATASET_FILE
    if existing.is_file():
        if json.loads(existing.read_text()).get("config") != to_container(cfg):
            raise ScenegenError(
                f"output_dir {out} holds a dataset made with another config; choose a new output_dir or delete it"
            )
    elif out.exists() and any(out.iterdir()):
        raise ScenegenError(f"output_dir {out} exists and is not a scenegen dataset; choose a new output_dir")
    return catalog, out


def render_dataset(cfg: Config, progress: bool = True) -> Path:
    """Render ``cfg.num_scenes`` frames into ``cfg.output_dir``, then the exports; return the folder."""
    catalog, out = prepare(cfg)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    _write_dataset_file(out, cfg, catalog, status="rendering")
    todo = [i for i in range(cfg.num_scenes) if not record_path(out, i).is_file()]

    backend.activate(backend.choose_backend(cfg.render.backend), cfg.render.egl_device)
    from scenegen.render.renderer import SceneRenderer  # imports OpenGL: only after activate()

    renderer = SceneRenderer(
        catalog, cfg.render.width, cfg.render.height, cfg.render.antialias, cfg.materials.texture_repeat
    )
    try:
        bar = tqdm(todo, desc="rendering", unit="frame", disable=not progress, file=sys.stderr)
        for index in bar:
            render_frame(out, sample_scene(cfg, catalog, index), renderer, catalog, cfg)
    finally:
        renderer.close()
    records = read_records(out)
    for name in cfg.output.formats:
        export(out, name, records, catalog.categories(), cfg.output.val_fraction, cfg.seed)
    _write_dataset_file(out, cfg, catalog, status="complete", records=records, seconds=time.time() - started)
    return out


def render_frame(out: Path, spec: SceneSpec, renderer: SceneRenderer, catalog: Catalog, cfg: Config) -> None:
    """Render and label one frame, apply the sensor effects to its image, write its files and, last, its record.

    The sensor effects draw from their own Generator, ``[seed, index, 1]``, so switching them on or
    off changes nothing else."""
    index, output = spec.index, cfg.output
    projections = project_objects(spec, catalog) if output.amodal else None
    groups = amodal_groups(spec, projections) if projections is not None else []
    rendered = renderer.render(spec, groups)
    amodal = None
    if projections is not None:
        amodal = {k: image == k for group, image in zip(groups, rendered.alone, strict=True) for k in group}
    annotations = annotate(spec, rendered.ids, rendered.depth, catalog, output.min_visible_pixels, amodal, projections)
    record: dict[str, Any] = {
        "index": index,
        "seed": spec.seed,
        "width": spec.camera.width,
        "height": spec.camera.height,
    }
    image, effects = apply_postfx(rendered.color, cfg.postfx, np.random.default_rng([spec.seed, index, 1]))
    record["image"] = write_png(out, "images", index, image)
    if output.instance_masks:
        record["instance_mask"] = write_png(out, "masks", index, rendered.ids)
    if output.semantic_masks:
        categories = np.array([0] + [a["category_id"] for a in annotations])
        record["semantic_mask"] = write_png(out, "semantic", index, semantic_image(rendered.ids, categories))
    if output.depth_png:
        record["depth_png"] = write_png(out, "depth", index, depth_millimetres(rendered.depth))
    if output.depth_npy:
        record["depth_npy"] = write_npy(out, "depth", index, rendered.depth)
    if output.normals:
        normals = normals_from_depth(rendered.depth, np.asarray(spec.camera.K), rendered.ids)
        record["normals"] = write_png(out, "normals", index, encode_normals(normals))
    record["counts"] = {
        "objects": len(spec.objects),
        "annotated": sum("bbox" in a for a in annotations),
        "below_min_visible_pixels": sum("bbox" not in a for a in annotations),
        "distractors": len(spec.distractors),
        "unplaced": spec.unplaced,
    }
    record["postfx"] = effects
    record["annotations"] = annotations
    record["spec"] = spec.to_dict()
    write_record(out, index, record)


def _write_dataset_file(
    out: Path, cfg: Config, catalog: Catalog, status: str, records: list | None = None, seconds: float = 0.0
) -> None:
    data: dict[str, Any] = {
        "status": status,
        "config": to_container(cfg),
        "categories": catalog.categories(),
        "versions": {"scenegen": __version__, **{p: version(p) for p in ("pyrender2", "PyOpenGL", "numpy", "trimesh")}},
    }
    if records is not None:
        data["counts"] = {
            "frames": len(records),
            "objects": sum(r["counts"]["objects"] for r in records),
            "annotations": sum(r["counts"]["annotated"] for r in records),
            "below_min_visible_pixels": sum(r["counts"]["below_min_visible_pixels"] for r in records),
            "distractors": sum(r["counts"]["distractors"] for r in records),
            "unplaced": sum(r["counts"]["unplaced"] for r in records),
        }
        data["timings"] = {"seconds_this_run": round(seconds, 3)}
    atomic.write_json(out / DATASET_FILE, data)

"""One process's share of a render: sample, render, label and write frames, with one GL context.

A writer thread applies the sensor effects to frame ``i``, encodes and writes it, while the GL context
renders frame ``i + 1`` (opencv and large numpy operations release the GIL). At most one frame waits
for the writer, so memory stays flat. The sensor effects draw from their own Generator,
``[seed, index, 1]``, so switching them on or off changes nothing else.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from scenegen.assets.catalog import Catalog, MeshLimits, build_catalog
from scenegen.config.schema import Config
from scenegen.dataset.record import (
    FORMAT,
    FrameRecord,
    ObjectLabel,
    encode_npy,
    encode_png,
    file_relative,
    write_frame_file,
    write_record,
)
from scenegen.labels.annotate import amodal_crops, amodal_groups, annotate, project_objects
from scenegen.labels.masks import depth_millimetres, semantic_image
from scenegen.labels.normals import encode_normals, normals_from_depth
from scenegen.render import backend
from scenegen.render.postfx import apply_postfx
from scenegen.scene.sampler import sample_scene
from scenegen.scene.spec import SceneSpec


class FrameWorker:
    """Renders frames of the dataset ``cfg`` into ``out`` on EGL device ``device``; create it in the
    process that uses it, and ``finish`` it there. ``catalog``: one already built in this process (its
    meshes and stable poses are reused), else the worker builds its own."""

    def __init__(self, cfg: Config, out: Path, device: int, catalog: Catalog | None = None) -> None:
        self.cfg, self.out = cfg, out
        limits = MeshLimits.of(cfg.objects)
        self.catalog = catalog or build_catalog(list(cfg.objects.packs), list(cfg.objects.classes), limits)
        backend.activate(backend.choose_backend(cfg.render.backend), device)
        from scenegen.render.renderer import SceneRenderer  # imports OpenGL: only after activate()

        render = cfg.render
        self.renderer = SceneRenderer(
            self.catalog,
            render.width,
            render.height,
            render.antialias,
            cfg.materials.texture_repeat,
            render.shadow_map_size,
        )
        self.writer = ThreadPoolExecutor(max_workers=1)
        self.pending: Future[None] | None = None
        self.seconds: dict[str, float] = defaultdict(float)  # stage -> total wall time
        self.frames = 0

    def render(self, index: int) -> None:
        """Render and label frame ``index``, and hand its files to the writer thread."""
        start = time.perf_counter()
        cfg, catalog = self.cfg, self.catalog
        spec = sample_scene(cfg, catalog, index)
        projections = project_objects(spec, catalog) if cfg.output.amodal else None
        groups = amodal_groups(spec, projections) if projections is not None else []
        self.seconds["sample"] += time.perf_counter() - start
        rendered = self.renderer.render(spec, groups)
        for stage, seconds in rendered.seconds.items():
            self.seconds[stage] += seconds
        start = time.perf_counter()
        amodal = amodal_crops(groups, rendered.alone) if projections is not None else None
        annotations = annotate(
            spec, rendered.ids, rendered.depth, catalog, cfg.output.min_visible_pixels, amodal, projections
        )
        self.seconds["labels"] += time.perf_counter() - start
        self._wait()
        self.pending = self.writer.submit(self._write, spec, rendered.color, rendered.ids, rendered.depth, annotations)
        self.frames += 1

    def finish(self) -> dict[str, Any]:
        """Wait for the last write, release the GL context; return ``{"frames", "seconds": {stage: total}}``."""
        try:
            self._wait()
        finally:
            self.writer.shutdown()
            self.renderer.close()
        return {"frames": self.frames, "seconds": dict(self.seconds)}

    def _wait(self) -> None:
        if self.pending is not None:
            self.pending.result()  # re-raises a failed write here
            self.pending = None

    def _write(
        self, spec: SceneSpec, color: np.ndarray, ids: np.ndarray, depth: np.ndarray, annotations: list[ObjectLabel]
    ) -> None:
        """Apply the sensor effects, encode and write the frame's files, then its record: a frame whose
        record exists is whole."""
        start = time.perf_counter()
        rng = np.random.default_rng([spec.seed, spec.index, 1])
        image, effects = apply_postfx(color, self.cfg.postfx, rng)
        self.seconds["postfx"] += time.perf_counter() - start
        start = time.perf_counter()
        output, index = self.cfg.output, spec.index
        files = {"image": encode_png(image)}
        if output.instance_masks:
            files["instance_mask"] = encode_png(ids)
        if output.semantic_masks:
            categories = np.array([0] + [a["category_id"] for a in annotations])
            files["semantic_mask"] = encode_png(semantic_image(ids, categories))
        if output.depth_png:
            files["depth_png"] = encode_png(depth_millimetres(depth))
        if output.depth_npy:
            files["depth_npy"] = encode_npy(depth)
        if output.normals:
            normals = normals_from_depth(depth, np.asarray(spec.camera.K), ids)
            files["normals"] = encode_png(encode_normals(normals))
        self.seconds["encode"] += time.perf_counter() - start
        start = time.perf_counter()
        written = {kind: write_frame_file(self.out, file_relative(kind, index), data) for kind, data in files.items()}
        record: FrameRecord = {
            "format": FORMAT,
            "index": index,
            "seed": spec.seed,
            "width": spec.camera.width,
            "height": spec.camera.height,
            "files": written,
            "counts": {
                "objects": len(spec.objects),
                "annotated": sum("bbox" in a for a in annotations),
                "below_min_visible_pixels": sum("bbox" not in a for a in annotations),
                "distractors": len(spec.distractors),
                "unplaced": spec.unplaced,
                "redropped": spec.redropped,
            },
            "postfx": effects,
            "annotations": annotations,
            "spec": spec.to_dict(),
        }
        write_record(self.out, record)
        self.seconds["write"] += time.perf_counter() - start

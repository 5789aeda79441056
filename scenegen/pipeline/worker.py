"""One process's share of a render: sample, render, label and write scenes, with one GL context.

The unit of work is the scene: its frames (one, its views, or its sequence: ``scene.frames``) are drawn
together and rendered one after the other by the same worker, which keeps the scene's meshes and materials
on the GPU. A writer thread takes each frame as it is rendered: it applies the sensor effects, computes the
flow between it and the frame before, follows the scene's point tracks one frame further, encodes and
writes its files, while the GL context renders the next frame (opencv and large numpy operations release
the GIL). At most one frame waits for the writer, and with flow one more waits for its successor, so memory
stays flat however many frames a scene has; with tracks, the records (small) are held back until the
scene's tracks file, which each lists, is written. The sensor effects draw from their own Generator,
``[seed, frame index, 1]``, so switching them on or off changes nothing else.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from scenegen.assets.catalog import Catalog
from scenegen.assets.shapes import run_catalog
from scenegen.config.schema import BackgroundConfig, Config, MaterialsConfig
from scenegen.dataset.record import (
    FORMAT,
    FrameRecord,
    ObjectLabel,
    encode_file,
    file_relative,
    is_annotated,
    write_frame_file,
    write_record,
)
from scenegen.labels.annotate import amodal_crops, amodal_groups, annotate, group_regions, project_objects
from scenegen.labels.flow import optical_flow
from scenegen.labels.flow_png import encode_kitti
from scenegen.labels.tracks import TrackFollower, sample_queries
from scenegen.labels.visibility import depth_slopes
from scenegen.outputs.output import FrameData
from scenegen.outputs.registry import DECLARED, frame_kinds
from scenegen.render import backend
from scenegen.render.postfx import apply_postfx
from scenegen.scene.frames import TRACK_STREAM, place_of, sample_frames
from scenegen.scene.images import check_image
from scenegen.scene.spec import DistractorSpec, ObjectSpec, SceneSpec


@dataclass
class Frame:
    """One rendered, labelled frame: ``color`` (h, w, 3) uint8, ``ids`` (h, w) uint16, ``depth`` (h, w)
    float32 metres, and one annotation per object."""

    spec: SceneSpec
    color: np.ndarray
    ids: np.ndarray
    depth: np.ndarray
    annotations: list[ObjectLabel]
    _slopes: np.ndarray | None = None

    def slopes(self) -> np.ndarray:
        """``visibility.depth_slopes`` of the depth, computed once (in the writer thread)."""
        if self._slopes is None:
            self._slopes = depth_slopes(self.depth)
        return self._slopes


@dataclass
class SceneWrites:
    """What the writer thread keeps of scene ``scene`` while its frames arrive: the last frame, waiting for
    its forward flow, with its backward flow files; the point tracks so far; the records held back until the
    tracks file is written."""

    scene: int
    previous: Frame | None = None
    backward: dict[str, bytes] = field(default_factory=dict)
    tracks: TrackFollower | None = None
    records: list[FrameRecord] = field(default_factory=list)


class FrameWorker:
    """Renders scenes of the dataset ``cfg`` into ``out`` on EGL device ``device``; create it in the
    process that uses it, and ``finish`` it there. ``catalog``: one already built in this process (its
    meshes and stable poses are reused), else the worker builds its own."""

    def __init__(self, cfg: Config, out: Path, device: int, catalog: Catalog | None = None) -> None:
        self.cfg, self.out = cfg, out
        self.catalog = catalog or run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
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

    def render(self, scene: int) -> None:
        """Render and label the frames of scene ``scene`` one at a time, handing each to the writer thread."""
        start = time.perf_counter()
        specs = sample_frames(self.cfg, self.catalog, scene)
        self.seconds["sample"] += time.perf_counter() - start
        writes = SceneWrites(scene)
        for spec in specs:
            frame = self._render_frame(spec)
            self._wait()
            self.pending = self.writer.submit(self._take, writes, frame)
            self.frames += 1
        self._wait()
        self.pending = self.writer.submit(self._finish_scene, writes)

    def _render_frame(self, spec: SceneSpec) -> Frame:
        start = time.perf_counter()
        cfg, catalog = self.cfg, self.catalog
        projections = project_objects(spec, catalog) if cfg.output.amodal else None
        groups = amodal_groups(spec, projections) if projections is not None else []
        regions = group_regions(spec, groups, projections) if projections is not None else []
        for path, key, limit in image_files(spec, cfg):  # checked before the run; again before they are decoded
            check_image(path, key, limit)
        self.seconds["sample"] += time.perf_counter() - start
        rendered = self.renderer.render(spec, groups, regions)
        for stage, seconds in rendered.seconds.items():
            self.seconds[stage] += seconds
        start = time.perf_counter()
        amodal = amodal_crops(groups, rendered.alone) if projections is not None else None
        annotations = annotate(
            spec, rendered.ids, rendered.depth, catalog, cfg.output.min_visible_pixels, amodal, projections
        )
        self.seconds["labels"] += time.perf_counter() - start
        labels = cast(list[ObjectLabel], annotations)  # annotate's dicts hold the keys of ObjectLabel
        return Frame(spec, rendered.color, rendered.ids, rendered.depth, labels)

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

    def _take(self, writes: SceneWrites, frame: Frame) -> None:
        """In the writer thread: follow the tracks into ``frame``; write the frame before it with its flow
        (or, without flow, this one)."""
        if self.cfg.sequence.frames > 1 and self.cfg.output.tracks:
            start = time.perf_counter()
            if writes.tracks is None:
                rng = np.random.default_rng([self.cfg.seed, writes.scene, TRACK_STREAM])
                queries = sample_queries(rng, frame.ids, self.cfg.output.tracks)
                writes.tracks = TrackFollower(frame.spec, frame.depth, frame.ids, queries)
            writes.tracks.add(frame.spec, frame.depth, frame.slopes())
            self.seconds["tracks"] += time.perf_counter() - start
        if not self.cfg.output.flow:
            self._emit(writes, frame, {})
            return
        if writes.previous is not None:
            forward, backward = self._flow_pair(writes.previous, frame)
            self._emit(writes, writes.previous, {**writes.backward, **forward})
            writes.backward = backward
        writes.previous = frame

    def _finish_scene(self, writes: SceneWrites) -> None:
        """In the writer thread: write the scene's last frame, then its tracks file and the records held back
        for it: the scene is done once all its records exist."""
        if writes.previous is not None:
            self._emit(writes, writes.previous, writes.backward)
        if writes.tracks is not None:
            start = time.perf_counter()
            data = encode_file("tracks", writes.tracks.tracks().arrays())
            self.seconds["tracks"] += time.perf_counter() - start
            entry = write_frame_file(self.out, file_relative("tracks", writes.scene), data)
            for record in writes.records:
                record["files"]["tracks"] = entry
                write_record(self.out, record)

    def _emit(self, writes: SceneWrites, frame: Frame, extra: dict[str, bytes]) -> None:
        """Write ``frame``'s files and its record, or hold the record back for the scene's tracks."""
        record = self._write(frame, extra)
        if writes.tracks is not None:
            writes.records.append(record)
        else:
            write_record(self.out, record)

    def _flow_pair(self, a: Frame, b: Frame) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """The encoded flow files of frame ``a`` (forward, to ``b``) and of ``b`` (backward, to ``a``)."""
        start = time.perf_counter()
        files: list[dict[str, bytes]] = []
        for source, target, direction in ((a, b, "fw"), (b, a, "bw")):
            flow, occluded = optical_flow(
                source.spec, target.spec, source.depth, source.ids, target.depth, target.ids, target.slopes()
            )
            files.append(
                {
                    f"flow_{direction}": encode_file(f"flow_{direction}", flow),
                    f"flow_{direction}_png": encode_file(f"flow_{direction}_png", encode_kitti(flow, ~occluded)),
                }
            )
        self.seconds["flow"] += time.perf_counter() - start
        return files[0], files[1]

    def _write(self, frame: Frame, extra: dict[str, bytes]) -> FrameRecord:
        """Apply the sensor effects, encode and write the frame's files (each declared output it has that is
        made from one frame); return its record, for the caller to write once the files are (a frame whose
        record exists is whole). ``extra``: more encoded files (flow)."""
        spec, color, ids, depth, annotations = frame.spec, frame.color, frame.ids, frame.depth, frame.annotations
        start = time.perf_counter()
        rng = np.random.default_rng([spec.seed, spec.index, 1])
        image, effects = apply_postfx(color, self.cfg.postfx, rng)
        self.seconds["postfx"] += time.perf_counter() - start
        start = time.perf_counter()
        index, place = spec.index, place_of(self.cfg, spec.index)
        data, kinds = FrameData(spec, image, ids, depth, annotations), frame_kinds(self.cfg, place)
        files = {
            kind: encode_file(kind, output.make(data))
            for kind, output in DECLARED.items()
            if output.make is not None and kind in kinds
        }
        self.seconds["encode"] += time.perf_counter() - start
        start = time.perf_counter()
        files.update(extra)
        written = {kind: write_frame_file(self.out, file_relative(kind, index), f) for kind, f in files.items()}
        record: FrameRecord = {
            "format": FORMAT,
            "index": index,
            "scene_index": place.scene,
            "view": place.view,
            "frame_in_sequence": place.frame_in_sequence,
            "time": place.frame_in_sequence / self.cfg.sequence.fps,
            "seed": spec.seed,
            "width": spec.camera.width,
            "height": spec.camera.height,
            "files": written,
            "counts": {
                "objects": len(spec.objects),
                "annotated": sum(map(is_annotated, annotations)),
                "below_min_visible_pixels": sum(not is_annotated(a) for a in annotations),
                "distractors": len(spec.distractors),
                "unplaced": spec.unplaced,
                "redropped": spec.redropped,
            },
            "postfx": effects,
            "annotations": annotations,
            "spec": spec.to_dict(),
        }
        self.seconds["write"] += time.perf_counter() - start
        return record


def image_files(spec: SceneSpec, cfg: Config) -> list[tuple[str, str, int]]:
    """(path, config key, pixel limit) of every image file the frame ``spec`` decodes: its backdrop's crop and
    its objects' and distractors' photo textures and print patches."""
    files: list[tuple[str, str, BackgroundConfig | MaterialsConfig]] = []
    if spec.backdrop.image is not None:
        files.append((spec.backdrop.image, "background.image_dir", cfg.background))
    items: list[ObjectSpec | DistractorSpec] = [*spec.objects, *spec.distractors]
    for item in items:
        texture = item.material.texture if item.material is not None else None
        if texture is not None and texture.image is not None:
            files.append((texture.image, "materials.image_dir", cfg.materials))
    return [(path, key, group.max_image_pixels) for path, key, group in files]

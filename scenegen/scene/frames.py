"""The frames of a scene: the scene itself, several views of it, or a sequence; their numbers and streams.

The unit of work is the scene. With ``n`` frames per scene (``scene.views_per_scene`` or
``sequence.frames``, at most one of them above 1), scene ``s`` holds frames ``s * n`` to ``s * n + n - 1``,
each its own ``SceneSpec`` whose ``index`` is the frame's. Random streams, all explicit:

- the scene (objects, materials, lights, distractors, backdrop, first camera): ``[seed, s]``, as a
  dataset of single frames draws frame ``s``, so view 0 and frame 0 of a sequence are that frame's scene;
- the camera of view ``k >= 1``: ``[seed, s, VIEW_STREAM, k]`` (around the scene's centre);
- a sequence's camera trajectory and object motion: ``[seed, s, MOTION_STREAM]``;
- a sequence's point-track queries: ``[seed, s, TRACK_STREAM]`` (``pipeline.worker``);
- per frame, the sensor effects: ``[seed, frame index, 1]`` (``pipeline.worker``).

Views and sequences put the backdrop at infinity (``BackdropSpec.at_infinity``), fixed to the world.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenegen.assets.catalog import Catalog
from scenegen.config.schema import Config
from scenegen.scene.camera import sample_camera
from scenegen.scene.drop import thrown_poses
from scenegen.scene.motion import object_sphere, sample_object_motions
from scenegen.scene.placement import beyond_near_plane
from scenegen.scene.sampler import draw_scene
from scenegen.scene.spec import CameraSpec, SceneSpec
from scenegen.scene.trajectory import sample_camera_path

VIEW_STREAM = 2
MOTION_STREAM = 3
TRACK_STREAM = 4


@dataclass(frozen=True)
class FramePlace:
    """Where a frame sits: its ``scene``, its ``view`` (0 unless views) and ``frame_in_sequence`` (0 unless
    sequences)."""

    scene: int
    view: int
    frame_in_sequence: int


def frames_per_scene(cfg: Config) -> int:
    return cfg.scene.views_per_scene * cfg.sequence.frames


def num_frames(cfg: Config) -> int:
    return cfg.num_scenes * frames_per_scene(cfg)


def scene_frames(cfg: Config, scene: int) -> range:
    """The frame indices of scene ``scene``."""
    n = frames_per_scene(cfg)
    return range(scene * n, scene * n + n)


def shard_scenes(cfg: Config) -> range:
    """The scenes of this shard: ``s`` with ``s % shard.count == shard.index``."""
    return range(cfg.shard.index, cfg.num_scenes, cfg.shard.count)


def shard_frames(cfg: Config) -> list[int]:
    """The frame indices of this shard's scenes, in order."""
    return [i for s in shard_scenes(cfg) for i in scene_frames(cfg, s)]


def in_shard(cfg: Config, index: int) -> bool:
    """Whether frame ``index`` is one of this shard's."""
    return 0 <= index < num_frames(cfg) and place_of(cfg, index).scene in shard_scenes(cfg)


def place_of(cfg: Config, index: int) -> FramePlace:
    scene, k = divmod(index, frames_per_scene(cfg))
    return FramePlace(scene, k if cfg.scene.views_per_scene > 1 else 0, k if cfg.sequence.frames > 1 else 0)


_last: dict[tuple[str, int], tuple[Catalog, list[SceneSpec]]] = {}  # the last scene sampled in this process


def sample_frames(cfg: Config, catalog: Catalog, scene: int) -> list[SceneSpec]:
    """The SceneSpecs of scene ``scene``'s frames, in frame order. The last scene's are kept: a run's checks
    sample its first scene (physics included), then its worker in the same process renders it."""
    key = (repr(cfg), scene)
    if key in _last and _last[key][0] is catalog:
        return list(_last[key][1])
    specs = _sample_frames(cfg, catalog, scene)
    _last.clear()
    _last[key] = (catalog, specs)
    return list(specs)


def _sample_frames(cfg: Config, catalog: Catalog, scene: int) -> list[SceneSpec]:
    spec, centre = draw_scene(cfg, catalog, scene)
    first = scene_frames(cfg, scene).start
    if frames_per_scene(cfg) == 1:
        return [spec]
    spec = dataclasses.replace(spec, backdrop=dataclasses.replace(spec.backdrop, at_infinity=True))
    if cfg.scene.views_per_scene > 1:
        spheres = [object_sphere(obj, catalog) for obj in spec.objects]
        return [dataclasses.replace(spec, index=first)] + [
            dataclasses.replace(spec, index=first + k, camera=_view_camera(cfg, scene, k, centre, spheres))
            for k in range(1, cfg.scene.views_per_scene)
        ]
    return _sequence(cfg, catalog, scene, spec, centre, first)


def _view_camera(cfg: Config, scene: int, view: int, centre: np.ndarray, spheres: list) -> CameraSpec:
    """A camera around the scene's centre, drawn until every object lies beyond its near plane (the last
    draw when ``scene.max_placement_tries`` run out: a view keeps all of its scene's objects)."""
    rng = np.random.default_rng([cfg.seed, scene, VIEW_STREAM, view])
    target = centre + rng.normal(0.0, cfg.camera.look_at_jitter, 3)
    for _ in range(cfg.scene.max_placement_tries):
        camera = sample_camera(rng, cfg.camera, cfg.render.width, cfg.render.height, target)
        if all(beyond_near_plane(sphere, camera) for sphere in spheres):
            break
    return camera


def _sequence(
    cfg: Config, catalog: Catalog, scene: int, spec: SceneSpec, centre: np.ndarray, first: int
) -> list[SceneSpec]:
    """The frames of a sequence: the camera follows its trajectory; flying objects move by script, dropped
    ones are thrown (PyBullet), resting ones stay."""
    rng = np.random.default_rng([cfg.seed, scene, MOTION_STREAM])
    frames, fps = cfg.sequence.frames, cfg.sequence.fps
    path = sample_camera_path(rng, cfg.sequence, centre)
    times = [k / fps for k in range(frames)]
    poses: Any = None  # (frames, n, 4, 4) object poses, when they move
    if cfg.scene.layout == "flying":
        duration = times[-1]
        motions = sample_object_motions(rng, cfg.sequence, spec, catalog, duration, cfg.scene.max_placement_tries)
        poses = [[m.pose(np.asarray(o.pose), t) for o, m in zip(spec.objects, motions, strict=True)] for t in times]
    elif cfg.scene.layout == "drop" and spec.objects:
        poses = thrown_poses(rng, cfg, catalog, spec.objects, times)
    camera_pose = np.asarray(spec.camera.pose)
    out = []
    for k, t in enumerate(times):
        camera = dataclasses.replace(spec.camera, pose=path.pose(camera_pose, t).tolist())
        objects = spec.objects
        if poses is not None:
            objects = [
                dataclasses.replace(obj, pose=np.asarray(pose).tolist())
                for obj, pose in zip(spec.objects, poses[k], strict=True)
            ]
        out.append(dataclasses.replace(spec, index=first + k, camera=camera, objects=objects))
    return out

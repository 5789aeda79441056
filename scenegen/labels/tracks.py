"""Point tracks of a sequence, from geometry, in the TAP-Vid layout. numpy only.

Query points are pixel centres drawn uniformly among the object pixels of the first frame. Each is
back-projected with its depth onto the object's surface and held in the object's model frame (mesh
coordinates times ``scale``); in frame ``t`` it is moved with the object's pose and projected with that
frame's camera. It is *occluded* in a frame when it leaves the image, goes behind the camera, or a
surface is in front of it there (``visibility.depth_test``'s ``hidden``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.labels.flow import backproject, object_pose, project_points
from scenegen.labels.geometry import rigid_inverse, world_to_camera_cv
from scenegen.labels.visibility import depth_test
from scenegen.scene.spec import SceneSpec


@dataclass
class Tracks:
    """``target_points`` (K, T, 2) float32 pixel x, y (K's convention, pixel centres at integers);
    ``occluded`` (K, T) bool; ``query_points`` (K, 3) float32 ``[t, y, x]`` (TAP-Vid's order), all in frame 0;
    ``instance_ids`` (K,) int32, the object of each track; ``object_points`` (K, 3) float64, each point in
    its object's model frame, metres."""

    target_points: np.ndarray
    occluded: np.ndarray
    query_points: np.ndarray
    instance_ids: np.ndarray
    object_points: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(vars(self))


def sample_queries(rng: np.random.Generator, ids: np.ndarray, count: int) -> np.ndarray:
    """(K, 2) int pixel x, y: ``count`` object pixels (id > 0) of ``ids`` drawn without replacement, or all
    of them when there are fewer."""
    rows, cols = np.nonzero(ids)
    chosen = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    return np.stack([cols[chosen], rows[chosen]], axis=-1)


def track_points(
    specs: list[SceneSpec], depths: list[np.ndarray], slopes: list[np.ndarray], ids0: np.ndarray, queries: np.ndarray
) -> Tracks:
    """Follow the surface points under ``queries`` (K, 2) pixels of frame 0 through the frames ``specs``,
    with each frame's (h, w) depth and its ``visibility.depth_slopes``; ``ids0`` is frame 0's id image."""
    x, y = queries[:, 0], queries[:, 1]
    instance_ids = ids0[y, x].astype(np.int32)
    in_camera = backproject(depths[0], np.asarray(specs[0].camera.K))[y, x]  # (K, 3)
    world = in_camera @ _camera_to_world(specs[0])[:3, :3].T + _camera_to_world(specs[0])[:3, 3]
    model = np.empty_like(world)
    for k in np.unique(instance_ids):
        inverse = rigid_inverse(object_pose(specs[0], int(k)))
        chosen = instance_ids == k
        model[chosen] = world[chosen] @ inverse[:3, :3].T + inverse[:3, 3]
    count, frames = len(queries), len(specs)
    target = np.zeros((count, frames, 2))
    occluded = np.zeros((count, frames), bool)
    for t, (spec, depth, slope) in enumerate(zip(specs, depths, slopes, strict=True)):
        to_camera = world_to_camera_cv(np.asarray(spec.camera.pose))
        points = np.empty_like(model)
        for k in np.unique(instance_ids):
            chosen = instance_ids == k
            transform = to_camera @ object_pose(spec, int(k))
            points[chosen] = model[chosen] @ transform[:3, :3].T + transform[:3, 3]
        uv = project_points(points, np.asarray(spec.camera.K))
        target[:, t] = np.where(points[:, 2:3] > 0, uv, 0.0)
        occluded[:, t] = depth_test(depth, slope, uv, points[:, 2]).hidden
    query = np.stack([np.zeros(count), y, x], axis=-1).astype(np.float32)
    return Tracks(target.astype(np.float32), occluded, query, instance_ids, model)


def _camera_to_world(spec: SceneSpec) -> np.ndarray:
    return rigid_inverse(world_to_camera_cv(np.asarray(spec.camera.pose)))

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

from scenegen.geometry import rigid_inverse, world_to_camera_cv
from scenegen.labels.flow import backproject, object_pose, project_points
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
    follower = TrackFollower(specs[0], depths[0], ids0, queries)
    for spec, depth, slope in zip(specs, depths, slopes, strict=True):
        follower.add(spec, depth, slope)
    return follower.tracks()


class TrackFollower:
    """``track_points`` frame by frame, so a sequence's frames need not be in memory together: built from
    frame 0 (its spec, (h, w) depth and id image, and the (K, 2) query pixels), then ``add`` each frame in
    order, frame 0 included, and ``tracks`` at the end."""

    def __init__(self, spec0: SceneSpec, depth0: np.ndarray, ids0: np.ndarray, queries: np.ndarray) -> None:
        x, y = queries[:, 0], queries[:, 1]
        self.instance_ids = ids0[y, x].astype(np.int32)
        in_camera = backproject(depth0, np.asarray(spec0.camera.K))[y, x]  # (K, 3)
        world = in_camera @ _camera_to_world(spec0)[:3, :3].T + _camera_to_world(spec0)[:3, 3]
        self.model = np.empty_like(world)
        for k in np.unique(self.instance_ids):
            inverse = rigid_inverse(object_pose(spec0, int(k)))
            chosen = self.instance_ids == k
            self.model[chosen] = world[chosen] @ inverse[:3, :3].T + inverse[:3, 3]
        self.query = np.stack([np.zeros(len(queries)), y, x], axis=-1).astype(np.float32)
        self.target: list[np.ndarray] = []  # (K, 2) per frame
        self.occluded: list[np.ndarray] = []  # (K,) per frame

    def add(self, spec: SceneSpec, depth: np.ndarray, slope: np.ndarray) -> None:
        """The next frame: its spec, (h, w) depth and ``visibility.depth_slopes``."""
        to_camera = world_to_camera_cv(np.asarray(spec.camera.pose))
        points = np.empty_like(self.model)
        for k in np.unique(self.instance_ids):
            chosen = self.instance_ids == k
            transform = to_camera @ object_pose(spec, int(k))
            points[chosen] = self.model[chosen] @ transform[:3, :3].T + transform[:3, 3]
        uv = project_points(points, np.asarray(spec.camera.K))
        self.target.append(np.where(points[:, 2:3] > 0, uv, 0.0))
        self.occluded.append(depth_test(depth, slope, uv, points[:, 2]).hidden)

    def tracks(self) -> Tracks:
        """The tracks through the frames added so far."""
        count = len(self.query)
        target = np.stack(self.target, axis=1) if self.target else np.zeros((count, 0, 2))
        occluded = np.stack(self.occluded, axis=1) if self.occluded else np.zeros((count, 0), bool)
        return Tracks(target.astype(np.float32), occluded, self.query, self.instance_ids, self.model)


def _camera_to_world(spec: SceneSpec) -> np.ndarray:
    return rigid_inverse(world_to_camera_cv(np.asarray(spec.camera.pose)))

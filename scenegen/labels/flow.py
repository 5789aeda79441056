"""Exact optical flow between two frames of a sequence, from geometry: numpy only, no pixels compared.

Each pixel of frame ``a`` is back-projected with its depth into the OpenCV camera, moved with the rigid
motion of what it shows (the object of its id from its pose in ``a`` to its pose in ``b``; id 0, the
support plane, distractors and walls, stays fixed in the world), and projected into frame ``b`` with
``b``'s pose and intrinsics. The flow is the projection minus the pixel, in pixels, x then y.

Backdrop pixels (depth 0) are at infinity when ``backdrop.at_infinity`` (a direction turned by the camera's
rotation only), else fixed to the screen (flow 0). A pixel is *not occluded* when frame ``b`` shows its
point in the pixel it lands in: inside the image, in front of the camera, the same instance id there,
and the depth there equal to the point's (``visibility.depth_test``); a backdrop pixel when ``b`` shows
the backdrop there. Occluded pixels keep their flow, except points that go behind the camera (flow 0).
"""

from __future__ import annotations

import numpy as np

from scenegen.geometry import rigid_inverse, world_to_camera_cv
from scenegen.labels.visibility import depth_test, landing
from scenegen.scene.spec import SceneSpec


def pixel_grid(width: int, height: int) -> np.ndarray:
    """(h, w, 2) float64 pixel centres, x then y."""
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    return np.stack([u, v], axis=-1)


def backproject(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(h, w, 3) float64 OpenCV camera points of every pixel of an (h, w) depth image (metres along z)."""
    h, w = depth.shape
    uv = pixel_grid(w, h)
    rays = np.dstack([(uv[..., 0] - K[0, 2]) / K[0, 0], (uv[..., 1] - K[1, 2]) / K[1, 1], np.ones((h, w))])
    return rays * np.asarray(depth, dtype=np.float64)[..., None]


def project_points(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 2) pixel coordinates of (..., 3) OpenCV camera points (meaningless where z <= 0)."""
    uvw = points @ np.asarray(K, dtype=points.dtype).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return uvw[..., :2] / uvw[..., 2:3]


def camera_to_camera(a: SceneSpec, b: SceneSpec, instance_id: int) -> np.ndarray:
    """(4, 4): a point of camera ``a`` (OpenCV) on object ``instance_id`` (0: fixed in the world) to camera ``b``."""
    moved = np.eye(4)
    if instance_id:
        pose_a, pose_b = (object_pose(spec, instance_id) for spec in (a, b))
        moved = pose_b @ rigid_inverse(pose_a)
    camera_a = rigid_inverse(world_to_camera_cv(np.asarray(a.camera.pose)))
    return world_to_camera_cv(np.asarray(b.camera.pose)) @ moved @ camera_a


def optical_flow(
    a: SceneSpec,
    b: SceneSpec,
    depth_a: np.ndarray,
    ids_a: np.ndarray,
    depth_b: np.ndarray,
    ids_b: np.ndarray,
    slopes_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Flow from frame ``a`` to frame ``b``: ``(flow (h, w, 2) float32 pixels, occluded (h, w) bool)``.

    ``depth_*``: (h, w) float metres, 0 for the backdrop; ``ids_*``: (h, w) instance ids;
    ``slopes_b``: ``visibility.depth_slopes(depth_b)``.
    """
    K_a, K_b = np.asarray(a.camera.K), np.asarray(b.camera.K)
    h, w = depth_a.shape
    backdrop = depth_a <= 0
    at_infinity = a.backdrop.at_infinity
    # Component planes in float32 (errors ~1e-4 px): x, y of the ray through each pixel at depth 1.
    col, row = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)[:, None]
    ray_x = np.broadcast_to((col - np.float32(K_a[0, 2])) / np.float32(K_a[0, 0]), (h, w))
    ray_y = np.broadcast_to((row - np.float32(K_a[1, 2])) / np.float32(K_a[1, 1]), (h, w))
    depth = np.where(backdrop & at_infinity, 1.0, depth_a).astype(np.float32)  # a backdrop direction: depth 1
    point = (ray_x * depth, ray_y * depth, depth)
    table = np.zeros((int(ids_a.max()) + 2, 3, 4), np.float32)  # per id, then one for backdrop directions
    for k in np.unique(ids_a):
        table[k] = camera_to_camera(a, b, int(k))[:3]
    table[-1, :, :3] = table[0, :, :3]  # a direction: only the rotation acts on it
    which = np.where(backdrop & at_infinity, len(table) - 1, ids_a)
    # id 0 (most pixels) with its transform's scalars, then the rest (objects, directions) by their rows
    x, y, z = (sum(table[0, i, j] * point[j] for j in range(3)) + table[0, i, 3] for i in range(3))
    rest = np.flatnonzero(which)
    moved, by = [p.take(rest) for p in point], table[which.take(rest)]
    for i, out in enumerate((x, y, z)):
        out.ravel()[rest] = sum(by[:, i, j] * moved[j] for j in range(3)) + by[:, i, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.float32(K_b[0, 0]) * x / z + np.float32(K_b[0, 2])
        v = np.float32(K_b[1, 1]) * y / z + np.float32(K_b[1, 2])
    # the depth test for what has a surface; a backdrop direction only asks whether b shows the backdrop there
    uv, depth_z, visible = np.stack([u, v], axis=-1).reshape(-1, 2), z.ravel(), np.empty(h * w, bool)
    surface, sky = np.flatnonzero(~backdrop), np.flatnonzero(backdrop)
    test = depth_test(depth_b, slopes_b, uv[surface], depth_z[surface])
    visible[surface] = test.seen & (ids_b.ravel().take(test.row * w + test.col) == ids_a.ravel().take(surface))
    if at_infinity:
        land = landing((h, w), uv[sky], depth_z[sky])
        visible[sky] = land.inside & (depth_b.ravel().take(land.r * w + land.c) == 0)
    else:  # fixed to the screen: the backdrop stays, and shows where b shows it
        visible[sky] = depth_b.ravel().take(sky) <= 0
    visible = visible.reshape(h, w)
    flow = np.stack([u - col, v - row], axis=-1)
    if not at_infinity:
        flow[backdrop] = 0.0
    flow[z <= 0] = 0.0  # behind the camera
    return flow, ~visible


def object_pose(spec: SceneSpec, instance_id: int) -> np.ndarray:
    """(4, 4) object-to-world pose of object ``instance_id`` in ``spec``."""
    for obj in spec.objects:
        if obj.instance_id == instance_id:
            return np.asarray(obj.pose, dtype=np.float64)
    raise ValueError(f"frame {spec.index} has no object {instance_id}: frames of one sequence share their objects")

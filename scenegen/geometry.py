"""Camera and object frames, numpy only.

Camera poses in a SceneSpec are camera-to-world in OpenGL axes (x right, y up,
looking along -z). Everything here returns OpenCV axes (x right, y down, z
forward), the convention of ``K`` and of pose datasets such as BOP. Lengths are
metres. An object's model points are its mesh file's coordinates times the
object's uniform ``scale``; its ``pose`` maps those to the world.
"""

from __future__ import annotations

import numpy as np

GL_TO_CV = np.diag([1.0, -1.0, -1.0])  # (3, 3) OpenGL camera axes -> OpenCV camera axes (its own inverse)


def rigid_inverse(transform: np.ndarray) -> np.ndarray:
    """Inverse of a (4, 4) rotation-plus-translation transform."""
    rotation, translation = transform[:3, :3], transform[:3, 3]
    out = np.eye(4)
    out[:3, :3] = rotation.T
    out[:3, 3] = -rotation.T @ translation
    return out


def world_to_camera_cv(camera_pose_gl: np.ndarray) -> np.ndarray:
    """(4, 4) world-to-camera in OpenCV axes from a (4, 4) camera-to-world pose in OpenGL axes."""
    flip = np.eye(4)
    flip[:3, :3] = GL_TO_CV
    return flip @ rigid_inverse(np.asarray(camera_pose_gl, dtype=float))


def object_to_camera(obj_pose: np.ndarray, camera_pose_gl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The object's 6D pose in the OpenCV camera, BOP style: ``(R (3, 3), t (3,) metres)``.

    A model point ``p`` is at ``R @ p + t`` in the camera, where ``p`` is in the
    mesh file's coordinates times the object's ``scale`` (metres). The scale
    takes no part: the spec's ``pose`` already acts on scaled points (the
    renderer draws ``pose @ diag(scale, scale, scale, 1)``), so R is a rotation.
    """
    transform = world_to_camera_cv(camera_pose_gl) @ np.asarray(obj_pose, dtype=float)
    return transform[:3, :3], transform[:3, 3]


def project(points_cam: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (n, 2) and depths (n,) of (n, 3) points in the OpenCV camera.

    Pixel coordinates follow K's OpenCV convention: pixel ``(u, v)`` has its
    centre at integer ``(u, v)``, so a pixel covers ``[u - 0.5, u + 0.5)``.
    Depth is the z coordinate (metres along the view axis); points with
    depth <= 0 are behind the camera and their pixel coordinates are meaningless.
    """
    points = np.asarray(points_cam, dtype=float).reshape(-1, 3)
    depth = points[:, 2]
    uvw = points @ np.asarray(K, dtype=float).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return uvw[:, :2] / depth[:, None], depth


def box_corners(bounds: np.ndarray) -> np.ndarray:
    """(8, 3) corners of the axis-aligned box ``bounds`` = [min (3,), max (3,)].

    Corner ``i = 4 * bx + 2 * by + bz`` takes coordinate ``bounds[b, axis]``
    (0: min, 1: max) on each axis: [---], [--+], [-+-], [-++], [+--], ... [+++],
    the corner order of Objectron boxes.
    """
    bounds = np.asarray(bounds, dtype=float)
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])) & 1  # (8, 3)
    return bounds[bits, np.arange(3)]


def box_keypoints(bounds: np.ndarray) -> np.ndarray:
    """(9, 3) box keypoints: the centre of ``bounds`` (2, 3), then ``box_corners`` (Objectron layout)."""
    bounds = np.asarray(bounds, dtype=float)
    return np.vstack([bounds.mean(axis=0), box_corners(bounds)])


def points_in_camera(points: np.ndarray, obj_pose: np.ndarray, scale: float, camera_pose_gl: np.ndarray) -> np.ndarray:
    """(n, 3) OpenCV camera coordinates of (n, 3) points in the object's mesh-file coordinates."""
    rotation, translation = object_to_camera(obj_pose, camera_pose_gl)
    return (scale * np.asarray(points, dtype=float)) @ rotation.T + translation


def image_extent(points_cam: np.ndarray, K: np.ndarray, width: int, height: int) -> tuple[list[int] | None, bool]:
    """Where (n, 3) camera points can cover pixels: ``([x0, y0, x1, y1] inclusive, clipped; or None), truncated``.

    A pixel is covered when its centre is inside the projection, so the box is the pixels whose centres
    lie within the projected points' bounds. ``truncated`` says the projection crosses the image border
    or a point is behind the camera; then (if any point is behind) the box is the whole image.
    """
    uv, depth = project(points_cam, K)
    if np.any(depth <= 0):
        return [0, 0, width - 1, height - 1], True
    low, high = np.ceil(uv.min(axis=0) - 1e-6), np.floor(uv.max(axis=0) + 1e-6)
    truncated = bool(np.any(uv.min(axis=0) < -0.5) or uv[:, 0].max() > width - 0.5 or uv[:, 1].max() > height - 0.5)
    x0, y0 = max(int(low[0]), 0), max(int(low[1]), 0)
    x1, y1 = min(int(high[0]), width - 1), min(int(high[1]), height - 1)
    return ([x0, y0, x1, y1] if x0 <= x1 and y0 <= y1 else None), truncated


def look_at(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera-to-world (4, 4) in OpenGL axes: -Z towards ``target``, +Y as close to ``up`` as possible."""
    z = eye - target
    z /= np.linalg.norm(z)
    x = np.cross(np.asarray(up), z)
    if np.linalg.norm(x) < 1e-9:  # looking straight along up
        x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, np.cross(z, x), z, eye
    return m


def intrinsics(width: int, height: int, fov_y_deg: float) -> np.ndarray:
    """(3, 3) OpenCV K with square pixels and the principal point at the image centre."""
    f = 0.5 * height / np.tan(np.radians(fov_y_deg) / 2)
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])

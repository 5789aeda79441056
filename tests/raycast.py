"""Independent geometry for the flow and track tests: rays cast at the scene's triangles (Moller-Trumbore),
numpy only, never the renderer's depth or id images."""

from __future__ import annotations

import numpy as np
import trimesh

from scenegen.assets.catalog import Catalog
from scenegen.assets.primitives import unit_primitive
from scenegen.geometry import GL_TO_CV
from scenegen.scene.spec import SceneSpec


def scene_triangles(spec: SceneSpec, catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """``(triangles (m, 3, 3) world, owner (m,) instance id, 0 for everything unlabelled)``."""
    parts, owners = [], []
    for obj in spec.objects:
        mesh = catalog.asset(obj.asset_id).load_mesh()
        transform = np.asarray(obj.pose) @ np.diag([obj.scale, obj.scale, obj.scale, 1.0])
        parts.append(trimesh.transform_points(mesh.vertices, transform)[mesh.faces])
        owners.append(np.full(len(mesh.faces), obj.instance_id))
    for d in spec.distractors:
        mesh = unit_primitive(d.shape)
        transform = np.asarray(d.pose) @ np.diag([*d.size, 1.0])
        parts.append(trimesh.transform_points(mesh.vertices, transform)[mesh.faces])
        owners.append(np.zeros(len(mesh.faces), int))
    if spec.plane is not None:
        s = spec.plane.size / 2
        corners = np.array([[-s, -s, 0], [s, -s, 0], [s, s, 0], [-s, s, 0]])
        parts.append(corners[[[0, 1, 2], [0, 2, 3]]])
        owners.append(np.zeros(2, int))
    return np.concatenate(parts), np.concatenate(owners)


BLOCK = 256  # triangles tested together: a run of consecutive faces of one mesh, close to each other


def cast(origin: np.ndarray, directions: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit of rays ``origin + t * directions[i]`` from one point ``origin`` (3,): ``(t (n,), triangle
    index (n,))``, inf and -1 for none. Each block of ``BLOCK`` triangles is tested only against the rays whose
    line passes through its bounding sphere (a ray missing the sphere misses the block); ties go to the lower
    index, as one argmin over every triangle."""
    best_t, best_i = np.full(len(directions), np.inf), np.full(len(directions), -1)
    for first in range(0, len(triangles), BLOCK):
        block = triangles[first : first + BLOCK]
        points = block.reshape(-1, 3)
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        radius = np.linalg.norm(points - centre, axis=1).max() * (1 + 1e-6) + 1e-9
        w = centre - origin
        along = directions @ w / np.einsum("nk,nk->n", directions, directions)
        near = np.linalg.norm(w - along[:, None] * directions, axis=1) <= radius
        if not near.any():
            continue
        for rays in np.array_split(np.nonzero(near)[0], max(1, int(near.sum()) // 64)):
            t = _moller_trumbore(origin, directions[rays], block)
            nearest = t.argmin(axis=1)
            t_min = t[np.arange(len(rays)), nearest]
            closer = t_min < best_t[rays]
            best_t[rays[closer]] = t_min[closer]
            best_i[rays[closer]] = first + nearest[closer]
    return best_t, best_i


def _moller_trumbore(origin: np.ndarray, directions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(r, m): the ray parameter t of each ray's hit of each triangle, inf for a miss."""
    v0, e1, e2 = triangles[:, 0], triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    d = directions[:, None, :]  # (r, 1, 3)
    p = np.cross(d, e2)  # (r, m, 3)
    det = np.einsum("rmk,mk->rm", p, e1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = origin - v0  # (m, 3)
        u = np.einsum("rmk,mk->rm", p, s) * inv
        q = np.cross(s, e1)  # (m, 3)
        v = np.einsum("rk,mk->rm", d[:, 0], q) * inv
        t = np.einsum("mk,mk->m", e2, q)[None, :] * inv
    ok = (np.abs(det) > 1e-14) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
    return np.where(ok, t, np.inf)


def pixel_rays(spec: SceneSpec, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera centre (3,) and world directions (n, 3) of rays through ``pixels`` (n, 2) x, y, scaled so
    that ``t`` along them is the depth (z in the OpenCV camera)."""
    K, pose = np.asarray(spec.camera.K), np.asarray(spec.camera.pose)
    in_cv = np.stack([(pixels[:, 0] - K[0, 2]) / K[0, 0], (pixels[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(pixels))], -1)
    return pose[:3, 3], in_cv @ (pose[:3, :3] @ GL_TO_CV).T

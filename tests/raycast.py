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


def cast(origin: np.ndarray, directions: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit of rays ``origin + t * directions[i]``: ``(t (n,), triangle index (n,))``, inf and -1 for none."""
    v0, e1, e2 = triangles[:, 0], triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    best_t, best_i = np.full(len(directions), np.inf), np.full(len(directions), -1)
    for start in range(0, len(directions), 64):
        d = directions[start : start + 64, None, :]  # (r, 1, 3)
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
        t = np.where(ok, t, np.inf)
        best_i[start : start + 64] = np.where(np.isfinite(t.min(axis=1)), t.argmin(axis=1), -1)
        best_t[start : start + 64] = t.min(axis=1)
    return best_t, best_i


def pixel_rays(spec: SceneSpec, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera centre (3,) and world directions (n, 3) of rays through ``pixels`` (n, 2) x, y, scaled so
    that ``t`` along them is the depth (z in the OpenCV camera)."""
    K, pose = np.asarray(spec.camera.K), np.asarray(spec.camera.pose)
    in_cv = np.stack([(pixels[:, 0] - K[0, 2]) / K[0, 0], (pixels[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(pixels))], -1)
    return pose[:3, 3], in_cv @ (pose[:3, :3] @ GL_TO_CV).T

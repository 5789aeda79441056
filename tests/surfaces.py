"""Checks of resting objects against their render meshes, written from geometry alone (no physics code):
surface samples, inside-ness by generalized winding number, depth by the distance to the nearest triangle."""

from __future__ import annotations

import numpy as np
import trimesh


def posed_mesh(obj, catalog) -> trimesh.Trimesh:
    """An object's render mesh in world coordinates: the asset's mesh, scaled, then posed."""
    mesh = catalog.asset(obj.asset_id).load_mesh().copy()
    mesh.apply_scale(obj.scale)
    mesh.apply_transform(np.asarray(obj.pose))
    return mesh


def winding_number(points: np.ndarray, mesh: trimesh.Trimesh) -> np.ndarray:
    """(n,) generalized winding number of ``mesh`` at ``points`` (n, 3): 1 inside a closed mesh, 0 outside.
    Sum of the triangles' signed solid angles (Van Oosterom and Strackee) over 4 pi, for a few points at a
    time (arrays that stay in the CPU's caches)."""
    triangles = mesh.triangles
    step = max(1, 32768 // len(triangles))
    parts = [_winding_number(points[start : start + step], triangles) for start in range(0, len(points), step)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _winding_number(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(n,) the winding number at ``points`` (n, 3) of the triangles (t, 3, 3)."""
    a, b, c = (triangles[None, :, k, :] - points[:, None, :] for k in range(3))  # (n, t, 3)
    la, lb, lc = (np.linalg.norm(v, axis=2) for v in (a, b, c))
    det = np.einsum("ntk,ntk->nt", a, np.cross(b, c))
    dots = la * lb * lc + np.einsum("ntk,ntk->nt", a, b) * lc
    dots += np.einsum("ntk,ntk->nt", b, c) * la + np.einsum("ntk,ntk->nt", c, a) * lb
    return 2 * np.arctan2(det, dots).sum(axis=1) / (4 * np.pi)


def depth_inside(points: np.ndarray, mesh: trimesh.Trimesh) -> np.ndarray:
    """(n,) how deep each of ``points`` lies inside the closed ``mesh``: the distance to its surface for
    points inside, 0 outside."""
    depth = np.zeros(len(points))
    lo, hi = mesh.bounds
    near = np.all((points >= lo) & (points <= hi), axis=1)
    if not near.any():
        return depth
    candidates = points[near]
    inside = winding_number(candidates, mesh) > 0.5
    if inside.any():
        _, distance, _ = trimesh.proximity.closest_point_naive(mesh, candidates[inside])
        sub = np.zeros(len(candidates))
        sub[inside] = distance
        depth[near] = sub
    return depth


def deepest_overlap(meshes: list[trimesh.Trimesh], samples: int = 600, seed: int = 0) -> tuple[float, tuple[int, int]]:
    """The deepest that a surface sample of one mesh lies inside another, over all pairs, and that pair."""
    worst, pair = 0.0, (-1, -1)
    rng = np.random.default_rng(seed)
    points = [trimesh.sample.sample_surface(m, samples, seed=int(rng.integers(2**31)))[0] for m in meshes]
    points = [np.vstack([p, m.vertices]) for p, m in zip(points, meshes, strict=True)]
    for i, a in enumerate(points):
        for j, mesh in enumerate(meshes):
            if i == j or not _boxes_meet(meshes[i].bounds, mesh.bounds):
                continue
            depth = float(depth_inside(a, mesh).max())
            if depth > worst:
                worst, pair = depth, (i, j)
    return worst, pair


def _boxes_meet(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a[0] <= b[1]) and np.all(b[0] <= a[1]))

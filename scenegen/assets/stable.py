"""Stable resting poses of a mesh on a plane: trimesh's quasi-static topple graph, with array operations.

``trimesh.poses.compute_stable_poses`` (Goldberg et al., "Part pose statistics") walks its graph of the
convex hull's faces in Python, a face at a time: most of a second per lathe shape, whose hull has hundreds
of faces. ``stable_poses`` computes the same model (one centre of mass, no sampling) on whole arrays: each
face's chance to be the first to meet the plane (its solid angle seen from the centre of mass), the face
each unstable face topples to (through the edge the centre of mass projects past), the face each chain of
topples ends on, and one pose per distinct outward normal (rounded to 1e-3) of those faces. A chain that
never ends circles among the triangles of one flat face of the hull (a bowl upside down on its rim: the
centre of mass projects onto their shared corner), which holds the object: it ends on the face it reaches
after as many topples as the hull has faces, as trimesh's walk does.
"""

from __future__ import annotations

import numpy as np
import trimesh
from trimesh.triangles import points_to_barycentric


def stable_poses(mesh: trimesh.Trimesh, center_mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(transforms (n, 4, 4), probabilities (n,))``: rotations that put each stable face of ``mesh``'s convex
    hull down (+Z up), lifted so the hull touches z = 0, most probable first, and their chances of being the
    pose a random drop ends in (they sum to 1)."""
    hull = mesh.convex_hull
    com = np.asarray(center_mass, dtype=float)
    triangles, normals = hull.triangles, hull.face_normals
    probability = _landing_probability(triangles, com)
    target = _topple_targets(hull, com)
    step = np.where(target < 0, np.arange(len(target)), target)  # a stable face stays where it is
    end = np.arange(len(target))
    for _ in range(max(len(target), 1).bit_length()):  # pointer doubling: 2^k topples after k rounds
        end, step = step[end], step[step]
    totals = np.zeros(len(target))
    np.add.at(totals, end, probability)
    faces = np.flatnonzero(totals > 0)
    keys = np.round(normals[faces], 3) + 0.0  # + 0.0: -0.0 and 0.0 are one key
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    probabilities = np.zeros(len(first))
    np.add.at(probabilities, group.ravel(), totals[faces])
    transforms = np.array([_resting(hull.vertices, normals[faces[i]]) for i in first]).reshape(-1, 4, 4)
    order = np.argsort(-probabilities, kind="stable")
    return transforms[order], probabilities[order]


def _landing_probability(triangles: np.ndarray, com: np.ndarray) -> np.ndarray:
    """(f,) the solid angle of each (f, 3, 3) triangle seen from ``com``, over 4 pi (L'Huilier's formula)."""
    rays = triangles - com
    rays /= np.linalg.norm(rays, axis=2, keepdims=True)

    def angle(i: int, j: int) -> np.ndarray:
        return np.arccos(np.clip(np.einsum("ij,ij->i", rays[:, i], rays[:, j]), -1.0, 1.0))

    a, b, c = angle(0, 1), angle(1, 2), angle(2, 0)
    s = (a + b + c) / 2.0
    with np.errstate(invalid="ignore"):  # a degenerate triangle: nan, which never counts
        product = np.tan(s / 2) * np.tan((s - a) / 2) * np.tan((s - b) / 2) * np.tan((s - c) / 2)
        return np.nan_to_num(np.arctan(np.sqrt(product)) / np.pi)


def _topple_targets(hull: trimesh.Trimesh, com: np.ndarray) -> np.ndarray:
    """(f,) the face each face of ``hull`` topples to, -1 for a stable face (the centre of mass projects inside
    it): the neighbour across the edge whose wedge from the face's centroid holds the projection (the last
    neighbour when no wedge does, at a degenerate face)."""
    triangles, normals, centroids = hull.triangles, hull.face_normals, hull.triangles_center
    along = np.einsum("ij,ij->i", normals, com - triangles[:, 0])
    projected = com - along[:, None] * normals
    unstable = np.any(points_to_barycentric(triangles, projected) < 0, axis=1)
    pairs, edges = hull.face_adjacency, hull.face_adjacency_edges
    face = np.concatenate([pairs[:, 0], pairs[:, 1]])
    other = np.concatenate([pairs[:, 1], pairs[:, 0]])
    ends = hull.vertices[np.concatenate([edges, edges])]  # (2m, 2, 3): the shared edge's two vertices
    order = np.argsort(face, kind="stable")  # each face's neighbours in adjacency order
    face, other, ends = face[order], other[order], ends[order]
    keep = unstable[face]
    face, other, ends = face[keep], other[keep], ends[keep]
    centroid, normal, point = centroids[face], normals[face], projected[face]
    v1, v2 = ends[:, 0], ends[:, 1]
    swap = np.einsum("ij,ij->i", np.cross(v1 - centroid, v2 - centroid), normal) < 0
    v1, v2 = np.where(swap[:, None], v2, v1), np.where(swap[:, None], v1, v2)
    through = (_orient(centroid, v1, v1 + normal, point) >= 0) & (_orient(centroid, v2 + normal, v2, point) >= 0)
    target = np.full(len(triangles), -1)
    last = np.r_[face[1:] != face[:-1], True] if len(face) else np.zeros(0, bool)
    target[face[last]] = other[last]  # no wedge holds it: the last neighbour
    first = _first(face, through)
    target[face[first]] = other[first]
    return target


def _first(face: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """(k,) bool: the first set row of ``hit`` within each run of equal ``face`` (rows grouped by face)."""
    if not len(face):
        return hit
    counts = np.cumsum(hit)
    starts = np.r_[0, np.flatnonzero(face[1:] != face[:-1]) + 1]
    before = np.repeat((counts - hit)[starts], np.diff(np.r_[starts, len(face)]))
    return hit & (counts - before == 1)


def _orient(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(k,) the orientation of points ``d`` against the planes through ``a``, ``b``, ``c`` (k, 3) each: > 0
    above, < 0 below."""
    ad, bd, cd = a - d, b - d, c - d
    return (
        ad[:, 0] * (bd[:, 1] * cd[:, 2] - bd[:, 2] * cd[:, 1])
        + bd[:, 0] * (cd[:, 1] * ad[:, 2] - cd[:, 2] * ad[:, 1])
        + cd[:, 0] * (ad[:, 1] * bd[:, 2] - ad[:, 2] * bd[:, 1])
    )


def _resting(vertices: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """(4, 4) rotation taking outward ``normal`` to -Z (rows x, y, z), lifted so ``vertices`` touch z = 0."""
    z = -normal
    x = np.array([-z[1], z[0], 0.0])
    x = np.array([1.0, 0.0, 0.0]) if np.linalg.norm(x) == 0.0 else x / np.linalg.norm(x)
    y = np.cross(z, x)
    transform = np.eye(4)
    transform[:3, :3] = [x, y / np.linalg.norm(y), z]
    transform[2, 3] = -(vertices @ z).min()
    return transform

"""Collision shapes for physics: each asset's mesh as a few convex parts, computed once and cached on disk.

A mesh that is nearly convex (its volume at least ``convex_ratio`` of its convex hull's) gets its convex
hull; any other mesh (a bowl, a mug, a torus, a mesh that is not watertight) a convex decomposition by
CoACD. Each part is cut down to at most ``hull_vertices`` of its vertices, which leaves some of the part
outside; ``margin`` is how far the farthest of it lies outside. PyBullet grows every convex part by its
collision margin, so with that margin the shape holds the whole mesh: objects in contact may keep at
most ``margin`` of air between their surfaces, and never overlap.

The parts are written as one OBJ file per shape (``o part0``, ``o part1``, ...: the format PyBullet reads
as a compound of convex hulls), named by a hash of the mesh's content, the parameters and the
algorithm's version. Writes go to a temporary name and are renamed, so workers that compute the same
shape at once each leave a whole file, and a shape on disk is never recomputed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import astuple, dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import ConvexHull, QhullError

from scenegen.assets.catalog import Asset
from scenegen.config.schema import CollisionConfig
from scenegen.errors import ScenegenError

ALGORITHM = 1  # bump when the shapes computed for the same mesh and parameters change
_LOADED: dict[tuple, CollisionShape] = {}  # (asset, parameters, cache folder) -> shape, this process


@dataclass(frozen=True)
class CollisionShape:
    """Convex parts of an asset's mesh in its model frame, unscaled: ``parts`` (k_i, 3) vertices each,
    which grown by ``margin`` hold the mesh; ``path`` the OBJ file that holds them; ``center_of_mass``
    (3,) and ``volume`` of the mesh itself."""

    parts: tuple[np.ndarray, ...]
    margin: float
    path: Path
    center_of_mass: np.ndarray
    volume: float


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/scenegen``, else ``~/.cache/scenegen``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scenegen"


def collision_shape(asset: Asset, params: CollisionConfig, cache_dir: Path) -> CollisionShape:
    """The collision shape of ``asset``: read from ``cache_dir/collision`` when there, else computed
    and written there; kept in memory for the rest of the process."""
    cache_dir = Path(cache_dir).expanduser().resolve()
    key = (asset, astuple(params), cache_dir)
    if key not in _LOADED:
        _LOADED[key] = _shape(asset.load_mesh(), params, cache_dir)
    return _LOADED[key]


def shape_key(mesh: trimesh.Trimesh, params: CollisionConfig) -> str:
    """Hash of what decides a shape: the mesh's vertices and faces, the parameters, the algorithm, CoACD's version."""
    digest = hashlib.sha256(f"{ALGORITHM} {astuple(params)} coacd {version('coacd')}".encode())
    digest.update(np.ascontiguousarray(mesh.vertices, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(mesh.faces, dtype="<i8").tobytes())
    return digest.hexdigest()[:32]


def convex_parts(mesh: trimesh.Trimesh, params: CollisionConfig) -> tuple[list[np.ndarray], float]:
    """The shape's convex parts, (k, 3) vertices each, k <= ``params.hull_vertices``, and the margin by
    which they must grow to hold ``mesh``: the farthest any vertex or face centre of it lies outside them."""
    pieces = [mesh.vertices] if _nearly_convex(mesh, params.convex_ratio) else _decompose(mesh, params)
    parts = [simplified_hull(piece, params.hull_vertices) for piece in pieces]
    surface = np.vstack([mesh.vertices, mesh.triangles_center])
    outside = np.min([_distance_outside(ConvexHull(part).equations, surface) for part in parts], axis=0)
    return parts, max(0.0, float(outside.max()))


def simplified_hull(points: np.ndarray, max_vertices: int) -> np.ndarray:
    """At most ``max_vertices`` of ``points`` (n, 3) whose hull covers most of theirs.

    Greedy: from a large tetrahedron, add the point farthest outside the current hull, until the budget
    is spent or none is outside.
    """
    points = _full_rank(np.asarray(points, dtype=float))
    candidates = points[ConvexHull(points).vertices]
    if len(candidates) <= max_vertices:
        return candidates
    return candidates[_greedy_vertices(candidates, max_vertices)]


def write_parts(path: Path, parts: list[np.ndarray], margin: float) -> None:
    """Write convex parts and their margin as an OBJ file, one object of hull triangles each, atomically."""
    lines, offset = [f"# scenegen collision shape: grow each part by margin {margin!r}"], 1
    for i, part in enumerate(parts):
        faces = ConvexHull(part).simplices + offset
        lines.append(f"o part{i}")
        lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in part.tolist()]
        lines += [f"f {a} {b} {c}" for a, b, c in faces.tolist()]
        offset += len(part)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_parts(path: Path) -> tuple[list[np.ndarray], float]:
    """The convex parts, (k, 3) vertices each, and the margin of an OBJ file written by ``write_parts``."""
    lines = path.read_text().splitlines()
    margin = float(lines[0].rsplit(" ", 1)[1])
    parts: list[list[list[float]]] = []
    for line in lines[1:]:
        if line.startswith("o "):
            parts.append([])
        elif line.startswith("v "):
            parts[-1].append([float(x) for x in line.split()[1:4]])
    if not parts or any(len(p) < 4 for p in parts):
        raise ValueError("not a collision shape file")
    return [np.array(p) for p in parts], margin


def _shape(mesh: trimesh.Trimesh, params: CollisionConfig, cache_dir: Path) -> CollisionShape:
    path = cache_dir / "collision" / f"{shape_key(mesh, params)}.obj"
    try:
        parts, margin = read_parts(path)
    except (OSError, ValueError, IndexError):  # not there, or damaged: compute it
        parts, margin = convex_parts(mesh, params)
        try:
            write_parts(path, parts, margin)
        except OSError as err:
            raise ScenegenError(f"collision shape cache {path.parent}: cannot write ({err.strerror})") from None
    if mesh.is_watertight and mesh.volume > 0:
        center, volume = np.asarray(mesh.center_mass, dtype=float), float(mesh.volume)
    else:
        hull = trimesh.convex.convex_hull(np.vstack(parts))
        center, volume = np.asarray(hull.center_mass, dtype=float), float(hull.volume)
    return CollisionShape(tuple(parts), margin, path, center, volume)


def _nearly_convex(mesh: trimesh.Trimesh, ratio: float) -> bool:
    if not mesh.is_watertight:
        return False
    hull_volume = mesh.convex_hull.volume
    return hull_volume > 0 and mesh.volume >= ratio * hull_volume


def _decompose(mesh: trimesh.Trimesh, params: CollisionConfig) -> list[np.ndarray]:
    import coacd

    coacd.set_log_level("error")
    parts = coacd.run_coacd(
        coacd.Mesh(np.asarray(mesh.vertices, dtype=float), np.asarray(mesh.faces, dtype=np.int32)),
        threshold=params.concavity,
        max_convex_hull=params.max_parts,
        preprocess_mode="off" if mesh.is_watertight else "on",  # "on" remeshes it, at preprocess_resolution
        preprocess_resolution=params.preprocess_resolution,
        resolution=params.resolution,
        mcts_nodes=params.mcts_nodes,
        mcts_iterations=params.mcts_iterations,
        seed=0,
    )
    return [np.asarray(vertices, dtype=float) for vertices, _ in parts if len(vertices) >= 4]


def _full_rank(points: np.ndarray) -> np.ndarray:
    """``points``, thickened by 0.1% of their size along the thinnest axis when they are (nearly) flat."""
    centred = points - points.mean(axis=0)
    _, sizes, axes = np.linalg.svd(centred, full_matrices=False)
    if sizes[-1] > 1e-6 * sizes[0]:
        try:
            ConvexHull(points)
            return points
        except QhullError:
            pass
    offset = 1e-3 * np.ptp(centred @ axes[0]) * axes[-1]
    return np.vstack([points + offset, points - offset])


def _greedy_vertices(points: np.ndarray, count: int) -> list[int]:
    """Indices of ``count`` points of ``points`` (n, 3): a large tetrahedron, then the farthest outside, repeatedly."""
    chosen = _tetrahedron(points)
    while len(chosen) < count:
        outside = _distance_outside(ConvexHull(points[chosen]).equations, points)
        farthest = int(np.argmax(outside))
        if outside[farthest] <= 0:
            break
        chosen.append(farthest)
    return chosen


def _tetrahedron(points: np.ndarray) -> list[int]:
    """Indices of four points of ``points`` (n, 3) spanning a large tetrahedron."""
    first = int(np.argmax(np.linalg.norm(points - points.mean(axis=0), axis=1)))
    second = int(np.argmax(np.linalg.norm(points - points[first], axis=1)))
    axis = (points[second] - points[first]) / np.linalg.norm(points[second] - points[first])
    off_line = points - points[first] - np.outer((points - points[first]) @ axis, axis)
    third = int(np.argmax(np.linalg.norm(off_line, axis=1)))
    normal = np.cross(points[second] - points[first], points[third] - points[first])
    fourth = int(np.argmax(np.abs((points - points[first]) @ normal)))
    return [first, second, third, fourth]


def _distance_outside(equations: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n,) how far each point lies outside the hull of facet ``equations`` (f, 4); <= 0 inside."""
    return (points @ equations[:, :3].T + equations[:, 3]).max(axis=1)

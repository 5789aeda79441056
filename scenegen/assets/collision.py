"""Collision shapes for physics: each asset's mesh as a few convex parts, computed once and cached on disk.

A mesh that is nearly convex (its volume at least ``convex_ratio`` of its convex hull's) gets one convex
part; a shape family's member (``scenegen.assets.families``) the convex pieces its family cuts it into; any
other mesh (a pack's bowl, mug, torus, a mesh that is not watertight) a convex decomposition by CoACD, one
part per piece. Each part is a polytope of at most ``hull_vertices`` vertices (one part) or
``part_vertices`` (a piece, smaller) that holds its piece whole: cut from a box by planes that
touch the piece, each cutting off the corner farthest from it.
So a shape never lies inside the mesh it stands for: objects in contact keep a little air between their
surfaces (a few millimetres at most for round objects, see ``air``), and never overlap.

The parts are written as one OBJ file per shape (``o part0``, ``o part1``, ...: the format PyBullet reads
as a compound of convex hulls), named by a hash of the mesh's content, the parameters and the
algorithm's version. Writes go to a temporary name and are renamed, so workers that compute the same
shape at once each leave a whole file, and a sound shape on disk is never recomputed.

The cache is not trusted: a file is read only when it is a regular file (no link, FIFO or device) within
the size its parameters allow, its first line holds the SHA-256 of its name (the key) and of the rest of
the file, its numbers are finite, its parts within their bounds, and it holds the mesh's hull within the
mesh's bounding box. A file that fails is computed again (one line on stderr says why). PyBullet then
reads the checked parts from a copy private to the process (``bullet_file``), never the shared file again.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, astuple, dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

from scenegen.assets.asset import Asset
from scenegen.assets.lathe import welded
from scenegen.config.schema import CollisionConfig
from scenegen.errors import AssetError
from scenegen.files import read_regular

ALGORITHM = 4  # bump when the shapes computed for the same mesh and parameters change
_LOADED: dict[tuple, CollisionShape] = {}  # (asset, parameters, cache folder) -> shape, this process
_PRIVATE: tuple[int, Path] | None = None  # (process id, folder) of the copies PyBullet reads
HEADER = "# scenegen collision shape sha256 "  # then the hex digest of the key and the rest of the file
BYTES_PER_VERTEX = 160  # a vertex line and its share of the face lines, at most


@dataclass(frozen=True)
class CollisionShape:
    """Convex parts of an asset's mesh in its model frame, unscaled: ``parts`` (k_i, 3) vertices each, which
    together hold the mesh; ``path`` the cache's OBJ file that holds them; ``center_of_mass`` (3,) and
    ``volume`` of the mesh itself; ``bullet_file``, the same parts written to a folder of this process alone,
    for PyBullet to read (the cache may change after its checks)."""

    parts: tuple[np.ndarray, ...]
    path: Path
    center_of_mass: np.ndarray
    volume: float
    bullet_file: Path


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
        try:
            if asset.shape is not None:  # a shape family's member: its own convex pieces, its seams welded
                generated = asset.shape.build()
                _LOADED[key] = _shape(welded(generated.mesh), params, cache_dir, generated.pieces)
            else:
                _LOADED[key] = _shape(asset.load_mesh(), params, cache_dir)
        except (ValueError, RuntimeError, QhullError) as err:  # CoACD and Qhull on a mesh they cannot handle
            raise AssetError(f"{asset.where}: no collision shape ({' '.join(str(err).split())[:160]})") from None
    return _LOADED[key]


def shape_key(mesh: trimesh.Trimesh, params: CollisionConfig, pieces: tuple[np.ndarray, ...] | None = None) -> str:
    """Hash of what decides a shape: the mesh's vertices and faces, the parameters (not the ``max_faces``
    limit), the algorithm, CoACD's version, or the given convex ``pieces`` instead of CoACD."""
    values = tuple(v for k, v in asdict(params).items() if k != "max_faces")
    method = "pieces" if pieces is not None else f"coacd {version('coacd')}"
    digest = hashlib.sha256(f"{ALGORITHM} {values} {method}".encode())
    for array in (mesh.vertices, *(pieces or ())):
        digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(mesh.faces, dtype="<i8").tobytes())
    return digest.hexdigest()[:32]


def convex_parts(
    mesh: trimesh.Trimesh, params: CollisionConfig, pieces: tuple[np.ndarray, ...] | None = None
) -> list[np.ndarray]:
    """The shape's convex parts, (k, 3) vertices each, together holding ``mesh``: one of at most
    ``params.hull_vertices`` for a nearly convex mesh, else one of at most ``params.part_vertices`` per piece:
    the given ``pieces`` (points whose hulls hold the mesh: a shape family's), else CoACD's."""
    in_pieces = _decomposed(mesh, params) if pieces is None else not _nearly_convex(mesh, params.convex_ratio)
    if not in_pieces:
        return [outer_hull(mesh.vertices, params.hull_vertices)]
    if pieces is None:
        pieces = tuple(_cover(mesh, _decompose(mesh, params)))
    return [outer_hull(piece, params.part_vertices) for piece in pieces]


def outer_hull(points: np.ndarray, max_vertices: int) -> np.ndarray:
    """The vertices, at most ``max_vertices``, of a polytope holding ``points`` (n, 3) and close to their hull.

    Greedy: start from the points' bounding box; while the budget allows, cut off the corner farthest
    outside the points' hull with the plane that touches the hull at its point nearest that corner.
    Every plane touches the hull, so the polytope always holds it.
    """
    points = _full_rank(np.asarray(points, dtype=float))
    hull = ConvexHull(points)
    if len(hull.vertices) <= max_vertices:
        return points[hull.vertices]
    shell = trimesh.Trimesh(points, hull.simplices, process=False)
    facets, centre = hull.equations, points[hull.vertices].mean(axis=0)
    planes = [np.r_[axis, -np.max(points @ axis)] for axis in np.vstack([np.eye(3), -np.eye(3)])]
    corners = _corners(planes, centre)
    tolerance = 1e-7 * float(np.max(np.ptp(points, axis=0)))
    for _ in range(4 * max_vertices):  # each cut adds a plane; a bound on them, whatever rounding does
        worst = int(np.argmax(_distance_outside(facets, corners)))
        nearest, distance, _ = trimesh.proximity.closest_point_naive(shell, corners[worst : worst + 1])
        if distance[0] <= tolerance:
            break
        normal = (corners[worst] - nearest[0]) / distance[0]
        plane = np.r_[normal, -np.max(points @ normal)]
        if corners[worst] @ plane[:3] + plane[3] <= tolerance:
            break  # the plane would not cut the corner off (the nearest point found was not quite nearest)
        cut = _corners([*planes, plane], centre)
        if len(cut) > max_vertices:
            break
        planes.append(plane)
        corners = cut
    return corners


def write_parts(path: Path, parts: list[np.ndarray]) -> None:
    """Write convex parts as an OBJ file, one object of hull triangles each, atomically; its first line holds
    the SHA-256 of the file's name (the shape's key) and of the rest of the file."""
    lines, offset = [], 1
    for i, part in enumerate(parts):
        faces = ConvexHull(part).simplices + offset
        lines.append(f"o part{i}")
        lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in part.tolist()]
        lines += [f"f {a} {b} {c}" for a, b, c in faces.tolist()]
        offset += len(part)
    body = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{HEADER}{_checksum(path, body)}\n{body}")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shape_bytes(params: CollisionConfig, most_parts: int | None = None) -> int:
    """The most bytes a shape file written with ``params`` can hold, of at most ``most_parts`` parts
    (``params.max_parts`` unless given)."""
    parts = params.max_parts if most_parts is None else most_parts
    return BYTES_PER_VERTEX * (params.hull_vertices + parts * params.part_vertices) + 1024


def read_parts(path: Path, max_bytes: int) -> list[np.ndarray]:
    """The convex parts, (k, 3) finite vertices each, of a file ``write_parts`` wrote under this name.

    ValueError saying why when it is not a regular file (a link, a FIFO, a device), holds more than
    ``max_bytes``, or its checksum or numbers are wrong; OSError when it cannot be opened (FileNotFoundError:
    not there). Opening never blocks and never follows a link."""
    data = read_regular(path, max_bytes, follow_links=False)
    first, _, body = data.decode("ascii").partition("\n")
    if first != f"{HEADER}{_checksum(path, body)}":
        raise ValueError("its checksum does not match its name and content (damaged or edited)")
    parts: list[list[list[float]]] = []
    for line in body.splitlines():
        if line.startswith("o "):
            parts.append([])
        elif line.startswith("v ") and parts:
            parts[-1].append([float(x) for x in line.split()[1:4]])
        elif line.startswith("v "):
            raise ValueError("a vertex before the first part")
    arrays = [np.array(p, dtype=float) for p in parts]
    if not arrays or any(a.ndim != 2 or a.shape[1] != 3 or len(a) < 4 for a in arrays):
        raise ValueError("not a collision shape file (a part with fewer than 4 vertices of x, y, z)")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("a vertex is not finite")
    return arrays


def check_parts(parts: list[np.ndarray], mesh: trimesh.Trimesh, params: CollisionConfig, most_parts: int) -> None:
    """ValueError saying why ``parts`` (read back from a cache) cannot be ``mesh``'s shape with ``params``:
    more than ``most_parts`` parts, too many vertices, a flat part, a part beyond the mesh's bounding box (1%
    of its size around it), or a vertex of the mesh's hull outside every part."""
    if len(parts) > most_parts:
        raise ValueError(f"{len(parts)} parts, over the {most_parts} its shape can have")
    most = max(8, params.hull_vertices, params.part_vertices)  # a part starts as a box: 8 corners
    if max(len(part) for part in parts) > most:
        raise ValueError(f"a part of {max(len(part) for part in parts)} vertices, over the {most} allowed")
    lo, hi = mesh.bounds
    size = float(np.max(hi - lo))
    if any(np.any(part < lo - 0.01 * size) or np.any(part > hi + 0.01 * size) for part in parts):
        raise ValueError("a part reaches beyond the mesh's bounding box")
    try:
        equations = [ConvexHull(part).equations for part in parts]
    except QhullError:
        raise ValueError("a flat part") from None
    points = np.asarray(mesh.vertices, dtype=float)
    try:
        points = points[ConvexHull(points).vertices]  # the hull's corners stand for the mesh
    except QhullError:
        pass  # a flat mesh: all its vertices
    outside = np.min([_distance_outside(e, points) for e in equations], axis=0)
    if outside.max() > 1e-6 * size:
        raise ValueError(f"it does not hold the mesh (a hull vertex {outside.max():.3g} outside every part)")


def _checksum(path: Path, body: str) -> str:
    return hashlib.sha256(f"{path.stem}\n{body}".encode()).hexdigest()


def _shape(
    mesh: trimesh.Trimesh, params: CollisionConfig, cache_dir: Path, pieces: tuple[np.ndarray, ...] | None = None
) -> CollisionShape:
    path = cache_dir / "collision" / f"{shape_key(mesh, params, pieces)}.obj"
    if pieces is None:
        _decomposed(mesh, params)  # a mesh over the limit is refused whether its shape is cached or not
    most_parts = max(1, params.max_parts) if pieces is None else len(pieces)  # CoACD's, or one a piece
    try:
        parts = read_parts(path, shape_bytes(params, most_parts))
        check_parts(parts, mesh, params, most_parts)
    except FileNotFoundError:
        parts = None
    except (OSError, ValueError) as err:  # damaged, edited, or not a file: never trusted, computed again
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        print(f"scenegen: collision shape cache {path}: {reason}; computing it again", file=sys.stderr)
        parts = None
    if parts is None:
        parts = convex_parts(mesh, params, pieces)
        try:
            write_parts(path, parts)
        except OSError as err:
            raise AssetError(f"collision shape cache {path}: cannot write ({err.strerror})") from None
    if mesh.is_watertight and mesh.volume > 0:
        center, volume = np.asarray(mesh.center_mass, dtype=float), float(mesh.volume)
    else:
        hull = trimesh.convex.convex_hull(np.vstack(parts))
        center, volume = np.asarray(hull.center_mass, dtype=float), float(hull.volume)
    bullet_file = _private_folder() / path.name
    write_parts(bullet_file, parts)
    return CollisionShape(tuple(parts), path, center, volume, bullet_file)


def _private_folder() -> Path:
    """A folder only this process writes (mode 0700), removed when it exits."""
    global _PRIVATE
    if _PRIVATE is None or _PRIVATE[0] != os.getpid():  # a forked worker makes its own
        folder = Path(tempfile.mkdtemp(prefix="scenegen-shapes-"))
        atexit.register(shutil.rmtree, folder, True)
        _PRIVATE = (os.getpid(), folder)
    return _PRIVATE[1]


def _decomposed(mesh: trimesh.Trimesh, params: CollisionConfig) -> bool:
    """Whether ``mesh`` gets a decomposition (it is not nearly convex); ValueError when it has more faces than
    ``params.max_faces`` allows for one (CoACD's time grows with them), cached or not."""
    if _nearly_convex(mesh, params.convex_ratio):
        return False
    if len(mesh.faces) > params.max_faces:
        raise ValueError(
            f"{len(mesh.faces)} faces is over physics.collision.max_faces={params.max_faces} for a convex "
            "decomposition; simplify the mesh or raise the limit"
        )
    return True


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


def _cover(mesh: trimesh.Trimesh, pieces: list[np.ndarray]) -> list[np.ndarray]:
    """``pieces`` (points (n_i, 3) each), with every vertex of ``mesh`` that lies outside all their hulls
    added to the piece it lies nearest: CoACD's pieces may miss the surface by a hair."""
    outside = np.stack([_distance_outside(ConvexHull(piece).equations, mesh.vertices) for piece in pieces])
    nearest, uncovered = outside.argmin(axis=0), outside.min(axis=0) > 0
    return [np.vstack([piece, mesh.vertices[uncovered & (nearest == k)]]) for k, piece in enumerate(pieces)]


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


def _corners(planes: list[np.ndarray], inside: np.ndarray) -> np.ndarray:
    """(k, 3) vertices of the polytope of half-spaces ``planes`` ((4,) each: n.x + d <= 0) around ``inside``."""
    corners = HalfspaceIntersection(np.array(planes), inside).intersections
    return corners[ConvexHull(corners).vertices]


def _distance_outside(equations: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n,) how far each point lies outside the hull of facet ``equations`` (f, 4); <= 0 inside."""
    return (points @ equations[:, :3].T + equations[:, 3]).max(axis=1)

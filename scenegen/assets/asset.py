"""An asset: one mesh of a pack, its size in metres and its stable resting poses.

``Asset.check`` computes everything a render will need from an asset, so that a pack ``scenegen pack
validate`` calls ok renders: a size in metres between ``MIN_SIZE`` and ``MAX_SIZE``, and resting poses that
can be found.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import trimesh

from scenegen.assets.families import Variant
from scenegen.assets.limits import MeshLimits
from scenegen.assets.manifest import MAX_SIZE, MIN_SIZE
from scenegen.assets.mesh_file import load_mesh_file
from scenegen.assets.pose_cache import pose_path, pose_reach, read_poses, write_poses
from scenegen.assets.stable import stable_poses
from scenegen.errors import AssetError

UP_ROTATIONS = {  # (3, 3) rotation taking each up axis to +Z
    "z": np.eye(3),
    "-z": np.diag([1.0, -1.0, -1.0]),
    "y": np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]),
    "-y": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
    "x": np.array([[0, 0, -1.0], [0, 1.0, 0], [1.0, 0, 0]]),
    "-x": np.array([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]]),
}


@dataclass(frozen=True)
class Asset:
    """One mesh of a pack. Its model frame is the mesh file's own coordinates, whatever ``up_axis``:
    poses, keypoints and the renderer all act on them. ``up_rotation`` turns the file's ``up_axis`` to
    +Z (the upright frame that stable poses are found in); ``unit_scale`` takes model units to metres
    (``scale``, or ``target_size`` over the largest extent)."""

    id: str
    class_name: str
    mesh_path: Path
    pack: str
    pack_root: Path
    target_size: float | None
    scale: float | None
    up_axis: str
    keep_material: bool
    limits: MeshLimits
    shape: Variant | None = None  # a member of a shape family (``scenegen.assets.shapes``): generated, not loaded
    pose_cache: Path | None = None  # a cache folder where its resting poses are kept (``pose_cache``), if any

    def load_mesh(self) -> trimesh.Trimesh:
        """The mesh in its model frame (the file's coordinates), unscaled; loaded and checked (or generated)
        once per process."""
        if self.shape is not None:
            return self.shape.build().mesh
        return load_mesh_file(self.mesh_path, self.pack, self.pack_root, self.limits)

    def check(self, resting: bool = True) -> None:
        """Compute now everything a render computes from this asset (mesh, size, bounding sphere, and with
        ``resting`` its resting poses); AssetError naming the asset (``where``) when the asset is at fault."""
        try:
            extent = float(np.max(self.load_mesh().extents))
        except AssetError as err:  # the mesh file's problem (``mesh_file``), which names the file
            raise AssetError(f"{err} (asset {self.id!r})") from None
        size = self.unit_scale * extent
        if not MIN_SIZE <= size <= MAX_SIZE:
            given = f"target_size {self.target_size:g}" if self.scale is None else f"scale {self.scale:g}"
            raise AssetError(
                f"{self.where}: {given} makes it {size:.3g} m across (the mesh spans {extent:.4g} units); "
                f"an asset must measure between {MIN_SIZE} and {MAX_SIZE} m"
            )
        _ = self.bounding_sphere
        if resting:
            _ = self.resting_poses

    @property
    def where(self) -> str:
        """The pack, the mesh file and the asset, for messages."""
        mesh = self.mesh_path.relative_to(self.pack_root)
        return f"pack {self.pack!r} at {self.pack_root}: {mesh} (asset {self.id!r})"

    @property
    def up_rotation(self) -> np.ndarray:
        """(4, 4) rotation from the model frame to the upright frame: ``up_axis`` becomes +Z."""
        transform = np.eye(4)
        transform[:3, :3] = UP_ROTATIONS[self.up_axis]
        return transform

    @cached_property
    def unit_scale(self) -> float:
        if self.scale is not None:
            return self.scale
        return float(self.target_size / np.max(self.load_mesh().extents))

    @cached_property
    def bounding_sphere(self) -> tuple[np.ndarray, float]:
        """Centre (3,) and radius of a sphere around the unscaled mesh (centred on its bounding box)."""
        vertices = self.load_mesh().vertices
        centre = vertices.min(axis=0) / 2 + vertices.max(axis=0) / 2
        return centre, float(np.max(np.linalg.norm(vertices - centre, axis=1)))

    @cached_property
    def resting_poses(self) -> RestingPoses:
        """The stable poses of the unscaled mesh on the plane z = 0, found in the upright frame, as
        transforms of the model frame; computed once per process (and kept in ``pose_cache`` when given).
        A convex hull of more than ``limits.max_pose_hull_faces`` faces (their cost grows faster than their
        number) is simplified first: the poses are those of the hull of an evenly drawn subset of its
        vertices, each lowered or raised so that the mesh itself touches z = 0."""
        if self.pose_cache is None:
            return self._stable_poses()
        mesh = self.load_mesh()
        path = pose_path(self.pose_cache, mesh)
        cached = read_poses(path, mesh)
        if cached is not None:
            return RestingPoses(*cached)
        poses = self._stable_poses()
        try:
            write_poses(path, poses.transforms, poses.probabilities, poses.radii)
        except OSError as err:
            raise AssetError(f"resting pose cache {path.parent}: cannot write ({err.strerror})") from None
        return poses

    def _stable_poses(self) -> RestingPoses:
        mesh = self.load_mesh()
        upright = mesh.copy().apply_transform(self.up_rotation)
        try:
            hull = upright.convex_hull
            simplified = len(hull.faces) > self.limits.max_pose_hull_faces
            shape = _simplified(hull, self.limits.max_pose_hull_faces) if simplified else upright
            transforms, probs = stable_poses(shape, upright.center_mass)
        except Exception as err:  # qhull and numpy raise many types for flat or degenerate meshes
            raise AssetError(
                f"{self.where}: no resting poses can be found: the mesh is flat or degenerate, its convex hull "
                f"has no volume ({type(err).__name__})"
            ) from None
        transforms = np.asarray(transforms, dtype=float)
        for transform in transforms if simplified else []:  # the mesh, not the simplified hull, rests on z = 0
            transform[2, 3] -= trimesh.transform_points(hull.vertices, transform)[:, 2].min()
        transforms = transforms @ self.up_rotation
        radii = pose_reach(mesh.vertices, transforms)[1]
        probabilities = np.asarray(probs, dtype=float)
        finite = len(transforms) and np.isfinite(transforms).all() and np.isfinite(probabilities).all()
        if not (finite and probabilities.sum() > 0 and np.isfinite(radii).all()):
            raise AssetError(f"{self.where}: its resting poses are not finite numbers (a degenerate mesh?)")
        return RestingPoses(transforms, probabilities / probabilities.sum(), radii)


def _simplified(hull: trimesh.Trimesh, max_faces: int) -> trimesh.Trimesh:
    """The convex hull of a subset of ``hull``'s vertices drawn with a fixed seed, the same in every
    process: about ``max_faces`` faces (a convex hull of n points in general position has 2n - 4)."""
    keep = np.sort(np.random.default_rng(0).choice(len(hull.vertices), max_faces // 2 + 2, replace=False))
    return trimesh.convex.convex_hull(hull.vertices[keep])


@dataclass(frozen=True)
class RestingPoses:
    """Stable poses: ``transforms`` (n, 4, 4), ``probabilities`` (n,), and ``radii`` (n,), the
    radius of the footprint's bounding circle about the pose's origin, in model units."""

    transforms: np.ndarray
    probabilities: np.ndarray
    radii: np.ndarray

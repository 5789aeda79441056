"""Asset packs: a folder with ``manifest.json`` and mesh files, merged into a catalog.

The built-in pack goes through the same code as a user's own pack. A manifest
is data only; paths must stay inside the pack folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import trimesh

from scenegen.errors import ScenegenError
from scenegen.paths import assets_dir

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Asset:
    """One mesh of a pack; ``unit_scale`` converts the file's units to a ``target_size`` object."""

    id: str
    class_name: str
    mesh_path: Path
    target_size: float
    pack: str

    def load_mesh(self) -> trimesh.Trimesh:
        """The mesh as stored in the file, unscaled."""
        return _load_mesh(self.mesh_path)

    @cached_property
    def unit_scale(self) -> float:
        return float(self.target_size / np.max(self.load_mesh().extents))

    @cached_property
    def bounding_sphere(self) -> tuple[np.ndarray, float]:
        """Centre (3,) and radius of a sphere around the unscaled mesh (centred on its bounding box)."""
        vertices = self.load_mesh().vertices
        centre = vertices.min(axis=0) / 2 + vertices.max(axis=0) / 2
        return centre, float(np.max(np.linalg.norm(vertices - centre, axis=1)))

    @cached_property
    def resting_poses(self) -> RestingPoses:
        """The stable poses of the unscaled mesh on the plane z = 0, computed once per process."""
        mesh = self.load_mesh()
        transforms, probs = trimesh.poses.compute_stable_poses(mesh)
        transforms = np.asarray(transforms, dtype=float)
        radii = [np.max(np.linalg.norm(trimesh.transform_points(mesh.vertices, t)[:, :2], axis=1)) for t in transforms]
        return RestingPoses(transforms, np.asarray(probs) / np.sum(probs), np.asarray(radii))


@dataclass(frozen=True)
class RestingPoses:
    """Stable poses: ``transforms`` (n, 4, 4), ``probabilities`` (n,), and ``radii`` (n,), the
    radius of the footprint's bounding circle about the pose's origin, in the mesh file's units."""

    transforms: np.ndarray
    probabilities: np.ndarray
    radii: np.ndarray


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    root: Path
    assets: tuple[Asset, ...]


@dataclass(frozen=True)
class Catalog:
    """The classes and assets of all packs in use; category ids start at 1 in ``classes`` order."""

    classes: tuple[str, ...]
    assets_by_class: dict[str, tuple[Asset, ...]]

    def category_id(self, class_name: str) -> int:
        return self.classes.index(class_name) + 1

    def asset(self, asset_id: str) -> Asset:
        for assets in self.assets_by_class.values():
            for asset in assets:
                if asset.id == asset_id:
                    return asset
        raise KeyError(asset_id)


def pack_path(name: str) -> Path:
    """A pack's folder: a built-in pack's name, or a folder path."""
    builtin = assets_dir() / name
    if (builtin / MANIFEST).is_file():
        return builtin
    return Path(name).expanduser()


def load_pack(root: Path) -> Pack:
    """Read and check a pack's manifest; raise ScenegenError naming the file on any problem."""
    manifest_file = root / MANIFEST
    if not manifest_file.is_file():
        raise ScenegenError(f"objects.packs: no asset pack at {root} (missing {MANIFEST})")
    try:
        manifest = json.loads(manifest_file.read_text())
        name, version = str(manifest["name"]), str(manifest["version"])
        entries = manifest["assets"]
        assets = tuple(_asset(root, name, entry) for entry in entries)
    except ScenegenError:
        raise
    except (ValueError, KeyError, TypeError) as err:
        raise ScenegenError(f"{manifest_file}: invalid manifest ({type(err).__name__}: {err})") from None
    if not assets:
        raise ScenegenError(f"{manifest_file}: the pack has no assets")
    return Pack(name=name, version=version, root=root, assets=assets)


def _asset(root: Path, pack: str, entry: dict) -> Asset:
    mesh_path = (root / entry["mesh"]).resolve()
    if not mesh_path.is_relative_to(root.resolve()):
        raise ScenegenError(f"{root / MANIFEST}: mesh path {entry['mesh']!r} leaves the pack folder")
    if not mesh_path.is_file():
        raise ScenegenError(f"{root / MANIFEST}: mesh file {entry['mesh']!r} does not exist")
    target_size = float(entry["target_size"])
    if not np.isfinite(target_size) or target_size <= 0:
        raise ScenegenError(f"{root / MANIFEST}: asset {entry['id']!r} has target_size {target_size}, must be > 0")
    return Asset(str(entry["id"]), str(entry["class"]), mesh_path, target_size, pack)


def build_catalog(pack_names: list[str], classes: list[str]) -> Catalog:
    """Merge packs into one catalog, keeping only ``classes`` (all when empty)."""
    by_class: dict[str, list[Asset]] = {}
    for name in pack_names:
        for asset in load_pack(pack_path(name)).assets:
            by_class.setdefault(asset.class_name, []).append(asset)
    unknown = [c for c in classes if c not in by_class]
    if unknown:
        raise ScenegenError(f"objects.classes: unknown class {unknown[0]!r}; the packs have {sorted(by_class)}")
    chosen = sorted(classes or by_class)
    return Catalog(classes=tuple(chosen), assets_by_class={c: tuple(by_class[c]) for c in chosen})


@cache
def _load_mesh(path: Path) -> trimesh.Trimesh:
    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as err:  # trimesh raises many types for bad files
        raise ScenegenError(f"{path}: cannot load mesh ({err})") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ScenegenError(f"{path}: the mesh has no faces")
    if not np.all(np.isfinite(mesh.vertices)):
        raise ScenegenError(f"{path}: the mesh has non-finite vertices")
    return mesh

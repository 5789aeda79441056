"""Asset packs: a folder with a manifest and mesh files, found by name or path, merged into a catalog.

The built-in packs (``assets/``), packs installed as Python packages (entry-point group
``scenegen.asset_packs``) and pack folders named in the config all go through the same code. Every
path a pack uses, its manifest's meshes and the textures and buffers those meshes reference, must stay
inside the pack folder; meshes are checked for faces, finite vertices, a face-count and a file-size
limit, and are loaded once per process.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import trimesh
from trimesh.resolvers import FilePathResolver

from scenegen.assets.manifest import AssetEntry, Manifest, find_manifest, read_manifest
from scenegen.config.schema import ObjectsConfig
from scenegen.errors import ScenegenError
from scenegen.paths import assets_dir

ENTRY_POINT_GROUP = "scenegen.asset_packs"
UP_ROTATIONS = {  # (3, 3) rotation taking each up axis to +Z
    "z": np.eye(3),
    "-z": np.diag([1.0, -1.0, -1.0]),
    "y": np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]),
    "-y": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
    "x": np.array([[0, 0, -1.0], [0, 1.0, 0], [1.0, 0, 0]]),
    "-x": np.array([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]]),
}


@dataclass(frozen=True)
class MeshLimits:
    """The largest mesh a pack may hold: face count and file size (``objects.max_mesh_*`` in the config)."""

    max_faces: int
    max_megabytes: float

    @classmethod
    def of(cls, objects: ObjectsConfig) -> MeshLimits:
        return cls(objects.max_mesh_faces, objects.max_mesh_megabytes)


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

    def load_mesh(self) -> trimesh.Trimesh:
        """The mesh in its model frame (the file's coordinates), unscaled; loaded and checked once per process."""
        return _load_mesh(self.mesh_path, self.pack, self.pack_root, self.limits)

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
        transforms of the model frame; computed once per process."""
        mesh = self.load_mesh()
        upright = mesh.copy().apply_transform(self.up_rotation)
        transforms, probs = trimesh.poses.compute_stable_poses(upright)
        transforms = np.asarray(transforms, dtype=float) @ self.up_rotation
        radii = [np.max(np.linalg.norm(trimesh.transform_points(mesh.vertices, t)[:, :2], axis=1)) for t in transforms]
        return RestingPoses(transforms, np.asarray(probs) / np.sum(probs), np.asarray(radii))


@dataclass(frozen=True)
class RestingPoses:
    """Stable poses: ``transforms`` (n, 4, 4), ``probabilities`` (n,), and ``radii`` (n,), the
    radius of the footprint's bounding circle about the pose's origin, in model units."""

    transforms: np.ndarray
    probabilities: np.ndarray
    radii: np.ndarray


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    root: Path
    classes: dict[str, str]  # class name -> supercategory
    assets: tuple[Asset, ...]


@dataclass(frozen=True)
class Catalog:
    """The classes and assets of all packs in use; category ids start at 1 in ``classes`` order."""

    classes: tuple[str, ...]
    supercategories: dict[str, str]
    assets_by_class: dict[str, tuple[Asset, ...]]

    def category_id(self, class_name: str) -> int:
        return self.classes.index(class_name) + 1

    def asset(self, asset_id: str) -> Asset:
        return self._by_id[asset_id]

    def categories(self) -> list[dict[str, object]]:
        """COCO categories: ``{"id", "name", "supercategory"}``, ids from 1."""
        return [{"id": i, "name": c, "supercategory": self.supercategories[c]} for i, c in enumerate(self.classes, 1)]

    @cached_property
    def _by_id(self) -> dict[str, Asset]:
        return {asset.id: asset for assets in self.assets_by_class.values() for asset in assets}


def installed_packs() -> dict[str, Path]:
    """Packs of installed Python packages: entry point name -> the folder of the package it names.

    The package is located, never imported: nothing of it runs.
    """
    found = {}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        top, *inner = entry.value.split(":")[0].strip().split(".")
        spec = importlib.util.find_spec(top)  # a top-level name: finding it imports nothing
        if spec is not None and spec.submodule_search_locations:
            found[entry.name] = Path(next(iter(spec.submodule_search_locations)), *inner)
    return found


def builtin_packs() -> dict[str, Path]:
    return {p.name: p for p in sorted(assets_dir().iterdir()) if find_manifest(p) is not None}


def pack_path(name: str) -> Path:
    """A pack's folder: a built-in pack's name, an installed pack's name, or a folder path."""
    return {**installed_packs(), **builtin_packs()}.get(name, Path(name).expanduser())


def check_pack(root: Path, limits: MeshLimits, load_meshes: bool = True) -> tuple[Pack | None, list[str]]:
    """Read the pack at ``root`` and check it: the pack (None if unusable) and every problem, one line each.

    With ``load_meshes`` every mesh is loaded and checked too (as rendering would)."""
    manifest_file = find_manifest(root)
    if manifest_file is None:
        return None, [f"{root}: no asset pack here (no manifest.json or manifest.yaml)"]
    manifest, problems = read_manifest(manifest_file)
    problems = [f"{manifest_file}: {p}" for p in problems]
    if manifest is None:
        return None, problems  # nothing more to check
    assets = []
    for entry in manifest.assets:
        mesh_path, problem = _mesh_path(root, entry)
        if problem is None and load_meshes:
            try:
                _load_mesh(mesh_path, manifest.name, root.resolve(), limits)
            except ScenegenError as err:
                problem = f"{err} (asset {entry.id!r})"
        if problem is not None:
            problems.append(problem)
            continue
        assets.append(_asset(entry, mesh_path, manifest, root.resolve(), limits))
    pack = Pack(manifest.name, manifest.version, root, manifest.classes, tuple(assets))
    return (None if problems else pack), problems


def load_pack(root: Path, limits: MeshLimits) -> Pack:
    """The pack at ``root``, its manifest checked (meshes load on first use); ScenegenError on the first problem."""
    pack, problems = check_pack(root, limits, load_meshes=False)
    if problems:
        raise ScenegenError(problems[0])
    return pack  # type: ignore[return-value]


def build_catalog(pack_names: list[str], classes: list[str], limits: MeshLimits) -> Catalog:
    """Merge packs into one catalog, classes matched by name, keeping only ``classes`` (all when empty)."""
    by_class: dict[str, list[Asset]] = {}
    supercategories: dict[str, tuple[str, str]] = {}  # class -> (supercategory, pack that defined it)
    for name in pack_names:
        root = pack_path(name)
        if find_manifest(root) is None:
            raise ScenegenError(
                f"config: objects.packs: no asset pack {name!r} (not built in, installed, or a pack folder)"
            )
        pack = load_pack(root, limits)
        for class_name, supercategory in pack.classes.items():
            earlier = supercategories.setdefault(class_name, (supercategory, pack.name))
            if earlier[0] != supercategory:
                raise ScenegenError(
                    f"class {class_name!r} is defined twice: supercategory {earlier[0]!r} in pack {earlier[1]!r}, "
                    f"{supercategory!r} in pack {pack.name!r}"
                )
        for asset in pack.assets:
            by_class.setdefault(asset.class_name, []).append(asset)
    unknown = [c for c in classes if c not in by_class]
    if unknown:
        raise ScenegenError(f"objects.classes: unknown class {unknown[0]!r}; the packs have {sorted(by_class)}")
    ids = [a.id for assets in by_class.values() for a in assets]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ScenegenError(f"objects.packs: asset id {duplicates[0]!r} appears in more than one pack")
    chosen = sorted(classes or by_class)
    return Catalog(
        classes=tuple(chosen),
        supercategories={c: supercategories[c][0] for c in chosen},
        assets_by_class={c: tuple(by_class[c]) for c in chosen},
    )


def _mesh_path(root: Path, entry: AssetEntry) -> tuple[Path, str | None]:
    where = f"{find_manifest(root)}: asset {entry.id!r}: mesh {entry.mesh!r}"
    if Path(entry.mesh).is_absolute():
        return Path(entry.mesh), f"{where}: absolute paths are not allowed; give a path inside the pack"
    path = (root / entry.mesh).resolve()
    if not path.is_relative_to(root.resolve()):
        return path, f"{where}: leaves the pack folder (.. or a symbolic link pointing out)"
    if not path.is_file():
        return path, f"{where}: no such file"
    return path, None


def _asset(entry: AssetEntry, mesh_path: Path, manifest: Manifest, root: Path, limits: MeshLimits) -> Asset:
    return Asset(
        id=entry.id,
        class_name=entry.class_name,
        mesh_path=mesh_path,
        pack=manifest.name,
        pack_root=root,
        target_size=entry.target_size,
        scale=entry.scale,
        up_axis=entry.up_axis,
        keep_material=entry.keep_material,
        limits=limits,
    )


class _PackResolver(FilePathResolver):
    """Resolves the files a mesh references (MTL, textures, buffers) inside the pack folder only,
    and remembers any reference that tried to leave it."""

    def __init__(self, mesh_path: Path, pack_root: Path):
        super().__init__(str(mesh_path), allow_anywhere=True)
        self.pack_root = pack_root
        self.escapes: list[str] = []

    def absolute(self, name: str) -> Path:
        path = super().absolute(name)
        if not path.is_relative_to(self.pack_root):
            self.escapes.append(name)
            raise ValueError(f"{name!r} leaves the pack folder")
        return path


@cache
def _load_mesh(path: Path, pack: str, pack_root: Path, limits: MeshLimits) -> trimesh.Trimesh:
    where = f"pack {pack!r} at {pack_root}: {path.relative_to(pack_root)}"
    size = path.stat().st_size
    if size == 0:
        raise ScenegenError(f"{where}: the file is empty")
    if size > limits.max_megabytes * 1e6:
        raise ScenegenError(f"{where}: {size / 1e6:.1f} MB is over the limit of {limits.max_megabytes} MB")
    resolver = _PackResolver(path, pack_root)
    try:
        mesh = trimesh.load(str(path), force="mesh", resolver=resolver)
    except Exception as err:  # trimesh raises many types for bad files
        raise ScenegenError(f"{where}: cannot load as a mesh ({' '.join(str(err).split())[:160]})") from None
    if resolver.escapes:
        raise ScenegenError(f"{where}: references {resolver.escapes[0]!r}, outside the pack folder")
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ScenegenError(f"{where}: the mesh has no faces")
    if len(mesh.faces) > limits.max_faces:
        raise ScenegenError(f"{where}: {len(mesh.faces)} faces is over the limit of {limits.max_faces}")
    if not np.all(np.isfinite(mesh.vertices)):
        raise ScenegenError(f"{where}: the mesh has non-finite vertices")
    if np.max(mesh.extents) <= 0:
        raise ScenegenError(f"{where}: the mesh is degenerate (zero size)")
    return mesh

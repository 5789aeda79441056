"""Asset packs: a folder with a manifest and mesh files, found by name or path, merged into a catalog.

The built-in packs (``assets/``), packs installed as Python packages (entry-point group
``scenegen.asset_packs``) and pack folders named in the config all go through the same code. Every
path a pack uses, its manifest's meshes and the textures and buffers those meshes reference, must stay
inside the pack folder; meshes are checked for faces, finite vertices (in the file as written, before
trimesh cleans anything away), a face-count limit, a limit on the bytes of the mesh and every file it
references, a limit on texture pixels (checked before a texture is decoded), a size in metres between
``MIN_SIZE`` and ``MAX_SIZE``, and resting poses that can be found; each is loaded once per process.
``Asset.check`` computes everything a render will need from an asset, so that a pack ``scenegen pack
validate`` calls ok renders.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import PIL.Image
import trimesh
from trimesh.resolvers import FilePathResolver

from scenegen.assets.families import Variant
from scenegen.assets.manifest import MAX_SIZE, MIN_SIZE, AssetEntry, Manifest, find_manifest, read_manifest
from scenegen.assets.pose_cache import pose_path, read_poses, write_poses
from scenegen.assets.stable import stable_poses
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
    """What a pack may hold (``objects.max_*`` in the config): faces per mesh, megabytes per mesh with
    the files it references, pixels per texture, convex-hull faces for resting poses (a mesh whose hull
    has more is given the poses of a simplified hull), manifest kilobytes and expanded manifest nodes."""

    max_faces: int
    max_megabytes: float
    max_texture_pixels: int
    max_pose_hull_faces: int
    max_manifest_kilobytes: float
    max_manifest_nodes: int

    @classmethod
    def of(cls, objects: ObjectsConfig) -> MeshLimits:
        return cls(
            objects.max_mesh_faces,
            objects.max_mesh_megabytes,
            objects.max_texture_pixels,
            objects.max_pose_hull_faces,
            objects.max_manifest_kilobytes,
            objects.max_manifest_nodes,
        )


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
        return _load_mesh(self.mesh_path, self.pack, self.pack_root, self.limits)

    def check(self, resting: bool = True) -> None:
        """Compute now everything a render computes from this asset (mesh, size, bounding sphere, and with
        ``resting`` its resting poses); ScenegenError naming the asset when any of it fails."""
        extent = float(np.max(self.load_mesh().extents))
        size = self.unit_scale * extent
        if not MIN_SIZE <= size <= MAX_SIZE:
            given = f"target_size {self.target_size:g}" if self.scale is None else f"scale {self.scale:g}"
            raise ScenegenError(
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
        path = pose_path(self.pose_cache, self.load_mesh())
        cached = read_poses(path)
        if cached is not None:
            return RestingPoses(*cached)
        poses = self._stable_poses()
        try:
            write_poses(path, poses.transforms, poses.probabilities, poses.radii)
        except OSError as err:
            raise ScenegenError(f"resting pose cache {path.parent}: cannot write ({err.strerror})") from None
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
            raise ScenegenError(
                f"{self.where}: no resting poses can be found: the mesh is flat or degenerate, its convex hull "
                f"has no volume ({type(err).__name__})"
            ) from None
        transforms = np.asarray(transforms, dtype=float)
        for transform in transforms if simplified else []:  # the mesh, not the simplified hull, rests on z = 0
            transform[2, 3] -= trimesh.transform_points(hull.vertices, transform)[:, 2].min()
        transforms = transforms @ self.up_rotation
        radii = [np.max(np.linalg.norm(mesh.vertices @ t[:2, :3].T + t[:2, 3], axis=1)) for t in transforms]
        probabilities = np.asarray(probs, dtype=float)
        finite = len(transforms) and np.isfinite(transforms).all() and np.isfinite(probabilities).all()
        if not (finite and probabilities.sum() > 0 and np.isfinite(radii).all()):
            raise ScenegenError(f"{self.where}: its resting poses are not finite numbers (a degenerate mesh?)")
        return RestingPoses(transforms, probabilities / probabilities.sum(), np.asarray(radii))


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


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    root: Path
    classes: dict[str, str]  # class name -> supercategory
    assets: tuple[Asset, ...]


@dataclass(frozen=True)
class Catalog:
    """The classes and assets of all packs in use; category ids start at 1 in ``classes`` order. ``variants``:
    the shapes an asset with a shape family is drawn as, by the asset's id (``scenegen.assets.shapes``)."""

    classes: tuple[str, ...]
    supercategories: dict[str, str]
    assets_by_class: dict[str, tuple[Asset, ...]]
    variants: dict[str, tuple[Asset, ...]] = field(default_factory=dict)

    def category_id(self, class_name: str) -> int:
        return self.classes.index(class_name) + 1

    def asset(self, asset_id: str) -> Asset:
        return self._by_id[asset_id]

    def categories(self) -> list[dict[str, object]]:
        """COCO categories: ``{"id", "name", "supercategory"}``, ids from 1."""
        return [{"id": i, "name": c, "supercategory": self.supercategories[c]} for i, c in enumerate(self.classes, 1)]

    @cached_property
    def _by_id(self) -> dict[str, Asset]:
        every = [*self.assets_by_class.values(), *self.variants.values()]
        return {asset.id: asset for assets in every for asset in assets}


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
    """A pack's folder: a name with a path separator is always a folder path (an installed package cannot
    shadow it with an entry point of that name); else a built-in pack's name, an installed pack's, or a
    folder path."""
    if "/" in name or os.sep in name:
        return Path(name).expanduser()
    return {**installed_packs(), **builtin_packs()}.get(name, Path(name).expanduser())


def check_pack(root: Path, limits: MeshLimits, load_meshes: bool = True) -> tuple[Pack | None, list[str]]:
    """Read the pack at ``root`` and check it: the pack (None if unusable) and every problem, one line each.

    With ``load_meshes`` every mesh is loaded and checked too (as rendering would)."""
    manifest_file = find_manifest(root)
    if manifest_file is None:
        return None, [f"{root}: no asset pack here (no manifest.json or manifest.yaml)"]
    manifest, problems = read_manifest(manifest_file, limits.max_manifest_kilobytes, limits.max_manifest_nodes)
    problems = [f"{manifest_file}: {p}" for p in problems]
    if manifest is None:
        return None, problems  # nothing more to check
    assets = []
    for entry in manifest.assets:
        mesh_path, problem = _mesh_path(root, entry)
        if problem is None and load_meshes:
            try:
                _asset(entry, mesh_path, manifest, root.resolve(), limits).check()
            except ScenegenError as err:
                problem = str(err) if f"(asset {entry.id!r})" in str(err) else f"{err} (asset {entry.id!r})"
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
    """Resolves the files a mesh references (MTL, textures, buffers) inside the pack folder only, counting
    their bytes with the mesh file's against ``max_bytes``; remembers each reference that tried to leave
    the pack or went over the limit (trimesh catches some errors and carries on without the file)."""

    def __init__(self, mesh_path: Path, pack_root: Path, max_bytes: float):
        super().__init__(str(mesh_path), allow_anywhere=True)
        self.pack_root = pack_root
        self.max_bytes = max_bytes
        self.read = {mesh_path: mesh_path.stat().st_size}  # file -> bytes
        self.problems: list[str] = []

    def absolute(self, name: str) -> Path:
        path = super().absolute(name)
        if not path.is_relative_to(self.pack_root):
            self.problems.append(f"references {name!r}, outside the pack folder")
            raise ValueError(f"{name!r} leaves the pack folder")
        return path

    def get(self, name: str) -> bytes:
        """The bytes of the file ``name`` (as written, else without a leading /, else its base name, as
        trimesh's own resolver tries), once the total is known to stay within ``max_bytes``."""
        for candidate in (name.strip(), name.strip().lstrip("/"), os.path.split(name)[-1]):
            try:
                path = self.absolute(candidate)
            except ValueError:
                continue
            if path.is_file():
                self.read[path] = path.stat().st_size
                total = sum(self.read.values())
                if total > self.max_bytes:
                    self.problems.append(
                        f"{total / 1e6:.1f} MB with the files it references ({name!r} included) is over the "
                        f"limit of {self.max_bytes / 1e6:g} MB (objects.max_mesh_megabytes)"
                    )
                    raise ValueError(f"{name!r}: over the size limit")
                return path.read_bytes()
        raise FileNotFoundError(name)


@contextlib.contextmanager
def _texture_pixel_limit(max_pixels: int) -> Iterator[list[str]]:
    """While trimesh loads a mesh: Pillow refuses any image of more than ``max_pixels`` from its header,
    before decoding it, and each refusal is collected in the list yielded, even one trimesh catches and
    only logs (it then carries on without the texture)."""
    refused: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info and isinstance(record.exc_info[1], _BOMBS):
                refused.append(str(record.exc_info[1]))

    logger, handler = logging.getLogger("trimesh"), Collect()
    saved = logger.level, logger.propagate, PIL.Image.MAX_IMAGE_PIXELS
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # trimesh logs the errors it catches at debug level
    logger.propagate = False  # ... which must not reach the application's own log meanwhile
    PIL.Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)  # over the limit: refused
            yield refused
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])  # not `logger.level =`: setLevel also clears logging's cache of enabled levels
        logger.propagate, PIL.Image.MAX_IMAGE_PIXELS = saved[1:]


_BOMBS = (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning)


@cache
def _load_mesh(path: Path, pack: str, pack_root: Path, limits: MeshLimits) -> trimesh.Trimesh:
    where = f"pack {pack!r} at {pack_root}: {path.relative_to(pack_root)}"
    size = path.stat().st_size
    if size == 0:
        raise ScenegenError(f"{where}: the file is empty")
    if size > limits.max_megabytes * 1e6:
        raise ScenegenError(f"{where}: {size / 1e6:.1f} MB is over the limit of {limits.max_megabytes} MB")
    resolver = _PackResolver(path, pack_root, limits.max_megabytes * 1e6)
    with _texture_pixel_limit(limits.max_texture_pixels) as refused:
        try:  # unprocessed: trimesh would drop faces at non-finite vertices without a word
            mesh = trimesh.load(str(path), force="mesh", resolver=resolver, process=False)
        except _BOMBS as err:
            refused.append(str(err))
        except Exception as err:  # trimesh raises many types for bad files
            if not resolver.problems:
                raise ScenegenError(f"{where}: cannot load as a mesh ({' '.join(str(err).split())[:160]})") from None
    if resolver.problems:
        raise ScenegenError(f"{where}: {resolver.problems[0]}")
    if refused:
        found = re.search(r"\((\d+) pixels\)", refused[0])  # Pillow's message: "Image size (N pixels) ..."
        size = f"a texture of {found[1]} pixels" if found else "a texture"
        raise ScenegenError(
            f"{where}: {size} is over the limit of {limits.max_texture_pixels} (objects.max_texture_pixels)"
        )
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ScenegenError(f"{where}: the mesh has no faces")
    if len(mesh.faces) > limits.max_faces:
        raise ScenegenError(f"{where}: {len(mesh.faces)} faces is over the limit of {limits.max_faces}")
    used = np.unique(mesh.faces)
    if used.min() < 0 or used.max() >= len(mesh.vertices):
        raise ScenegenError(f"{where}: a face refers to a vertex the file does not have")
    bad = np.flatnonzero(~np.all(np.isfinite(mesh.vertices), axis=1))
    if len(bad):
        raise ScenegenError(f"{where}: the mesh has non-finite vertices, e.g. {mesh.vertices[bad[0]].tolist()}")
    mesh.process()  # as trimesh.load(process=True) would: merge duplicate vertices (all finite now)
    if np.max(mesh.extents) <= 0:
        raise ScenegenError(f"{where}: the mesh is degenerate (zero size)")
    return mesh

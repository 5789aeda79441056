"""Asset packs: a folder with a manifest and mesh files, found by name or path, read and checked.

The built-in packs (``assets/``), packs installed as Python packages (entry-point group
``scenegen.asset_packs``) and pack folders named in the config all go through the same code. The meshes a
manifest names must stay inside the pack folder (``mesh_file`` keeps the files they reference there too).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from scenegen.assets.asset import Asset
from scenegen.assets.limits import MeshLimits
from scenegen.assets.manifest import AssetEntry, Manifest, find_manifest, read_manifest
from scenegen.errors import AssetError, ScenegenError
from scenegen.paths import assets_dir

ENTRY_POINT_GROUP = "scenegen.asset_packs"


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    root: Path
    classes: dict[str, str]  # class name -> supercategory
    assets: tuple[Asset, ...]


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
            except ScenegenError as err:  # it names the asset
                problem = str(err)
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
        raise AssetError(problems[0])
    return pack  # type: ignore[return-value]


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

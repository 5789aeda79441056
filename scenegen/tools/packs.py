"""``scenegen pack``: start a pack from a folder of meshes, validate a pack (and precompute its collision
shapes), list the packs in reach."""

from __future__ import annotations

import json
import shlex
import shutil
import textwrap
import unicodedata
from pathlib import Path

import trimesh
import yaml

from scenegen.assets.collision import collision_shape
from scenegen.assets.limits import MeshLimits
from scenegen.assets.manifest import MESH_SUFFIXES
from scenegen.assets.packs import builtin_packs, check_pack, installed_packs, pack_path
from scenegen.config.schema import CollisionConfig
from scenegen.errors import AssetError, ScenegenError

MESHES = "meshes"


def new_pack(dest: Path, source: Path, target_size: float) -> tuple[Path, int]:
    """Copy ``source`` into ``dest/meshes`` and write ``dest/manifest.yaml`` with one asset per mesh file:
    class = the mesh's first sub-folder under ``source`` (or its file name), size ``target_size`` metres.
    Return the manifest's path and the number of assets. Names go into the manifest as YAML strings, whatever
    they hold; a name with a control character (a newline, a tab) is refused before anything is written."""
    if not source.is_dir():
        raise AssetError(f"--from {source}: not a folder")
    if dest.exists() and any(dest.iterdir()):
        raise AssetError(f"{dest}: exists and is not empty; choose a new folder for the pack")
    meshes = sorted(p.relative_to(source) for p in source.rglob("*") if p.suffix.lower() in MESH_SUFFIXES)
    if not meshes:
        raise AssetError(f"--from {source}: no mesh files ({', '.join(MESH_SUFFIXES)})")
    for name, where in ((str(dest), "the pack folder"), *((m.as_posix(), f"--from {source}") for m in meshes)):
        if any(unicodedata.category(c) == "Cc" for c in name):
            raise AssetError(f"{where}: {name!r} has a control character; rename it")
    shutil.copytree(source, dest / MESHES, symlinks=False, dirs_exist_ok=True)
    lines = [
        f"# Asset pack made by `scenegen pack new` from {json.dumps(str(source.resolve()), ensure_ascii=False)}.",
        "# Edit freely: class names, target_size (metres of the largest extent) or scale, up_axis,",
        f"# keep_material, tags. Check it with `scenegen pack validate {shlex.quote(str(dest))}`.",
        _yaml({"name": dest.resolve().name, "version": "0.1.0"}),
        "assets:",
    ]
    for relative in meshes:
        asset = {
            "id": "_".join(relative.with_suffix("").parts),
            "class": relative.parts[0] if len(relative.parts) > 1 else relative.stem,
            "mesh": (Path(MESHES) / relative).as_posix(),
            "target_size": target_size,
            "up_axis": "z",
        }
        lines += [f"  # file extents: {_extents(source / relative)}", textwrap.indent(_yaml([asset]), "  ")]
    manifest = dest / "manifest.yaml"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest, len(meshes)


def _yaml(data: object) -> str:
    """``data`` as block YAML without a trailing newline: any string quoted as YAML needs, UTF-8 kept."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1_000_000).rstrip("\n")


def _extents(path: Path) -> str:
    try:
        return " x ".join(f"{e:.4g}" for e in trimesh.load(str(path), force="mesh").extents)
    except Exception:  # the manifest is a draft: validate reports the file properly
        return "unreadable"


def validate_pack(
    path: Path, limits: MeshLimits, collision: CollisionConfig | None = None, cache_dir: Path | None = None
) -> list[str]:
    """Every problem of the pack at ``path`` (a name or folder), meshes loaded and checked; empty when fine.
    With ``collision``, every mesh's collision shape is computed too, or read, from ``cache_dir``."""
    pack, problems = check_pack(pack_path(str(path)), limits)
    if pack is not None and collision is not None and cache_dir is not None:
        for asset in pack.assets:
            try:
                collision_shape(asset, collision, cache_dir)
            except ScenegenError as err:
                problems.append(str(err))
    return problems


def describe_packs(configured: list[str], limits: MeshLimits) -> list[str]:
    """One block of lines per pack: the configured ones first, then every other built-in or installed pack."""
    names = list(dict.fromkeys([*configured, *builtin_packs(), *installed_packs()]))
    lines = []
    for name in names:
        pack, problems = check_pack(pack_path(name), limits, load_meshes=False)
        use = "in use" if name in configured else "available"
        if pack is None:
            lines.append(f"{name}  [{use}]  BROKEN: {problems[0]}")
            continue
        lines.append(f"{pack.name} {pack.version}  [{use}]  {pack.root}")
        for class_name in sorted(pack.classes):
            count = sum(a.class_name == class_name for a in pack.assets)
            lines.append(f"    {class_name:<20} {count} asset{'s' * (count != 1)}")
    return lines

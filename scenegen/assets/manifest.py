"""Asset-pack manifests: data only, read from JSON or YAML and checked field by field.

A manifest (``manifest.json``, ``manifest.yaml`` or ``manifest.yml`` at the pack's root)::

    name: my-pack                # required
    version: 1.0.0               # required
    description: optional text
    classes:                     # optional: names, or {name, supercategory}
      - mug
      - {name: bolt, supercategory: hardware}
    assets:                      # required, non-empty
      - id: mug_01               # unique within the pack
        class: mug
        mesh: meshes/mug_01.obj  # relative to the pack; OBJ (+MTL, textures), PLY, STL, GLB/GLTF, OFF
        target_size: 0.12        # metres of the largest extent; or scale: 0.001 (file units -> metres)
        up_axis: y               # the mesh's up axis, turned to +Z to find stable poses: x, y, z, -x, -y, -z
                                 # (default z); labelled poses stay in the file's coordinates
        keep_material: false     # true: always render the mesh's own colours and textures
        tags: [kitchen]

Nothing in a manifest is imported, evaluated or instantiated; unknown keys are errors. A manifest may not
exceed ``objects.max_manifest_kilobytes``, nor expand (YAML anchors and aliases followed) to more than
``objects.max_manifest_nodes`` nodes: an alias bomb is refused before it is built, and no message ever
shows more than a short prefix of a value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scenegen.errors import shown

MANIFEST_NAMES = ("manifest.json", "manifest.yaml", "manifest.yml")
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".off")
UP_AXES = ("x", "y", "z", "-x", "-y", "-z")
PACK_KEYS = {"name", "version", "description", "classes", "assets"}
ASSET_KEYS = {"id", "class", "mesh", "target_size", "scale", "up_axis", "keep_material", "tags"}
DEFAULT_SUPERCATEGORY = "object"
MIN_SIZE, MAX_SIZE = 1e-4, 1e3  # metres: the largest extent of an asset, as target_size or scale x the mesh's


@dataclass(frozen=True)
class AssetEntry:
    """One asset as the manifest declares it; ``mesh`` is still the manifest's relative path."""

    id: str
    class_name: str
    mesh: str
    target_size: float | None
    scale: float | None
    up_axis: str
    keep_material: bool
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    classes: dict[str, str]  # class name -> supercategory
    assets: tuple[AssetEntry, ...]


def find_manifest(root: Path) -> Path | None:
    """The manifest file of the pack folder ``root``, or None."""
    return next((root / name for name in MANIFEST_NAMES if (root / name).is_file()), None)


def read_manifest(path: Path, max_kilobytes: float, max_nodes: int) -> tuple[Manifest | None, list[str]]:
    """Parse and check ``path``: every problem found, one line each, and the manifest of the well-formed
    assets (None when the file is unusable), so that a caller can check those further."""
    try:
        size = path.stat().st_size
        if size > max_kilobytes * 1000:
            limit = f"the limit of {max_kilobytes} kB (objects.max_manifest_kilobytes)"
            return None, [f"{size / 1000:.1f} kB is over {limit}"]
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else _load_yaml(text, max_nodes)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        return None, [f"cannot parse: {_one_line(err)}"]
    except RecursionError:
        return None, ["cannot parse: nested too deeply"]
    if not isinstance(data, dict):
        return None, ["the manifest must be a mapping with name, version and assets"]
    problems = [f"unknown key {shown(key)}" for key in sorted(set(data) - PACK_KEYS, key=str)]
    for key in ("name", "version"):
        if not isinstance(data.get(key), (str, int, float)) or not str(data.get(key)).strip():
            problems.append(f"{key}: required, a non-empty string")
    classes, class_problems = _classes(data.get("classes", []))
    problems += class_problems
    entries = data.get("assets")
    if not isinstance(entries, list) or not entries:
        return None, [*problems, "assets: required, a non-empty list"]
    assets, ids = [], set()
    for i, entry in enumerate(entries):
        asset, asset_problems = _asset(entry, f"assets[{i}]")
        problems += asset_problems
        if asset is None:
            continue
        if asset.id in ids:
            problems.append(f"assets[{i}]: duplicate id {asset.id!r}")
        ids.add(asset.id)
        if data.get("classes") and asset.class_name not in classes:
            problems.append(f"assets[{i}] ({asset.id}): class {asset.class_name!r} is not in classes")
        assets.append(asset)
    for asset in assets:
        classes.setdefault(asset.class_name, DEFAULT_SUPERCATEGORY)
    name, version = str(data.get("name") or path.parent.name), str(data.get("version", ""))
    return Manifest(name, version, classes, tuple(assets)), problems


def _load_yaml(text: str, max_nodes: int) -> Any:
    """``yaml.safe_load`` of ``text``, refusing a document that expands to more than ``max_nodes`` nodes
    (each alias counted as the whole node it repeats) before any Python object is built."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, max_nodes) > max_nodes:
            raise ValueError(
                f"it expands to more than {max_nodes} nodes through its YAML aliases (objects.max_manifest_nodes)"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` stands for with every alias expanded, counted up to just past ``limit``
    (each distinct node is visited once, so an alias bomb costs no more than its text; a node that
    contains itself counts as past the limit)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        if isinstance(node, yaml.ScalarNode):
            sizes[id(stack.pop())] = 1
            continue
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        if any(id(child) in open_nodes for child in children):
            return limit + 1  # recursive: infinite when expanded
        waiting = [child for child in children if id(child) not in sizes]
        if waiting:
            open_nodes.add(id(node))
            stack.extend(waiting)
            continue
        stack.pop()
        open_nodes.discard(id(node))
        sizes[id(node)] = min(limit + 1, 1 + sum(sizes[id(child)] for child in children))
    return sizes[id(root)]


def _classes(value: Any) -> tuple[dict[str, str], list[str]]:
    if not isinstance(value, list):
        return {}, ["classes: a list of names or {name, supercategory}"]
    classes, problems = {}, []
    for i, item in enumerate(value):
        if isinstance(item, str) and item:
            classes[item] = DEFAULT_SUPERCATEGORY
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and set(item) <= {"name", "supercategory"}:
            classes[item["name"]] = str(item.get("supercategory", DEFAULT_SUPERCATEGORY))
        else:
            problems.append(f"classes[{i}]: a name or {{name, supercategory}}, got {shown(item)}")
    return classes, problems


def _asset(entry: Any, where: str) -> tuple[AssetEntry | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"{where}: a mapping with id, class, mesh and target_size or scale"]
    where = f"{where} ({entry['id']})" if isinstance(entry.get("id"), str) else where
    problems = [f"{where}: unknown key {shown(key)}" for key in sorted(set(entry) - ASSET_KEYS, key=str)]
    for key in ("id", "class", "mesh"):
        if not isinstance(entry.get(key), str) or not entry.get(key):
            problems.append(f"{where}: {key}: required, a non-empty string")
    size = {key: entry[key] for key in ("target_size", "scale") if key in entry}
    if len(size) != 1:
        problems.append(f"{where}: give exactly one of target_size (metres) and scale")
    for key, value in size.items():
        if not _positive_number(value):
            problems.append(f"{where}: {key} = {shown(value)} must be a finite number > 0")
        elif key == "target_size" and not MIN_SIZE <= value <= MAX_SIZE:
            problems.append(f"{where}: target_size = {shown(value)} must be between {MIN_SIZE} and {MAX_SIZE} metres")
    up_axis = entry.get("up_axis", "z")
    if up_axis not in UP_AXES:
        problems.append(f"{where}: up_axis = {shown(up_axis)} must be one of {list(UP_AXES)}")
    if not isinstance(entry.get("keep_material", False), bool):
        problems.append(f"{where}: keep_material must be true or false")
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"{where}: tags must be a list of strings")
    mesh = entry.get("mesh")
    if isinstance(mesh, str) and mesh and Path(mesh).suffix.lower() not in MESH_SUFFIXES:
        problems.append(f"{where}: mesh {mesh!r}: unsupported file type; use one of {list(MESH_SUFFIXES)}")
    if problems:
        return None, problems
    return AssetEntry(
        id=entry["id"],
        class_name=entry["class"],
        mesh=mesh,
        target_size=float(size["target_size"]) if "target_size" in size else None,
        scale=float(size["scale"]) if "scale" in size else None,
        up_axis=up_axis,
        keep_material=entry.get("keep_material", False),
        tags=tuple(tags),
    ), []


def _positive_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:  # an integer beyond any float
        return False


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:200]

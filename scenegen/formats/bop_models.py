"""The models of a BOP export: ``models/`` (PLY meshes in millimetres, ``models_info.json``).

**Models.** ``obj_id`` names one model, and instances of one asset are drawn at different sizes
(``objects.size_scale``), so there is one model per distinct (asset, scale) of the dataset, numbered from 1
in (asset id, scale) order. A run with one size per asset (``objects.size_scale=[1,1]``, or any one value)
gets one model per asset, as BOP methods expect; with random sizes every instance is its own model. A model
is the record's model (``record_model_mesh``) times the scale, in millimetres, moved so that the centre of its
bounding box is the origin (BOP's model frame); ``cam_t_m2c`` is the record's translation moved likewise.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import cdist

from scenegen.assets.catalog import Catalog
from scenegen.assets.families import build
from scenegen.dataset import atomic
from scenegen.dataset.record import FrameRecord, ObjectLabel, spec_of
from scenegen.errors import ExportError
from scenegen.scene.spec import ObjectSpec

MM_PER_M = 1000.0


def record_model_mesh(catalog: Catalog, obj: ObjectSpec) -> trimesh.Trimesh:
    """The mesh whose points, times an instance's ``scale``, the record's ``cam_R_m2c``, ``cam_t_m2c`` place
    in the camera (metres): the record's shape rebuilt from its family and parameters, else its asset's."""
    if obj.shape is None:
        return catalog.asset(obj.asset_id).load_mesh()
    try:
        return build(obj.shape["family"], obj.shape["params"]).mesh
    except (KeyError, TypeError, ValueError) as err:
        raise ExportError(f"frame record: object {obj.asset_id!r}: its shape cannot be rebuilt ({err})") from None


@dataclass(frozen=True)
class Model:
    """One BOP model: an asset at one scale, in millimetres, with its box centre at the origin."""

    obj_id: int
    asset_id: str
    class_name: str
    category_id: int
    scale: float
    vertices: np.ndarray  # (n, 3) mm, box-centred
    faces: np.ndarray  # (m, 3) vertex indices
    centre: np.ndarray  # (3,) metres: the box centre in the record's (scaled) model frame


def add_models(models: dict[tuple[str, float], Model], record: FrameRecord, catalog: Catalog) -> None:
    """Add to ``models`` one model per (asset id, scale) of ``record`` not in it yet; obj ids count from 1 in
    the order models first appear (frame order, then GTID order)."""
    for ann, obj in record_objects(record):
        key = (obj.asset_id, float(obj.scale))
        if key in models:
            continue
        asset_id, scale = key
        mesh = record_model_mesh(catalog, obj)
        points = np.asarray(mesh.vertices, dtype=float) * scale
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        vertices = (points - centre) * MM_PER_M
        models[key] = Model(
            len(models) + 1, asset_id, ann["class_name"], int(ann["category_id"]), scale, vertices,
            np.asarray(mesh.faces), centre,
        )  # fmt: skip


def model_info(vertices: np.ndarray) -> dict[str, float]:
    """``models_info.json`` entry of (n, 3) model points (mm): the largest distance between two points, and
    the bounding box's minimum and size per axis."""
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    info = {"diameter": _diameter(vertices)}
    info.update({f"min_{axis}": float(v) for axis, v in zip("xyz", low, strict=True)})
    info.update({f"size_{axis}": float(v) for axis, v in zip("xyz", high - low, strict=True)})
    return info


def _diameter(points: np.ndarray) -> float:
    """The largest distance between two of the (n, 3) points (found among their convex hull's vertices)."""
    try:
        points = points[ConvexHull(points).vertices]
    except (QhullError, ValueError):  # flat or too few points: every point is a candidate
        pass
    return float(max(cdist(points[i : i + 1024], points).max() for i in range(0, len(points), 1024)))


def ply_text(vertices: np.ndarray, faces: np.ndarray, comment: str) -> str:
    """An ascii PLY of (n, 3) vertices with angle-weighted vertex normals and (m, 3) triangles."""
    normals = trimesh.Trimesh(vertices, faces, process=False).vertex_normals
    header = [
        "ply",
        "format ascii 1.0",
        f"comment {comment}",
        f"element vertex {len(vertices)}",
        *(f"property float {name}" for name in ("x", "y", "z", "nx", "ny", "nz")),
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    body = io.StringIO()
    np.savetxt(body, np.hstack([vertices, normals]), fmt="%.6f")
    np.savetxt(body, np.hstack([np.full((len(faces), 1), 3), faces]), fmt="%d")
    return "\n".join(header) + "\n" + body.getvalue()


def record_objects(record: FrameRecord) -> list[tuple[ObjectLabel, ObjectSpec]]:
    """(annotation, spec object) pairs of a record, in spec order (GTID order)."""
    pairs = list(zip(record["annotations"], spec_of(record).objects, strict=True))
    if any(ann["instance_id"] != obj.instance_id for ann, obj in pairs):
        raise ExportError(f"frame {record['index']}: its annotations and spec objects are not in one order")
    return pairs


def model_mesh(model: Model) -> trimesh.Trimesh:
    """The model as a mesh: millimetres, box-centred."""
    return trimesh.Trimesh(model.vertices, model.faces, process=False)


def write_models(folder: Path, models: dict[tuple[str, float], Model]) -> None:
    """``models/``: one PLY per model, ``models_info.json`` and ``models_scenegen.json``; not synced (the export
    is, as a whole)."""
    folder.mkdir(parents=True, exist_ok=True)
    info, source = {}, {}
    for model in sorted(models.values(), key=lambda m: m.obj_id):
        comment = f"scenegen asset {model.asset_id} at scale {model.scale!r}, millimetres, origin at the box centre"
        ply = ply_text(model.vertices, model.faces, comment)
        atomic.write_bytes(folder / f"obj_{model.obj_id:06d}.ply", ply.encode(), sync=False)
        info[str(model.obj_id)] = model_info(model.vertices)
        source[str(model.obj_id)] = {
            "asset_id": model.asset_id,
            "class_name": model.class_name,
            "category_id": model.category_id,
            "scale": model.scale,
        }
    atomic.write_json(folder / "models_info.json", info, sync=False)
    atomic.write_json(folder / "models_scenegen.json", source, sync=False)


def models_note(bop_folder: Path) -> str | None:
    """A line for the user when the BOP export has more models than assets (random sizes); None otherwise."""
    source = json.loads((Path(bop_folder) / "models" / "models_scenegen.json").read_text())
    assets = {entry["asset_id"] for entry in source.values()}
    if len(source) == len(assets):
        return None
    return (
        f"bop: {len(source)} models for {len(assets)} assets: an obj_id is one model, and instances were drawn at "
        "random sizes; render with objects.size_scale=[1,1] for one model per asset"
    )

"""A BOP dataset, built from the frame records, the run's images, instance masks and depth, and the meshes.

The layout is BOP's scenewise format (thodan/bop_toolkit, ``docs/bop_datasets_format.md``), everything under
``bop/`` in the dataset::

    camera.json                    fx, fy, cx, cy, width, height, depth_scale of the first frame (BOP: for
                                   sensor simulation only; each image's own K is in scene_camera.json)
    models/obj_OBJID.ply           ascii PLY in millimetres with vertex normals, origin at its box centre
    models/models_info.json        per obj_id: diameter, min_x, min_y, min_z, size_x, size_y, size_z (mm)
    models/models_scenegen.json    per obj_id: the asset, class, category id and scale the model is
    train_pbr/SCENE/               1000 images a scene: frame i is image i % 1000 of scene i // 1000
      rgb/IMID.png                 the image: a hard link to images/ (a copy with ``copy``)
      depth/IMID.png               16-bit millimetres (depth_scale 1.0), 0 where no surface is
      mask/IMID_GTID.png           the object's whole silhouette within the image (255), occlusion ignored
      mask_visib/IMID_GTID.png     its visible part (the instance mask)
      scene_camera.json            cam_K (BOP's pixel convention, below), depth_scale, cam_R_w2c, cam_t_w2c (mm)
      scene_gt.json                per object (GTID = its position): cam_R_m2c, cam_t_m2c (mm), obj_id
      scene_gt_info.json           bbox_obj, bbox_visib, px_count_all, px_count_valid, px_count_visib, visib_fract

**Pixel convention.** bop_toolkit (its renderers' projection matrix, ``calc_gt_info``, BOP's own PBR data)
puts the image origin at the top-left pixel's corner: pixel ``(i, j)`` covers ``[i, i + 1] x [j, j + 1]`` and
its centre is ``(i + 0.5, j + 0.5)``. scenegen's K puts pixel centres at integers, so ``cam_K`` and
``camera.json`` hold the record's K with ``cx + 0.5`` and ``cy + 0.5`` (``bop_K``); focal lengths are the same.

Every frame goes to the one split ``train_pbr`` (the train/val share is for the other formats). Every object
of a frame is a ground-truth entry, whether visible or not.

**Models.** ``obj_id`` names one model, and instances of one asset are drawn at different sizes
(``objects.size_scale``), so there is one model per distinct (asset, scale) of the dataset, numbered from 1
in (asset id, scale) order. A run with one size per asset (``objects.size_scale=[1,1]``, or any one value)
gets one model per asset, as BOP methods expect; with random sizes every instance is its own model. A model
is the record's model (``record_model_mesh``) times the scale, in millimetres, moved so that the centre of its
bounding box is the origin (BOP's model frame); ``cam_t_m2c`` is the record's translation moved likewise.

**Ground-truth info**, in BOP's definitions (bop_toolkit's ``calc_gt_info``), exact from the render rather
than by its depth test: ``px_count_all`` counts the whole silhouette, the part outside the image included
(drawn on a canvas three times the image's width and height, as ``calc_gt_info`` does, so a silhouette is
counted as far as that canvas reaches); ``px_count_visib`` the visible pixels; ``px_count_valid`` the
silhouette's pixels in the image with a depth above 0; ``visib_fract = px_count_visib / px_count_all`` (0 for
an empty silhouette). Boxes are BOP's ``[x, y, w, h]`` with ``w = xmax - xmin`` (pixel indices, not COCO's
``+ 1``): ``bbox_obj`` of the whole silhouette (it may reach outside the image), ``bbox_visib`` of the visible
part; both ``[-1, -1, -1, -1]`` when nothing of the object is visible, as ``calc_gt_info`` writes them.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import trimesh
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import cdist

from scenegen.assets.catalog import Catalog, MeshLimits, build_catalog
from scenegen.assets.families import build
from scenegen.config.schema import Config, RenderConfig
from scenegen.dataset import atomic
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.record import FrameRecord, ObjectLabel, encode_png, file_path, frame_name, image_suffix, spec_of
from scenegen.errors import ScenegenError
from scenegen.formats.job import Export, ExportJob, ExportLink
from scenegen.geometry import world_to_camera_cv
from scenegen.labels.masks import depth_millimetres
from scenegen.labels.rle import decode_rle

if TYPE_CHECKING:
    from scenegen.render.silhouette import SilhouetteRenderer

FOLDER = "bop"
SPLIT = "train_pbr"
SCENE_SIZE = 1000  # images per scene, as BOP's PBR training sets
EMPTY_BOX = [-1, -1, -1, -1]
MM_PER_M = 1000.0
DEPTH_SCALE = 1.0  # depth PNG units in millimetres


def bop_problem(output: dict[str, Any]) -> str | None:
    """What a run's ``output`` config lacks for a BOP export, in one line; None when nothing."""
    if not (output["depth_png"] or output["depth_npy"]):
        return "bop needs the run's depth images: render with output.depth_png=true (or output.depth_npy=true)"
    if not output["amodal"]:
        return "bop needs the unoccluded silhouettes: render with output.amodal=true"
    if not output["instance_masks"]:
        return "bop needs the instance masks: render with output.instance_masks=true"
    return None


def record_model_mesh(catalog: Catalog, obj: dict[str, Any]) -> trimesh.Trimesh:
    """The mesh whose points, times an instance's ``scale``, the record's ``cam_R_m2c``, ``cam_t_m2c`` place
    in the camera (metres): the record's shape rebuilt from its family and parameters, else its asset's."""
    shape = obj.get("shape")
    if shape is None:
        return catalog.asset(obj["asset_id"]).load_mesh()
    try:
        return build(shape["family"], shape["params"]).mesh
    except (KeyError, TypeError, ValueError) as err:
        raise ScenegenError(f"frame record: object {obj['asset_id']!r}: its shape cannot be rebuilt ({err})") from None


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
    for ann, obj in _objects(record):
        key = (obj["asset_id"], float(obj["scale"]))
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


def bop_K(K: Any) -> np.ndarray:
    """(3, 3) K in BOP's convention (origin at the top-left pixel's corner) of a (3, 3) K whose pixel centres
    are at integers (scenegen's, OpenCV's): the principal point moves by half a pixel right and down."""
    K = np.array(K, dtype=float)
    K[0, 2] += 0.5
    K[1, 2] += 0.5
    return K


def _write_camera(out: Path, record: FrameRecord) -> None:
    """``camera.json`` from a frame record (one K for the run), in BOP's pixel convention."""
    out.mkdir(parents=True, exist_ok=True)
    K = bop_K(record["spec"]["camera"]["K"])
    camera = {"cx": K[0, 2], "cy": K[1, 2], "depth_scale": DEPTH_SCALE, "fx": K[0, 0], "fy": K[1, 1]}
    atomic.write_json(out / "camera.json", {**camera, "height": record["height"], "width": record["width"]})


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


def bop_box(mask: np.ndarray, offset: tuple[int, int] = (0, 0)) -> list[int]:
    """BOP box ``[x, y, xmax - xmin, ymax - ymin]`` of a bool mask whose pixel (0, 0) is image pixel
    ``-offset`` (x, y); ``EMPTY_BOX`` when empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return list(EMPTY_BOX)
    x, y = int(cols[0]) - offset[0], int(rows[0]) - offset[1]
    return [x, y, int(cols[-1] - cols[0]), int(rows[-1] - rows[0])]


def scene_camera_entry(record: FrameRecord) -> dict[str, Any]:
    """One image's ``scene_camera.json`` entry."""
    camera = record["spec"]["camera"]
    world_to_camera = world_to_camera_cv(np.asarray(camera["pose"]))
    return {
        "cam_K": _floats(bop_K(camera["K"])),
        "depth_scale": DEPTH_SCALE,
        "cam_R_w2c": _floats(world_to_camera[:3, :3]),
        "cam_t_w2c": _floats(world_to_camera[:3, 3] * MM_PER_M),
    }


def _floats(array: Any) -> list[float]:
    return [float(v) for v in np.asarray(array, dtype=float).ravel()]


def _objects(record: FrameRecord) -> list[tuple[ObjectLabel, dict[str, Any]]]:
    """(annotation, spec object) pairs of a record, in spec order (GTID order)."""
    pairs = list(zip(record["annotations"], record["spec"]["objects"], strict=True))
    if any(ann["instance_id"] != obj["instance_id"] for ann, obj in pairs):
        raise ScenegenError(f"frame {record['index']}: its annotations and spec objects are not in one order")
    return pairs


class _Silhouettes:
    """Whole silhouettes of truncated objects; starts a GL context (``render.silhouette``) when first asked."""

    def __init__(self, render: RenderConfig) -> None:
        self._render = render
        self._renderer: SilhouetteRenderer | None = None

    def canvas_masks(self, record: FrameRecord, posed: list[tuple[Model, Any, Any]]) -> list[np.ndarray]:
        """The canvas silhouette of each (model, R, t): ``t`` (metres) places the model's box centre."""
        if self._renderer is None:
            from scenegen.render import backend

            backend.activate(backend.choose_backend(str(self._render.backend)), self._render.egl_device[0])
            from scenegen.render.silhouette import SilhouetteRenderer  # imports OpenGL: after activate()

            self._renderer = SilhouetteRenderer()
        from scenegen.render.silhouette import PosedModel

        models = [PosedModel(str(m.obj_id), _model_mesh(m), 1.0 / MM_PER_M, R, t) for m, R, t in posed]
        camera = spec_of(record).camera
        return self._renderer.canvas_masks(
            np.asarray(camera.K, dtype=float), camera.width, camera.height, camera.znear, camera.zfar, models
        )

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


def _read_png(path: Path) -> np.ndarray:
    """A frame's 16-bit PNG (ids or depth) as stored: (h, w) uint16; ScenegenError naming it when unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ScenegenError(f"{path}: not a readable PNG; render the frame again (rerun its command)")
    return image


def _frame(
    dataset_dir: Path,
    record: FrameRecord,
    models: dict[tuple[str, float], Model],
    silhouettes: _Silhouettes,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """One image's ``scene_gt`` and ``scene_gt_info`` entries, its (mask, mask_visib) pairs in GTID order,
    and its (h, w) uint16 depth in millimetres."""
    width, height = record["width"], record["height"]
    ids = _read_png(file_path(dataset_dir, record, "instance_mask"))
    if "depth_png" in record["files"]:
        depth = _read_png(file_path(dataset_dir, record, "depth_png"))
    else:
        depth = depth_millimetres(np.load(file_path(dataset_dir, record, "depth_npy")))
    pairs = _objects(record)
    poses = [(np.reshape(ann["cam_R_m2c"], (3, 3)), np.asarray(ann["cam_t_m2c"], dtype=float)) for ann, _ in pairs]
    cut = [i for i, (ann, _) in enumerate(pairs) if ann["truncated"]]
    canvas: dict[int, np.ndarray] = {}
    if cut:
        posed = []
        for i in cut:
            model = models[(pairs[i][1]["asset_id"], float(pairs[i][1]["scale"]))]
            R, t = poses[i]
            posed.append((model, R, t + R @ model.centre))
        canvas = dict(zip(cut, silhouettes.canvas_masks(record, posed), strict=True))
    gt, info, masks = [], [], []
    for i, (ann, obj) in enumerate(pairs):
        model = models[(obj["asset_id"], float(obj["scale"]))]
        R, t = poses[i]
        gt.append(
            {
                "cam_R_m2c": _floats(R),
                "cam_t_m2c": _floats((t + R @ model.centre) * MM_PER_M),
                "obj_id": model.obj_id,
            }
        )
        whole = decode_rle(ann["amodal_segmentation"])
        visible = ids == ann["instance_id"]
        if i in canvas:  # the image part from the render itself, the rest from the canvas
            everywhere = canvas[i]
            everywhere[height : 2 * height, width : 2 * width] = whole
            offset = (width, height)
        else:
            everywhere, offset = whole, (0, 0)
        px_count_all = int(np.count_nonzero(everywhere))
        px_count_visib = int(np.count_nonzero(visible))
        info.append(
            {
                "bbox_obj": bop_box(everywhere, offset) if px_count_visib else list(EMPTY_BOX),
                "bbox_visib": bop_box(visible),
                "px_count_all": px_count_all,
                "px_count_valid": int(np.count_nonzero(whole & (depth > 0))),
                "px_count_visib": px_count_visib,
                "visib_fract": px_count_visib / px_count_all if px_count_all else 0.0,
            }
        )
        masks.append((whole, visible))
    return gt, info, masks, depth


def _model_mesh(model: Model) -> trimesh.Trimesh:
    return trimesh.Trimesh(model.vertices, model.faces, process=False)


def write_models(folder: Path, models: dict[tuple[str, float], Model]) -> None:
    """``models/``: one PLY per model, ``models_info.json`` and ``models_scenegen.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    info, source = {}, {}
    for model in sorted(models.values(), key=lambda m: m.obj_id):
        comment = f"scenegen asset {model.asset_id} at scale {model.scale!r}, millimetres, origin at the box centre"
        ply = ply_text(model.vertices, model.faces, comment)
        atomic.write_bytes(folder / f"obj_{model.obj_id:06d}.ply", ply.encode())
        info[str(model.obj_id)] = model_info(model.vertices)
        source[str(model.obj_id)] = {
            "asset_id": model.asset_id,
            "class_name": model.class_name,
            "category_id": model.category_id,
            "scale": model.scale,
        }
    atomic.write_json(folder / "models_info.json", info)
    atomic.write_json(folder / "models_scenegen.json", source)


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


def write_bop(dataset_dir: Path, records: Iterable[FrameRecord], config: Config, copy: bool = False) -> Path:
    """Write ``bop/`` (see the module) from one pass over ``records`` (in frame order) of the run made with
    ``config``; return it."""
    dataset_dir = Path(dataset_dir)
    out = dataset_dir / FOLDER
    objects = config.objects
    catalog = build_catalog(list(objects.packs), list(objects.classes), MeshLimits.of(objects))
    models: dict[tuple[str, float], Model] = {}
    silhouettes = _Silhouettes(config.render)
    try:
        scenes = itertools.groupby(records, key=lambda r: r["index"] // SCENE_SIZE)
        for n, (scene_id, scene) in enumerate(scenes):
            scene_records = list(scene)
            if n == 0:  # the camera of every frame (one K per run)
                _write_camera(out, scene_records[0])
            for record in scene_records:
                add_models(models, record, catalog)
            _write_scene(dataset_dir, out / SPLIT / frame_name(scene_id), scene_records, models, silhouettes, copy)
    finally:
        silhouettes.close()
    write_models(out / "models", models)
    return out


def _write_scene(
    dataset_dir: Path,
    folder: Path,
    records: list[FrameRecord],
    models: dict[tuple[str, float], Model],
    silhouettes: _Silhouettes,
    copy: bool,
) -> None:
    for sub in ("rgb", "depth", "mask", "mask_visib"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    scene_camera, scene_gt, scene_gt_info = {}, {}, {}
    for record in records:
        im_id = record["index"] % SCENE_SIZE
        name = frame_name(im_id)
        gt, info, masks, depth = _frame(dataset_dir, record, models, silhouettes)
        link_or_copy(
            file_path(dataset_dir, record, "image"),
            folder / "rgb" / f"{name}{image_suffix(record)}",
            copy,
        )
        if "depth_png" in record["files"]:
            link_or_copy(file_path(dataset_dir, record, "depth_png"), folder / "depth" / f"{name}.png", copy)
        else:
            atomic.write_bytes(folder / "depth" / f"{name}.png", encode_png(depth))
        for gt_id, (whole, visible) in enumerate(masks):
            for sub, mask in (("mask", whole), ("mask_visib", visible)):
                png = encode_png(mask.astype(np.uint8) * 255)
                atomic.write_bytes(folder / sub / f"{name}_{frame_name(gt_id)}.png", png)
        key = str(im_id)
        scene_camera[key], scene_gt[key], scene_gt_info[key] = scene_camera_entry(record), gt, info
    atomic.write_json(folder / "scene_camera.json", scene_camera)
    atomic.write_json(folder / "scene_gt.json", scene_gt)
    atomic.write_json(folder / "scene_gt_info.json", scene_gt_info)


def _bop(job: ExportJob) -> Path:
    return write_bop(job.dataset_dir, job.records, job.config, job.copy)


def frame_links(record: FrameRecord) -> Iterator[ExportLink]:
    """The links to ``record``'s image and, when the run wrote ``depth/NNNNNN.png``, its depth (else the export
    wrote its own depth image)."""
    scene = f"{FOLDER}/{SPLIT}/{frame_name(record['index'] // SCENE_SIZE)}"
    image = frame_name(record["index"] % SCENE_SIZE)
    yield ExportLink(FOLDER, "image", (f"{scene}/rgb/{image}{image_suffix(record)}",))
    if "depth_png" in record["files"]:
        yield ExportLink(FOLDER, "depth_png", (f"{scene}/depth/{image}.png",))


EXPORTS = (Export("bop", _bop, needs=bop_problem, links=frame_links),)

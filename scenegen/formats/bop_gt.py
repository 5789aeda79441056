"""The ground truth of a BOP export's images: cameras, poses, masks and their counts.

**Pixel convention.** bop_toolkit (its renderers' projection matrix, ``calc_gt_info``, BOP's own PBR data)
puts the image origin at the top-left pixel's corner: pixel ``(i, j)`` covers ``[i, i + 1] x [j, j + 1]`` and
its centre is ``(i + 0.5, j + 0.5)``. scenegen's K puts pixel centres at integers, so ``cam_K`` and
``camera.json`` hold the record's K with ``cx + 0.5`` and ``cy + 0.5`` (``bop_K``); focal lengths are the same.

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

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenegen.dataset import atomic
from scenegen.dataset.record import FrameRecord, file_path, spec_of
from scenegen.errors import ExportError
from scenegen.formats.bop_models import MM_PER_M, Model, model_mesh, record_objects
from scenegen.geometry import world_to_camera_cv
from scenegen.labels.masks import depth_millimetres
from scenegen.labels.rle import decode_rle
from scenegen.render.posed_model import PosedModel
from scenegen.render.silhouette_pass import SilhouettePass

EMPTY_BOX = [-1, -1, -1, -1]
DEPTH_SCALE = 1.0  # depth PNG units in millimetres


def bop_K(K: Any) -> np.ndarray:
    """(3, 3) K in BOP's convention (origin at the top-left pixel's corner) of a (3, 3) K whose pixel centres
    are at integers (scenegen's, OpenCV's): the principal point moves by half a pixel right and down."""
    K = np.array(K, dtype=float)
    K[0, 2] += 0.5
    K[1, 2] += 0.5
    return K


def write_camera(out: Path, record: FrameRecord) -> None:
    """``camera.json`` from a frame record (one K for the run), in BOP's pixel convention; not synced (the export
    is, as a whole)."""
    out.mkdir(parents=True, exist_ok=True)
    K = bop_K(spec_of(record).camera.K)
    camera = {"cx": K[0, 2], "cy": K[1, 2], "depth_scale": DEPTH_SCALE, "fx": K[0, 0], "fy": K[1, 1]}
    atomic.write_json(out / "camera.json", {**camera, "height": record["height"], "width": record["width"]}, sync=False)


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
    camera = spec_of(record).camera
    world_to_camera = world_to_camera_cv(np.asarray(camera.pose))
    return {
        "cam_K": _floats(bop_K(camera.K)),
        "depth_scale": DEPTH_SCALE,
        "cam_R_w2c": _floats(world_to_camera[:3, :3]),
        "cam_t_w2c": _floats(world_to_camera[:3, 3] * MM_PER_M),
    }


def _floats(array: Any) -> list[float]:
    return [float(v) for v in np.asarray(array, dtype=float).ravel()]


def _canvas_masks(
    silhouettes: SilhouettePass, record: FrameRecord, posed: list[tuple[Model, Any, Any]]
) -> list[np.ndarray]:
    """The canvas silhouette of each (model, R, t): ``t`` (metres) places the model's box centre."""
    models = [PosedModel(str(m.obj_id), model_mesh(m), 1.0 / MM_PER_M, R, t) for m, R, t in posed]
    camera = spec_of(record).camera
    return silhouettes.canvas_masks(
        np.asarray(camera.K, dtype=float), camera.width, camera.height, camera.znear, camera.zfar, models
    )


def _read_png(path: Path) -> np.ndarray:
    """A frame's 16-bit PNG (ids or depth) as stored: (h, w) uint16; ScenegenError naming it when unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ExportError(f"{path}: not a readable PNG; render the frame again (rerun its command)")
    return image


def frame_gt(
    dataset_dir: Path,
    record: FrameRecord,
    models: dict[tuple[str, float], Model],
    silhouettes: SilhouettePass,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """One image's ``scene_gt`` and ``scene_gt_info`` entries, its (mask, mask_visib) pairs in GTID order,
    and its (h, w) uint16 depth in millimetres."""
    width, height = record["width"], record["height"]
    ids = _read_png(file_path(dataset_dir, record, "instance_mask"))
    if "depth_png" in record["files"]:
        depth = _read_png(file_path(dataset_dir, record, "depth_png"))
    else:
        depth = depth_millimetres(np.load(file_path(dataset_dir, record, "depth_npy")))
    pairs = record_objects(record)
    poses = [(np.reshape(ann["cam_R_m2c"], (3, 3)), np.asarray(ann["cam_t_m2c"], dtype=float)) for ann, _ in pairs]
    cut = [i for i, (ann, _) in enumerate(pairs) if ann["truncated"]]
    canvas: dict[int, np.ndarray] = {}
    if cut:
        posed = []
        for i in cut:
            model = models[(pairs[i][1].asset_id, float(pairs[i][1].scale))]
            R, t = poses[i]
            posed.append((model, R, t + R @ model.centre))
        canvas = dict(zip(cut, _canvas_masks(silhouettes, record, posed), strict=True))
    gt, info, masks = [], [], []
    for i, (ann, obj) in enumerate(pairs):
        model = models[(obj.asset_id, float(obj.scale))]
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

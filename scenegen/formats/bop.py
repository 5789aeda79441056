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
      scene_camera.json            cam_K (BOP's pixel convention, ``bop_gt``), depth_scale, cam_R_w2c, cam_t_w2c (mm)
      scene_gt.json                per object (GTID = its position): cam_R_m2c, cam_t_m2c (mm), obj_id
      scene_gt_info.json           bbox_obj, bbox_visib, px_count_all, px_count_valid, px_count_visib, visib_fract

Every frame goes to the one split ``train_pbr`` (the train/val share is for the other formats). Every object
of a frame is a ground-truth entry, whether visible or not.

The models are written by ``bop_models``, each image's ground truth by ``bop_gt`` (the pixel convention
and the ground-truth info are described there).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from scenegen.assets.catalog import build_catalog
from scenegen.assets.limits import MeshLimits
from scenegen.config.schema import Config, OutputConfig
from scenegen.dataset import atomic
from scenegen.dataset.atomic import link_or_copy
from scenegen.dataset.record import FrameRecord, encode_png, file_path, frame_name, image_suffix
from scenegen.formats.bop_gt import frame_gt, scene_camera_entry, write_camera
from scenegen.formats.bop_models import Model, add_models, write_models
from scenegen.formats.job import Export, ExportJob, ExportLink
from scenegen.render.silhouette_pass import SilhouettePass

FOLDER = "bop"
SPLIT = "train_pbr"
SCENE_SIZE = 1000  # images per scene, as BOP's PBR training sets


def bop_problem(output: OutputConfig) -> str | None:
    """What a run's ``output`` config lacks for a BOP export, in one line; None when nothing."""
    if not (output.depth_png or output.depth_npy):
        return "bop needs the run's depth images: render with output.depth_png=true (or output.depth_npy=true)"
    if not output.amodal:
        return "bop needs the unoccluded silhouettes: render with output.amodal=true"
    if not output.instance_masks:
        return "bop needs the instance masks: render with output.instance_masks=true"
    return None


def write_bop(dataset_dir: Path, records: Iterable[FrameRecord], config: Config, copy: bool = False) -> Path:
    """Write ``bop/`` (see the module) from one pass over ``records`` (in frame order) of the run made with
    ``config``; return it. It is built beside the old ``bop/`` and then replaces it (``atomic.replaced_folder``):
    it holds the frames of ``records`` and nothing else (none of an earlier export that this one leaves out),
    and a failure part way leaves the old one as it was."""
    dataset_dir = Path(dataset_dir)
    objects = config.objects
    catalog = build_catalog(list(objects.packs), list(objects.classes), MeshLimits.of(objects))
    models: dict[tuple[str, float], Model] = {}
    silhouettes = SilhouettePass(config.render)
    folder = dataset_dir / FOLDER
    with atomic.replaced_folder(folder) as out:
        try:
            scenes = itertools.groupby(records, key=lambda r: r["index"] // SCENE_SIZE)
            for n, (scene_id, scene) in enumerate(scenes):
                scene_records = list(scene)
                if n == 0:  # the camera of every frame (one K per run)
                    write_camera(out, scene_records[0])
                for record in scene_records:
                    add_models(models, record, catalog)
                scene_folder = out / SPLIT / frame_name(scene_id)
                _write_scene(dataset_dir, scene_folder, scene_records, models, silhouettes, copy)
        finally:
            silhouettes.close()
        write_models(out / "models", models)
    return folder


def _write_scene(
    dataset_dir: Path,
    folder: Path,
    records: list[FrameRecord],
    models: dict[tuple[str, float], Model],
    silhouettes: SilhouettePass,
    copy: bool,
) -> None:
    for sub in ("rgb", "depth", "mask", "mask_visib"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    scene_camera, scene_gt, scene_gt_info = {}, {}, {}
    for record in records:
        im_id = record["index"] % SCENE_SIZE
        name = frame_name(im_id)
        gt, info, masks, depth = frame_gt(dataset_dir, record, models, silhouettes)
        link_or_copy(
            file_path(dataset_dir, record, "image"),
            folder / "rgb" / f"{name}{image_suffix(record)}",
            copy,
        )
        if "depth_png" in record["files"]:
            link_or_copy(file_path(dataset_dir, record, "depth_png"), folder / "depth" / f"{name}.png", copy)
        else:
            atomic.write_bytes(folder / "depth" / f"{name}.png", encode_png(depth), sync=False)
        for gt_id, (whole, visible) in enumerate(masks):
            for sub, mask in (("mask", whole), ("mask_visib", visible)):
                png = encode_png(mask.astype(np.uint8) * 255)
                atomic.write_bytes(folder / sub / f"{name}_{frame_name(gt_id)}.png", png, sync=False)
        key = str(im_id)
        scene_camera[key], scene_gt[key], scene_gt_info[key] = scene_camera_entry(record), gt, info
    atomic.write_json(folder / "scene_camera.json", scene_camera, sync=False)
    atomic.write_json(folder / "scene_gt.json", scene_gt, sync=False)
    atomic.write_json(folder / "scene_gt_info.json", scene_gt_info, sync=False)


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

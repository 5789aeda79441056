"""Per-object annotations of one rendered frame: the label math of ``labels`` applied to a SceneSpec.

Every object gets its visible-mask labels (box, area, RLE when it has enough pixels), its 6D pose in the
OpenCV camera, its projected 3D-box keypoints and, when asked for, its amodal mask and visibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scenegen.assets.catalog import Catalog
from scenegen.geometry import box_keypoints, image_extent, object_to_camera, points_in_camera, project
from scenegen.labels.masks import (
    Crop,
    amodal_fields,
    disjoint_groups,
    instance_annotations,
    instance_crops,
    keypoints_2d,
)
from scenegen.scene.spec import SceneSpec


@dataclass
class Projection:
    """Where an object lands in the image: ``box`` [x0, y0, x1, y1] of the pixels it can cover (None:
    none), and whether the image border (or the camera plane) cuts it."""

    box: list[int] | None
    truncated: bool


def project_objects(spec: SceneSpec, catalog: Catalog) -> list[Projection]:
    """The projection of every object's mesh, in spec order."""
    cam = spec.camera
    out = []
    for obj in spec.objects:
        vertices = catalog.asset(obj.asset_id).load_mesh().vertices
        points = points_in_camera(vertices, np.asarray(obj.pose), obj.scale, np.asarray(cam.pose))
        out.append(Projection(*image_extent(points, np.asarray(cam.K), cam.width, cam.height)))
    return out


def amodal_groups(spec: SceneSpec, projections: list[Projection]) -> list[list[int]]:
    """Instance ids in groups whose projections cannot overlap: one render pass draws each group alone."""
    ids = [obj.instance_id for obj in spec.objects]
    return [[ids[i] for i in group] for group in disjoint_groups([p.box for p in projections])]


def amodal_crops(groups: list[list[int]], alone: list[np.ndarray]) -> dict[int, Crop]:
    """Instance id -> its unoccluded mask, from the id images of the passes that drew each group alone;
    objects that cover no pixel are missing."""
    crops: dict[int, Crop] = {}
    for group, image in zip(groups, alone, strict=True):
        found = instance_crops(image, max(group))
        crops.update({k: crop for k in group if (crop := found[k - 1]) is not None})
    return crops


def annotate(
    spec: SceneSpec,
    ids: np.ndarray,
    depth: np.ndarray,
    catalog: Catalog,
    min_visible_pixels: int,
    amodal: dict[int, Crop] | None = None,
    projections: list[Projection] | None = None,
) -> list[dict[str, Any]]:
    """One record per object, in spec order (see the README's frame record).

    ``amodal`` maps instance id -> unoccluded mask (``amodal_crops``); with it, ``projections`` gives
    the truncation flags.
    """
    cam = spec.camera
    K, camera_pose = np.asarray(cam.K), np.asarray(cam.pose)
    records = instance_annotations(ids, len(spec.objects), min_visible_pixels)
    empty = Crop(np.zeros((0, 0), bool), 0, 0, ids.shape)
    for i, (record, obj) in enumerate(zip(records, spec.objects, strict=True)):
        rotation, translation = object_to_camera(np.asarray(obj.pose), camera_pose)
        bounds = catalog.asset(obj.asset_id).load_mesh().bounds
        uv, z = project(points_in_camera(box_keypoints(bounds), np.asarray(obj.pose), obj.scale, camera_pose), K)
        record.update(
            asset_id=obj.asset_id,
            class_name=obj.class_name,
            category_id=catalog.category_id(obj.class_name),
            cam_R_m2c=rotation.ravel().tolist(),
            cam_t_m2c=translation.tolist(),
            keypoints=keypoints_2d(uv, z, depth),
            visible=record["visible_pixels"] > 0,
        )
        if amodal is not None and projections is not None:
            mask = amodal.get(obj.instance_id, empty)
            record.update(amodal_fields(mask, record["visible_pixels"], projections[i].truncated))
    return records

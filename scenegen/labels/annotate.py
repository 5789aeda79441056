"""Per-object annotations of one rendered frame: the label math of ``labels`` applied to a SceneSpec.

Every object gets its visible-mask labels (box, area, RLE when it has enough pixels), its 6D pose in the
OpenCV camera, its projected 3D-box keypoints and, when asked for, its amodal mask and visibility.

The amodal mask of an object that nothing can hide is its visible mask; only objects that something may hide
(``may_be_hidden``: conservative, from the projected vertices' boxes and depths) get an id pass that draws them
alone, with the same camera and rasterization, so both kinds of mask are the same pixels a pass would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scenegen.assets.catalog import Catalog
from scenegen.assets.primitives import unit_primitive
from scenegen.geometry import box_keypoints, image_extent, object_to_camera, points_in_camera, project
from scenegen.labels.masks import (
    Crop,
    amodal_fields,
    disjoint,
    disjoint_groups,
    instance_annotations,
    instance_crops,
    keypoints_2d,
)
from scenegen.scene.spec import SceneSpec

DEPTH_MARGIN = (0.01, 0.01)  # metres, fraction of the depth: beyond the depth buffer's steps (about 6e-6 z^2 m)
REGION_PAD = 2  # pixels around the boxes of a group whose pass is read back
PLANE_CONTACT = -1e-6  # metres: an object whose lowest vertex is below this height reaches into the support plane


@dataclass
class Projection:
    """Where a mesh lands in the image: ``box`` [x0, y0, x1, y1] of the pixels it can cover (None: none),
    whether the image border (or the camera plane) cuts it, the least and greatest depth of its vertices
    (metres along the view axis) and the lowest world height of its vertices."""

    box: list[int] | None
    truncated: bool
    near: float = 0.0
    far: float = 0.0
    low: float = 0.0


def project_objects(spec: SceneSpec, catalog: Catalog) -> list[Projection]:
    """The projection of every object's mesh, in spec order."""
    items = [(catalog.asset(obj.asset_id).load_mesh().vertices * obj.scale, obj.pose) for obj in spec.objects]
    return [_projection(spec, vertices, np.asarray(pose)) for vertices, pose in items]


def project_distractors(spec: SceneSpec) -> list[Projection]:
    """The projection of every distractor's mesh (the scaled unit primitive), in spec order."""
    items = [(unit_primitive(d.shape).vertices * d.size, d.pose) for d in spec.distractors]
    return [_projection(spec, vertices, np.asarray(pose)) for vertices, pose in items]


def _projection(spec: SceneSpec, vertices: np.ndarray, pose: np.ndarray) -> Projection:
    """The Projection of (n, 3) metre ``vertices`` posed by (4, 4) object-to-world ``pose``."""
    cam = spec.camera
    points = points_in_camera(vertices, pose, 1.0, np.asarray(cam.pose))
    box, truncated = image_extent(points, np.asarray(cam.K), cam.width, cam.height)
    low = float((vertices @ pose[2, :3] + pose[2, 3]).min())
    return Projection(box, truncated, float(points[:, 2].min()), float(points[:, 2].max()), low)


def may_be_hidden(spec: SceneSpec, projections: list[Projection]) -> list[bool]:
    """Whether something may hide part of each object (spec order): another object or a distractor whose box
    meets its box and whose nearest vertex is not beyond its farthest one (with ``DEPTH_MARGIN``), or the
    support plane, when the camera is not above it or the object reaches into it (``PLANE_CONTACT``).
    Conservative: an object said not to be is drawn whole in the id image, its amodal mask its visible one."""
    occluders = [*projections, *project_distractors(spec)]
    camera_height = float(np.asarray(spec.camera.pose)[2][3])
    out = []
    for i, p in enumerate(projections):
        if p.box is None:
            out.append(False)  # covers no pixel: nothing to draw
            continue
        if spec.plane is not None and (camera_height <= 0 or p.low < PLANE_CONTACT):
            out.append(True)
            continue
        reach = p.far + DEPTH_MARGIN[0] + DEPTH_MARGIN[1] * p.far
        out.append(
            any(
                j != i and q.box is not None and not disjoint(p.box, q.box) and q.near < reach
                for j, q in enumerate(occluders)
            )
        )
    return out


def amodal_groups(spec: SceneSpec, projections: list[Projection]) -> list[list[int]]:
    """Instance ids of the objects that something may hide (``may_be_hidden``), in groups whose projections
    cannot overlap: one render pass draws each group alone."""
    ids = [obj.instance_id for obj in spec.objects]
    hidden = may_be_hidden(spec, projections)
    boxes = [p.box if h else None for p, h in zip(projections, hidden, strict=True)]
    return [[ids[i] for i in group] for group in disjoint_groups(boxes)]


def group_regions(spec: SceneSpec, groups: list[list[int]], projections: list[Projection]) -> list[list[int]]:
    """For each group of ``amodal_groups``, the box [x0, y0, x1, y1] (inclusive) that holds its objects' boxes
    with ``REGION_PAD`` pixels to spare (rasterization snaps vertices to a fraction of a pixel), clipped to
    the image: the part of its pass that is read back."""
    cam, index = spec.camera, {obj.instance_id: i for i, obj in enumerate(spec.objects)}
    regions = []
    for group in groups:
        boxes = np.array([projections[index[k]].box for k in group])
        low, high = boxes[:, :2].min(axis=0) - REGION_PAD, boxes[:, 2:].max(axis=0) + REGION_PAD
        regions.append(
            [
                max(int(low[0]), 0),
                max(int(low[1]), 0),
                min(int(high[0]), cam.width - 1),
                min(int(high[1]), cam.height - 1),
            ]
        )
    return regions


def amodal_crops(groups: list[list[int]], alone: list[np.ndarray]) -> dict[int, Crop]:
    """Instance id -> its unoccluded mask, from the id images of the passes that drew each group alone;
    objects that cover no pixel there, or were in no group, are missing."""
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

    ``amodal`` maps instance id -> unoccluded mask (``amodal_crops``; an object missing there has its visible
    mask: none of ``amodal_groups``, or no pixel); with it, ``projections`` gives the truncation flags.
    """
    cam = spec.camera
    K, camera_pose = np.asarray(cam.K), np.asarray(cam.pose)
    visible = instance_crops(ids, len(spec.objects))
    records = instance_annotations(ids, len(spec.objects), min_visible_pixels, visible)
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
            whole = amodal.get(obj.instance_id)
            mask = whole or visible[obj.instance_id - 1] or empty
            rle = None if whole is not None or "segmentation" not in record else dict(record["segmentation"])
            record.update(amodal_fields(mask, record["visible_pixels"], projections[i].truncated, rle))
    return records

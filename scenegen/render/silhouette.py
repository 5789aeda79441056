"""Whole silhouettes of objects that the image border cuts, for BOP's ``px_count_all`` and ``bbox_obj``.

As bop_toolkit's ``calc_gt_info`` does, each object is drawn alone, by its model-to-camera pose, on a
canvas ``CANVAS`` images wide and high with the image in the middle cell: image pixel ``(u, v)`` is canvas
pixel ``(u + width, v + height)``. The camera model and rasterization are the id pass's (``renderer``):
pixel centres at K's integers, a pixel drawn when its centre is inside a triangle. Objects whose canvas
boxes cannot overlap share a pass. Import this module only after ``backend.activate``.
"""

from __future__ import annotations

import numpy as np
import pyrender
import trimesh

from scenegen.geometry import GL_TO_CV, image_extent
from scenegen.labels.masks import disjoint_groups
from scenegen.render.posed_model import PosedModel
from scenegen.render.renderer import camera_for, decode_ids, id_color

CANVAS = 3  # canvas size in images per side, as bop_toolkit's calc_gt_info


class SilhouetteRenderer:
    """Draws posed models alone on the enlarged canvas; one GL context (keep one renderer alive per process)."""

    def __init__(self) -> None:
        self._renderer: pyrender.OffscreenRenderer | None = None
        self._scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0])
        camera_to_world = np.eye(4)
        camera_to_world[:3, :3] = GL_TO_CV  # the world is the OpenCV camera frame
        self._camera = self._scene.add(pyrender.PerspectiveCamera(yfov=1.0), pose=camera_to_world)
        self._nodes: dict[str, list[pyrender.Node]] = {}

    def canvas_masks(
        self, K: np.ndarray, width: int, height: int, znear: float, zfar: float, models: list[PosedModel]
    ) -> list[np.ndarray]:
        """One (CANVAS * height, CANVAS * width) bool silhouette per model, in order."""
        canvas_w, canvas_h = CANVAS * width, CANVAS * height
        K = np.array(K, dtype=float)
        K[0, 2] += width
        K[1, 2] += height
        self._camera.camera = camera_for(K, znear, zfar)
        if self._renderer is None:
            self._renderer = pyrender.OffscreenRenderer(canvas_w, canvas_h)
        self._renderer.viewport_width, self._renderer.viewport_height = canvas_w, canvas_h
        boxes = []
        for model in models:
            points = model.scale * np.asarray(model.mesh.vertices) @ model.R.T + model.t
            boxes.append(image_extent(points, K, canvas_w, canvas_h)[0])
        masks = [np.zeros((canvas_h, canvas_w), bool) for _ in models]
        for group in disjoint_groups(boxes):
            used: dict[str, int] = {}
            seg_map = {}
            for i in group:
                node = self._node(models[i], used)
                node.matrix = _model_matrix(models[i])
                seg_map[node] = id_color(i + 1)
            ids = decode_ids(self._renderer.render(self._scene, pyrender.RenderFlags.SEG, seg_map)[0])
            for i in group:
                masks[i] = ids == i + 1
        return masks

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.delete()

    def _node(self, model: PosedModel, used: dict[str, int]) -> pyrender.Node:
        """The next node of ``model.key`` unused in this pass (all of a key share one uploaded mesh)."""
        k = used.get(model.key, 0)
        used[model.key] = k + 1
        nodes = self._nodes.setdefault(model.key, [])
        if len(nodes) <= k:
            mesh = nodes[0].mesh if nodes else _flat_mesh(model.mesh)
            nodes.append(self._scene.add(mesh))
        return nodes[k]


def _model_matrix(model: PosedModel) -> np.ndarray:
    """(4, 4) model-to-world (the OpenCV camera frame), scale included."""
    matrix = np.eye(4)
    matrix[:3, :3] = model.R * model.scale
    matrix[:3, 3] = model.t
    return matrix


def _flat_mesh(mesh: trimesh.Trimesh) -> pyrender.Mesh:
    """The geometry alone (no textures to upload: the id pass draws flat colours)."""
    plain = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.faces), process=False)
    return pyrender.Mesh.from_trimesh(plain, material=pyrender.MetallicRoughnessMaterial())

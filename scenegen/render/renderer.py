"""Turn a SceneSpec into colour, depth and an exact instance-id image with pyrender.

One ``SceneRenderer`` holds one GL context and must live in the process that
uses it; keep at most one alive per process, since pyrender's EGL teardown
terminates the display that all contexts of the process share. Meshes are
uploaded once per asset and reused across frames: each frame only moves,
re-colours and shows the nodes it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyrender
import trimesh

from scenegen.assets import Catalog
from scenegen.render.msaa import set_msaa_samples
from scenegen.spec import LightSpec, MaterialSpec, SceneSpec

MSAA_SAMPLES = 4


@dataclass
class RenderOutput:
    """color: (h, w, 3) uint8; depth: (h, w) float32 metres along the view axis, 0 where
    nothing was hit; ids: (h, w) uint16 instance ids, 0 for background and support plane."""

    color: np.ndarray
    depth: np.ndarray
    ids: np.ndarray


def id_color(instance_id: int) -> tuple[int, int, int]:
    """The flat colour that encodes ``instance_id`` in the segmentation pass."""
    return (instance_id & 0xFF, (instance_id >> 8) & 0xFF, 0)


def decode_ids(seg: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 segmentation colours -> (h, w) uint16 ids."""
    return seg[..., 0].astype(np.uint16) | (seg[..., 1].astype(np.uint16) << 8)


def camera_for(K: np.ndarray, znear: float, zfar: float) -> pyrender.IntrinsicsCamera:
    """pyrender camera for an OpenCV ``K``: pyrender puts pixel centres at +0.5."""
    return pyrender.IntrinsicsCamera(K[0, 0], K[1, 1], K[0, 2] + 0.5, K[1, 2] + 0.5, znear=znear, zfar=zfar)


class SceneRenderer:
    """Renders SceneSpecs whose assets come from ``catalog``."""

    def __init__(self, catalog: Catalog, width: int, height: int, antialias: bool = False) -> None:
        set_msaa_samples(MSAA_SAMPLES if antialias else 0)
        self._catalog = catalog
        self._renderer = pyrender.OffscreenRenderer(width, height)
        self._scene = pyrender.Scene()
        self._pool: dict[str, list[pyrender.Node]] = {}
        self._plane = self._scene.add(
            pyrender.Mesh.from_trimesh(
                trimesh.creation.box([1.0, 1.0, 1e-3]), material=pyrender.MetallicRoughnessMaterial()
            ),
            pose=trimesh.transformations.translation_matrix([0, 0, -5e-4]),
        )
        self._camera = self._scene.add(pyrender.PerspectiveCamera(yfov=1.0))
        self._lights: list[pyrender.Node] = []

    def render(self, spec: SceneSpec) -> RenderOutput:
        """Colour and depth in one pass, then the flat id pass (never anti-aliased)."""
        seg_map = self._stage(spec)
        color, depth = self._renderer.render(self._scene, pyrender.RenderFlags.NONE)
        seg, _ = self._renderer.render(self._scene, pyrender.RenderFlags.SEG, seg_map)
        return RenderOutput(np.ascontiguousarray(color), depth.astype(np.float32, copy=False), decode_ids(seg))

    def close(self) -> None:
        self._renderer.delete()

    def _stage(self, spec: SceneSpec) -> dict[pyrender.Node, tuple[int, int, int]]:
        """Pose every node for ``spec``; return the segmentation colour map."""
        cam = spec.camera
        self._renderer.viewport_width, self._renderer.viewport_height = cam.width, cam.height
        self._scene.bg_color = [*spec.background_color, 1.0]
        self._scene.ambient_light = np.asarray(spec.ambient_light)
        self._camera.camera = camera_for(np.asarray(cam.K), cam.znear, cam.zfar)
        self._scene.set_pose(self._camera, np.asarray(cam.pose))
        seg_map = {}
        if spec.plane is not None:
            self._plane.mesh.is_visible = True
            self._plane.scale = [spec.plane.size, spec.plane.size, 1.0]
            _paint(self._plane.mesh, spec.plane.material)
            seg_map[self._plane] = id_color(0)
        else:
            self._plane.mesh.is_visible = False
        for nodes in self._pool.values():
            for node in nodes:
                node.mesh.is_visible = False
        used: dict[str, int] = {}
        for obj in spec.objects:
            k = used.get(obj.asset_id, 0)
            used[obj.asset_id] = k + 1
            node = self._node(obj.asset_id, k)
            node.mesh.is_visible = True
            node.matrix = np.asarray(obj.pose) @ np.diag([obj.scale, obj.scale, obj.scale, 1.0])
            _paint(node.mesh, obj.material)
            seg_map[node] = id_color(obj.instance_id)
        for node in self._lights:
            self._scene.remove_node(node)
        self._lights = [self._scene.add(_light(light), pose=np.asarray(light.pose)) for light in spec.lights]
        return seg_map

    def _node(self, asset_id: str, k: int) -> pyrender.Node:
        """The ``k``-th node of ``asset_id``, uploading the mesh the first time it is needed."""
        nodes = self._pool.setdefault(asset_id, [])
        while len(nodes) <= k:
            mesh = self._catalog.asset(asset_id).load_mesh()
            nodes.append(
                self._scene.add(pyrender.Mesh.from_trimesh(mesh, material=pyrender.MetallicRoughnessMaterial()))
            )
        return nodes[k]


def _paint(mesh: pyrender.Mesh, material: MaterialSpec) -> None:
    for primitive in mesh.primitives:
        primitive.material.baseColorFactor = material.base_color
        primitive.material.metallicFactor = material.metallic
        primitive.material.roughnessFactor = material.roughness


def _light(light: LightSpec) -> pyrender.Light:
    if light.kind == "directional":
        return pyrender.DirectionalLight(color=light.color, intensity=light.intensity)
    if light.kind == "point":
        return pyrender.PointLight(color=light.color, intensity=light.intensity)
    return pyrender.SpotLight(
        color=light.color,
        intensity=light.intensity,
        innerConeAngle=light.inner_cone_angle,
        outerConeAngle=light.outer_cone_angle,
    )

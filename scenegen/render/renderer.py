"""Turn a SceneSpec into colour, depth and an exact instance-id image with pyrender.

One ``SceneRenderer`` holds one GL context and must live in the process that
uses it; keep at most one alive per process, since pyrender's EGL teardown
terminates the display that all contexts of the process share. Meshes are
uploaded once per asset (and per distractor shape) and reused across frames:
each frame only moves, re-colours and shows the nodes it needs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyrender
import trimesh

from scenegen.assets.catalog import Catalog
from scenegen.assets.primitives import unit_primitive
from scenegen.render.backdrop import backdrop_image, composite
from scenegen.render.msaa import SingleSamplePasses, set_msaa_samples
from scenegen.render.panorama import panorama_image
from scenegen.render.readback import lean_read
from scenegen.render.shadows import (
    DirectionalLight,
    SpotLight,
    bind_empty_shadow_slots,
    frame_shadows,
    set_shadow_map_size,
    use_shadow_shaders,
)
from scenegen.scene.spec import LightSpec, MaterialSpec, SceneSpec, TextureSpec
from scenegen.scene.textures import WRAPPED_KINDS, texture_image, with_uv, wrapped_uv

MSAA_SAMPLES = 4
PLANE_REPEATS = 8  # texture repeats across the support plane
SHADOWS = pyrender.RenderFlags.SHADOWS_DIRECTIONAL | pyrender.RenderFlags.SHADOWS_SPOT  # point lights: none in pyrender


@dataclass
class RenderOutput:
    """color: (h, w, 3) uint8; depth: (h, w) float32 metres along the view axis at pixel centres (exact
    whatever the anti-aliasing), 0 where nothing was hit; ids: (h, w) uint16 instance ids, 0 for
    background, support plane and distractors;
    alone: one (h, w) uint16 id image per group asked of ``render``, drawing that group's objects only;
    seconds: wall time of each pass (``render``: colour, ``id_pass``: ids and depth, ``amodal``, ``backdrop``)."""

    color: np.ndarray
    depth: np.ndarray
    ids: np.ndarray
    alone: list[np.ndarray]
    seconds: dict[str, float]


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
    """Renders SceneSpecs whose assets come from ``catalog``; ``texture_repeat`` is the metres per
    texture repeat on meshes without UVs; ``shadow_map_size`` the pixels a side of each light's shadow map."""

    def __init__(
        self,
        catalog: Catalog,
        width: int,
        height: int,
        antialias: bool = False,
        texture_repeat: float = 0.1,
        shadow_map_size: int = 1024,
    ):
        set_msaa_samples(MSAA_SAMPLES if antialias else 0)
        set_shadow_map_size(shadow_map_size)
        bind_empty_shadow_slots()
        self._catalog = catalog
        self._antialias = antialias
        self._texture_repeat = texture_repeat
        self._renderer = pyrender.OffscreenRenderer(width, height)
        use_shadow_shaders(self._renderer)
        self._exact = SingleSamplePasses(self._renderer)
        self._scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0])
        self._pool: dict[tuple[str, str], list[pyrender.Node]] = {}
        plane = trimesh.creation.box([1.0, 1.0, 1e-3])
        plane.visual = trimesh.visual.TextureVisuals(uv=(plane.vertices[:, :2] + 0.5) * PLANE_REPEATS)
        self._plane = self._scene.add(
            _pyrender_mesh(plane), pose=trimesh.transformations.translation_matrix([0, 0, -5e-4])
        )
        self._camera = self._scene.add(pyrender.PerspectiveCamera(yfov=1.0))
        self._lights: list[pyrender.Node] = []
        self._light_specs: Sequence[LightSpec] | None = None  # what ``_lights`` show
        self._painted: dict[pyrender.Node, MaterialSpec] = {}  # each node's material, kept while it stays the same

    def render(
        self, spec: SceneSpec, alone: Sequence[Sequence[int]] = (), regions: Sequence[Sequence[int]] | None = None
    ) -> RenderOutput:
        """Colour in one pass over the backdrop (anti-aliased when asked), then the flat id pass, which
        also gives the depth, then one id pass per group of instance ids in ``alone`` that draws only
        those objects: with the same camera and rasterization, an object's pixels there are its
        unoccluded (amodal) mask. ``regions``: for each group, the box [x0, y0, x1, y1] (inclusive) that
        holds its objects' pixels, the only part of its pass read back (None: the whole image). The id
        passes are single-sample whatever the anti-aliasing, so ids and depth are the pixel centres'
        values. With ``spec.shadows``, directional and spot lights cast shadows in the colour pass."""
        clock = [time.perf_counter()]

        def lap() -> float:
            clock.append(time.perf_counter())
            return clock[-1] - clock[-2]

        seg_map = self._stage(spec)
        flags = pyrender.RenderFlags.RGBA | (SHADOWS if spec.shadows else 0)
        rgba, coverage = self._pass(flags, depth=False, resolve=self._antialias)
        if rgba.shape[2] == 3:  # OSMesa has no framebuffer objects, so pyrender returns no alpha: use coverage
            assert coverage is not None  # pyrender's own read: depth always
            rgba = np.dstack([rgba, np.where(coverage > 0, 255, 0).astype(np.uint8)])
        seconds = {"render": lap()}
        with self._exact.single_sample():
            seg, depth = self._pass(pyrender.RenderFlags.SEG, seg_map)
            seconds["id_pass"] = lap()
            node_of = {color: node for node, color in seg_map.items() if color != id_color(0)}
            alone_ids = []
            whole: list[Sequence[int] | None] = [None] * len(alone)
            for group, region in zip(alone, regions if regions is not None else whole, strict=True):
                only = {node_of[id_color(k)]: id_color(k) for k in group}
                alone_ids.append(self._ids_in(only, region))
            seconds["amodal"] = lap()
        cam = spec.camera
        if spec.backdrop.at_infinity:
            backdrop = panorama_image(spec.backdrop, cam)
        else:
            backdrop = backdrop_image(spec.backdrop, cam.width, cam.height)
        color = composite(rgba, backdrop)
        seconds["backdrop"] = lap()
        assert depth is not None  # the id pass reads it
        return RenderOutput(color, depth.astype(np.float32, copy=False), decode_ids(seg), alone_ids, seconds)

    def _ids_in(self, seg_map: dict[pyrender.Node, tuple[int, int, int]], region: Sequence[int] | None) -> np.ndarray:
        """(h, w) uint16 ids of a flat pass of ``seg_map``'s nodes, read back only inside ``region`` (zero
        outside; None: the whole image)."""
        if region is None:
            return decode_ids(self._pass(pyrender.RenderFlags.SEG, seg_map, depth=False)[0])
        ids = np.zeros((self._renderer.viewport_height, self._renderer.viewport_width), np.uint16)
        x0, y0, x1, y1 = region
        ids[y0 : y1 + 1, x0 : x1 + 1] = decode_ids(self._pass(pyrender.RenderFlags.SEG, seg_map, False, region)[0])
        return ids

    def _pass(
        self,
        flags: int,
        seg_map: dict[pyrender.Node, tuple[int, int, int]] | None = None,
        depth: bool = True,
        region: Sequence[int] | None = None,
        resolve: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Render the staged scene: ``(colour, depth)`` as ``readback.lean_read`` reads them; where the platform
        has no framebuffer objects (OSMesa), pyrender's own read (depth always), cut to ``region``."""
        if self._renderer._platform.supports_framebuffers():
            with lean_read(self._renderer, depth, region, resolve):
                return self._renderer.render(self._scene, flags, seg_map)
        colour, metres = self._renderer.render(self._scene, flags, seg_map)
        if region is not None:
            x0, y0, x1, y1 = region
            colour = colour[y0 : y1 + 1, x0 : x1 + 1]
        return colour, metres

    def close(self) -> None:
        self._renderer.delete()

    def _stage(self, spec: SceneSpec) -> dict[pyrender.Node, tuple[int, int, int]]:
        """Pose every node for ``spec``; return the segmentation colour map."""
        cam = spec.camera
        self._renderer.viewport_width, self._renderer.viewport_height = cam.width, cam.height
        self._scene.ambient_light = np.asarray(spec.ambient_light)
        self._camera.camera = camera_for(np.asarray(cam.K), cam.znear, cam.zfar)
        self._scene.set_pose(self._camera, np.asarray(cam.pose))
        seg_map = {}
        self._plane.mesh.is_visible = spec.plane is not None
        if spec.plane is not None:
            self._plane.scale = [spec.plane.size, spec.plane.size, 1.0]
            self._paint(self._plane, spec.plane.material)
            seg_map[self._plane] = id_color(0)
        for nodes in self._pool.values():
            for node in nodes:
                node.mesh.is_visible = False
        used: dict[tuple[str, str], int] = {}
        for obj in spec.objects:
            node = self._take((_uv_kind("asset", obj.material), obj.asset_id), used)
            node.matrix = np.asarray(obj.pose) @ np.diag([obj.scale, obj.scale, obj.scale, 1.0])
            if obj.material is not None:
                self._paint(node, obj.material)
            seg_map[node] = id_color(obj.instance_id)
        for distractor in spec.distractors:
            node = self._take((_uv_kind("shape", distractor.material), distractor.shape), used)
            node.matrix = np.asarray(distractor.pose) @ np.diag([*distractor.size, 1.0])
            self._paint(node, distractor.material)
            seg_map[node] = id_color(0)  # occludes, never labelled
        if spec.lights != self._light_specs:  # views and sequences keep their scene's lights (and shadow maps)
            for node in self._lights:
                self._scene.remove_node(node)
            self._lights = [self._scene.add(_light(light), pose=np.asarray(light.pose)) for light in spec.lights]
            self._light_specs = spec.lights
        if spec.shadows:  # after adding nodes, which resets the scene's bounds
            frame_shadows(self._scene, list(seg_map))
        return seg_map

    def _paint(self, node: pyrender.Node, material: MaterialSpec) -> None:
        """Give ``node`` ``material``, unless it already has this very one (views and sequences keep their
        scene's materials: no texture is made or uploaded again)."""
        if self._painted.get(node) is not material:
            _paint(node.mesh, material)
            self._painted[node] = material

    def _take(self, key: tuple[str, str], used: dict[tuple[str, str], int]) -> pyrender.Node:
        """The next unused node of ``key`` this frame, uploading one more mesh when all are in use."""
        k = used.get(key, 0)
        used[key] = k + 1
        nodes = self._pool.setdefault(key, [])
        if len(nodes) <= k:
            kind, name = key
            if kind == "asset-own":
                mesh = pyrender.Mesh.from_trimesh(self._catalog.asset(name).load_mesh())
            else:
                shape = kind.startswith("shape")
                base = unit_primitive(name) if shape else self._catalog.asset(name).load_mesh()
                if kind.endswith("wrapped"):
                    up = np.eye(3) if shape else self._catalog.asset(name).up_rotation[:3, :3]
                    mesh = _pyrender_mesh(wrapped_uv(base, up))
                else:
                    mesh = _pyrender_mesh(with_uv(base, self._texture_repeat))
            nodes.append(self._scene.add(mesh))
        nodes[k].mesh.is_visible = True
        return nodes[k]


def _uv_kind(source: str, material: MaterialSpec | None) -> str:
    """The node kind for an ``asset`` or ``shape`` in ``material``: ``asset-own`` keeps the asset's look; print
    and photo textures need the ``-wrapped`` UVs (the tile once over the object); others tile in metres."""
    if material is None:
        return "asset-own"
    wrapped = material.texture is not None and material.texture.kind in WRAPPED_KINDS
    return f"{source}-wrapped" if wrapped else source


def _pyrender_mesh(mesh: trimesh.Trimesh) -> pyrender.Mesh:
    """A mesh with UVs whose material ``_paint`` sets each frame."""
    return pyrender.Mesh.from_trimesh(mesh, material=pyrender.MetallicRoughnessMaterial())


def _texture(spec: TextureSpec) -> pyrender.Texture:
    return pyrender.Texture(source=texture_image(spec), source_channels="RGB")


def _paint(mesh: pyrender.Mesh, material: MaterialSpec) -> None:
    texture = None if material.texture is None else _texture(material.texture)
    for primitive in mesh.primitives:
        primitive.material.baseColorFactor = material.base_color
        primitive.material.metallicFactor = material.metallic
        primitive.material.roughnessFactor = material.roughness
        primitive.material.baseColorTexture = texture


def _light(light: LightSpec) -> pyrender.Light:
    if light.kind == "directional":
        return DirectionalLight(color=light.color, intensity=light.intensity)
    if light.kind == "point":
        return pyrender.PointLight(color=light.color, intensity=light.intensity)
    return SpotLight(
        color=light.color,
        intensity=light.intensity,
        innerConeAngle=light.inner_cone_angle,
        outerConeAngle=light.outer_cone_angle,
    )

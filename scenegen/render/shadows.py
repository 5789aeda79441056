"""Shadow maps with pyrender: their size, the region they cover, and shader variants compiled once.

- **Size.** pyrender sizes every light's shadow map by the module constant ``SHADOW_TEX_SZ`` (2048 pixels
  a side), read in ``pyrender.light`` (allocating the map) and ``pyrender.renderer`` (the viewport of the
  shadow pass); ``set_shadow_map_size`` sets both.
- **Region.** A directional light's shadow camera frames the scene's bounds, and a spot light's takes its
  depth range from their size. pyrender computes them from every mesh node, hidden or not, and caches
  them in ``Scene._bounds`` until a node is added: left alone, a frame's shadows would depend on the
  frames rendered before it in the process. ``frame_shadows`` sets them to what is drawn this frame,
  the support plane included: the maps repeat beyond their edges, so a map that missed part of the
  visible ground would print copies of its shadows there.
- **Shader variants.** pyrender's shader declares a shadow sampler for each of its 4 directional and 4
  spot light slots, and binds textures only to the slots of the lights present; an empty slot reads
  whatever texture unit 0 holds. Mesa's llvmpipe compiles one variant of the shader per combination of
  textures its samplers see, one to four seconds each, so every new mix of light counts and material
  textures stalls a frame. ``bind_empty_shadow_slots`` points the empty slots at one spare depth texture,
  so the combinations, and the compilations, come down to a handful per process. It changes no pixel:
  the shader never reads an empty slot.
- **Filter.** pyrender's ``mesh.frag`` softens shadow edges with 9 bilinear comparisons, each 4 nearest
  reads of the map: 36 reads a light a pixel. Shadowed passes use scenegen's copy, ``shaders/mesh.frag``,
  which gets the same kernel from 4 hardware-filtered comparisons (``sampler2DShadow``; colours within a
  level of pyrender's, a shadowed colour pass in about 0.6x the time on llvmpipe): ``ShadowMap`` is a
  light's depth map set up for them (linear filtering, comparison on), and ``DirectionalLight`` and
  ``SpotLight`` are pyrender's with that map. Unshadowed passes keep pyrender's own shader.

Tested in ``tests/test_render.py`` and by the workers test of ``tests/test_physics.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyrender
import pyrender.light
import pyrender.renderer
import trimesh
from OpenGL.GL import (
    GL_COMPARE_REF_TO_TEXTURE,
    GL_FLOAT,
    GL_LEQUAL,
    GL_LINEAR,
    GL_TEXTURE0,
    GL_TEXTURE_2D,
    GL_TEXTURE_COMPARE_FUNC,
    GL_TEXTURE_COMPARE_MODE,
    glActiveTexture,
    glBindTexture,
    glTexParameteri,
)
from pyrender.shader_program import ShaderProgram, ShaderProgramCache

SHADOWED_MESH_FRAG = Path(__file__).parent / "shaders" / "mesh.frag"

_unpatched_bind_lighting = pyrender.renderer.Renderer._bind_lighting


def set_shadow_map_size(size: int) -> None:
    """Give shadow maps allocated from now on in this process ``size`` pixels a side."""
    pyrender.light.SHADOW_TEX_SZ = size
    pyrender.renderer.SHADOW_TEX_SZ = size


def frame_shadows(scene: pyrender.Scene, nodes: list[pyrender.Node]) -> None:
    """Make ``scene``'s bounds, which the lights' shadow cameras frame, those of ``nodes``."""
    corners = [trimesh.transform_points(trimesh.bounds.corners(n.mesh.bounds), n.matrix) for n in nodes]
    if corners:
        points = np.vstack(corners)
        scene._bounds = np.array([points.min(axis=0), points.max(axis=0)])


class ShadowMap(pyrender.Texture):
    """A light's (size, size) depth map, sampled by comparison with hardware filtering: lit (1) where the
    reference depth is at most the map's, bilinear between texels."""

    def __init__(self, size: int) -> None:
        sampler = pyrender.Sampler(magFilter=GL_LINEAR, minFilter=GL_LINEAR)
        super().__init__(width=size, height=size, source_channels="D", data_format=GL_FLOAT, sampler=sampler)

    def _add_to_context(self) -> None:
        super()._add_to_context()  # binds and unbinds on the active texture unit, as this does
        glBindTexture(GL_TEXTURE_2D, self._texid)
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_COMPARE_MODE, GL_COMPARE_REF_TO_TEXTURE)
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_COMPARE_FUNC, GL_LEQUAL)
        glBindTexture(GL_TEXTURE_2D, 0)


class _ShadowMapLight:
    """Mixed into a pyrender light before it: its shadow map is a ``ShadowMap``."""

    shadow_texture: pyrender.Texture

    def _generate_shadow_texture(self, size: int | None = None) -> None:
        self.shadow_texture = ShadowMap(size or pyrender.light.SHADOW_TEX_SZ)


class DirectionalLight(_ShadowMapLight, pyrender.DirectionalLight):
    """pyrender's directional light, its shadow map a ``ShadowMap``."""


class SpotLight(_ShadowMapLight, pyrender.SpotLight):
    """pyrender's spot light, its shadow map a ``ShadowMap``."""


class ShadowShaders(ShaderProgramCache):
    """pyrender's shader programs, with ``SHADOWED_MESH_FRAG`` in the colour passes that draw shadows."""

    def get_program(
        self, vertex_shader: str, fragment_shader: str, geometry_shader: str | None = None, defines: dict | None = None
    ) -> ShaderProgram:
        if fragment_shader == "mesh.frag" and {"DIRECTIONAL_LIGHT_SHADOWS", "SPOT_LIGHT_SHADOWS"} & set(defines or {}):
            fragment_shader = str(SHADOWED_MESH_FRAG)  # cached under its file name and defines, as pyrender's
        return super().get_program(vertex_shader, fragment_shader, geometry_shader, defines)


def use_shadow_shaders(offscreen: pyrender.OffscreenRenderer) -> None:
    """Make ``offscreen`` draw shadows with ``SHADOWED_MESH_FRAG``: call before its first render."""
    offscreen._renderer._program_cache = ShadowShaders()


def bind_empty_shadow_slots() -> None:
    """From now on in this process, bind the shadow samplers of absent lights to one spare depth texture."""
    pyrender.renderer.Renderer._bind_lighting = _bind_lighting


def _bind_lighting(renderer, scene, program, node, flags) -> None:
    _unpatched_bind_lighting(renderer, scene, program, node, flags)
    slots = []
    most = renderer._compute_max_n_lights(flags)  # [directional, spot, point]
    if flags & pyrender.RenderFlags.SHADOWS_DIRECTIONAL:
        slots += [f"directional_lights[{i}]" for i in range(len(scene.directional_light_nodes), most[0])]
    if flags & pyrender.RenderFlags.SHADOWS_SPOT:
        slots += [f"spot_lights[{i}]" for i in range(len(scene.spot_light_nodes), most[1])]
    if not slots:
        return
    unit = renderer._get_next_active_texture()
    glActiveTexture(GL_TEXTURE0 + unit)  # before making the spare, which binds and unbinds on the active unit
    spare = getattr(renderer, "_scenegen_spare_shadow_map", None)
    if spare is None:  # made like the lights' shadow maps, so the samplers see the same kind of texture
        spare = ShadowMap(pyrender.renderer.SHADOW_TEX_SZ)
        spare._add_to_context()
        renderer._scenegen_spare_shadow_map = spare
    spare._bind()
    for slot in slots:
        program.set_uniform(f"{slot}.shadow_map", unit)

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

Tested in ``tests/test_render.py`` and by the workers test of ``tests/test_physics.py``.
"""

from __future__ import annotations

import numpy as np
import pyrender
import pyrender.light
import pyrender.renderer
import trimesh
from OpenGL.GL import GL_FLOAT, GL_TEXTURE0, glActiveTexture

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
    if spare is None:  # made like pyrender's own shadow maps, so the samplers see the same kind of texture
        size = pyrender.renderer.SHADOW_TEX_SZ
        spare = pyrender.Texture(width=size, height=size, source_channels="D", data_format=GL_FLOAT)
        spare._add_to_context()
        renderer._scenegen_spare_shadow_map = spare
    spare._bind()
    for slot in slots:
        program.set_uniform(f"{slot}.shadow_map", unit)

"""Shadow maps: their size, and the region a directional light's shadow map covers.

pyrender sizes every light's shadow map by the module constant ``SHADOW_TEX_SZ`` (2048 pixels a side),
read in ``pyrender.light`` (allocating the map) and ``pyrender.renderer`` (the viewport of the shadow
pass); ``set_shadow_map_size`` sets both. A directional light's shadow camera frames the scene's bounds,
and a spot light's shadow camera takes its depth range from their size. pyrender computes the bounds
from every mesh node, hidden or not, and caches them in ``Scene._bounds`` until a node is added: left
alone, the shadows of a frame would depend on the frames rendered before it in the process.
``frame_shadows`` sets them to what is drawn this frame, without the support plane (whose metres would
spread the map's pixels thin). Tested in ``tests/test_render.py`` and by the workers test of
``tests/test_physics.py``.
"""

from __future__ import annotations

import numpy as np
import pyrender.light
import pyrender.renderer
import trimesh


def set_shadow_map_size(size: int) -> None:
    """Give shadow maps allocated from now on in this process ``size`` pixels a side."""
    pyrender.light.SHADOW_TEX_SZ = size
    pyrender.renderer.SHADOW_TEX_SZ = size


def frame_shadows(scene: pyrender.Scene, nodes: list[pyrender.Node]) -> None:
    """Make ``scene``'s bounds, which directional lights' shadow cameras frame, those of ``nodes``."""
    corners = [trimesh.transform_points(trimesh.bounds.corners(n.mesh.bounds), n.matrix) for n in nodes]
    if corners:
        points = np.vstack(corners)
        scene._bounds = np.array([points.min(axis=0), points.max(axis=0)])

"""The silhouette pass for code outside render/ (the BOP export): ``silhouette``'s renderer, started on first use.

Importing this module imports no GL: it chooses the platform (``render.backend``, ``render.egl_device``)
and imports ``silhouette`` only when the first silhouettes are asked for, so an export that needs none
starts no GL context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from scenegen.config.schema import RenderConfig
from scenegen.render import backend

if TYPE_CHECKING:
    from scenegen.render.silhouette import SilhouetteRenderer


@dataclass(frozen=True)
class PosedModel:
    """One object: ``mesh`` (its model points, before ``scale``) at ``R @ (scale * p) + t`` in the OpenCV
    camera (``R`` (3, 3), ``t`` (3,) metres); ``key`` names the mesh, uploaded once per key."""

    key: str
    mesh: trimesh.Trimesh
    scale: float
    R: np.ndarray
    t: np.ndarray


class SilhouettePass:
    """Whole silhouettes of posed models on the enlarged canvas (``silhouette.SilhouetteRenderer``); starts
    a GL context (``render``: the run's render config) when first asked."""

    def __init__(self, render: RenderConfig) -> None:
        self._render = render
        self._renderer: SilhouetteRenderer | None = None

    def canvas_masks(
        self, K: np.ndarray, width: int, height: int, znear: float, zfar: float, models: list[PosedModel]
    ) -> list[np.ndarray]:
        """One (CANVAS * height, CANVAS * width) bool silhouette per model, in order (``silhouette``)."""
        if self._renderer is None:
            backend.activate(backend.choose_backend(str(self._render.backend)), self._render.egl_device[0])
            from scenegen.render.silhouette import SilhouetteRenderer  # imports OpenGL: after activate()

            self._renderer = SilhouetteRenderer()
        return self._renderer.canvas_masks(K, width, height, znear, zfar, models)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()

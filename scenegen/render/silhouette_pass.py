"""The silhouette pass for code outside render/ (the BOP export): ``silhouette``'s renderer, started on first use.

Importing this module imports no GL: it chooses the platform (``render.backend``, ``render.egl_device``)
and imports ``silhouette`` only when the first silhouettes are asked for, so an export that needs none
starts no GL context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scenegen.config.schema import RenderConfig
from scenegen.render import backend
from scenegen.render.posed_model import PosedModel

if TYPE_CHECKING:
    from scenegen.render.silhouette import SilhouetteRenderer


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

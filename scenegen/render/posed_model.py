"""A model posed in the OpenCV camera (``PosedModel``): what the silhouette pass draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh


@dataclass(frozen=True)
class PosedModel:
    """One object: ``mesh`` (its model points, before ``scale``) at ``R @ (scale * p) + t`` in the OpenCV
    camera (``R`` (3, 3), ``t`` (3,) metres); ``key`` names the mesh, uploaded once per key."""

    key: str
    mesh: trimesh.Trimesh
    scale: float
    R: np.ndarray
    t: np.ndarray

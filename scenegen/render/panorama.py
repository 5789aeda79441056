"""The backdrop at infinity: a cube map around the camera, fixed to the world. numpy and opencv only.

Every pixel looks along its ray; the ray's direction alone (never the camera's position) picks the colour,
so the backdrop moves exactly with the camera's rotation, as a distant background does, and its optical
flow is the rotation's (``labels.flow``). Each face of the cube shows the backdrop's square image (its
texture tile, its image crop, or its colour) ``TILES_PER_FACE`` times across.
"""

from __future__ import annotations

import cv2
import numpy as np

from scenegen.labels.geometry import GL_TO_CV
from scenegen.render.backdrop import backdrop_image
from scenegen.scene.spec import BackdropSpec, CameraSpec

TILES_PER_FACE = 2
IMAGE_SIDE = 512  # pixels of the square an image backdrop is resized to


def ray_directions(camera: CameraSpec) -> np.ndarray:
    """(h, w, 3) float64 world directions (not normalised) of the rays through the pixel centres."""
    K = np.asarray(camera.K)
    u, v = np.meshgrid(np.arange(camera.width, dtype=float), np.arange(camera.height, dtype=float))
    in_cv = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], axis=-1)
    rotation = np.asarray(camera.pose)[:3, :3] @ GL_TO_CV  # OpenCV camera axes -> world
    return in_cv @ rotation.T


def panorama_image(spec: BackdropSpec, camera: CameraSpec) -> np.ndarray:
    """(h, w, 3) uint8 RGB: the backdrop at infinity seen by ``camera``."""
    side = spec.texture.size if spec.texture is not None else IMAGE_SIDE
    if spec.texture is None and spec.image is None:
        return backdrop_image(spec, camera.width, camera.height)  # one colour: the same from every direction
    tile = _tile(spec, side)
    d = ray_directions(camera)
    axis = np.argmax(np.abs(d), axis=-1)[..., None]  # the cube face each ray meets
    major = np.take_along_axis(d, axis, axis=-1)
    others = np.where(axis == 0, d[..., [1, 2]], np.where(axis == 1, d[..., [0, 2]], d[..., [0, 1]]))
    face = others / np.abs(major)  # (h, w, 2) in [-1, 1] on the face
    texel = ((face + 1) * (0.5 * TILES_PER_FACE * side) - 0.5).astype(np.float32)
    texel += (axis * side // 3).astype(np.float32)  # faces start at different places of the pattern
    return cv2.remap(tile, texel[..., 0], texel[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


_last_tile: dict[str, np.ndarray] = {}  # the last backdrop's square image: the frames of a scene share it


def _tile(spec: BackdropSpec, side: int) -> np.ndarray:
    key = repr(spec)
    if key not in _last_tile:
        _last_tile.clear()
        _last_tile[key] = backdrop_image(spec, side, side)
    return _last_tile[key]

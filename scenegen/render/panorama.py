"""The backdrop at infinity: a cube map around the camera, fixed to the world. numpy and opencv only.

Every pixel looks along its ray; the ray's direction alone (never the camera's position) picks the colour,
so the backdrop moves exactly with the camera's rotation, as a distant background does, and its optical
flow is the rotation's (``labels.flow``). Each face of the cube shows the backdrop's square image (its
texture tile, its image crop, or its colour) ``TILES_PER_FACE`` times across.
"""

from __future__ import annotations

import cv2
import numpy as np

from scenegen.geometry import GL_TO_CV
from scenegen.render.backdrop import backdrop_image
from scenegen.scene.spec import BackdropSpec, CameraSpec

TILES_PER_FACE = 2
IMAGE_SIDE = 512  # pixels of the square an image backdrop is resized to


def ray_directions(camera: CameraSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World x, y, z components, (h, w) float32 each, of the directions (not normalised) of the rays
    through the pixel centres."""
    K = np.asarray(camera.K)
    x = ((np.arange(camera.width) - K[0, 2]) / K[0, 0]).astype(np.float32)[None, :]
    y = ((np.arange(camera.height) - K[1, 2]) / K[1, 1]).astype(np.float32)[:, None]
    rotation = (np.asarray(camera.pose)[:3, :3] @ GL_TO_CV).astype(np.float32)  # OpenCV camera axes -> world
    return tuple(rotation[i, 0] * x + rotation[i, 1] * y + rotation[i, 2] for i in range(3))  # type: ignore[return-value]


def panorama_image(spec: BackdropSpec, camera: CameraSpec) -> np.ndarray:
    """(h, w, 3) uint8 RGB: the backdrop at infinity seen by ``camera``."""
    if spec.texture is None and spec.image is None:
        return backdrop_image(spec, camera.width, camera.height)  # one colour: the same from every direction
    side = spec.texture.size if spec.texture is not None else IMAGE_SIDE
    dx, dy, dz = ray_directions(camera)
    ax, ay, az = np.abs(dx), np.abs(dy), np.abs(dz)
    on_x = (ax >= ay) & (ax >= az)  # the cube face each ray meets: x, else y, else z
    on_y = ~on_x & (ay >= az)
    major = np.where(on_x, ax, np.where(on_y, ay, az))
    first = np.where(on_x, dy, dx) / major  # in [-1, 1] across the face
    second = np.where(on_x | on_y, dz, dy) / major
    scale = np.float32(0.5 * TILES_PER_FACE * side)
    shift = np.where(on_x, 0, np.where(on_y, side // 3, 2 * side // 3)).astype(np.float32) + scale - 0.5
    return cv2.remap(
        _tile(spec, side), first * scale + shift, second * scale + shift, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP
    )


_last_tile: dict[str, np.ndarray] = {}  # the last backdrop's square image: the frames of a scene share it


def _tile(spec: BackdropSpec, side: int) -> np.ndarray:
    key = repr(spec)
    if key not in _last_tile:
        _last_tile.clear()
        _last_tile[key] = backdrop_image(spec, side, side)
    return _last_tile[key]

"""The backdrop: the image behind all geometry, and compositing the render over it. numpy and opencv only."""

from __future__ import annotations

import numpy as np

from scenegen.scene.images import crop_resized, read_rgb
from scenegen.scene.spec import BackdropSpec
from scenegen.scene.textures import texture_image


def backdrop_image(spec: BackdropSpec, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB: the image crop, else the tiled texture, else the flat colour."""
    if spec.image is not None:
        return crop_resized(read_rgb(spec.image), spec.crop, width, height)
    if spec.texture is not None:
        tile, side = texture_image(spec.texture), spec.texture.size
        reps = (-(-height // side), -(-width // side), 1)
        return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])
    color = np.round(np.asarray(spec.color) * 255).astype(np.uint8)
    return np.broadcast_to(color, (height, width, 3)).copy()


def composite(rgba: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8: a render with premultiplied alpha, (h, w, 4) uint8, over ``backdrop`` (h, w, 3) uint8."""
    out = np.ascontiguousarray(rgba[..., :3])
    rows = np.flatnonzero((rgba[..., 3] < 255).any(axis=1))  # only rows where the backdrop shows
    if rows.size:
        alpha = rgba[rows, :, 3:4].astype(np.uint16)
        blended = out[rows].astype(np.uint16) + (backdrop[rows].astype(np.uint16) * (255 - alpha) + 127) // 255
        out[rows] = np.minimum(blended, 255).astype(np.uint8)
    return out

"""The backdrop: the image behind all geometry, and compositing the render over it. numpy and opencv only."""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import PIL.Image

from scenegen.errors import ScenegenError
from scenegen.scene.spec import BackdropSpec
from scenegen.scene.textures import make_texture

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@cache
def list_images(folder: str) -> tuple[str, ...]:
    """The image files under ``folder`` (recursively), sorted; ScenegenError if there are none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ScenegenError(f"config: background.image_dir {folder!r} is not a folder")
    images = tuple(sorted(str(p.resolve()) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
    if not images:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ScenegenError(f"config: background.image_dir {folder!r} holds no images ({suffixes})")
    return images


@cache
def check_images(folder: str, max_pixels: int) -> None:
    """``check_image`` of every image under ``folder``."""
    for path in list_images(folder):
        check_image(path, max_pixels)


def check_image(path: str, max_pixels: int) -> None:
    """ScenegenError naming ``path`` unless it is a regular file whose header is an image's of at most
    ``max_pixels`` (width x height); only the header is read (Pillow decodes nothing on open)."""
    if not Path(path).is_file():  # a FIFO or a device would block or never end
        raise ScenegenError(f"config: background.image_dir: {path}: not a regular file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                size = image.size[0] * image.size[1]
    except PIL.Image.DecompressionBombError as err:  # Pillow's own limit, far above most: the size is in it
        found = re.search(r"\((\d+) pixels\)", str(err))
        size = int(found[1]) if found else max_pixels + 1
    except (OSError, ValueError) as err:
        raise ScenegenError(f"config: background.image_dir: {path}: not an image ({err})") from None
    if size > max_pixels:
        raise ScenegenError(
            f"config: background.image_dir: {path}: {size} pixels is over background.max_image_pixels={max_pixels}"
        )


def backdrop_image(spec: BackdropSpec, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB: the image crop, else the tiled texture, else the flat colour."""
    if spec.image is not None:
        return _crop(_read_rgb(spec.image), spec.crop, width, height)
    if spec.texture is not None:
        t = spec.texture
        tile = make_texture(t.kind, np.random.default_rng(t.seed), t.size, np.asarray(t.colors))
        reps = (-(-height // t.size), -(-width // t.size), 1)
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


def _read_rgb(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ScenegenError(f"{path}: cannot read background image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _crop(image: np.ndarray, crop: list[float], width: int, height: int) -> np.ndarray:
    """The square crop of side ``crop[2]`` x the shorter side at fractions ``crop[:2]`` of the room left,
    stretched to the frame's aspect ratio and resized to it."""
    h, w = image.shape[:2]
    side = max(1, int(crop[2] * min(h, w)))
    crop_w = min(w, int(side * width / height)) if width > height else side
    crop_h = min(h, int(side * height / width)) if height > width else side
    x0, y0 = int(crop[0] * (w - crop_w)), int(crop[1] * (h - crop_h))
    return cv2.resize(image[y0 : y0 + crop_h, x0 : x0 + crop_w], (width, height), interpolation=cv2.INTER_AREA)

"""Folders of the user's images (``background.image_dir``, ``materials.image_dir``): listing, reading, cropping.

numpy and opencv only, no GL: the scene sampler lists a folder, the renderer and the texture maker read crops.
"""

from __future__ import annotations

import re
import warnings
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
import PIL.Image

from scenegen.errors import AssetError, ConfigError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@cache
def list_images(folder: str, key: str) -> tuple[str, ...]:
    """The image files under ``folder`` (recursively), sorted; ScenegenError naming the config ``key`` if
    it is not a folder or holds none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"config: {key} {folder!r} is not a folder")
    images = tuple(sorted(str(p.resolve()) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
    if not images:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ConfigError(f"config: {key} {folder!r} holds no images ({suffixes})")
    return images


@cache
def check_images(folder: str, key: str, max_pixels: int) -> None:
    """``check_image`` of every image under ``folder`` (decoding them all would take too long)."""
    for path in list_images(folder, key):
        check_image(path, key, max_pixels)


def check_image(path: str, key: str, max_pixels: int) -> None:
    """ScenegenError naming the config ``key`` and ``path`` unless it is a regular file with a readable image
    header (and, for PNG, chunks) of at most ``max_pixels`` (width x height); no pixel is decoded."""
    if not Path(path).is_file():  # a FIFO or a device would block or never end
        raise ConfigError(f"config: {key}: {path}: not a regular file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                size = image.size[0] * image.size[1]
                image.verify()  # the header and, for PNG, the chunks' checksums; no pixels decoded
    except PIL.Image.DecompressionBombError as err:  # Pillow's own limit, far above most: the size is in it
        found = re.search(r"\((\d+) pixels\)", str(err))
        size = int(found[1]) if found else max_pixels + 1
    except (OSError, ValueError, SyntaxError) as err:
        raise ConfigError(f"config: {key}: {path} is not a readable image ({type(err).__name__})") from None
    if size > max_pixels:
        key_of_limit = f"{key.split('.')[0]}.max_image_pixels"
        raise ConfigError(f"config: {key}: {path}: {size} pixels is over {key_of_limit}={max_pixels}")


@lru_cache(maxsize=4)  # a frame's backdrop and textures often crop the same few images
def read_rgb(path: str) -> np.ndarray:
    """(h, w, 3) uint8 RGB of the image file ``path``, read-only; ScenegenError naming it if it cannot be decoded."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise AssetError(f"{path}: cannot read the image")
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    rgb.flags.writeable = False
    return rgb


def crop_resized(image: np.ndarray, crop: list[float], width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8: the square crop of side ``crop[2]`` x the shorter side of ``image`` (h, w, 3)
    uint8 at fractions ``crop[:2]`` of the room left, stretched to the output's aspect ratio and resized to it."""
    h, w = image.shape[:2]
    side = max(1, int(crop[2] * min(h, w)))
    crop_w = min(w, int(side * width / height)) if width > height else side
    crop_h = min(h, int(side * height / width)) if height > width else side
    x0, y0 = int(crop[0] * (w - crop_w)), int(crop[1] * (h - crop_h))
    return cv2.resize(image[y0 : y0 + crop_h, x0 : x0 + crop_w], (width, height), interpolation=cv2.INTER_AREA)

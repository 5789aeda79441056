"""Folders of the user's images (``background.image_dir``, ``materials.image_dir``): listing, reading, cropping.

numpy and opencv only, no GL: the scene sampler lists a folder, the renderer and the texture maker read crops.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
import PIL.Image

from scenegen.errors import ScenegenError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@cache
def list_images(folder: str, key: str) -> tuple[str, ...]:
    """The image files under ``folder`` (recursively), sorted; ScenegenError naming the config ``key`` if
    it is not a folder or holds none."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ScenegenError(f"config: {key} {folder!r} is not a folder")
    images = tuple(sorted(str(p.resolve()) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
    if not images:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ScenegenError(f"config: {key} {folder!r} holds no images ({suffixes})")
    return images


def check_images(folder: str, key: str) -> None:
    """Every image under ``folder`` has a readable image header (decoding them all would take too long);
    ScenegenError naming the config ``key`` and the first file that does not, or the folder's problem."""
    for path in list_images(folder, key):
        try:
            with PIL.Image.open(path) as image:
                image.verify()  # the header and, for PNG, the chunks' checksums; no pixels decoded
        except (OSError, ValueError, SyntaxError, PIL.Image.DecompressionBombError) as err:
            raise ScenegenError(f"config: {key}: {path} is not a readable image ({type(err).__name__})") from None


@lru_cache(maxsize=4)  # a frame's backdrop and textures often crop the same few images
def read_rgb(path: str) -> np.ndarray:
    """(h, w, 3) uint8 RGB of the image file ``path``, read-only; ScenegenError naming it if it cannot be decoded."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ScenegenError(f"{path}: cannot read the image")
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

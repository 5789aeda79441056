"""Camera and sensor effects on the rendered colour image, applied after labelling: labels never change.

Each effect happens with its own probability and draws its parameters from its own ranges, all from
the frame's Generator. Effects apply in a fixed order that follows image formation in a camera:

1. ``vignetting``: the lens darkens towards the corners
2. ``motion_blur``: the camera moves during the exposure
3. ``gaussian_blur``: defocus
4. ``shot_noise``: photon counting noise, its variance proportional to the signal
5. ``gaussian_noise``: read noise, the same everywhere
6. ``brightness``, 7. ``contrast``, 8. ``saturation``, 9. ``gamma``: the camera's processing
10. ``jpeg``: compression of the stored image

The image is float32 only while an effect needs it (1-5 and saturation: filters, noise, mixing channels),
clipped to [0, 255] after each, and ``uint8`` otherwise. Brightness, contrast and gamma change each 8-bit level
the same way wherever it is: they build one 256-entry lookup table, fused while they follow each other, which
is applied once (``cv2.LUT``) when an effect needs the pixels or at the end. Pixels are rounded when they go
from float32 back to 8 bits: before a table, before the jpeg and at the end (a camera digitises its sensor's
reading before processing it).
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import cv2
import numpy as np

from scenegen.config.postfx import (
    FactorConfig,
    GammaConfig,
    GaussianBlurConfig,
    GaussianNoiseConfig,
    JpegConfig,
    MotionBlurConfig,
    PostFXConfig,
    ShotNoiseConfig,
    VignettingConfig,
)

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 weights of R, G, B

# Standard normal quantiles at 2**16 equally likely levels (|z| <= 4.33): indexing them with random
# uint16 draws a normal field five times faster than Generator.standard_normal.
_NORMAL_QUANTILES = np.array([NormalDist().inv_cdf((i + 0.5) / 2**16) for i in range(2**16)], np.float32)


def apply_postfx(
    image: np.ndarray, cfg: PostFXConfig, rng: np.random.Generator
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Draw which effects happen and their parameters from ``rng``, apply them to an ``(h, w, 3) uint8`` RGB image.

    Returns the new ``(h, w, 3) uint8`` image and one ``{"effect": name, <parameter>: value, ...}`` per applied
    effect, in order. The input is never modified; with no effect drawn it is returned as is.
    """
    chosen = [(name, fn) for name, fn in _EFFECTS if rng.random() < getattr(cfg, name).probability]
    if not chosen:
        return image, []
    pixels = _Pixels(np.ascontiguousarray(image))
    applied = []
    for name, fn in chosen:
        applied.append({"effect": name, **fn(pixels, getattr(cfg, name), rng)})
        pixels.clip()
    return pixels.uint8(), applied


class _Pixels:
    """The image between effects: an ``(h, w, 3)`` float32 array, or an ``(h, w, 3) uint8`` array with a pending
    ``(256,)`` float32 table of what each of its levels becomes (None: itself). Never modifies the input."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.table: np.ndarray | None = None

    def float32(self) -> np.ndarray:
        """The image as float32, to change in place (clipped after the effect), the pending table applied."""
        if self.table is not None:
            self.image, self.table = cv2.LUT(self.image, self.table), None
        elif self.image.dtype != np.float32:
            self.image = self.image.astype(np.float32)
        return self.image

    def clip(self) -> None:
        """Clip what the last effect changed, the float32 image or the table, to [0, 255]."""
        changed = self.table if self.table is not None else self.image
        if changed.dtype == np.float32:
            np.clip(changed, 0.0, 255.0, out=changed)

    def levels(self) -> np.ndarray:
        """The pending table, to change in place (clipped after the effect); a float32 image is rounded first."""
        if self.image.dtype == np.float32:
            self.uint8()
        if self.table is None:
            self.table = _LEVELS.copy()
        return self.table

    def uint8(self) -> np.ndarray:
        """The image as ``(h, w, 3) uint8``, the pending table applied, rounded to the nearest level."""
        if self.image.dtype == np.float32:
            self.image = np.rint(self.image, out=self.image).astype(np.uint8)
        elif self.table is not None:
            self.image, self.table = cv2.LUT(self.image, np.rint(self.table).astype(np.uint8)), None
        return self.image


_LEVELS = np.arange(256, dtype=np.float32)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """float32 standard normal samples of ``shape``, from :data:`_NORMAL_QUANTILES`."""
    return np.take(_NORMAL_QUANTILES, rng.integers(0, 2**16, shape, dtype=np.uint16))


def motion_kernel(length: int, angle_deg: float) -> np.ndarray:
    """``(n, n)`` float32 kernel, ``n`` = ``length`` rounded up to odd: a centred line ``length`` pixels long."""
    n = length | 1
    kernel: np.ndarray = np.zeros((n, n), np.float32)
    kernel[n // 2] = 1.0
    if n > length:  # even length: half-weight ends keep it centred
        kernel[n // 2, [0, -1]] = 0.5
    rotation = cv2.getRotationMatrix2D((n // 2, n // 2), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (n, n))
    np.maximum(kernel, 0.0, out=kernel)  # interpolation may leave tiny negatives (opencv 5: -3e-18)
    return kernel / kernel.sum()


def _uniform(rng: np.random.Generator, lo_hi: list[float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _integer(rng: np.random.Generator, lo_hi: list[int]) -> int:
    return int(rng.integers(lo_hi[0], lo_hi[1] + 1))


def _vignetting(pixels: _Pixels, cfg: VignettingConfig, rng: np.random.Generator) -> dict[str, Any]:
    strength = _uniform(rng, cfg.strength)
    img = pixels.float32()
    h, w = img.shape[:2]
    half_diagonal_sq = ((h - 1) ** 2 + (w - 1) ** 2) / 4 or 1.0  # centre to corner pixel, squared; 0 for 1x1
    y = (np.arange(h, dtype=np.float32) - (h - 1) / 2) ** 2
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) ** 2
    gain = np.add.outer(y, x)  # (h, w) squared distance to the centre
    gain *= -strength / half_diagonal_sq
    gain += 1.0  # 1 in the centre, 1 - strength in the corners
    cv2.multiply(img, cv2.cvtColor(gain, cv2.COLOR_GRAY2RGB), dst=img)
    return {"strength": strength}


def _motion_blur(pixels: _Pixels, cfg: MotionBlurConfig, rng: np.random.Generator) -> dict[str, Any]:
    length, angle = _integer(rng, cfg.length), _uniform(rng, [0.0, 180.0])  # degrees anticlockwise from +x, as seen
    img = pixels.float32()
    cv2.filter2D(img, -1, motion_kernel(length, angle), dst=img)
    return {"length": length, "angle_deg": angle}


def _gaussian_blur(pixels: _Pixels, cfg: GaussianBlurConfig, rng: np.random.Generator) -> dict[str, Any]:
    sigma = _uniform(rng, cfg.sigma)
    img = pixels.float32()
    cv2.GaussianBlur(img, (0, 0), sigma, dst=img)
    return {"sigma": sigma}


def _shot_noise(pixels: _Pixels, cfg: ShotNoiseConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Poisson noise in its normal approximation: a pixel of value ``v`` counts ``v / 255 * photons`` photons."""
    photons = _uniform(rng, cfg.photons)
    img = pixels.float32()
    noise = img * (255.0 / photons)  # the variance of each pixel
    np.sqrt(noise, out=noise)
    noise *= standard_normal(rng, img.shape)
    img += noise
    return {"photons": photons}


def _gaussian_noise(pixels: _Pixels, cfg: GaussianNoiseConfig, rng: np.random.Generator) -> dict[str, Any]:
    sigma = _uniform(rng, cfg.sigma)
    img = pixels.float32()
    noise = standard_normal(rng, img.shape)
    noise *= sigma
    img += noise
    return {"sigma": sigma}


def _brightness(pixels: _Pixels, cfg: FactorConfig, rng: np.random.Generator) -> dict[str, Any]:
    factor = _uniform(rng, cfg.factor)
    table = pixels.levels()
    table *= factor
    return {"factor": factor}


def _contrast(pixels: _Pixels, cfg: FactorConfig, rng: np.random.Generator) -> dict[str, Any]:
    factor = _uniform(rng, cfg.factor)
    table = pixels.levels()
    mean_luma = float(np.dot(cv2.mean(cv2.LUT(pixels.image, table))[:3], LUMA))
    table *= factor
    table += (1.0 - factor) * mean_luma
    return {"factor": factor}


def _saturation(pixels: _Pixels, cfg: FactorConfig, rng: np.random.Generator) -> dict[str, Any]:
    factor = _uniform(rng, cfg.factor)
    img = pixels.float32()
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)  # (h, w, 3) BT.601 luma
    cv2.addWeighted(img, factor, grey, 1.0 - factor, 0.0, dst=img)
    return {"factor": factor}


def _gamma(pixels: _Pixels, cfg: GammaConfig, rng: np.random.Generator) -> dict[str, Any]:
    gamma = _uniform(rng, cfg.gamma)
    table = pixels.levels()
    table *= 1 / 255
    np.power(table, gamma, out=table)
    table *= 255
    return {"gamma": gamma}


def _jpeg(pixels: _Pixels, cfg: JpegConfig, rng: np.random.Generator) -> dict[str, Any]:
    quality = _integer(rng, cfg.quality)
    bgr = cv2.cvtColor(pixels.uint8(), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    pixels.image = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return {"quality": quality}


# Each effect draws its parameters, changes the pixels (the float32 image or the table, in place) and returns
# the parameters.
_EFFECTS: tuple[tuple[str, Callable[[_Pixels, Any, np.random.Generator], dict[str, Any]]], ...] = (
    ("vignetting", _vignetting),
    ("motion_blur", _motion_blur),
    ("gaussian_blur", _gaussian_blur),
    ("shot_noise", _shot_noise),
    ("gaussian_noise", _gaussian_noise),
    ("brightness", _brightness),
    ("contrast", _contrast),
    ("saturation", _saturation),
    ("gamma", _gamma),
    ("jpeg", _jpeg),
)

"""Schemas of the sensor effects (``conf/postfx/``): a probability and parameter ranges per effect, in the
order ``scenegen.render.postfx`` applies them."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from scenegen.config.fields import bounded, span


@dataclass
class VignettingConfig:
    probability: float = bounded(0.0, 1.0)
    strength: list[float] = span(0.0, 1.0)  # fraction of the light lost in the corners


@dataclass
class MotionBlurConfig:
    probability: float = bounded(0.0, 1.0)
    length: list[int] = span(1, 500)  # pixels; the direction is uniform. Cost grows with the length


@dataclass
class GaussianBlurConfig:
    probability: float = bounded(0.0, 1.0)
    sigma: list[float] = span(0.1, 100.0)  # pixels


@dataclass
class ShotNoiseConfig:
    probability: float = bounded(0.0, 1.0)
    photons: list[float] = span(1.0, 1e9)  # mean photon count of a 255 pixel; fewer photons, more noise


@dataclass
class GaussianNoiseConfig:
    probability: float = bounded(0.0, 1.0)
    sigma: list[float] = span(0.0, 255.0)  # 0-255 units


@dataclass
class FactorConfig:
    """Brightness, contrast or saturation: a factor about a reference (black, mean luma, grey); 1 is no change."""

    probability: float = bounded(0.0, 1.0)
    factor: list[float] = span(0.0, 100.0)


@dataclass
class GammaConfig:
    probability: float = bounded(0.0, 1.0)
    gamma: list[float] = span(0.01, 100.0)  # output = 255 * (input / 255) ** gamma; above 1 darkens


@dataclass
class JpegConfig:
    probability: float = bounded(0.0, 1.0)
    quality: list[int] = span(1, 100)


@dataclass
class PostFXConfig:
    """One entry per effect, in the order they apply."""

    vignetting: VignettingConfig = MISSING
    motion_blur: MotionBlurConfig = MISSING
    gaussian_blur: GaussianBlurConfig = MISSING
    shot_noise: ShotNoiseConfig = MISSING
    gaussian_noise: GaussianNoiseConfig = MISSING
    brightness: FactorConfig = MISSING
    contrast: FactorConfig = MISSING
    saturation: FactorConfig = MISSING
    gamma: GammaConfig = MISSING
    jpeg: JpegConfig = MISSING

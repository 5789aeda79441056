"""Lights: kinds, intensities, colour temperatures and directions drawn from the lighting config."""

from __future__ import annotations

import numpy as np

from scenegen.config.schema import LightingConfig
from scenegen.geometry import look_at
from scenegen.scene.camera import direction
from scenegen.scene.draws import integer, pick, uniform
from scenegen.scene.spec import LightSpec


def kelvin_to_rgb(kelvin: float) -> list[float]:
    """RGB in [0, 1] of a black body at ``kelvin`` (Tanner Helland's fit, 1000-40000 K)."""
    t = kelvin / 100.0
    red = 1.0 if t <= 66 else 1.29293618606 * (t - 60) ** -0.1332047592
    green = 0.39008157876 * np.log(t) - 0.63184144378 if t <= 66 else 1.12989086089 * (t - 60) ** -0.0755148492
    blue = 1.0 if t >= 66 else (0.0 if t <= 19 else 0.54320678911 * np.log(t - 10) - 1.19625408914)
    return [float(np.clip(c, 0.0, 1.0)) for c in (red, green, blue)]


def sample_lights(rng: np.random.Generator, cfg: LightingConfig, target: np.ndarray) -> list[LightSpec]:
    """``lighting.count`` lights of random kind and colour temperature, aimed at ``target``."""
    lights = []
    for _ in range(integer(rng, cfg.count)):
        kind = str(pick(rng, cfg.types))
        elevation, azimuth = np.radians(uniform(rng, cfg.elevation_deg)), rng.uniform(0.0, 2 * np.pi)
        pose = look_at(target + uniform(rng, cfg.distance) * direction(elevation, azimuth), target)
        color = kelvin_to_rgb(uniform(rng, cfg.color_temperature))
        intensity = uniform(rng, getattr(cfg, f"{kind}_intensity"))
        inner = rng.uniform(0.15, 0.4) if kind == "spot" else 0.0
        outer = inner + rng.uniform(0.1, 0.4) if kind == "spot" else 0.0
        lights.append(LightSpec(kind, color, intensity, pose.tolist(), inner, outer))
    return lights

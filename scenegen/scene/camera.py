"""The camera: a look-at pose on a spherical shell around the target, roll, and jittered intrinsics."""

from __future__ import annotations

import numpy as np

from scenegen.config.schema import CameraConfig
from scenegen.geometry import intrinsics, look_at
from scenegen.scene.draws import uniform
from scenegen.scene.spec import CameraSpec


def sample_camera(
    rng: np.random.Generator, cfg: CameraConfig, width: int, height: int, target: np.ndarray
) -> CameraSpec:
    """A camera on a spherical shell around ``target``, looking at it, rolled, with jittered intrinsics."""
    distance = uniform(rng, cfg.distance)
    elevation, azimuth = np.radians(uniform(rng, cfg.elevation_deg)), np.radians(uniform(rng, cfg.azimuth_deg))
    pose = look_at(target + distance * direction(elevation, azimuth), target)
    roll = np.radians(uniform(rng, cfg.roll_deg))
    pose[:3, :2] = pose[:3, :2] @ np.array([[np.cos(roll), np.sin(roll)], [-np.sin(roll), np.cos(roll)]])
    K = intrinsics(width, height, uniform(rng, cfg.fov_deg))
    K[[0, 1], [0, 1]] *= 1 + rng.uniform(-cfg.focal_jitter, cfg.focal_jitter, 2)
    K[[0, 1], [2, 2]] += rng.uniform(-cfg.principal_point_jitter, cfg.principal_point_jitter, 2)
    return CameraSpec(width, height, K.tolist(), pose.tolist(), float(cfg.znear), float(cfg.zfar))


def direction(elevation: float, azimuth: float) -> np.ndarray:
    return np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])

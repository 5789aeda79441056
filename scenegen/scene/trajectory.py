"""Camera trajectories of a sequence: static, orbit, linear dolly, handheld shake. Pure numpy.

A trajectory moves the sequence's first camera pose (camera-to-world, OpenGL axes) over time, so frame 0
keeps the pose the sampler drew; ``sequence.*`` gives the speeds and amplitudes, per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scenegen.config.schema import SequenceConfig
from scenegen.scene.draws import pick, uniform

CAMERA_MOTIONS = ("static", "orbit", "dolly", "handheld")
SHAKE_COMPONENTS = 2  # sines summed per degree of freedom of the handheld shake


@dataclass(frozen=True)
class CameraPath:
    """``kind`` and its parameters: ``pivot`` (3,) and ``angular_speed`` (rad/s) of an orbit about the
    vertical axis through the pivot; ``velocity`` (3,) m/s of a dolly; ``shake`` (6, SHAKE_COMPONENTS, 3)
    amplitude, hertz and phase of each sine of the handheld offset: 3 positions (m) then 3 angles (rad),
    along the camera's own axes."""

    kind: str
    pivot: np.ndarray = field(default_factory=lambda: np.zeros(3))
    angular_speed: float = 0.0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    shake: np.ndarray = field(default_factory=lambda: np.zeros((6, SHAKE_COMPONENTS, 3)))

    def __post_init__(self) -> None:
        if self.kind not in CAMERA_MOTIONS:
            raise ValueError(f"unknown camera motion {self.kind!r}; known: {CAMERA_MOTIONS}")

    def pose(self, first: np.ndarray, t: float) -> np.ndarray:
        """(4, 4) camera-to-world at ``t`` seconds, given the (4, 4) pose ``first`` at t = 0."""
        if self.kind == "orbit":
            return _about_vertical(self.pivot, self.angular_speed * t) @ first
        if self.kind == "dolly":
            moved = first.copy()
            moved[:3, 3] += self.velocity * t
            return moved
        if self.kind == "handheld":
            offset = _shake(self.shake, t) - _shake(self.shake, 0.0)
            local = np.eye(4)
            local[:3, :3] = rotation_vector(offset[3:])
            local[:3, 3] = offset[:3]
            return first @ local
        return first


def sample_camera_path(rng: np.random.Generator, cfg: SequenceConfig, pivot: np.ndarray) -> CameraPath:
    """One of ``sequence.camera_motions``, with its speeds drawn from their ranges (directions random)."""
    kind = str(pick(rng, cfg.camera_motions))
    if kind == "orbit":
        speed = np.radians(uniform(rng, cfg.orbit_speed_deg)) * (1.0 if rng.random() < 0.5 else -1.0)
        return CameraPath(kind, pivot=np.asarray(pivot, float), angular_speed=speed)
    if kind == "dolly":
        return CameraPath(kind, velocity=uniform(rng, cfg.dolly_speed) * unit_vector(rng))
    if kind == "handheld":
        amplitude = np.repeat([uniform(rng, cfg.handheld_shift), np.radians(uniform(rng, cfg.handheld_angle_deg))], 3)
        shake = np.empty((6, SHAKE_COMPONENTS, 3))
        shake[..., 0] = amplitude[:, None] * rng.uniform(0.5, 1.0, (6, SHAKE_COMPONENTS)) / SHAKE_COMPONENTS
        shake[..., 1] = rng.uniform(cfg.handheld_frequency[0], cfg.handheld_frequency[1], (6, SHAKE_COMPONENTS))
        shake[..., 2] = rng.uniform(0.0, 2 * np.pi, (6, SHAKE_COMPONENTS))
        return CameraPath(kind, shake=shake)
    return CameraPath(kind)


def unit_vector(rng: np.random.Generator) -> np.ndarray:
    """(3,) a direction drawn uniformly on the sphere."""
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def rotation_vector(r: np.ndarray) -> np.ndarray:
    """(3, 3) rotation by ``|r|`` radians about the axis ``r`` (3,) (Rodrigues)."""
    angle = float(np.linalg.norm(r))
    if angle == 0.0:
        return np.eye(3)
    x, y, z = np.asarray(r) / angle
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def _about_vertical(pivot: np.ndarray, angle: float) -> np.ndarray:
    """(4, 4) rotation by ``angle`` radians about the world's vertical axis (+Z) through ``pivot``."""
    m = np.eye(4)
    m[:3, :3] = rotation_vector(np.array([0.0, 0.0, angle]))
    m[:3, 3] = pivot - m[:3, :3] @ pivot
    return m


def _shake(shake: np.ndarray, t: float) -> np.ndarray:
    """(6,) the handheld offset at ``t``: the sum of each degree of freedom's sines."""
    amplitude, hertz, phase = shake[..., 0], shake[..., 1], shake[..., 2]
    return np.sum(amplitude * np.sin(2 * np.pi * hertz * t + phase), axis=1)

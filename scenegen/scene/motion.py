"""Scripted rigid motion of flying objects: constant linear and angular velocity, nothing interpenetrating.

Each object spins about the centre of its bounding sphere while that centre moves in a straight line, so
its sphere sweeps a capsule; velocities are drawn until the object's sphere stays clear, for the whole
sequence, of every other object's sphere (moving or not) and of the distractors. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.assets.catalog import Catalog
from scenegen.config.schema import SequenceConfig
from scenegen.scene.draws import uniform
from scenegen.scene.spec import ObjectSpec, SceneSpec
from scenegen.scene.trajectory import rotation_vector, unit_vector


@dataclass(frozen=True)
class RigidMotion:
    """Constant ``velocity`` (3,) m/s of the point ``centre`` (3,) (world, at t = 0) and ``spin`` (3,) rad/s,
    an angular velocity about an axis through that point."""

    centre: np.ndarray
    velocity: np.ndarray
    spin: np.ndarray

    def pose(self, first: np.ndarray, t: float) -> np.ndarray:
        """(4, 4) object-to-world at ``t`` seconds, given the (4, 4) pose ``first`` at t = 0."""
        m = np.eye(4)
        m[:3, :3] = rotation_vector(self.spin * t)
        m[:3, 3] = self.centre + self.velocity * t - m[:3, :3] @ self.centre
        return m @ first


def sample_object_motions(
    rng: np.random.Generator, cfg: SequenceConfig, spec: SceneSpec, catalog: Catalog, duration: float, tries: int
) -> list[RigidMotion]:
    """One motion per object of ``spec``, in order, over ``duration`` seconds. An object whose ``tries``
    velocity draws all come near another object or a distractor stays where it is (it still spins)."""
    spheres = [object_sphere(obj, catalog) for obj in spec.objects]
    still = [(np.asarray(d.pose)[:3, 3], 0.5 * float(np.linalg.norm(d.size))) for d in spec.distractors]
    motions: list[RigidMotion] = []
    for i, (centre, radius) in enumerate(spheres):
        spin = np.radians(uniform(rng, cfg.object_spin_deg)) * unit_vector(rng)
        velocity = np.zeros(3)
        moving = [(m.centre, m.velocity, spheres[j][1]) for j, m in enumerate(motions)]
        others = moving + [(c, np.zeros(3), r) for c, r in spheres[i + 1 :] + still]
        for _ in range(tries):
            candidate = uniform(rng, cfg.object_speed) * unit_vector(rng)
            if all(_apart(centre, candidate, radius, b, vb, rb, duration) for b, vb, rb in others):
                velocity = candidate
                break
        motions.append(RigidMotion(centre, velocity, spin))
    return motions


def object_sphere(obj: ObjectSpec, catalog: Catalog) -> tuple[np.ndarray, float]:
    """The world centre (3,) and radius of a sphere around the posed, scaled object."""
    centre, radius = catalog.asset(obj.asset_id).bounding_sphere
    pose = np.asarray(obj.pose)
    return pose[:3, :3] @ (obj.scale * centre) + pose[:3, 3], radius * obj.scale


def _apart(a: np.ndarray, va: np.ndarray, ra: float, b: np.ndarray, vb: np.ndarray, rb: float, duration: float) -> bool:
    """Whether spheres at ``a + va t`` and ``b + vb t`` (radii ``ra``, ``rb``) stay apart for t in [0, duration]."""
    gap, closing = a - b, va - vb
    speed2 = float(closing @ closing)
    t = 0.0 if speed2 == 0.0 else float(np.clip(-(gap @ closing) / speed2, 0.0, duration))
    return float(np.linalg.norm(gap + closing * t)) >= ra + rb

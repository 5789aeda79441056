"""Settle dropped objects with PyBullet, or follow thrown ones: pure functions from start poses (and
velocities) to resting poses, or to the poses at given times.

Each call connects its own PyBullet client in DIRECT mode (no GUI, no network), builds the world from
its arguments alone, steps it until every body is at rest or ``physics.max_seconds`` of simulated time
have passed, and disconnects. Nothing but the cached collision-shape files is shared between calls, so
the result depends on the arguments only: PyBullet is deterministic for identical inputs, whatever ran
in the process before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scenegen.assets.collision import CollisionShape
from scenegen.config.schema import PhysicsConfig

GRAVITY = 9.81  # m/s^2, along -Z
DENSITY = 500.0  # kg/m^3 for every object: only mass ratios matter when objects rest on each other
REST_CHECKS = 2  # consecutive checks with every body slow before the scene counts as at rest


@dataclass(frozen=True)
class Body:
    """A dynamic object: its collision shape, uniform ``scale`` (model units to metres), ``pose`` (4, 4)
    model-to-world at the start, and its start ``velocity`` (3,) m/s and ``spin`` (3,) rad/s (world axes)."""

    shape: CollisionShape
    scale: float
    pose: np.ndarray
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    spin: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class StaticBox:
    """A fixed box (support, wall): ``pose`` (4, 4) box-to-world of its centre, ``size`` (3,) metres."""

    pose: np.ndarray
    size: np.ndarray


@dataclass(frozen=True)
class Settled:
    """``poses``: (n, 4, 4) model-to-world at the end; ``seconds``: simulated time; ``at_rest``: whether
    every body came to rest before the time limit; ``sunk``: the bodies that ended deeper than
    ``physics.max_penetration`` in another body (the upper one of each such pair) or in a static box."""

    poses: np.ndarray
    seconds: float
    at_rest: bool
    sunk: tuple[int, ...]


def settle(bodies: Sequence[Body], statics: Sequence[StaticBox], cfg: PhysicsConfig) -> Settled:
    """Drop ``bodies`` among the fixed ``statics`` under gravity and return where they come to rest."""
    bullet = _pybullet()
    client = bullet.connect(bullet.DIRECT)
    try:
        kw = {"physicsClientId": client}
        ids, offsets = _build(bullet, kw, bodies, statics, cfg)
        steps = int(np.ceil(cfg.max_seconds / cfg.time_step))
        check_every = max(1, int(round(cfg.check_seconds / cfg.time_step)))
        quiet, step = 0, 0
        while step < steps and quiet < REST_CHECKS:
            for _ in range(min(check_every, steps - step)):
                bullet.stepSimulation(**kw)
            step = min(step + check_every, steps)
            quiet = quiet + 1 if _all_slow(bullet, ids, cfg, kw) else 0
        poses = _poses(bullet, ids, offsets, kw)
        return Settled(poses, step * cfg.time_step, quiet >= REST_CHECKS, _sunk(bullet, ids, poses, cfg, kw))
    finally:
        bullet.disconnect(client)


def follow(
    bodies: Sequence[Body], statics: Sequence[StaticBox], cfg: PhysicsConfig, times: Sequence[float]
) -> np.ndarray:
    """(len(times), n, 4, 4) poses of ``bodies``, started with their velocities among ``statics``, at
    ``times`` (seconds from the start, ascending; each rounded to a whole number of ``cfg.time_step``).
    A time of 0 gives the start poses themselves."""
    bullet = _pybullet()
    client = bullet.connect(bullet.DIRECT)
    try:
        kw = {"physicsClientId": client}
        ids, offsets = _build(bullet, kw, bodies, statics, cfg)
        for body_id, body in zip(ids, bodies, strict=True):
            bullet.resetBaseVelocity(body_id, list(body.velocity), list(body.spin), **kw)
        start = np.array([np.asarray(body.pose, dtype=float) for body in bodies]).reshape(-1, 4, 4)
        out, step = [], 0
        for t in times:
            target = int(round(t / cfg.time_step))
            for _ in range(target - step):
                bullet.stepSimulation(**kw)
            step = max(step, target)
            out.append(start if step == 0 else _poses(bullet, ids, offsets, kw))
        return np.array(out).reshape(len(out), len(bodies), 4, 4)
    finally:
        bullet.disconnect(client)


def _build(bullet, kw: dict, bodies: Sequence[Body], statics: Sequence[StaticBox], cfg: PhysicsConfig):
    """Set up the world of one client: gravity, solver, ``statics`` and ``bodies``; return the bodies'
    PyBullet ids and the offsets (3,) of their centres of mass in model space, times scale."""
    bullet.setGravity(0.0, 0.0, -GRAVITY, **kw)
    bullet.setPhysicsEngineParameter(
        fixedTimeStep=cfg.time_step,
        numSubSteps=0,
        numSolverIterations=cfg.solver_iterations,
        contactERP=cfg.contact_erp,
        deterministicOverlappingPairs=1,
        **kw,
    )
    for box in statics:
        shape = bullet.createCollisionShape(bullet.GEOM_BOX, halfExtents=(np.asarray(box.size) / 2).tolist(), **kw)
        position, orientation = _position_quaternion(np.asarray(box.pose))
        body = bullet.createMultiBody(0.0, shape, basePosition=position, baseOrientation=orientation, **kw)
        bullet.changeDynamics(body, -1, lateralFriction=cfg.friction, **kw)
    ids, offsets = [], []
    for body in bodies:
        s = body.scale
        mesh_file = str(body.shape.bullet_file)  # the checked parts, private to this process
        shape = bullet.createCollisionShape(bullet.GEOM_MESH, fileName=mesh_file, meshScale=[s, s, s], **kw)
        position, orientation = _position_quaternion(np.asarray(body.pose))
        offset = (s * body.shape.center_of_mass).tolist()
        ids.append(
            bullet.createMultiBody(
                DENSITY * body.shape.volume * s**3,
                shape,
                basePosition=position,
                baseOrientation=orientation,
                baseInertialFramePosition=offset,
                useMaximalCoordinates=True,
                **kw,
            )
        )
        offsets.append(offset)
        bullet.changeDynamics(
            ids[-1],
            -1,
            lateralFriction=cfg.friction,
            rollingFriction=cfg.rolling_friction,
            spinningFriction=cfg.rolling_friction,
            restitution=0.0,
            linearDamping=cfg.damping,
            angularDamping=cfg.damping,
            **kw,
        )
    return ids, offsets


def _poses(bullet, ids: list[int], offsets: list, kw: dict) -> np.ndarray:
    """(n, 4, 4) model-to-world poses of the bodies now."""
    poses = np.empty((len(ids), 4, 4))
    for k, (body_id, offset) in enumerate(zip(ids, offsets, strict=True)):
        com, quaternion = bullet.getBasePositionAndOrientation(body_id, **kw)
        rotation = np.asarray(bullet.getMatrixFromQuaternion(quaternion)).reshape(3, 3)
        poses[k] = np.eye(4)
        poses[k, :3, :3] = rotation
        poses[k, :3, 3] = np.asarray(com) - rotation @ np.asarray(offset)  # PyBullet reports the centre of mass
    return poses


def _sunk(bullet, ids: list[int], poses: np.ndarray, cfg: PhysicsConfig, kw: dict) -> tuple[int, ...]:
    """Indices of the bodies in a contact deeper than ``cfg.max_penetration``: of two bodies, the upper
    one (a fast fall can carry a thin part through another's, where the solver cannot push it back out)."""
    index = {body_id: k for k, body_id in enumerate(ids)}
    sunk: set[int] = set()
    for contact in bullet.getContactPoints(**kw):
        a, b, distance = index.get(contact[1]), index.get(contact[2]), contact[8]
        if distance >= -cfg.max_penetration or (a is None and b is None):
            continue
        if a is not None and b is not None:
            sunk.add(a if poses[a, 2, 3] > poses[b, 2, 3] else b)
        elif a is not None:
            sunk.add(a)
        elif b is not None:
            sunk.add(b)
    return tuple(sorted(sunk))


def _all_slow(bullet, ids: list[int], cfg: PhysicsConfig, kw: dict) -> bool:
    for body_id in ids:
        linear, angular = bullet.getBaseVelocity(body_id, **kw)
        if np.dot(linear, linear) > cfg.rest_speed**2 or np.dot(angular, angular) > cfg.rest_spin**2:
            return False
    return True


def _position_quaternion(pose: np.ndarray) -> tuple[list[float], list[float]]:
    """Translation and PyBullet's (x, y, z, w) quaternion of a (4, 4) rigid transform."""
    from scipy.spatial.transform import Rotation

    return pose[:3, 3].tolist(), Rotation.from_matrix(pose[:3, :3]).as_quat().tolist()


def _pybullet():
    """The pybullet module, imported with the banner it prints to stderr silenced."""
    import sys

    if "pybullet" not in sys.modules:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                import pybullet  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return sys.modules["pybullet"]

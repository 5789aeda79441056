"""The drop layout: objects fall onto the support (a table, a bin floor, a room floor) and come to rest
on it and on each other, leaning, stacking and piling, as PyBullet simulates them.

Objects spawn in random orientations over the placement disk, spread out and stacked just clear of
each other, so the fall is short. Without bin walls the disk grows, like the tabletop layout's, until
the objects' bounding spheres cover at most half of it: many objects spread out rather than fall from
a tall column. An object that leaves the support (falls off the table, or ends beyond twice the disk's
radius), or ends sunk into another (a thin part carried through another's by a fast fall, which the
solver cannot undo), is dropped again from above the middle half of the disk, up to
``physics.max_redrops`` times; the scene
records how many were re-dropped and how many were still lost after that (``unplaced``).

In a sequence (``sequence.frames`` > 1) the settled objects are then thrown, as Kubric's MOVi throws its
objects: ``thrown_poses`` gives each a random velocity and spin and follows them with PyBullet, frame by
frame, as they fly, collide, bounce and settle again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scenegen.assets.asset import Asset
from scenegen.assets.catalog import Catalog
from scenegen.assets.collision import CollisionShape, collision_shape, default_cache_dir
from scenegen.config.schema import Config
from scenegen.scene.draws import random_rotation, uniform
from scenegen.scene.materials import sample_object_material
from scenegen.scene.physics import Body, StaticBox, follow, settle
from scenegen.scene.placement import Sphere, choose_asset, object_spec, wall_boxes
from scenegen.scene.spec import MaterialSpec, ObjectSpec

SPAWN_COVER = 0.5  # without walls, the spawn disk grows until bounding spheres cover at most this share of it
SUPPORT_DEPTH = 0.1  # metres: the support and the walls are this thick in the simulation, so nothing tunnels
WALL_THICKNESS = 0.1
THROW_ELEVATION_DEG = (30.0, 60.0)  # a thrown object leaves at this angle above the horizontal
CATCH_DEPTH = 0.3  # metres below the support: a floor there stops what falls off, so the drop comes to rest


@dataclass(frozen=True)
class Dropped:
    """The result of a drop: the objects at rest, their bounding spheres, and how many objects were dropped
    again after leaving the support (those still off it after the last round are left out)."""

    objects: list[ObjectSpec]
    spheres: list[Sphere]
    redropped: int


@dataclass(frozen=True)
class _Draft:
    asset: Asset
    shape: CollisionShape
    scale: float
    material: MaterialSpec | None

    @property
    def radius(self) -> float:
        return self.asset.bounding_sphere[1] * self.scale

    def sphere(self, pose: np.ndarray) -> Sphere:
        return pose[:3, :3] @ (self.scale * self.asset.bounding_sphere[0]) + pose[:3, 3], self.radius


def cache_dir(cfg: Config) -> Path:
    """Where collision shapes are cached: ``cache_dir``, or the user's cache folder."""
    return Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir()


def sample_dropped_objects(
    rng: np.random.Generator, cfg: Config, catalog: Catalog, probs: np.ndarray, count: int
) -> Dropped:
    """``count`` objects dropped onto the support and settled, with their bounding spheres."""
    drafts = []
    for _ in range(count):
        asset = choose_asset(rng, catalog, probs)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        material = sample_object_material(rng, cfg.materials, asset)
        shape = collision_shape(asset, cfg.physics.collision, cache_dir(cfg))
        drafts.append(_Draft(asset, shape, scale, material))
    statics = support_boxes(cfg)
    area = cfg.scene.placement_radius
    if cfg.scene.bin_wall_height <= 0:
        area = max(area, np.sqrt(sum(d.radius**2 for d in drafts) / SPAWN_COVER))
    poses = _spawn(rng, cfg, area, drafts, list(range(count)), [])
    redropped = 0
    for attempt in range(cfg.physics.max_redrops + 1):
        bodies = [Body(d.shape, d.scale, pose) for d, pose in zip(drafts, poses, strict=True)]
        settled = settle(bodies, statics, cfg.physics)
        poses = list(settled.poses)
        lost = [i for i in range(count) if i in settled.sunk or _left_support(cfg, area, drafts[i].sphere(poses[i]))]
        if not lost or attempt == cfg.physics.max_redrops:
            break
        redropped += len(lost)
        kept = [drafts[i].sphere(poses[i]) for i in range(count) if i not in lost]
        for i, pose in zip(lost, _spawn(rng, cfg, area / 2, drafts, lost, kept), strict=True):
            poses[i] = pose
    objects: list[ObjectSpec] = []
    spheres: list[Sphere] = []
    for i in [i for i in range(count) if i not in lost]:
        draft, pose = drafts[i], poses[i]
        objects.append(object_spec(len(objects) + 1, draft.asset, pose, draft.scale, draft.material))
        spheres.append(draft.sphere(pose))
    return Dropped(objects, spheres, redropped)


def thrown_poses(
    rng: np.random.Generator, cfg: Config, catalog: Catalog, objects: list[ObjectSpec], times: list[float]
) -> np.ndarray:
    """(len(times), n, 4, 4) poses of settled ``objects`` thrown at time 0, as PyBullet follows them: each
    gets a speed from ``sequence.throw_speed`` in a random direction between ``THROW_ELEVATION_DEG`` above
    the horizontal, and a spin from ``sequence.throw_spin_deg`` about a random axis."""
    bodies = []
    for obj in objects:
        shape = collision_shape(catalog.asset(obj.asset_id), cfg.physics.collision, cache_dir(cfg))
        azimuth = rng.uniform(0.0, 2 * np.pi)
        elevation = np.radians(rng.uniform(*THROW_ELEVATION_DEG))
        direction = [np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation), np.sin(elevation)]
        velocity = uniform(rng, cfg.sequence.throw_speed) * np.array(direction)
        axis = rng.normal(size=3)
        spin = np.radians(uniform(rng, cfg.sequence.throw_spin_deg)) * axis / np.linalg.norm(axis)
        bodies.append(Body(shape, obj.scale, np.asarray(obj.pose), tuple(velocity), tuple(spin)))
    return follow(bodies, support_boxes(cfg), cfg.physics, times)


def support_boxes(cfg: Config) -> list[StaticBox]:
    """The fixed bodies of the simulation: the support plane's slab under z = 0, the bin's walls and the
    room's walls, each thickened outwards, and a wide floor below to catch what falls off the support."""
    scene = cfg.scene
    slab, catch = np.eye(4), np.eye(4)
    slab[2, 3] = -SUPPORT_DEPTH / 2
    catch[2, 3] = -CATCH_DEPTH - SUPPORT_DEPTH / 2
    wide = 10 * scene.plane_size
    boxes = [
        StaticBox(slab, np.array([scene.plane_size, scene.plane_size, SUPPORT_DEPTH])),
        StaticBox(catch, np.array([wide, wide, SUPPORT_DEPTH])),
    ]
    for inner, height in ((scene.placement_radius, scene.bin_wall_height), (scene.room_size / 2, scene.room_height)):
        if inner > 0 and height > 0:
            walls = wall_boxes(inner, height, WALL_THICKNESS)
            boxes += [StaticBox(np.asarray(pose), np.asarray(size)) for pose, size in walls]
    return boxes


def _spawn(
    rng: np.random.Generator, cfg: Config, radius: float, drafts: list[_Draft], which: list[int], taken: list[Sphere]
) -> list[np.ndarray]:
    """Start poses (4, 4) for ``drafts[which]``: a random orientation, the bounding sphere's centre over a
    random point of the disk of ``radius`` (wholly inside it when there are bin walls), as low as it goes
    while clearing the support and the spheres already ``taken`` by ``physics.drop_gap``."""
    taken = list(taken)
    poses = []
    for i in which:
        draft = drafts[i]
        r = draft.radius
        reach = max(radius - r, 0.0) if cfg.scene.bin_wall_height > 0 else radius
        distance, angle = reach * np.sqrt(rng.uniform()), rng.uniform(0.0, 2 * np.pi)
        xy = distance * np.array([np.cos(angle), np.sin(angle)])
        gap = uniform(rng, cfg.physics.drop_gap)
        z = r + gap
        for centre, other in taken:
            clear = r + other + gap
            d2 = float(np.sum((xy - centre[:2]) ** 2))
            if d2 < clear**2:
                z = max(z, centre[2] + np.sqrt(clear**2 - d2))
        where = np.array([xy[0], xy[1], z])
        pose = random_rotation(rng)
        pose[:3, 3] = where - pose[:3, :3] @ (draft.scale * draft.asset.bounding_sphere[0])
        poses.append(pose)
        taken.append((where, r))
    return poses


def _left_support(cfg: Config, radius: float, sphere: Sphere) -> bool:
    """Whether an object has left the support: its bounding sphere's centre is below the support's top,
    off the plane, or farther than twice the spawn disk's ``radius`` from the centre."""
    centre, _ = sphere
    off_plane = np.max(np.abs(centre[:2])) > cfg.scene.plane_size / 2
    return centre[2] < 0 or bool(off_plane) or float(np.linalg.norm(centre[:2])) > 2 * radius

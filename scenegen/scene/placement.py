"""Where objects and distractors go: resting on the support plane in stable poses, or flying in view;
nothing interpenetrates, and nothing reaches the camera's near plane. An object that finds no free spot is
given more room (a wider disk, a deeper view) rather than left out, so an object's size never decides how
often its class appears."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scenegen.assets.asset import Asset
from scenegen.assets.catalog import Catalog
from scenegen.config.schema import Config
from scenegen.geometry import GL_TO_CV, world_to_camera_cv
from scenegen.scene.draws import integer, pick, random_rotation, uniform
from scenegen.scene.materials import sample_material, sample_object_material, sample_plane_material
from scenegen.scene.spec import CameraSpec, DistractorSpec, MaterialSpec, ObjectSpec

Sphere = tuple[np.ndarray, float]  # centre (3,), radius
GROWTH = 1.1  # the disk, or the depth range, grows by this when an object finds no room
BIN_WALL, ROOM_WALL = 0.02, 0.05  # metres: wall thickness


def choose_asset(rng: np.random.Generator, catalog: Catalog, probs: np.ndarray) -> Asset:
    """A class by ``probs``, one of its assets, and, for an asset with a shape family, one of its variants."""
    assets = catalog.assets_by_class[catalog.classes[rng.choice(len(catalog.classes), p=probs)]]
    asset = pick(rng, assets)
    variants = catalog.variants.get(asset.id)
    return pick(rng, variants) if variants else asset


def drawable_assets(catalog: Catalog, probs: np.ndarray) -> list[Asset]:
    """Every asset ``choose_asset`` can return with ``probs``: each asset (or, for one with a shape family, each
    of its variants) of each class of probability above 0; a class of probability 0 is never drawn."""
    drawable: list[Asset] = []
    for name, p in zip(catalog.classes, probs, strict=True):
        if p > 0:
            for asset in catalog.assets_by_class[name]:
                drawable += catalog.variants.get(asset.id) or (asset,)
    return drawable


def object_spec(
    instance_id: int, asset: Asset, pose: np.ndarray, scale: float, material: MaterialSpec | None
) -> ObjectSpec:
    """The ObjectSpec of ``asset`` posed at ``pose`` (4, 4), naming its shape family and parameters if it has one."""
    shape = None if asset.shape is None else asset.shape.record()
    return ObjectSpec(instance_id, asset.id, asset.class_name, pose.tolist(), scale, material, shape)


def sample_resting_objects(
    rng: np.random.Generator, cfg: Config, catalog: Catalog, probs: np.ndarray, count: int
) -> tuple[list[ObjectSpec], list[Sphere], float]:
    """Up to ``count`` objects resting on z = 0 in stable poses, footprints disjoint inside the
    placement disk (whole footprints when the disk is walled in as a bin), with their bounding spheres
    and the disk's final radius. Objects are drawn first, then placed largest footprint first; one that
    finds no free spot in ``scene.max_placement_tries`` draws widens the disk by 10% and tries again.
    Only one that would overhang the support plane's edge is left out."""
    drawn = []
    for _ in range(count):
        asset = choose_asset(rng, catalog, probs)
        rest = asset.resting_poses
        k = rng.choice(len(rest.probabilities), p=rest.probabilities)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        yaw = rng.uniform(0.0, 2 * np.pi)
        drawn.append((asset, k, scale, yaw, sample_object_material(rng, cfg.materials, asset)))
    placed: list[tuple[np.ndarray, float]] = []  # footprint centre (2,), radius
    objects: list[ObjectSpec] = []
    spheres: list[Sphere] = []
    area, walled = cfg.scene.placement_radius, cfg.scene.bin_wall_height > 0
    for asset, k, scale, yaw, material in sorted(drawn, key=lambda d: -d[0].resting_poses.radii[d[1]] * d[2]):
        rest = asset.resting_poses
        radius = rest.radii[k] * scale
        while (spot := _free_spot(rng, placed, radius, area, walled, cfg.scene.max_placement_tries)) is None:
            if area * GROWTH + radius > cfg.scene.plane_size / 2:
                break
            area *= GROWTH
        if spot is None:
            continue
        placed.append((spot, radius))
        resting = rest.transforms[k].copy()
        resting[:3, 3] *= scale  # the rest transform, for the scaled mesh
        pose = _yaw_translation(yaw, spot) @ resting
        objects.append(object_spec(len(objects) + 1, asset, pose, scale, material))
        spheres.append(_bounding_sphere(asset, pose, scale))
    return objects, spheres, area


def sample_flying_objects(
    rng: np.random.Generator, cfg: Config, catalog: Catalog, probs: np.ndarray, count: int, camera: CameraSpec
) -> tuple[list[ObjectSpec], list[Sphere]]:
    """Up to ``count`` objects floating in view at ``scene.flying_depth``, uniformly random
    orientation, bounding spheres disjoint (so nothing interpenetrates) and beyond the near plane, with
    those spheres. An object that finds no such spot in ``scene.max_placement_tries`` draws tries again 10%
    deeper, up to the far plane."""
    objects: list[ObjectSpec] = []
    spheres: list[Sphere] = []
    for _ in range(count):
        asset = choose_asset(rng, catalog, probs)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        centre, radius = asset.bounding_sphere
        rotation = random_rotation(rng)
        material = sample_object_material(rng, cfg.materials, asset)
        depth = list(cfg.scene.flying_depth)
        while (where := _free_point_in_view(rng, camera, depth, radius * scale, spheres, cfg)) is None:
            if depth[1] * GROWTH > camera.zfar:
                break
            depth[1] *= GROWTH
        if where is None:
            continue
        pose = rotation.copy()
        pose[:3, 3] = where - rotation[:3, :3] @ (scale * centre)  # the sphere's centre lands on ``where``
        objects.append(object_spec(len(objects) + 1, asset, pose, scale, material))
        spheres.append((where, radius * scale))
    return objects, spheres


def sample_distractors(
    rng: np.random.Generator, cfg: Config, camera: CameraSpec, target: np.ndarray, spheres: list[Sphere]
) -> list[DistractorSpec]:
    """Unlabelled primitives floating in view between the camera and the objects, clear of the
    objects, of each other, of the near plane and (with a support plane) above it."""
    eye = np.asarray(camera.pose)[:3, 3]
    reach = float(np.linalg.norm(target - eye))
    taken = list(spheres)
    distractors = []
    for _ in range(integer(rng, cfg.scene.distractors)):
        shape = str(pick(rng, cfg.scene.distractor_shapes))
        size = rng.uniform(cfg.scene.distractor_size[0], cfg.scene.distractor_size[1], 3)
        radius = 0.5 * float(np.linalg.norm(size))
        rotation = random_rotation(rng)
        material = sample_material(rng, cfg.materials)
        for _ in range(cfg.scene.max_placement_tries):
            if cfg.scene.layout != "flying":
                depth = rng.uniform(0.3, 1.0) * reach
            else:
                depth = uniform(rng, cfg.scene.flying_depth)
            where = _point_in_view(rng, camera, depth)
            above = cfg.scene.plane_size <= 0 or where[2] > radius
            if above and beyond_near_plane((where, radius), camera) and _clear(where, radius, taken):
                break
        else:
            continue
        pose = rotation
        pose[:3, 3] = where
        taken.append((where, radius))
        distractors.append(DistractorSpec(shape, pose.tolist(), size.tolist(), material))
    return distractors


def bin_walls(rng: np.random.Generator, cfg: Config, inner: float) -> list[DistractorSpec]:
    """Four box walls of height ``scene.bin_wall_height``, ``inner`` metres from the centre (none at height 0)."""
    height = cfg.scene.bin_wall_height
    if height <= 0:
        return []
    material = sample_material(rng, cfg.materials)
    return [DistractorSpec("box", pose, size, material) for pose, size in wall_boxes(inner, height, BIN_WALL)]


def room_walls(rng: np.random.Generator, cfg: Config) -> list[DistractorSpec]:
    """Four walls of a room, ``scene.room_size`` apart and ``scene.room_height`` high, each with its own
    random background material (none at size 0)."""
    if cfg.scene.room_size <= 0:
        return []
    boxes = wall_boxes(cfg.scene.room_size / 2, cfg.scene.room_height, ROOM_WALL)
    return [
        DistractorSpec("box", pose, size, sample_plane_material(rng, cfg.background, cfg.materials))
        for pose, size in boxes
    ]


def wall_boxes(inner: float, height: float, thickness: float) -> list[tuple[list[list[float]], list[float]]]:
    """Four walls standing on z = 0 around a square of half-side ``inner``: (box-to-world pose (4, 4),
    size (3,)) of each box, corners closed."""
    length = 2 * (inner + thickness)
    walls = []
    for angle in (0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi):
        pose = _yaw_translation(angle, (inner + thickness / 2) * np.array([np.cos(angle), np.sin(angle)]))
        pose[2, 3] = height / 2
        walls.append((pose.tolist(), [thickness, length, height]))
    return walls


def beyond_near_plane(sphere: Sphere, camera: CameraSpec) -> bool:
    """Whether ``sphere`` lies wholly in front of the camera's near plane: its centre's depth exceeds
    its radius plus ``znear``, so the camera is never inside, nor the near plane through, what it bounds."""
    centre, radius = sphere
    depth = (world_to_camera_cv(np.asarray(camera.pose)) @ np.append(centre, 1.0))[2]
    return bool(depth > radius + camera.znear)


def keep_beyond_near_plane(
    objects: list[ObjectSpec], spheres: list[Sphere], camera: CameraSpec
) -> tuple[list[ObjectSpec], list[Sphere]]:
    """The objects (renumbered from 1) whose bounding spheres lie beyond the camera's near plane, with
    their spheres."""
    kept = [(obj, sphere) for obj, sphere in zip(objects, spheres, strict=True) if beyond_near_plane(sphere, camera)]
    return [replace(obj, instance_id=k) for k, (obj, _) in enumerate(kept, 1)], [sphere for _, sphere in kept]


def _clear(centre: np.ndarray, radius: float, spheres: list[Sphere]) -> bool:
    return all(np.linalg.norm(centre - c) >= radius + r for c, r in spheres)


def _bounding_sphere(asset: Asset, pose: np.ndarray, scale: float) -> Sphere:
    centre, radius = asset.bounding_sphere
    return pose[:3, :3] @ (scale * centre) + pose[:3, 3], radius * scale


def _point_in_view(rng: np.random.Generator, camera: CameraSpec, depth: float) -> np.ndarray:
    """A world point ``depth`` metres in front of the camera, at a uniformly random pixel."""
    K = np.asarray(camera.K)
    u, v = rng.uniform(0, camera.width - 1), rng.uniform(0, camera.height - 1)
    in_cv = depth * np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
    pose = np.asarray(camera.pose)
    return pose[:3, :3] @ (GL_TO_CV @ in_cv) + pose[:3, 3]


def _free_point_in_view(
    rng: np.random.Generator, camera: CameraSpec, depth: list[float], radius: float, spheres: list[Sphere], cfg: Config
) -> np.ndarray | None:
    """A point in view at a depth in ``depth`` whose sphere of ``radius`` clears ``spheres`` and the near plane,
    or None."""
    for _ in range(cfg.scene.max_placement_tries):
        where = _point_in_view(rng, camera, uniform(rng, depth))
        if beyond_near_plane((where, radius), camera) and _clear(where, radius, spheres):
            return where
    return None


def _free_spot(
    rng: np.random.Generator,
    placed: list[tuple[np.ndarray, float]],
    radius: float,
    area: float,
    walled: bool,
    tries: int,
) -> np.ndarray | None:
    """A point of the disk of radius ``area`` (inside it with the whole footprint when ``walled``) whose
    footprint circle of ``radius`` meets none of ``placed``, or None after ``tries`` draws."""
    reach = max(area - radius, 0.0) if walled else area
    for _ in range(tries):
        r, theta = reach * np.sqrt(rng.uniform()), rng.uniform(0.0, 2 * np.pi)
        spot = np.array([r * np.cos(theta), r * np.sin(theta)])
        if all(np.linalg.norm(spot - c) >= radius + rc for c, rc in placed):
            return spot
    return None


def _yaw_translation(yaw: float, xy: np.ndarray) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    m[:2, 3] = xy
    return m

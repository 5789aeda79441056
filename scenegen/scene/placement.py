"""Where objects and distractors go: resting on the support plane in stable poses, or flying in view;
nothing interpenetrates, and nothing reaches the camera's near plane."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scenegen.assets.catalog import Asset, Catalog
from scenegen.config.schema import Config
from scenegen.labels.geometry import GL_TO_CV, world_to_camera_cv
from scenegen.scene.draws import integer, pick, random_rotation, uniform
from scenegen.scene.materials import sample_material, sample_object_material
from scenegen.scene.spec import CameraSpec, DistractorSpec, ObjectSpec

Sphere = tuple[np.ndarray, float]  # centre (3,), radius


def _choose_asset(rng: np.random.Generator, catalog: Catalog, probs: np.ndarray) -> Asset:
    assets = catalog.assets_by_class[catalog.classes[rng.choice(len(catalog.classes), p=probs)]]
    return pick(rng, assets)


def sample_resting_objects(
    rng: np.random.Generator, cfg: Config, catalog: Catalog, probs: np.ndarray, count: int
) -> tuple[list[ObjectSpec], list[Sphere]]:
    """Up to ``count`` objects resting on z = 0 in stable poses, footprints disjoint inside the
    placement disk, with their bounding spheres. An object that finds no free spot in
    ``scene.max_placement_tries`` draws is left out."""
    placed: list[tuple[np.ndarray, float]] = []  # footprint centre (2,), radius
    objects, spheres = [], []
    for _ in range(count):
        asset = _choose_asset(rng, catalog, probs)
        rest = asset.resting_poses
        k = rng.choice(len(rest.probabilities), p=rest.probabilities)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        radius = rest.radii[k] * scale
        yaw = rng.uniform(0.0, 2 * np.pi)
        spot = _free_spot(rng, placed, radius, cfg.scene.placement_radius, cfg.scene.max_placement_tries)
        material = sample_object_material(rng, cfg.materials, asset)
        if spot is None:
            continue
        placed.append((spot, radius))
        resting = rest.transforms[k].copy()
        resting[:3, 3] *= scale  # the rest transform, for the scaled mesh
        pose = _yaw_translation(yaw, spot) @ resting
        objects.append(ObjectSpec(len(objects) + 1, asset.id, asset.class_name, pose.tolist(), scale, material))
        spheres.append(_bounding_sphere(asset, pose, scale))
    return objects, spheres


def sample_flying_objects(
    rng: np.random.Generator, cfg: Config, catalog: Catalog, probs: np.ndarray, count: int, camera: CameraSpec
) -> tuple[list[ObjectSpec], list[Sphere]]:
    """Up to ``count`` objects floating in view at ``scene.flying_depth``, uniformly random
    orientation, bounding spheres disjoint (so nothing interpenetrates) and beyond the near plane, with
    those spheres. An object that finds no such spot in ``scene.max_placement_tries`` draws is left out."""
    objects, spheres = [], []
    for _ in range(count):
        asset = _choose_asset(rng, catalog, probs)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        centre, radius = asset.bounding_sphere
        rotation = random_rotation(rng)
        material = sample_object_material(rng, cfg.materials, asset)
        for _ in range(cfg.scene.max_placement_tries):
            where = _point_in_view(rng, camera, uniform(rng, cfg.scene.flying_depth))
            if beyond_near_plane((where, radius * scale), camera) and _clear(where, radius * scale, spheres):
                break
        else:
            continue
        pose = rotation.copy()
        pose[:3, 3] = where - rotation[:3, :3] @ (scale * centre)  # the sphere's centre lands on ``where``
        objects.append(ObjectSpec(len(objects) + 1, asset.id, asset.class_name, pose.tolist(), scale, material))
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
            if cfg.scene.layout == "tabletop":
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


def bin_walls(rng: np.random.Generator, cfg: Config) -> list[DistractorSpec]:
    """Four box walls of height ``scene.bin_wall_height`` around the placement disk (none at height 0)."""
    height = cfg.scene.bin_wall_height
    if height <= 0:
        return []
    material = sample_material(rng, cfg.materials)
    thickness, inner = 0.02, cfg.scene.placement_radius
    length = 2 * (inner + thickness)
    walls = []
    for angle in (0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi):
        pose = _yaw_translation(angle, (inner + thickness / 2) * np.array([np.cos(angle), np.sin(angle)]))
        pose[2, 3] = height / 2
        walls.append(DistractorSpec("box", pose.tolist(), [thickness, length, height], material))
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


def _free_spot(
    rng: np.random.Generator, placed: list[tuple[np.ndarray, float]], radius: float, area: float, tries: int
) -> np.ndarray | None:
    for _ in range(tries):
        r, theta = area * np.sqrt(rng.uniform()), rng.uniform(0.0, 2 * np.pi)
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

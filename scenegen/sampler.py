"""Draw a SceneSpec from the config's distribution: pure numpy, one Generator per frame.

Frame ``index`` of a dataset with ``seed`` uses ``np.random.default_rng([seed, index])``,
so every frame is reproducible on its own, whatever the split of the work.
"""

from __future__ import annotations

import colorsys

import numpy as np

from scenegen.assets import Catalog
from scenegen.config import BackgroundConfig, CameraConfig, Config, LightingConfig, MaterialsConfig
from scenegen.errors import ScenegenError
from scenegen.spec import CameraSpec, LightSpec, MaterialSpec, ObjectSpec, PlaneSpec, SceneSpec

LIGHT_KINDS = ("directional", "point", "spot")


def frame_rng(seed: int, index: int) -> np.random.Generator:
    """The Generator of frame ``index``."""
    return np.random.default_rng([seed, index])


def sample_scene(cfg: Config, catalog: Catalog, index: int) -> SceneSpec:
    """Frame ``index`` of the dataset described by ``cfg``."""
    rng = frame_rng(cfg.seed, index)
    objects = sample_objects(rng, cfg, catalog)
    centre = np.mean([o.pose for o in objects], axis=0)[:3, 3] if objects else np.zeros(3)
    target = centre + rng.normal(0.0, cfg.camera.look_at_jitter, 3)
    camera = sample_camera(rng, cfg.camera, cfg.render.width, cfg.render.height, target)
    lights = sample_lights(rng, cfg.lighting, target)
    plane = None
    if cfg.scene.plane_size > 0:
        plane = PlaneSpec(cfg.scene.plane_size, sample_material(rng, cfg.background, [0.0, 0.5], [0.3, 1.0]))
    return SceneSpec(
        index=index,
        seed=cfg.seed,
        camera=camera,
        objects=objects,
        lights=lights,
        background_color=hsv_color(rng, cfg.background),
        ambient_light=[uniform(rng, cfg.lighting.ambient)] * 3,
        plane=plane,
    )


def uniform(rng: np.random.Generator, span: list[float]) -> float:
    return float(rng.uniform(span[0], span[1]))


def hsv_color(rng: np.random.Generator, ranges: MaterialsConfig | BackgroundConfig) -> list[float]:
    """An RGB colour in [0, 1] from ``hue``, ``saturation`` and ``value`` spans."""
    return list(
        colorsys.hsv_to_rgb(uniform(rng, ranges.hue), uniform(rng, ranges.saturation), uniform(rng, ranges.value))
    )


def sample_material(
    rng: np.random.Generator, colors: MaterialsConfig | BackgroundConfig, metallic: list[float], roughness: list[float]
) -> MaterialSpec:
    return MaterialSpec(
        base_color=[*hsv_color(rng, colors), 1.0], metallic=uniform(rng, metallic), roughness=uniform(rng, roughness)
    )


def class_probabilities(catalog: Catalog, weights: dict[str, float]) -> np.ndarray:
    """Probability of each catalog class, from ``objects.class_weights`` (default weight 1)."""
    for name, weight in weights.items():
        if name not in catalog.classes:
            raise ScenegenError(f"config: objects.class_weights.{name}: unknown class; known: {list(catalog.classes)}")
        if not weight >= 0:
            raise ScenegenError(f"config: objects.class_weights.{name} = {weight} must be >= 0")
    p = np.array([float(weights.get(c, 1.0)) for c in catalog.classes])
    if p.sum() <= 0:
        raise ScenegenError("config: objects.class_weights are all zero")
    return p / p.sum()


def sample_objects(rng: np.random.Generator, cfg: Config, catalog: Catalog) -> list[ObjectSpec]:
    """Objects resting on z = 0 in stable poses, footprints disjoint inside the placement disk.

    An object that finds no free spot in ``scene.max_placement_tries`` draws is left out.
    """
    probs = class_probabilities(catalog, cfg.objects.class_weights)
    count = int(rng.integers(cfg.scene.objects_per_scene[0], cfg.scene.objects_per_scene[1] + 1))
    placed: list[tuple[np.ndarray, float]] = []  # footprint centre (2,), radius
    objects: list[ObjectSpec] = []
    for _ in range(count):
        class_name = catalog.classes[rng.choice(len(catalog.classes), p=probs)]
        assets = catalog.assets_by_class[class_name]
        asset = assets[int(rng.integers(len(assets)))]
        rest = asset.resting_poses
        k = rng.choice(len(rest.probabilities), p=rest.probabilities)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        radius = rest.radii[k] * scale
        yaw = rng.uniform(0.0, 2 * np.pi)
        spot = _free_spot(rng, placed, radius, cfg.scene.placement_radius, cfg.scene.max_placement_tries)
        material = sample_material(rng, cfg.materials, cfg.materials.metallic, cfg.materials.roughness)
        if spot is None:
            continue
        placed.append((spot, radius))
        resting = rest.transforms[k].copy()
        resting[:3, 3] *= scale  # the rest transform, for the scaled mesh
        pose = _yaw_translation(yaw, spot) @ resting
        objects.append(ObjectSpec(len(objects) + 1, asset.id, class_name, pose.tolist(), scale, material))
    return objects


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


def look_at(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera-to-world (4, 4) in OpenGL axes: -Z towards ``target``, +Y as close to ``up`` as possible."""
    z = eye - target
    z /= np.linalg.norm(z)
    x = np.cross(np.asarray(up), z)
    if np.linalg.norm(x) < 1e-9:  # looking straight along up
        x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, np.cross(z, x), z, eye
    return m


def intrinsics(width: int, height: int, fov_y_deg: float) -> np.ndarray:
    """(3, 3) OpenCV K with square pixels and the principal point at the image centre."""
    f = 0.5 * height / np.tan(np.radians(fov_y_deg) / 2)
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])


def sample_camera(
    rng: np.random.Generator, cfg: CameraConfig, width: int, height: int, target: np.ndarray
) -> CameraSpec:
    """A camera on a spherical shell around ``target``, looking at it."""
    distance = uniform(rng, cfg.distance)
    elevation, azimuth = np.radians(uniform(rng, cfg.elevation_deg)), np.radians(uniform(rng, cfg.azimuth_deg))
    direction = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    pose = look_at(target + distance * direction, target)
    K = intrinsics(width, height, uniform(rng, cfg.fov_deg))
    return CameraSpec(width, height, K.tolist(), pose.tolist(), float(cfg.znear), float(cfg.zfar))


def sample_lights(rng: np.random.Generator, cfg: LightingConfig, target: np.ndarray) -> list[LightSpec]:
    """``lighting.count`` lights of random kind, aimed at ``target`` from the upper hemisphere."""
    unknown = [k for k in cfg.types if k not in LIGHT_KINDS]
    if unknown or not cfg.types:
        raise ScenegenError(
            f"config: lighting.types must be a non-empty subset of {list(LIGHT_KINDS)}, got {list(cfg.types)}"
        )
    lights = []
    for _ in range(int(rng.integers(cfg.count[0], cfg.count[1] + 1))):
        kind = cfg.types[int(rng.integers(len(cfg.types)))]
        elevation, azimuth = rng.uniform(np.radians(25), np.radians(85)), rng.uniform(0.0, 2 * np.pi)
        direction = np.array(
            [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)]
        )
        pose = look_at(target + rng.uniform(0.8, 2.0) * direction, target)
        color = list(colorsys.hsv_to_rgb(rng.uniform(), uniform(rng, cfg.color_saturation), 1.0))
        intensity = uniform(rng, getattr(cfg, f"{kind}_intensity"))
        inner = rng.uniform(0.15, 0.4) if kind == "spot" else 0.0
        outer = inner + rng.uniform(0.1, 0.4) if kind == "spot" else 0.0
        lights.append(LightSpec(kind, color, intensity, pose.tolist(), inner, outer))
    return lights

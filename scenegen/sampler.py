"""Draw a SceneSpec from the config's distribution: pure numpy, one Generator per frame.

Frame ``index`` of a dataset with ``seed`` uses ``np.random.default_rng([seed, index])``,
so every frame is reproducible on its own, whatever the split of the work.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from scenegen.assets import Asset, Catalog
from scenegen.backdrop import list_images
from scenegen.config import BackgroundConfig, CameraConfig, Config, LightingConfig, MaterialsConfig
from scenegen.errors import ScenegenError
from scenegen.geometry import GL_TO_CV
from scenegen.primitives import DISTRACTOR_SHAPES
from scenegen.spec import (
    BackdropSpec,
    CameraSpec,
    DistractorSpec,
    LightSpec,
    MaterialSpec,
    ObjectSpec,
    PlaneSpec,
    SceneSpec,
    TextureSpec,
)
from scenegen.textures import TEXTURE_KINDS

LIGHT_KINDS = ("directional", "point", "spot")
LAYOUTS = ("tabletop", "flying")
BALANCES = ("uniform", "assets")
Sphere = tuple[np.ndarray, float]
T = TypeVar("T")  # centre (3,), radius


def frame_rng(seed: int, index: int) -> np.random.Generator:
    """The Generator of frame ``index``."""
    return np.random.default_rng([seed, index])


def check_choices(cfg: Config) -> None:
    """Raise ScenegenError naming the key of any name-valued setting outside its known choices."""
    choices = {
        "scene.layout": ([cfg.scene.layout], LAYOUTS),
        "scene.distractor_shapes": (cfg.scene.distractor_shapes, DISTRACTOR_SHAPES),
        "materials.texture_kinds": (cfg.materials.texture_kinds, TEXTURE_KINDS),
        "lighting.types": (cfg.lighting.types, LIGHT_KINDS),
        "objects.balance": ([cfg.objects.balance], BALANCES),
    }
    for key, (values, known) in choices.items():
        unknown = [v for v in values if v not in known]
        if unknown or not values:
            raise ScenegenError(f"config: {key} must be a non-empty choice of {list(known)}, got {list(values)}")


def sample_scene(cfg: Config, catalog: Catalog, index: int) -> SceneSpec:
    """Frame ``index`` of the dataset described by ``cfg``."""
    rng = frame_rng(cfg.seed, index)
    probs = class_probabilities(catalog, cfg)
    width, height = cfg.render.width, cfg.render.height
    count = integer(rng, cfg.scene.objects_per_scene)
    if cfg.scene.layout == "tabletop":
        objects, spheres = sample_resting_objects(rng, cfg, catalog, probs, count)
        centre = np.mean([s[0] for s in spheres], axis=0) if spheres else np.zeros(3)
        target = centre + rng.normal(0.0, cfg.camera.look_at_jitter, 3)
        camera = sample_camera(rng, cfg.camera, width, height, target)
    else:
        target = rng.normal(0.0, cfg.camera.look_at_jitter, 3)
        camera = sample_camera(rng, cfg.camera, width, height, target)
        objects, spheres = sample_flying_objects(rng, cfg, catalog, probs, count, camera)
    distractors = sample_distractors(rng, cfg, camera, target, spheres) + bin_walls(rng, cfg)
    lights = sample_lights(rng, cfg.lighting, target)
    plane = None
    if cfg.scene.plane_size > 0:
        plane = PlaneSpec(cfg.scene.plane_size, sample_plane_material(rng, cfg.background, cfg.materials))
    return SceneSpec(
        index=index,
        seed=cfg.seed,
        camera=camera,
        objects=objects,
        lights=lights,
        backdrop=sample_backdrop(rng, cfg.background, cfg.materials),
        ambient_light=[uniform(rng, cfg.lighting.ambient)] * 3,
        plane=plane,
        distractors=distractors,
        unplaced=count - len(objects),
    )


def uniform(rng: np.random.Generator, span: list[float]) -> float:
    return float(rng.uniform(span[0], span[1]))


def integer(rng: np.random.Generator, span: list[int]) -> int:
    """A uniform integer in ``[span[0], span[1]]``, both ends included."""
    return int(rng.integers(span[0], span[1] + 1))


def pick(rng: np.random.Generator, choices: Sequence[T]) -> T:
    """A uniformly random element of ``choices``."""
    return choices[int(rng.integers(len(choices)))]


def hsv_color(
    rng: np.random.Generator, ranges: MaterialsConfig | BackgroundConfig, hue: list[float] | None = None
) -> list[float]:
    """An RGB colour in [0, 1] from ``hue`` (default ``ranges.hue``), ``saturation`` and ``value`` spans."""
    h = uniform(rng, ranges.hue if hue is None else hue)
    return list(colorsys.hsv_to_rgb(h, uniform(rng, ranges.saturation), uniform(rng, ranges.value)))


def sample_texture(
    rng: np.random.Generator, colors: MaterialsConfig | BackgroundConfig, textures: MaterialsConfig
) -> TextureSpec:
    """A procedural texture of a random kind (``textures.texture_kinds``) blending two colours of ``colors``."""
    kind = pick(rng, textures.texture_kinds)
    pair = [hsv_color(rng, colors), hsv_color(rng, colors)]
    return TextureSpec(kind, int(rng.integers(2**31)), pair, textures.texture_size)


def _material(
    rng: np.random.Generator,
    colors: MaterialsConfig | BackgroundConfig,
    metallic: list[float],
    roughness: list[float],
    texture_probability: float,
    textures: MaterialsConfig,
) -> MaterialSpec:
    color = hsv_color(rng, colors)
    texture = sample_texture(rng, colors, textures) if rng.uniform() < texture_probability else None
    if texture is not None:
        color = [1.0, 1.0, 1.0]  # the texture carries the colour
    return MaterialSpec([*color, 1.0], uniform(rng, metallic), uniform(rng, roughness), texture)


def sample_material(rng: np.random.Generator, cfg: MaterialsConfig) -> MaterialSpec:
    """A PBR material for an object or a distractor, textured with probability ``texture_probability``."""
    return _material(rng, cfg, cfg.metallic, cfg.roughness, cfg.texture_probability, cfg)


def sample_plane_material(rng: np.random.Generator, cfg: BackgroundConfig, textures: MaterialsConfig) -> MaterialSpec:
    """The support plane's material: background colours, mostly dielectric and rough."""
    return _material(rng, cfg, [0.0, 0.5], [0.3, 1.0], cfg.texture_probability, textures)


def sample_object_material(rng: np.random.Generator, cfg: MaterialsConfig, asset: Asset) -> MaterialSpec | None:
    """A random material, or None (keep the asset's own): always for an asset whose manifest says
    ``keep_material``, else with probability ``keep_asset_material``. A class listed in
    ``materials.class_hue`` draws its base colour's hue from its own span (and is never textured):
    that ties colour to class, which is what the audit's shortcut detectors exist to catch."""
    keep = rng.uniform() < cfg.keep_asset_material
    if keep or asset.keep_material:
        return None
    hue = cfg.class_hue.get(asset.class_name)
    if hue is None:
        return sample_material(rng, cfg)
    return MaterialSpec([*hsv_color(rng, cfg, hue), 1.0], uniform(rng, cfg.metallic), uniform(rng, cfg.roughness))


def sample_backdrop(rng: np.random.Generator, cfg: BackgroundConfig, textures: MaterialsConfig) -> BackdropSpec:
    """A colour, overlaid by a texture or by a crop of a random image from ``cfg.image_dir``."""
    color = hsv_color(rng, cfg)
    if cfg.image_dir and rng.uniform() < cfg.image_probability:
        images = list_images(cfg.image_dir)
        crop = [float(rng.uniform()), float(rng.uniform()), float(rng.uniform(0.5, 1.0))]
        return BackdropSpec(color, image=pick(rng, images), crop=crop)
    if rng.uniform() < cfg.texture_probability:
        return BackdropSpec(color, texture=sample_texture(rng, cfg, textures))
    return BackdropSpec(color)


def class_probabilities(catalog: Catalog, cfg: Config) -> np.ndarray:
    """Probability of each catalog class: ``objects.class_weights`` (default 1) times, with
    ``objects.balance=assets``, the class's number of assets (``uniform``: times 1)."""
    weights = cfg.objects.class_weights
    _check_class_keys(catalog, "objects.class_weights", weights)
    _check_class_keys(catalog, "materials.class_hue", cfg.materials.class_hue)
    for name, weight in weights.items():
        if not weight >= 0:
            raise ScenegenError(f"config: objects.class_weights.{name} = {weight} must be >= 0")
    for name, span in cfg.materials.class_hue.items():
        if len(span) != 2 or not 0 <= span[0] <= span[1] <= 1:
            raise ScenegenError(f"config: materials.class_hue.{name} = {list(span)} must be [min, max] within [0, 1]")
    p = np.array([float(weights.get(c, 1.0)) for c in catalog.classes])
    if cfg.objects.balance == "assets":
        p *= [len(catalog.assets_by_class[c]) for c in catalog.classes]
    if p.sum() <= 0:
        raise ScenegenError("config: objects.class_weights are all zero")
    return p / p.sum()


def _check_class_keys(catalog: Catalog, key: str, mapping: dict) -> None:
    for name in mapping:
        if name not in catalog.classes:
            raise ScenegenError(f"config: {key}.{name}: unknown class; known: {list(catalog.classes)}")


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
    orientation, bounding spheres disjoint (so nothing interpenetrates), with those spheres."""
    objects, spheres = [], []
    for _ in range(count):
        asset = _choose_asset(rng, catalog, probs)
        scale = asset.unit_scale * uniform(rng, cfg.objects.size_scale)
        centre, radius = asset.bounding_sphere
        rotation = _random_rotation(rng)
        material = sample_object_material(rng, cfg.materials, asset)
        for _ in range(cfg.scene.max_placement_tries):
            where = _point_in_view(rng, camera, uniform(rng, cfg.scene.flying_depth))
            if _clear(where, radius * scale, spheres):
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
        shape = pick(rng, cfg.scene.distractor_shapes)
        size = rng.uniform(cfg.scene.distractor_size[0], cfg.scene.distractor_size[1], 3)
        radius = 0.5 * float(np.linalg.norm(size))
        rotation = _random_rotation(rng)
        material = sample_material(rng, cfg.materials)
        for _ in range(cfg.scene.max_placement_tries):
            if cfg.scene.layout == "tabletop":
                depth = rng.uniform(0.3, 1.0) * reach
            else:
                depth = uniform(rng, cfg.scene.flying_depth)
            where = _point_in_view(rng, camera, depth)
            above = cfg.scene.plane_size <= 0 or where[2] > radius
            if above and depth > radius + camera.znear and _clear(where, radius, taken):
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


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A (4, 4) uniformly random rotation (a normalised gaussian quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    m = np.eye(4)
    m[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return m


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
    """A camera on a spherical shell around ``target``, looking at it, rolled, with jittered intrinsics."""
    distance = uniform(rng, cfg.distance)
    elevation, azimuth = np.radians(uniform(rng, cfg.elevation_deg)), np.radians(uniform(rng, cfg.azimuth_deg))
    pose = look_at(target + distance * _direction(elevation, azimuth), target)
    roll = np.radians(uniform(rng, cfg.roll_deg))
    pose[:3, :2] = pose[:3, :2] @ np.array([[np.cos(roll), np.sin(roll)], [-np.sin(roll), np.cos(roll)]])
    K = intrinsics(width, height, uniform(rng, cfg.fov_deg))
    K[[0, 1], [0, 1]] *= 1 + rng.uniform(-cfg.focal_jitter, cfg.focal_jitter, 2)
    K[[0, 1], [2, 2]] += rng.uniform(-cfg.principal_point_jitter, cfg.principal_point_jitter, 2)
    return CameraSpec(width, height, K.tolist(), pose.tolist(), float(cfg.znear), float(cfg.zfar))


def _direction(elevation: float, azimuth: float) -> np.ndarray:
    return np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])


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
        kind = pick(rng, cfg.types)
        elevation, azimuth = np.radians(uniform(rng, cfg.elevation_deg)), rng.uniform(0.0, 2 * np.pi)
        pose = look_at(target + uniform(rng, cfg.distance) * _direction(elevation, azimuth), target)
        color = kelvin_to_rgb(uniform(rng, cfg.color_temperature))
        intensity = uniform(rng, getattr(cfg, f"{kind}_intensity"))
        inner = rng.uniform(0.15, 0.4) if kind == "spot" else 0.0
        outer = inner + rng.uniform(0.1, 0.4) if kind == "spot" else 0.0
        lights.append(LightSpec(kind, color, intensity, pose.tolist(), inner, outer))
    return lights

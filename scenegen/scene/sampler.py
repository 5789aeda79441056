"""Draw a SceneSpec from the config's distribution: pure numpy, one Generator per frame.

Frame ``index`` of a dataset with ``seed`` uses ``np.random.default_rng([seed, index])``,
so every frame is reproducible on its own, whatever the split of the work.
"""

from __future__ import annotations

import numpy as np

from scenegen.assets.catalog import Catalog
from scenegen.config.schema import Config
from scenegen.errors import ConfigError
from scenegen.scene.camera import sample_camera
from scenegen.scene.draws import integer, uniform
from scenegen.scene.drop import sample_dropped_objects
from scenegen.scene.lights import sample_lights
from scenegen.scene.materials import sample_backdrop, sample_plane_material
from scenegen.scene.placement import (
    beyond_near_plane,
    bin_walls,
    keep_beyond_near_plane,
    room_walls,
    sample_distractors,
    sample_flying_objects,
    sample_resting_objects,
)
from scenegen.scene.spec import PlaneSpec, SceneSpec


def frame_rng(seed: int, index: int) -> np.random.Generator:
    """The Generator of frame ``index``."""
    return np.random.default_rng([seed, index])


def sample_scene(cfg: Config, catalog: Catalog, index: int) -> SceneSpec:
    """Frame ``index`` of the dataset described by ``cfg``."""
    return draw_scene(cfg, catalog, index)[0]


def draw_scene(cfg: Config, catalog: Catalog, index: int) -> tuple[SceneSpec, np.ndarray]:
    """Scene ``index``, drawn from ``frame_rng(seed, index)``, and its centre (3,): the point the camera
    looks at before ``camera.look_at_jitter`` (the objects' centre on a table, the origin when flying)."""
    rng = frame_rng(cfg.seed, index)
    probs = class_probabilities(catalog, cfg)
    width, height = cfg.render.width, cfg.render.height
    count = integer(rng, cfg.scene.objects_per_scene)
    bin_radius, redropped = cfg.scene.placement_radius, 0
    if cfg.scene.layout == "flying":
        centre = np.zeros(3)
        target = rng.normal(0.0, cfg.camera.look_at_jitter, 3)
        camera = sample_camera(rng, cfg.camera, width, height, target)
        objects, spheres = sample_flying_objects(rng, cfg, catalog, probs, count, camera)
    else:
        if cfg.scene.layout == "drop":
            dropped = sample_dropped_objects(rng, cfg, catalog, probs, count)
            objects, spheres, redropped = dropped.objects, dropped.spheres, dropped.redropped
        else:
            objects, spheres, bin_radius = sample_resting_objects(rng, cfg, catalog, probs, count)
        centre = np.mean([s[0] for s in spheres], axis=0) if spheres else np.zeros(3)
        target = centre + rng.normal(0.0, cfg.camera.look_at_jitter, 3)
        for _ in range(cfg.scene.max_placement_tries):  # a camera that is clear of every object
            camera = sample_camera(rng, cfg.camera, width, height, target)
            if all(beyond_near_plane(sphere, camera) for sphere in spheres):
                break
        objects, spheres = keep_beyond_near_plane(objects, spheres, camera)  # tries ran out: leave the rest out
    walls = bin_walls(rng, cfg, bin_radius) + room_walls(rng, cfg)
    distractors = sample_distractors(rng, cfg, camera, target, spheres) + walls
    lights = sample_lights(rng, cfg.lighting, target)
    shadows = bool(rng.uniform() < cfg.lighting.shadow_probability)
    plane = None
    if cfg.scene.plane_size > 0:
        plane = PlaneSpec(cfg.scene.plane_size, sample_plane_material(rng, cfg.background, cfg.materials))
    spec = SceneSpec(
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
        redropped=redropped,
        shadows=shadows,
    )
    return spec, centre


def class_probabilities(catalog: Catalog, cfg: Config) -> np.ndarray:
    """Probability of each catalog class: ``objects.class_weights`` (default 1) times, with
    ``objects.balance=assets``, the class's number of assets (``uniform``: times 1)."""
    weights = cfg.objects.class_weights
    _check_class_keys(catalog, "objects.class_weights", weights)
    _check_class_keys(catalog, "materials.class_hue", cfg.materials.class_hue)
    for name, weight in weights.items():
        if not weight >= 0:
            raise ConfigError(f"config: objects.class_weights.{name} = {weight} must be >= 0")
    for name, span in cfg.materials.class_hue.items():
        if len(span) != 2 or not 0 <= span[0] <= span[1] <= 1:
            raise ConfigError(f"config: materials.class_hue.{name} = {list(span)} must be [min, max] within [0, 1]")
    p = np.array([float(weights.get(c, 1.0)) for c in catalog.classes])
    if cfg.objects.balance == "assets":
        p *= [len(catalog.assets_by_class[c]) for c in catalog.classes]
    if p.sum() <= 0:
        raise ConfigError("config: objects.class_weights are all zero")
    return p / p.sum()


def _check_class_keys(catalog: Catalog, key: str, mapping: dict) -> None:
    for name in mapping:
        if name not in catalog.classes:
            raise ConfigError(f"config: {key}.{name}: unknown class; known: {list(catalog.classes)}")

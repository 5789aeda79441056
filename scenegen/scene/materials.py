"""Materials, textures and backdrops: colours drawn in HSV from the config's ranges."""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np

from scenegen.assets.asset import Asset
from scenegen.config.schema import BackgroundConfig, MaterialsConfig
from scenegen.scene.draws import pick, uniform
from scenegen.scene.images import list_images
from scenegen.scene.spec import BackdropSpec, MaterialSpec, TextureSpec


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
    kind = str(pick(rng, textures.texture_kinds))
    pair = [hsv_color(rng, colors), hsv_color(rng, colors)]
    return TextureSpec(kind, int(rng.integers(2**31)), pair, textures.texture_size)


def sample_surface(rng: np.random.Generator, cfg: MaterialsConfig) -> TextureSpec | None:
    """An object's texture, or None: a photo crop from ``cfg.image_dir`` with probability ``image_probability``,
    else label print with ``print_probability``, else a procedural kind with ``texture_probability``. A
    probability of 0 draws nothing, so a run without photos or print draws what it drew before they existed."""
    if cfg.image_dir and cfg.image_probability and rng.uniform() < cfg.image_probability:
        image = pick(rng, list_images(cfg.image_dir, "materials.image_dir"))
        crop = [float(rng.uniform()), float(rng.uniform()), float(rng.uniform(0.25, 1.0))]
        return TextureSpec("photo", int(rng.integers(2**31)), [], cfg.texture_size, image=image, crop=crop)
    if cfg.print_probability and rng.uniform() < cfg.print_probability:
        colors = [hsv_color(rng, cfg), hsv_color(rng, cfg)]
        patch = None
        if cfg.image_dir and rng.uniform() < 0.5:  # a photo patch on half the labels, when there are photos
            patch = pick(rng, list_images(cfg.image_dir, "materials.image_dir"))
        return TextureSpec("print", int(rng.integers(2**31)), colors, cfg.texture_size, image=patch)
    if rng.uniform() < cfg.texture_probability:
        return sample_texture(rng, cfg, cfg)
    return None


def _material(
    rng: np.random.Generator,
    colors: MaterialsConfig | BackgroundConfig,
    metallic: list[float],
    roughness: list[float],
    surface: Callable[[], TextureSpec | None],
) -> MaterialSpec:
    color = hsv_color(rng, colors)
    texture = surface()
    if texture is not None:
        color = [1.0, 1.0, 1.0]  # the texture carries the colour
    return MaterialSpec([*color, 1.0], uniform(rng, metallic), uniform(rng, roughness), texture)


def sample_material(rng: np.random.Generator, cfg: MaterialsConfig) -> MaterialSpec:
    """A PBR material for an object or a distractor, its texture drawn by ``sample_surface``."""
    return _material(rng, cfg, cfg.metallic, cfg.roughness, lambda: sample_surface(rng, cfg))


def sample_plane_material(rng: np.random.Generator, cfg: BackgroundConfig, textures: MaterialsConfig) -> MaterialSpec:
    """The support plane's material: background colours, mostly dielectric and rough, a procedural texture
    with probability ``cfg.texture_probability``."""

    def surface() -> TextureSpec | None:
        return sample_texture(rng, cfg, textures) if rng.uniform() < cfg.texture_probability else None

    return _material(rng, cfg, [0.0, 0.5], [0.3, 1.0], surface)


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
        images = list_images(cfg.image_dir, "background.image_dir")
        crop = [float(rng.uniform()), float(rng.uniform()), float(rng.uniform(0.5, 1.0))]
        return BackdropSpec(color, image=pick(rng, images), crop=crop)
    if rng.uniform() < cfg.texture_probability:
        return BackdropSpec(color, texture=sample_texture(rng, cfg, textures))
    return BackdropSpec(color)

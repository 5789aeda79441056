"""Materials, textures and backdrops: colours drawn in HSV from the config's ranges."""

from __future__ import annotations

import colorsys

import numpy as np

from scenegen.assets.catalog import Asset
from scenegen.config.schema import BackgroundConfig, MaterialsConfig
from scenegen.render.backdrop import list_images
from scenegen.scene.draws import pick, uniform
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

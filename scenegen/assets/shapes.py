"""The run's shapes: each built-in asset with a shape family is drawn, per instance, from a pool of
``objects.shape_pool`` variants of its family, drawn once per run from the seed.

A variant's parameters are ``(1 - v) * base + v * U(low, high)`` for ``v = objects.shape_variation``: 0 keeps
the built-in mesh file itself (no pool: the catalog is the packs' own), 1 draws each parameter over its whole
span. Values are rounded to 0.1 mm (and 1e-4 for ratios), so a frame record's parameters, read back, are the
very numbers the mesh was built from. The pool bounds what each process generates, computes resting poses
and collision shapes for, and uploads to the GPU: at most ``shape_pool`` meshes per family. A variant's
asset id is its family's asset id and a hash of its parameters (``mug@3fa2c1d0``): the same shape has the
same id in every run, and the BOP export's one model per (asset, scale) is one model per shape.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from pathlib import Path

import numpy as np

from scenegen.assets.asset import Asset
from scenegen.assets.catalog import Catalog, build_catalog
from scenegen.assets.collision import default_cache_dir
from scenegen.assets.families import FAMILIES, Param, Variant
from scenegen.assets.limits import MeshLimits
from scenegen.config.schema import ObjectsConfig
from scenegen.errors import ConfigError
from scenegen.paths import assets_dir

SHAPE_STREAM = 2**40  # the pool's random stream: [seed, SHAPE_STREAM, family], apart from every frame's
FAMILY_PACK = "builtin"  # the pack whose assets named after a family are drawn from it


def run_catalog(objects: ObjectsConfig, seed: int, cache_dir: str) -> Catalog:
    """The catalog of a run: its packs' classes and assets, and the shape pools of ``objects.shape_variation``,
    their resting poses kept in ``cache_dir`` (the config's: "" for the user's cache folder)."""
    spans = checked_spans(objects.shape_spans)
    catalog = build_catalog(list(objects.packs), list(objects.classes), MeshLimits.of(objects))
    cache = Path(cache_dir).expanduser().resolve() if cache_dir else default_cache_dir()
    return with_shapes(catalog, objects.shape_variation, objects.shape_pool, seed, cache, spans)


def with_shapes(
    catalog: Catalog,
    variation: float,
    count: int,
    seed: int,
    cache: Path | None = None,
    spans: dict[str, dict[str, Param]] | None = None,
) -> Catalog:
    """``catalog`` with a pool of ``count`` variants for each asset that has a shape family (none at
    ``variation`` 0), their resting poses kept in ``cache`` if given; ``spans``: narrower parameter spans."""
    if variation <= 0:
        return catalog
    variants = {}
    for assets in catalog.assets_by_class.values():
        for asset in assets:
            if has_family(asset):
                pool = draw_variants(asset.id, variation, count, seed, (spans or {}).get(asset.id, {}))
                variants[asset.id] = tuple(variant_asset(asset, v, cache) for v in pool)
    return dataclasses.replace(catalog, variants=variants)


def checked_spans(spans: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, Param]]:
    """``objects.shape_spans`` as Params (each base moved into its span), every family, parameter and span
    checked: a span must lie within the family's own (the shapes it can build, tested); ScenegenError naming
    the key otherwise."""
    checked: dict[str, dict[str, Param]] = {}
    for family, params in spans.items():
        if family not in FAMILIES:
            known = sorted(FAMILIES)
            raise ConfigError(f"config: objects.shape_spans.{family}: no such shape family; known: {known}")
        own = FAMILIES[family][0]
        for name, span in params.items():
            key = f"config: objects.shape_spans.{family}.{name}"
            if name not in own:
                raise ConfigError(f"{key}: no such parameter of {family}; known: {sorted(own)}")
            p = own[name]
            if len(span) != 2 or not p.low <= span[0] <= span[1] <= p.high:
                raise ConfigError(f"{key} = {list(span)} must be [min, max] within [{p.low}, {p.high}]")
            low, high = float(span[0]), float(span[1])
            checked.setdefault(family, {})[name] = Param(min(max(p.base, low), high), low, high)
    return checked


def has_family(asset: Asset) -> bool:
    """Whether ``asset`` is a built-in asset named after a shape family."""
    return asset.id in FAMILIES and asset.pack_root == (assets_dir() / FAMILY_PACK).resolve()


def draw_variants(
    family: str, variation: float, count: int, seed: int, spans: dict[str, Param] | None = None
) -> list[Variant]:
    """``count`` variants of ``family``, drawn from ``[seed, SHAPE_STREAM, crc32(family)]``, with ``spans``
    in place of the family's own where given; duplicates (possible only at tiny variations or narrow spans)
    are kept, so the pool's size never depends on the draw."""
    rng = np.random.default_rng([seed, SHAPE_STREAM, zlib.crc32(family.encode())])
    params = {**FAMILIES[family][0], **(spans or {})}
    pool = []
    for _ in range(count):
        drawn = {}
        for name in sorted(params):
            p = params[name]
            value = (1 - variation) * p.base + variation * rng.uniform(p.low, p.high)
            drawn[name] = round(float(value), 4)
        pool.append(Variant(family, tuple(sorted(drawn.items()))))
    return pool


def variant_id(base_id: str, variant: Variant) -> str:
    """``base_id@`` and 8 hex digits of a hash of the variant's family and parameters."""
    text = repr((variant.family, variant.params))
    return f"{base_id}@{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def variant_asset(asset: Asset, variant: Variant, cache: Path | None = None) -> Asset:
    """``asset`` as the shape ``variant``: generated in metres (``scale`` 1), its own id, its resting poses
    kept in ``cache`` if given."""
    return dataclasses.replace(
        asset, id=variant_id(asset.id, variant), shape=variant, target_size=None, scale=1.0, pose_cache=cache
    )

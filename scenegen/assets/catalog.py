"""The class catalog: the packs in use merged into one, classes matched by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from scenegen.assets.asset import Asset
from scenegen.assets.limits import MeshLimits
from scenegen.assets.manifest import find_manifest
from scenegen.assets.packs import load_pack, pack_path
from scenegen.errors import AssetError, ConfigError


@dataclass(frozen=True)
class Catalog:
    """The classes and assets of all packs in use; category ids start at 1 in ``classes`` order. ``variants``:
    the shapes an asset with a shape family is drawn as, by the asset's id (``scenegen.assets.shapes``)."""

    classes: tuple[str, ...]
    supercategories: dict[str, str]
    assets_by_class: dict[str, tuple[Asset, ...]]
    variants: dict[str, tuple[Asset, ...]] = field(default_factory=dict)

    def category_id(self, class_name: str) -> int:
        return self.classes.index(class_name) + 1

    def asset(self, asset_id: str) -> Asset:
        return self._by_id[asset_id]

    def categories(self) -> list[dict[str, object]]:
        """COCO categories: ``{"id", "name", "supercategory"}``, ids from 1."""
        return [{"id": i, "name": c, "supercategory": self.supercategories[c]} for i, c in enumerate(self.classes, 1)]

    @cached_property
    def _by_id(self) -> dict[str, Asset]:
        every = [*self.assets_by_class.values(), *self.variants.values()]
        return {asset.id: asset for assets in every for asset in assets}


def build_catalog(pack_names: list[str], classes: list[str], limits: MeshLimits) -> Catalog:
    """Merge packs into one catalog, classes matched by name, keeping only ``classes`` (all when empty)."""
    by_class: dict[str, list[Asset]] = {}
    supercategories: dict[str, tuple[str, str]] = {}  # class -> (supercategory, pack that defined it)
    for name in pack_names:
        root = pack_path(name)
        if find_manifest(root) is None:
            raise ConfigError(
                f"config: objects.packs: no asset pack {name!r} (not built in, installed, or a pack folder)"
            )
        pack = load_pack(root, limits)
        for class_name, supercategory in pack.classes.items():
            earlier = supercategories.setdefault(class_name, (supercategory, pack.name))
            if earlier[0] != supercategory:
                raise AssetError(
                    f"class {class_name!r} is defined twice: supercategory {earlier[0]!r} in pack {earlier[1]!r}, "
                    f"{supercategory!r} in pack {pack.name!r}"
                )
        for asset in pack.assets:
            by_class.setdefault(asset.class_name, []).append(asset)
    unknown = [c for c in classes if c not in by_class]
    if unknown:
        raise ConfigError(f"objects.classes: unknown class {unknown[0]!r}; the packs have {sorted(by_class)}")
    ids = [a.id for assets in by_class.values() for a in assets]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"objects.packs: asset id {duplicates[0]!r} appears in more than one pack")
    chosen = sorted(classes or by_class)
    return Catalog(
        classes=tuple(chosen),
        supercategories={c: supercategories[c][0] for c in chosen},
        assets_by_class={c: tuple(by_class[c]) for c in chosen},
    )

"""An installed package cannot shadow a pack folder (issue 18.4): an entry point named like a path
(``/data/packs/goodpack``) is never taken for that path; a name with a path separator is always a folder."""

import json

import trimesh

from conftest import DEFAULT_LIMITS
from scenegen.assets.catalog import build_catalog
from scenegen.assets.packs import pack_path


def write_pack(root, class_name):
    """A pack folder of one box asset of class ``class_name``."""
    (root / "meshes").mkdir(parents=True)
    trimesh.creation.box([0.1, 0.08, 0.05]).export(root / "meshes" / "box.ply")
    asset = {"id": class_name, "class": class_name, "mesh": "meshes/box.ply", "target_size": 0.1}
    (root / "manifest.json").write_text(json.dumps({"name": class_name, "version": "1.0", "assets": [asset]}))
    return root


def install_fake_package(site, entry_names):
    """An installed package ``shadowpack`` (its folder a pack of class ``impostor``) whose dist-info declares
    each of ``entry_names`` in the group ``scenegen.asset_packs``, as pip would leave it."""
    write_pack(site / "shadowpack", "impostor")
    (site / "shadowpack" / "__init__.py").write_text("raise SystemExit('imported')\n")  # locating never imports
    info = site / "shadowpack-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadowpack\nVersion: 1.0\n")
    lines = "".join(f"{name} = shadowpack\n" for name in entry_names)
    (info / "entry_points.txt").write_text(f"[scenegen.asset_packs]\n{lines}")


def test_an_entry_point_named_like_a_pack_path_does_not_shadow_the_folder(tmp_path, monkeypatch):
    good = write_pack(tmp_path / "data" / "packs" / "goodpack", "genuine")
    site = tmp_path / "site"
    install_fake_package(site, [str(good), "shadow"])
    monkeypatch.syspath_prepend(str(site))
    assert pack_path("shadow") == site / "shadowpack"  # the package is installed and found by its name
    assert pack_path(str(good)) == good  # ... but never in place of the folder
    catalog = build_catalog([str(good)], [], DEFAULT_LIMITS)
    assert [c["name"] for c in catalog.categories()] == ["genuine"]

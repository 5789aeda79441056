"""Packs built to exhaust memory or time, or to validate and then crash mid-render: ``pack validate`` and
``render`` refuse each in one line naming the pack, the file and the asset (exit 2, nothing written), and
a pack validate calls ok renders."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh

from conftest import render_small, run_main, tree
from scenegen.assets.catalog import build_catalog
from scenegen.assets.limits import MeshLimits
from scenegen.config.load import load_config

BOX = trimesh.creation.box([0.1, 0.08, 0.05])
TETRA_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv {x} 0 1\nf 1 2 3\nf 1 2 4\nf 2 3 4\nf 1 3 4\n"
TEXTURED_OBJ = (
    "mtllib m.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\n"
    "f 1/1 2/2 3/3\nf 1/1 2/2 4/4\nf 1/1 3/3 4/4\nf 2/2 3/3 4/4\n"
)


def make_pack(root: Path, files: dict[str, bytes | str], manifest: dict | str) -> Path:
    """A pack folder: ``files`` under meshes/, and a manifest: YAML text, or one asset's keys (target_size
    0.1 unless a scale is given)."""
    (root / "meshes").mkdir(parents=True)
    for name, data in files.items():
        (root / "meshes" / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    if isinstance(manifest, str):
        (root / "manifest.yaml").write_text(manifest)
    else:
        size = {} if "scale" in manifest else {"target_size": 0.1}
        entry = {"id": "widget", "class": "widget", **size, **manifest}
        (root / "manifest.json").write_text(json.dumps({"name": root.name, "version": "1", "assets": [entry]}))
    return root


def alias_bomb(levels: int) -> str:
    """A YAML manifest whose target_size is 9^levels strings when its aliases are followed (the manifest
    itself is under 1 kB)."""
    lines = ["name: bomb", "version: '1'", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    lines.append(f"assets: [{{id: widget, class: widget, mesh: meshes/box.ply, target_size: *a{levels}}}]")
    return "\n".join(lines) + "\n"


def big_png(side: int) -> bytes:
    """A PNG of side x side black pixels: a few hundred kB that decode to side^2 x 3 bytes."""
    return cv2.imencode(".png", np.zeros((side, side, 3), np.uint8))[1].tobytes()


def gltf_files() -> dict[str, bytes]:
    """A glTF sphere whose geometry is in external .bin buffers (about 92 kB beside a 1 kB .gltf)."""
    return trimesh.creation.icosphere(subdivisions=4).export(file_type="gltf")


def textured_glb(side: int) -> bytes:
    """A GLB tetrahedron with a side x side texture embedded in it."""
    with_texture = trimesh.load(
        trimesh.util.wrap_as_stream(TEXTURED_OBJ.encode()),
        file_type="obj",
        resolver=trimesh.resolvers.ZipResolver({"m.mtl": b"newmtl m\nmap_Kd t.png\n", "t.png": big_png(side)}),
        force="mesh",
    )
    return with_texture.export(file_type="glb")


# name -> (files, manifest or asset keys, overrides, message)
CASES = {
    "YAML alias bomb": ({"box.ply": BOX.export(file_type="ply")}, alias_bomb(12), [], "expands to more than 100000"),
    "manifest over its size limit": (
        {"box.ply": BOX.export(file_type="ply")},
        {"mesh": "meshes/box.ply"},
        ["objects.max_manifest_kilobytes=0.05"],
        "kB is over the limit of 0.05 kB (objects.max_manifest_kilobytes)",
    ),
    "glTF buffers over the mesh limit": (
        gltf_files(),
        {"mesh": "meshes/model.gltf"},
        ["objects.max_mesh_megabytes=0.05"],
        "MB with the files it references ('gltf_buffer_0.bin' included) is over the limit of 0.05 MB",
    ),
    "OBJ texture over the pixel limit": (
        {"m.obj": TEXTURED_OBJ, "m.mtl": "newmtl m\nmap_Kd big.png\n", "big.png": big_png(5000)},
        {"mesh": "meshes/m.obj"},
        [],
        "a texture of 25000000 pixels is over the limit of 16777216 (objects.max_texture_pixels)",
    ),
    "GLB embedded texture over the pixel limit": (
        {"m.glb": textured_glb(600)},
        {"mesh": "meshes/m.glb"},
        ["objects.max_texture_pixels=300000"],
        "a texture of 360000 pixels is over the limit of 300000",
    ),
    "OBJ texture twice the pixel limit": (
        {"m.obj": TEXTURED_OBJ, "m.mtl": "newmtl m\nmap_Kd big.png\n", "big.png": big_png(600)},
        {"mesh": "meshes/m.obj"},
        ["objects.max_texture_pixels=100000"],  # Pillow raises (instead of warning) past twice its limit
        "a texture of 360000 pixels is over the limit of 100000",
    ),
    "a single flat triangle": (
        {"t.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"},
        {"mesh": "meshes/t.obj"},
        [],
        "no resting poses can be found: the mesh is flat or degenerate",
    ),
    "target_size 1e308": (
        {"box.ply": BOX.export(file_type="ply")},
        {"mesh": "meshes/box.ply", "target_size": 1.0e308},
        [],
        "target_size = 1e+308 must be between 0.0001 and 1000.0 metres",
    ),
    "scale 1e-300": (
        {"box.ply": BOX.export(file_type="ply")},
        {"mesh": "meshes/box.ply", "scale": 1.0e-300},
        [],
        "scale 1e-300 makes it 1e-301 m across (the mesh spans 0.1 units); an asset must measure between",
    ),
    "scale 1e300": (
        {"box.ply": BOX.export(file_type="ply")},
        {"mesh": "meshes/box.ply", "scale": 1.0e300},
        [],
        "scale 1e+300 makes it 1e+299 m across",
    ),
    "NaN vertex in an OBJ": ({"n.obj": TETRA_OBJ.format(x="nan")}, {"mesh": "meshes/n.obj"}, [], "[nan, 0.0, 1.0]"),
    "infinite vertex in an OBJ": (
        {"i.obj": TETRA_OBJ.format(x="inf")},
        {"mesh": "meshes/i.obj"},
        [],
        "[inf, 0.0, 1.0]",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_packs_are_refused_by_validate_in_one_line(tmp_path, case):
    files, manifest, overrides, message = CASES[case]
    pack = make_pack(tmp_path / "pack", files, manifest)
    before = tree(tmp_path)
    code, stdout, stderr = run_main("pack", "validate", str(pack), *overrides)
    assert code == 2 and stdout == f"{pack}: 1 problem\n", (stdout, stderr)
    assert stderr.count("\n") == 1 and message in stderr and str(pack) in stderr and len(stderr) < 400, stderr
    assert tree(tmp_path) == before


# The render runs the same checks (Asset.check) before it writes anything: one case of each kind.
RENDERED = ["YAML alias bomb", "glTF buffers over the mesh limit", "GLB embedded texture over the pixel limit"]
RENDERED += ["a single flat triangle", "scale 1e-300", "NaN vertex in an OBJ"]


@pytest.mark.parametrize("case", RENDERED)
def test_hostile_packs_are_refused_by_render_before_anything_is_written(tmp_path, case):
    files, manifest, overrides, message = CASES[case]
    pack = make_pack(tmp_path / "pack", files, manifest)
    before, out = tree(tmp_path), tmp_path / "out"
    code, _, stderr = run_main("render", f"objects.packs=[{pack}]", f"output_dir={out}", "num_scenes=1", *overrides)
    assert code == 2 and stderr.count("\n") == 1 and message in stderr, stderr
    assert tree(tmp_path) == before and not out.exists()


def test_an_alias_bomb_under_the_node_limit_is_never_expanded_in_a_message(tmp_path):
    """9^4 strings pass the node limit; the bad target_size is shown as a short prefix, not all 6,561."""
    pack = make_pack(tmp_path / "pack", {"box.ply": BOX.export(file_type="ply")}, alias_bomb(3))
    code, _, stderr = run_main("pack", "validate", str(pack))
    line = stderr.splitlines()[-1]  # the other four: unknown keys a0 ... a3
    assert code == 2 and "target_size = [[[" in line and "...]" in line and len(line) < 400, stderr


def test_a_recursive_alias_is_refused(tmp_path):
    recursive = "name: loop\nversion: '1'\nx: &x [*x]\nassets: [{id: w, class: w, mesh: m.ply, target_size: 1}]\n"
    pack = make_pack(tmp_path / "pack", {}, recursive)
    code, _, stderr = run_main("pack", "validate", str(pack))
    assert code == 2 and "expands to more than 100000 nodes" in stderr


def rests_on_the_plane(asset) -> bool:
    mesh = asset.load_mesh()
    lowest = [trimesh.transform_points(mesh.vertices, t)[:, 2].min() for t in asset.resting_poses.transforms]
    return bool(np.allclose(lowest, 0.0, atol=1e-9))


def test_a_hull_over_the_pose_limit_rests_on_the_poses_of_a_simplified_hull(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=3)  # a convex hull of 1,280 faces
    pack = make_pack(tmp_path / "pack", {"s.ply": sphere.export(file_type="ply")}, {"mesh": "meshes/s.ply"})
    limits = {}
    for limit in (2000, 100):
        cfg = load_config([f"objects.max_pose_hull_faces={limit}"])
        asset = build_catalog([str(pack)], [], MeshLimits.of(cfg.objects)).asset("widget")
        asset.check()
        limits[limit] = asset.resting_poses
        assert rests_on_the_plane(asset)
        assert np.isclose(asset.resting_poses.probabilities.sum(), 1.0)
    assert len(limits[2000].transforms) > 500 and len(limits[100].transforms) <= 100


@pytest.mark.slow
def test_a_pack_validate_calls_ok_renders(tmp_path):
    """A 20,480-face sphere (its stable poses took over 80 s unsimplified) and a glTF with buffers: ok,
    then a render of them completes and verifies."""
    files = {"s.ply": trimesh.creation.icosphere(subdivisions=5).export(file_type="ply"), **gltf_files()}
    pack = make_pack(tmp_path / "pack", files, {"mesh": "meshes/s.ply"})
    data = json.loads((pack / "manifest.json").read_text())
    data["assets"].append({"id": "ball", "class": "ball", "mesh": "meshes/model.gltf", "target_size": 0.08})
    (pack / "manifest.json").write_text(json.dumps(data))
    code, stdout, stderr = run_main("pack", "validate", str(pack))
    assert (code, stdout, stderr) == (0, f"{pack}: ok\n", "")
    out = tmp_path / "out"
    result = render_small(out, f"objects.packs=[{pack}]", scenes=3)
    assert result.returncode == 0, result.stderr
    assert run_main("verify", str(out))[0] == 0

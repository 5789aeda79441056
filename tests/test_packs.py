"""Asset packs: user packs, installed packs, tooling, and every kind of bad input, with real files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh
import yaml

from conftest import DEFAULT_LIMITS, REPO, pip_install_target, render_small, run_cli, run_main, small_config
from scenegen.assets.catalog import build_catalog
from scenegen.assets.packs import check_pack
from scenegen.errors import ScenegenError
from scenegen.pipeline.checks import check_run

EXAMPLE = REPO / "examples" / "scenegen-example-pack"


def write_pack(root: Path, assets: list[dict], **manifest) -> Path:
    """A pack folder with a box mesh at meshes/box.ply and a manifest listing ``assets``."""
    (root / "meshes").mkdir(parents=True, exist_ok=True)
    trimesh.creation.box([0.1, 0.08, 0.05]).export(root / "meshes" / "box.ply")
    data = {"name": root.name, "version": "1.0", "assets": assets, **manifest}
    (root / "manifest.json").write_text(json.dumps(data))
    return root


def box_asset(**overrides) -> dict:
    return {"id": "widget", "class": "widget", "mesh": "meshes/box.ply", "target_size": 0.1, **overrides}


def problems_of(root: Path) -> list[str]:
    return check_pack(root, DEFAULT_LIMITS)[1]


@pytest.mark.slow
def test_a_user_pack_renders_with_its_classes(tmp_path):
    pack = write_pack(tmp_path / "tools", [box_asset(), box_asset(id="widget_big", target_size=0.2)])
    out = tmp_path / "out"
    result = render_small(out, f"objects.packs=[{pack}]")
    assert result.returncode == 0, result.stderr
    coco = json.loads((out / "annotations/coco.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["widget"] and coco["annotations"]


@pytest.mark.parametrize(
    ("asset", "culprit"),
    [
        (box_asset(mesh="../outside.ply"), "leaves the pack folder"),
        (box_asset(mesh="/etc/passwd.ply"), "absolute paths are not allowed"),
        (box_asset(mesh="meshes/link.ply"), "leaves the pack folder"),  # a symlink pointing out
        (box_asset(mesh="meshes/missing.ply"), "no such file"),
        (box_asset(mesh="meshes/empty.ply"), "the file is empty"),
        (box_asset(mesh="meshes/corrupt.ply"), "cannot load as a mesh"),
        (box_asset(mesh="meshes/points.obj"), "no faces"),
        (box_asset(mesh="meshes/notes.txt"), "unsupported file type"),
        (box_asset(mesh="meshes/escape.obj"), "outside the pack folder"),  # its MTL points out
        (box_asset(target_size=0), "must be a finite number > 0"),
        (box_asset(target_size=-1.0), "must be a finite number > 0"),
        (box_asset(target_size="big"), "must be a finite number > 0"),
        ({**box_asset(), "scale": 2.0}, "exactly one of target_size"),
        (box_asset(up_axis="up"), "up_axis"),
        (box_asset(_target_="os.system"), "unknown key '_target_'"),
    ],
)
@pytest.mark.slow
def test_bad_assets_are_named_and_stop_the_run(tmp_path, asset, culprit):
    outside = tmp_path / "outside.ply"
    trimesh.creation.box([0.1, 0.1, 0.1]).export(outside)
    pack = write_pack(tmp_path / "bad", [asset])
    meshes = pack / "meshes"
    os.symlink(outside, meshes / "link.ply")
    (meshes / "empty.ply").write_bytes(b"")
    (meshes / "corrupt.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\n" + os.urandom(64))
    (meshes / "points.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (meshes / "notes.txt").write_text("not a mesh")
    (tmp_path / "secret.png").write_bytes(cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes())
    (meshes / "escape.mtl").write_text("newmtl m\nmap_Kd ../../secret.png\n")
    (meshes / "escape.obj").write_text(
        "mtllib escape.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n"
    )
    problems = problems_of(pack)
    assert len(problems) == 1 and culprit in problems[0] and "widget" in problems[0] and str(pack) in problems[0]
    out = tmp_path / "out"
    result = render_small(out, f"objects.packs=[{pack}]")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not out.exists() and culprit in lines[0] and str(pack) in lines[0]
    validate = run_cli("pack", "validate", str(pack))
    assert validate.returncode == 2 and culprit in validate.stderr


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("objects.max_mesh_faces=5", "faces is over the limit"),
        ("objects.max_mesh_megabytes=0.0001", "MB is over the limit"),
    ],
)
@pytest.mark.slow
def test_mesh_limits(tmp_path, limit, message):
    pack = write_pack(tmp_path / "big", [box_asset()])
    result = render_small(tmp_path / "out", f"objects.packs=[{pack}]", limit)
    assert result.returncode == 2 and message in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_validate_reports_every_problem_at_once(tmp_path):
    pack = write_pack(
        tmp_path / "many",
        [
            box_asset(id="a", mesh="../x.ply"),
            box_asset(id="b", target_size=0),
            box_asset(id="c", mesh="meshes/nope.ply"),
        ],
        extra=1,
    )
    result = run_cli("pack", "validate", str(pack))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 4 and "4 problems" in result.stdout  # 3 assets + 1 key


def test_classes_merge_by_name_and_clashes_name_both_packs(tmp_path):
    first = write_pack(tmp_path / "first", [box_asset(id="one")])
    second = write_pack(tmp_path / "second", [box_asset(id="two")])
    catalog = build_catalog([str(first), str(second), "builtin"], [], DEFAULT_LIMITS)
    assert catalog.classes.count("widget") == 1 and len(catalog.assets_by_class["widget"]) == 2
    assert catalog.category_id("ball") == 1  # sorted by name, ids from 1
    clash = write_pack(
        tmp_path / "clash", [box_asset(id="three")], classes=[{"name": "widget", "supercategory": "tool"}]
    )
    with pytest.raises(ScenegenError, match="'first'.*'clash'|'clash'.*'first'"):
        build_catalog([str(first), str(clash)], [], DEFAULT_LIMITS)


@pytest.mark.slow
def test_pack_new_from_a_folder_of_meshes_validates_and_renders(tmp_path):
    source = tmp_path / "scans"
    for cls, shape in (
        ("gear", trimesh.creation.cylinder(radius=20, height=5)),
        ("nut", trimesh.creation.annulus(5, 10, 6)),
    ):
        (source / cls).mkdir(parents=True)
        shape.export(source / cls / f"{cls}_a.stl")
    pack = tmp_path / "mypack"
    result = run_cli("pack", "new", str(pack), "--from", str(source), "--target-size", "0.08")
    assert result.returncode == 0, result.stderr
    assert run_cli("pack", "validate", str(pack)).returncode == 0
    out = tmp_path / "out"
    assert render_small(out, f"objects.packs=[{pack}]").returncode == 0
    assert [c["name"] for c in json.loads((out / "dataset.json").read_text())["categories"]] == ["gear", "nut"]
    assert run_cli("pack", "new", str(pack), "--from", str(source)).returncode == 2  # never overwrites


def test_up_axis_turns_the_mesh_upright_and_meshes_load_once(tmp_path):
    pack = write_pack(tmp_path / "tall", [box_asset(up_axis="y"), box_asset(id="flat")])
    catalog = build_catalog([str(pack)], [], DEFAULT_LIMITS)
    tall, flat = catalog.asset("widget"), catalog.asset("flat")
    np.testing.assert_allclose(flat.load_mesh().extents, [0.1, 0.08, 0.05])
    np.testing.assert_allclose(tall.load_mesh().extents, [0.1, 0.08, 0.05])  # the model frame is the file's
    upright = trimesh.transform_points(tall.load_mesh().vertices, tall.up_rotation)
    np.testing.assert_allclose(np.ptp(upright, axis=0), [0.1, 0.05, 0.08])  # the file's y (0.08) is now z
    for rest in tall.resting_poses.transforms:  # resting poses act on the file's coordinates
        assert abs(trimesh.transform_points(tall.load_mesh().vertices, rest)[:, 2].min()) < 1e-9
    assert catalog.asset("flat").load_mesh() is flat.load_mesh()


@pytest.mark.slow
def test_config_never_instantiates_targets(tmp_path):
    result = render_small(tmp_path / "out", "+scene._target_=os.system")
    assert result.returncode == 2 and "_target_" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_installed_example_pack_renders_with_its_texture(tmp_path):
    site = tmp_path / "site"
    pip_install_target(EXAMPLE, site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    listing = subprocess.run(
        [sys.executable, "-m", "scenegen.cli", "pack", "list"], env=env, capture_output=True, text=True
    )
    assert "example 0.1.0" in listing.stdout and "crate" in listing.stdout
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "scenegen.cli",
        "render",
        "objects.packs=[example]",
        "objects.classes=[crate]",
        "postfx=none",
    ]
    command += ["num_scenes=6", "render.width=160", "render.height=120", f"output_dir={out}", "--no-progress"]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    textured = 0
    for i in range(6):
        record = json.loads((out / f"labels/{i:06d}.json").read_text())
        image = cv2.imread(str(out / record["files"]["image"]["path"]))
        ids = cv2.imread(str(out / record["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        for ann in record["annotations"]:
            assert ann["class_name"] == "crate"
            pixels = image[ids == ann["instance_id"]].astype(float)
            if len(pixels) > 200:
                # The wood texture: strong variation of colour within one face-lit object, brown (red > blue).
                textured += pixels.std(axis=0).mean() > 12 and pixels[:, 2].mean() > pixels[:, 0].mean()
    assert textured > 0


@pytest.mark.slow
def test_a_bad_mesh_stops_the_run_before_anything_is_written(tmp_path):
    """Even when the bad asset would only be drawn in a later frame."""
    pack = write_pack(
        tmp_path / "mixed", [box_asset(), box_asset(id="broken", **{"class": "broken"}, mesh="meshes/bad.ply")]
    )
    (pack / "meshes" / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n")
    out = tmp_path / "out"
    result = render_small(out, f"objects.packs=[{pack}]", "+objects.class_weights={broken:0.001}", scenes=5)
    assert result.returncode == 2 and "bad.ply" in result.stderr and not out.exists()


@pytest.mark.parametrize("weight", [0.001, 0])
def test_the_checks_stop_on_a_bad_mesh_a_frame_can_draw_and_only_on_such_a_one(tmp_path, weight):
    """No GL: a bad mesh of a class a frame can draw (weight 0.001) stops the run's checks, naming the file;
    one of a class of weight 0, which no frame draws, is not loaded."""
    pack = write_pack(
        tmp_path / "mixed", [box_asset(), box_asset(id="broken", **{"class": "broken"}, mesh="meshes/bad.ply")]
    )
    (pack / "meshes" / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n")
    cfg = small_config(tmp_path, f"objects.packs=[{pack}]", f"+objects.class_weights={{broken:{weight}}}")
    if weight:
        with pytest.raises(ScenegenError, match="bad.ply"):
            check_run(cfg)
    else:
        catalog, out = check_run(cfg)
        assert sorted(catalog.classes) == ["broken", "widget"] and not out.exists()


@pytest.mark.parametrize("suffix", ["obj", "ply", "stl", "glb", "gltf", "off"])
def test_every_supported_mesh_format_loads(tmp_path, suffix):
    pack = write_pack(tmp_path / "formats", [box_asset(mesh=f"meshes/box.{suffix}")])
    box = trimesh.creation.box([0.1, 0.08, 0.05])
    exported = box.export(file_type=suffix)
    files = exported if isinstance(exported, dict) else {f"box.{suffix}": exported}  # gltf: json + buffers
    for name, data in files.items():
        target = pack / "meshes" / (f"box.{suffix}" if name.endswith(f".{suffix}") else name)
        target.write_bytes(data if isinstance(data, bytes) else data.encode())
    assert problems_of(pack) == []
    mesh = build_catalog([str(pack)], [], DEFAULT_LIMITS).asset("widget").load_mesh()
    np.testing.assert_allclose(mesh.extents, [0.1, 0.08, 0.05], atol=1e-6)


@pytest.mark.slow
def test_validate_precomputes_collision_shapes_into_the_cache(tmp_path):
    """``pack validate --collision`` computes each mesh's collision shape once, into ``cache_dir``; a drop render
    with the same cache then finds them there (and computes nothing new)."""
    sphere = tmp_path / "pack" / "meshes" / "ball.ply"
    pack = write_pack(
        tmp_path / "pack", [box_asset(), box_asset(id="ball", mesh="meshes/ball.ply", **{"class": "ball"})]
    )
    trimesh.creation.icosphere(subdivisions=3, radius=0.05).export(sphere)
    cache = tmp_path / "cache"
    result = run_cli("pack", "validate", str(pack), f"cache_dir={cache}", "--collision")
    assert result.returncode == 0, result.stderr
    shapes = sorted((cache / "collision").iterdir())
    assert len(shapes) == 2 and str(cache / "collision") in result.stdout
    stamps = [p.stat().st_mtime_ns for p in shapes]
    out = tmp_path / "out"
    result = render_small(out, f"objects.packs=[{pack}]", "scene.layout=drop", f"cache_dir={cache}")
    assert result.returncode == 0, result.stderr
    assert sorted((cache / "collision").iterdir()) == shapes and [p.stat().st_mtime_ns for p in shapes] == stamps


def test_pack_new_writes_any_name_as_yaml_and_refuses_control_characters(tmp_path):
    """Folder names that YAML would misread unquoted (a comment, a mapping, a boolean, a number, UTF-8) reach
    the manifest as themselves; a name with a newline, which would inject manifest lines, is refused."""
    source = tmp_path / "scans"
    names = ["mug #1", "bowl: big", "yes", "1.5", "caf\u00e9 \U0001f600", "- dash"]
    for name in names:
        (source / name).mkdir(parents=True)
        trimesh.creation.box([1.0, 2.0, 3.0]).export(source / name / "a b.stl")
    pack = tmp_path / "pack"
    code, out, err = run_main("pack", "new", str(pack), "--from", str(source))
    assert code == 0, err
    manifest = yaml.safe_load((pack / "manifest.yaml").read_bytes().decode("utf-8"))
    assert sorted(a["class"] for a in manifest["assets"]) == sorted(names)
    assert {a["mesh"] for a in manifest["assets"]} == {f"meshes/{name}/a b.stl" for name in names}
    loaded, problems = check_pack(pack, DEFAULT_LIMITS)
    assert problems == [] and set(loaded.classes) == set(names)
    evil = tmp_path / "evil"
    (evil / "mug\nassets: []").mkdir(parents=True)
    trimesh.creation.box().export(evil / "mug\nassets: []" / "m.stl")
    code, out, err = run_main("pack", "new", str(tmp_path / "pack2"), "--from", str(evil))
    assert code == 2 and err.count("\n") == 1 and "control character" in err
    assert not (tmp_path / "pack2").exists()


def test_pack_validate_takes_overrides_after_its_flags(tmp_path):
    """The README's order, `scenegen pack validate P --collision cache_dir=...`, as well as the other."""
    pack = write_pack(tmp_path / "pack", [box_asset()])
    for n, argv in enumerate(([str(pack), "--collision", "cache_dir={}"], [str(pack), "cache_dir={}", "--collision"])):
        cache = tmp_path / f"cache{n}"
        code, out, err = run_main("pack", "validate", *(a.format(cache) for a in argv))
        assert code == 0, err
        assert len(list((cache / "collision").iterdir())) == 1 and str(cache / "collision") in out

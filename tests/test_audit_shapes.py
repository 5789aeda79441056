"""The audit's shape diversity: distinct shapes per class and their proportions, against the mesh files."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh

from conftest import REPO, render_small, run_main
from scenegen.tools.audit.config import load_audit_config
from scenegen.tools.audit.run import audit
from scenegen.tools.audit.shapes import box_sides

BOXES = {"flat_box": [0.2, 0.1, 0.05], "cube_box": [0.08, 0.08, 0.08]}  # a user pack's two more boxes


def corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(9, 3): centre, then corner i taking hi on x, y, z where bits 4, 2, 1 of i are set (the README's layout)."""
    picks = [[(hi if i & bit else lo)[axis] for axis, bit in enumerate((4, 2, 1))] for i in range(8)]
    return np.vstack([(lo + hi) / 2, picks])


def test_box_sides_are_solved_from_projected_keypoints():
    rng = np.random.default_rng(0)
    for _ in range(20):
        lo = rng.uniform(-0.1, 0.0, 3)
        hi = lo + rng.uniform(0.01, 0.3, 3)
        rotation = trimesh.transformations.random_rotation_matrix(rng.uniform(size=3))[:3, :3]
        translation = np.array([*rng.uniform(-0.1, 0.1, 2), rng.uniform(0.6, 2.0)])
        K = np.array([[rng.uniform(100, 800), 0, 80], [0, rng.uniform(100, 800), 60], [0, 0, 1]])
        camera = corners(lo, hi) @ rotation.T + translation
        pixels = camera[:, :2] / camera[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
        np.testing.assert_allclose(box_sides(pixels, rotation, translation, K), (hi - lo) / (hi - lo).sum(), rtol=1e-7)


def write_box_pack(root: Path) -> Path:
    (root / "meshes").mkdir(parents=True)
    assets = []
    for name, extents in BOXES.items():
        trimesh.creation.box(extents).export(root / "meshes" / f"{name}.ply")
        assets.append({"id": name, "class": "box", "mesh": f"meshes/{name}.ply", "target_size": max(extents)})
    (root / "manifest.json").write_text(json.dumps({"name": "boxes", "version": "1.0", "assets": assets}))
    return root


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    pack = write_box_pack(root / "boxes")
    out = root / "out"
    result = render_small(
        out, f"objects.packs=[builtin,{pack}]", "objects.classes=[box,can]", "scene.objects_per_scene=[6,8]",
        "objects.shape_variation=0",  # the built-in mesh files: each asset one shape
        "camera.distance=[1.4,1.8]", "scene.distractors=[0,0]", "seed=2", scenes=4, width=160, height=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def mesh_extents(asset: str) -> np.ndarray:
    if asset in BOXES:
        return np.array(BOXES[asset])
    return trimesh.load(REPO / "assets" / "builtin" / "meshes" / f"{asset}.ply").extents


@pytest.mark.slow
def test_shapes_per_class_match_the_mesh_files(rendered):
    summary = audit(rendered, load_audit_config([]))
    per_class = summary["shapes"]["per_class"]
    assert set(per_class) == {"box", "can"} and summary["shapes"]["frames_read"] == 4
    shown = {}  # asset -> labelled instances, counted from the records here
    for path in sorted((rendered / "labels").glob("*.json")):
        record = json.loads(path.read_text())
        for ann in (a for a in record["annotations"] if "bbox" in a):  # labelled: in the COCO file
            shown[ann["asset_id"]] = shown.get(ann["asset_id"], 0) + 1
    assert set(shown) == {"box", "can", *BOXES}  # every shape appears, so the counts below mean something
    assert per_class["box"]["distinct_shapes"] == 3 and per_class["can"]["distinct_shapes"] == 1
    for stats in per_class.values():
        assert stats["instances"] == sum(shown[a] for a in stats["shapes"])
        for asset, shape in stats["shapes"].items():
            assert shape["instances"] == shown[asset]
            longest, middle, shortest = np.sort(mesh_extents(asset))[::-1]
            np.testing.assert_allclose(shape["proportions"], [middle / longest, shortest / longest], atol=1e-6)
    assert per_class["can"]["proportions_spread"] == pytest.approx(0.0, abs=1e-9)
    assert per_class["box"]["proportions_spread"] > 0.1
    low, high = per_class["box"]["proportions_range"][1]  # shortest / longest: flat carton 0.25 to cube 1
    assert low == pytest.approx(0.25, abs=1e-6) and high == pytest.approx(1.0, abs=1e-6)
    assert any("one shape only" in note and "can" in note and "box" not in note for note in summary["notes"])
    page = Path(summary["report"]).read_text()
    assert "<h2>Shapes</h2>" in page and "shapes.png" in re.findall(r"<img src='([^']+)'", page)
    assert (Path(summary["report"]).parent / "shapes.png").is_file()


@pytest.mark.slow
def test_a_record_with_bad_keypoints_is_named(rendered, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy, ignore=shutil.ignore_patterns("audit"))
    path = copy / "labels" / "000001.json"
    record = json.loads(path.read_text())
    record["annotations"][0]["keypoints"][3][0] = "nan"  # (a NaN number is refused as JSON, before any key)
    path.write_text(json.dumps(record))
    code, _, err = run_main("audit", str(copy))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(path) in lines[0] and "annotations[0]" in lines[0], err
    assert not (copy / "audit").exists()


@pytest.mark.slow
def test_shape_parameters_in_a_record_tell_two_meshes_of_one_asset_apart(rendered, tmp_path):
    """Procedural families name each instance's parameters in its object (``shape``): one asset, two shapes."""
    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy, ignore=shutil.ignore_patterns("audit"))
    changed = 0
    for path in sorted((copy / "labels").glob("*.json")):
        record = json.loads(path.read_text())
        labelled = {a["instance_id"] for a in record["annotations"] if "bbox" in a and a["asset_id"] == "can"}
        for obj in record["spec"]["objects"]:
            if obj["instance_id"] in labelled and changed < 2:
                obj["shape"] = {"family": "can", "height": 0.1}
                changed += 1
        path.write_text(json.dumps(record))
    assert changed == 2
    per_class = audit(copy, load_audit_config([]))["shapes"]["per_class"]
    shapes = per_class["can"]["shapes"]
    assert per_class["can"]["distinct_shapes"] == 2
    assert shapes['can {"shape": {"family": "can", "height": 0.1}}']["instances"] == 2
    assert shapes["can"]["instances"] == per_class["can"]["instances"] - 2

"""A real third-party pack: six YCB objects (glTF, external buffers, 4096x4096 PNG textures, metres, y up).

The pack lives outside the repository (``../shared/targets/ycb_pack``, or ``SCENEGEN_YCB_PACK``); these tests
skip when it is absent. Labels are checked as ``test_exactness`` checks the packs in the repository: each
instance reprojected from its mesh file, loaded by trimesh alone, with the recorded pose.
"""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh
import yaml
from test_exactness import check_instance, frame_file, records

from conftest import DEFAULT_LIMITS, REPO, render_small, run_main
from scenegen.assets.catalog import build_catalog

YCB = Path(os.environ.get("SCENEGEN_YCB_PACK", REPO.parent / "shared" / "targets" / "ycb_pack"))
pytestmark = pytest.mark.skipif(not (YCB / "manifest.yaml").is_file(), reason=f"no YCB pack at {YCB}")


def ycb_meshes() -> dict[str, Path]:
    """Asset id -> glTF file, from the pack's manifest."""
    manifest = yaml.safe_load((YCB / "manifest.yaml").read_text())
    return {asset["id"]: YCB / asset["mesh"] for asset in manifest["assets"]}


@pytest.mark.slow
def test_the_ycb_pack_validates():
    code, out, err = run_main("pack", "validate", str(YCB))
    assert code == 0 and out.strip().endswith("ok"), err


def test_its_classes_join_the_builtin_ones():
    catalog = build_catalog(["builtin", str(YCB)], [], DEFAULT_LIMITS)
    assert len(catalog.classes) == 8  # no class of its own: box, can and bottle are the built-in ones
    for name, count in {"box": 3, "can": 2, "bottle": 1}.items():
        ids = [asset.id for asset in catalog.assets_by_class[name]]
        assert name in ids and sum(i.startswith("ycb_") for i in ids) == count


@pytest.mark.slow
def test_the_ycb_pack_renders_with_its_textures_and_exact_labels(tmp_path):
    """Every instance keeps its own (photographic) material, rests upright-or-lying on the table at its real
    size (y up turned to z), and its mask, amodal mask and box keypoints are those of its glTF file."""
    out = tmp_path / "out"
    result = render_small(
        out, f"objects.packs=[{YCB}]", "camera.distance=[0.45,0.6]", "scene.objects_per_scene=[3,4]", "seed=3",
        "objects.size_scale=[1,1]", "postfx=none", scenes=3, width=160, height=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files, checked = ycb_meshes(), set()
    meshes = {asset: trimesh.load(str(path), force="mesh") for asset, path in files.items()}
    for record in records(out):
        camera = record["spec"]["camera"]
        K = np.asarray(camera["K"])
        ids = cv2.imread(str(frame_file(out, record, "instance_mask")), cv2.IMREAD_UNCHANGED)
        image = cv2.imread(str(frame_file(out, record, "image")))
        objects = {obj["instance_id"]: obj for obj in record["spec"]["objects"]}
        for obj in objects.values():
            assert obj["material"] is None and obj["scale"] == 1.0  # keep_material; metres as the file says
            mesh = meshes[obj["asset_id"]]
            world = trimesh.transform_points(mesh.vertices, np.asarray(obj["pose"]))
            assert abs(world[:, 2].min()) < 1e-6  # rests on the table, z up
            assert 0.05 < np.max(mesh.extents) < 0.3  # a grocery item in metres
        for ann in record["annotations"]:
            mesh = meshes[ann["asset_id"]]
            if check_instance(mesh, 1.0, ann, K, ids):
                checked.add(ann["asset_id"])
            if ann["visible_pixels"] >= 100:  # printed packaging, not a flat colour: strong variation inside the mask
                assert image[ids == ann["instance_id"]].astype(float).std(axis=0).mean() > 10, ann["asset_id"]
    assert len(checked) >= 3 and {a.split("_")[-1] for a in checked} & {"box", "can", "bottle"}
    coco = json.loads((out / "annotations" / "coco.json").read_text())
    assert {c["name"] for c in coco["categories"]} == {"box", "can", "bottle"}

"""The BOP export of a real rendered dataset, checked against the rendered masks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from scenegen.assets.catalog import Catalog
from scenegen.dataset.record import read_records
from scenegen.formats.bop import write_bop
from scenegen.labels.geometry import box_corners, project


@pytest.fixture(scope="module")
def bop(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict[str, dict]]:
    """The records of a small real dataset and its three BOP files, by name."""
    out = tmp_path_factory.mktemp("bop") / "out"
    result = run_cli(
        "render", "num_scenes=6", f"output_dir={out}", "render.width=160", "render.height=120", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    records = read_records(out)
    folder = write_bop(out, records)
    assert folder == out / "bop"
    files = {
        name: json.loads((folder / f"{name}.json").read_text())
        for name in ("scene_camera", "scene_gt", "scene_gt_info")
    }
    return records, files


def _poses(entry: dict) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,) metres) of a scene_gt entry."""
    return np.array(entry["cam_R_m2c"]).reshape(3, 3), np.array(entry["cam_t_m2c"]) / 1000.0


@pytest.mark.slow
def test_files_cover_every_frame_and_object(bop) -> None:
    records, files = bop
    keys = [str(r["index"]) for r in records]
    for name in files:
        assert list(files[name]) == keys
    for record in records:
        key = str(record["index"])
        camera = files["scene_camera"][key]
        assert camera["cam_K"] == np.ravel(record["spec"]["camera"]["K"]).tolist() and camera["depth_scale"] == 1.0
        objects = record["spec"]["objects"]
        gt, info = files["scene_gt"][key], files["scene_gt_info"][key]
        assert len(gt) == len(info) == len(objects) == len(record["annotations"])
        for entry, gt_info, ann in zip(gt, info, record["annotations"], strict=True):
            assert entry["obj_id"] == ann["category_id"]
            assert gt_info["bbox_obj"] == (ann["amodal_bbox"] or [-1, -1, -1, -1])
            assert gt_info["visib_fract"] == ann["visib_fract"] and gt_info["px_count_obj"] == ann["amodal_area"]
            assert gt_info["bbox_visib"] == ann.get("bbox", [-1, -1, -1, -1])
            assert gt_info["px_count_visib"] == ann["visible_pixels"]


def test_world_to_camera_and_model_to_camera_agree(bop) -> None:
    records, files = bop
    for record in records:
        key = str(record["index"])
        camera = files["scene_camera"][key]
        w2c_r, w2c_t = np.array(camera["cam_R_w2c"]).reshape(3, 3), np.array(camera["cam_t_w2c"]) / 1000.0
        for entry, obj in zip(files["scene_gt"][key], record["spec"]["objects"], strict=True):
            rotation, translation = _poses(entry)
            pose = np.array(obj["pose"])
            np.testing.assert_allclose(rotation, w2c_r @ pose[:3, :3], atol=1e-9)
            np.testing.assert_allclose(translation, w2c_r @ pose[:3, 3] + w2c_t, atol=1e-9)


def test_poses_are_rotations_and_place_objects_on_their_masks(bop, catalog: Catalog) -> None:
    records, files = bop
    checked = 0
    for record in records:
        key = str(record["index"])
        K = np.array(files["scene_camera"][key]["cam_K"]).reshape(3, 3)
        entries = zip(files["scene_gt"][key], files["scene_gt_info"][key], record["spec"]["objects"], strict=True)
        for entry, info, obj in entries:
            rotation, translation = _poses(entry)
            np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
            assert np.linalg.det(rotation) == pytest.approx(1.0)
            assert translation[2] > 0  # in front of the camera
            if info["bbox_visib"][0] < 0:
                continue
            x, y, w, h = info["bbox_visib"]  # in K's pixel-centre coordinates the box is [x - 0.5, x + w - 0.5]
            origin = project(translation[None], K)[0][0]
            assert x - 3 <= origin[0] <= x + w + 2 and y - 3 <= origin[1] <= y + h + 2
            # A pixel is drawn when its centre is inside a projected triangle, so the centres of the first
            # and last visible pixels lie inside the projected model's extent: any frame mistake shows here.
            mesh = catalog.asset(obj["asset_id"]).load_mesh()
            uv, depth = project(mesh.vertices * obj["scale"] @ rotation.T + translation, K)
            assert depth.min() > 0
            assert uv[:, 0].min() <= x + 1e-2 and x + w - 1 <= uv[:, 0].max() + 1e-2
            assert uv[:, 1].min() <= y + 1e-2 and y + h - 1 <= uv[:, 1].max() + 1e-2
            corners, _ = project(box_corners(mesh.bounds * obj["scale"]) @ rotation.T + translation, K)
            assert np.all(corners.min(axis=0) <= [x, y]) and np.all(corners.max(axis=0) >= [x + w - 1, y + h - 1])
            checked += 1
    assert checked > 0

"""Class balance, the biased preset caught by the audit, merging with real COCO data, and previews."""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh
from pycocotools.coco import COCO

from conftest import render_small, run_cli, small_config
from scenegen.assets.catalog import build_catalog
from scenegen.assets.limits import MeshLimits
from scenegen.scene.sampler import class_probabilities, sample_scene
from scenegen.tools.balance import balance_weights


def hand_made_coco(folder: Path, counts: dict[str, int]) -> Path:
    """A COCO file this code did not write: one 64x48 image per instance, a box-shaped polygon each."""
    folder.mkdir(parents=True, exist_ok=True)
    categories = [{"id": 10 + i, "name": name} for i, name in enumerate(counts)]  # ids unlike ours
    images, annotations = [], []
    for category in categories:
        for _ in range(counts[category["name"]]):
            image_id = len(images) + 100
            cv2.imwrite(str(folder / f"{image_id}.jpg"), np.full((48, 64, 3), 90, np.uint8))
            images.append({"id": image_id, "file_name": f"{image_id}.jpg", "width": 64, "height": 48})
            polygon = [[10, 10, 30, 10, 30, 25, 10, 25]]
            annotations.append(
                {
                    "id": len(annotations) + 7,
                    "image_id": image_id,
                    "category_id": category["id"],
                    "bbox": [10, 10, 20, 15],
                    "area": 300,
                    "segmentation": polygon,
                    "iscrowd": 0,
                }
            )
    path = folder / "real.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def test_balance_is_uniform_or_by_assets(tmp_path, catalog):
    """balance=uniform: classes equally likely; balance=assets: in proportion to their assets (here a
    pack where one class has three assets)."""
    cfg = small_config(tmp_path)
    np.testing.assert_allclose(class_probabilities(catalog, cfg), np.full(8, 1 / 8))
    pack = tmp_path / "pack"
    (pack / "m").mkdir(parents=True)
    trimesh.creation.box([0.1, 0.1, 0.1]).export(pack / "m" / "a.ply")
    assets = [{"id": f"cube{i}", "class": "cube", "mesh": "m/a.ply", "target_size": 0.1} for i in range(3)]
    assets.append({"id": "slab", "class": "slab", "mesh": "m/a.ply", "target_size": 0.2})
    (pack / "manifest.json").write_text(json.dumps({"name": "p", "version": "1", "assets": assets}))
    by_assets = small_config(
        tmp_path,
        f"objects.packs=[{pack}]",
        "objects.balance=assets",
        "scene.objects_per_scene=[5,5]",
        "scene.placement_radius=2",
    )
    mine = build_catalog([str(pack)], [], MeshLimits.of(by_assets.objects))
    names = [o.class_name for i in range(200) for o in sample_scene(by_assets, mine, i).objects]
    share = names.count("cube") / len(names)
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / len(names)), share


def test_balance_weights_fill_classes_to_one_level():
    weights = balance_weights({"a": 50, "b": 10}, ["a", "b", "c"], 90)
    assert weights["a"] == 0 and abs(sum(weights.values()) - 1) < 1e-9
    totals = {"a": 50, "b": 10 + 90 * weights["b"], "c": 90 * weights["c"]}
    assert abs(totals["b"] - 50) < 1e-6 and abs(totals["c"] - 50) < 1e-6


@pytest.mark.slow
def test_balance_command_writes_weights_that_render_uses(tmp_path):
    real = hand_made_coco(tmp_path / "real", {"ball": 30, "mug": 5, "person": 4})
    out = tmp_path / "balance.txt"
    result = run_cli("balance", "--against", str(real), "--out", str(out), "num_scenes=20")
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "person" in text  # a real class without assets is named, not silently dropped
    shown = run_cli("render", "--show-config", "--overrides-file", str(out), "num_scenes=20")
    assert shown.returncode == 0, shown.stderr
    weights = {
        line.split(":")[0].strip(): float(line.split(":")[1])
        for line in shown.stdout.split("class_weights:")[1].split("\n")[1:9]
    }
    assert weights["ball"] == 0 < weights["mug"] < weights["box"] and abs(weights["box"] - weights["cone"]) < 1e-6
    planned = 20 * (3 + 8) / 2  # instances the config plans: num_scenes x mean objects per scene
    level = planned * weights["box"]  # the level every class is filled to (ball has more real ones already)
    assert abs(5 + planned * weights["mug"] - level) < 0.01 and level < 30


@pytest.mark.slow
def test_biased_preset_is_flagged_on_colour_and_default_passes(tmp_path):
    audits = {}
    for name, choice in (("biased", "+experiment=biased_shapes"), ("fair", "objects.classes=[ball,box]")):
        folder = tmp_path / name
        rendered = render_small(folder, choice, "scene.objects_per_scene=[3,5]", scenes=40, width=128, height=96)
        assert rendered.returncode == 0, rendered.stderr
        audits[name] = run_cli("audit", str(folder), "--strict")
    assert audits["biased"].returncode == 1, audits["biased"].stdout
    summary = json.loads((tmp_path / "biased" / "audit" / "summary.json").read_text())
    assert any("colour" in flag for flag in summary["flags"]), summary["flags"]
    assert audits["fair"].returncode == 0, audits["fair"].stdout


@pytest.mark.slow
def test_merge_with_real_coco_matches_categories_by_name(tmp_path, rendered_dataset):
    real = hand_made_coco(tmp_path / "real", {"person": 3, "mug": 2})
    outside = run_cli("merge", "--coco", str(tmp_path / "combined" / "all.json"), str(rendered_dataset), str(real))
    assert outside.returncode == 2 and "write OUT in a folder that holds every source" in outside.stderr
    assert not (tmp_path / "combined").exists()
    out = Path(os.path.commonpath([tmp_path, rendered_dataset])) / f"{tmp_path.name}_all.json"  # holds both
    result = run_cli("merge", "--coco", str(out), str(rendered_dataset), str(real))
    assert result.returncode == 0, result.stderr
    coco = COCO(str(out))
    names = [c["name"] for c in coco.loadCats(coco.getCatIds())]
    assert names.count("mug") == 1 and "person" in names and len(names) == 9
    ours = json.loads((rendered_dataset / "annotations/coco.json").read_text())
    assert len(coco.getImgIds()) == len(ours["images"]) + 5
    assert len(coco.getAnnIds()) == len(ours["annotations"]) + 5
    mug = coco.getCatIds(catNms=["mug"])[0]
    assert len(coco.getAnnIds(catIds=[mug])) == 2 + sum(a["category_id"] == 7 for a in ours["annotations"])
    for image in coco.loadImgs(coco.getImgIds()):
        assert (out.parent / image["file_name"]).is_file()
    real_ids = {image["id"] for image in json.loads(real.read_text())["images"]}
    ours_ids = {image["id"] for image in ours["images"]}
    assert set(coco.getImgIds()) == real_ids | ours_ids  # no id taken twice: every image keeps its own


@pytest.mark.slow
def test_merge_coco_renumbers_only_ids_taken_by_an_earlier_source(rendered_dataset):
    out = rendered_dataset / "twice.json"  # in a folder holding every source's images
    result = run_cli(
        "merge", "--coco", str(out), str(rendered_dataset), str(rendered_dataset / "annotations" / "coco.json")
    )
    assert result.returncode == 0, result.stderr
    assert "6 renumbered" in result.stdout
    merged = json.loads(out.read_text())
    ids = [image["id"] for image in merged["images"]]
    assert ids == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] and len(set(a["id"] for a in merged["annotations"])) == len(
        merged["annotations"]
    )
    file_of = {image["id"]: image["file_name"] for image in merged["images"]}
    for image in merged["images"]:
        assert (out.parent / image["file_name"]).is_file()
        assert (out.parent / file_of[image["id"] % 6]).samefile(out.parent / image["file_name"])
    first = {a["image_id"] for a in merged["annotations"][: len(merged["annotations"]) // 2]}
    assert first <= set(range(6))  # the first source keeps its ids: its file stems


@pytest.mark.slow
def test_preview_draws_labels_over_images(tmp_path, rendered_dataset):
    out = tmp_path / "preview.png"
    result = run_cli("preview", str(rendered_dataset), "--out", str(out), "--count", "4")
    assert result.returncode == 0, result.stderr
    sheet = cv2.imread(str(out))
    assert sheet.shape[1] == 4 * 320 and sheet.shape[0] >= 200
    real = hand_made_coco(tmp_path / "real", {"thing": 2})
    assert run_cli("preview", str(real)).returncode == 0 and (tmp_path / "real" / "real_preview.png").is_file()
    # a COCO file in the standard layout (annotations/ beside images/): file names found under images/
    from_json = tmp_path / "from_json.png"
    coco = rendered_dataset / "annotations" / "coco.json"
    result = run_cli("preview", str(coco), "--out", str(from_json), "--count", "4")
    assert result.returncode == 0, result.stderr
    assert np.array_equal(cv2.imread(str(from_json)), sheet)

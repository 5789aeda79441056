"""End to end through the CLI: a real dataset, checked with pycocotools and against the id images."""

import contextlib
import io
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from conftest import render_small, run_cli


def test_coco_loads_and_matches_id_images(rendered_dataset):
    coco = COCO(str(rendered_dataset / "annotations" / "coco.json"))
    manifest = json.loads((rendered_dataset / "dataset.json").read_text())
    names = {c["id"]: c["name"] for c in manifest["categories"]}
    assert min(names) == 1 and coco.getCatIds() == sorted(names)
    assert len(coco.getImgIds()) == 6
    ann_ids = coco.getAnnIds()
    assert len(ann_ids) == len(set(ann_ids)) > 0
    for image in coco.loadImgs(coco.getImgIds()):
        assert image["id"] == int(Path(image["file_name"]).stem)  # the image id is the number in the file name
        record = json.loads((rendered_dataset / "labels" / f"{image['id']:06d}.json").read_text())
        ids = cv2.imread(str(rendered_dataset / record["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint16 and ids.shape == (image["height"], image["width"])
        assert cv2.imread(str(rendered_dataset / "images" / image["file_name"])).shape == (*ids.shape, 3)
        objects = {o["instance_id"]: o for o in record["spec"]["objects"]}
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        union = np.zeros(ids.shape, np.int32)
        for ann, rec in zip(anns, [a for a in record["annotations"] if "bbox" in a], strict=True):
            mask = coco.annToMask(ann).astype(bool)
            k = rec["instance_id"]
            assert np.array_equal(mask, ids == k)
            rows, cols = np.nonzero(mask)
            assert ann["bbox"] == [cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1]
            assert ann["area"] == mask.sum() == coco_mask.area(coco.annToRLE(ann))
            assert ann["iscrowd"] == 0
            assert names[ann["category_id"]] == objects[k]["class_name"] == rec["class_name"]
            union += mask
        assert union.max() <= 1  # visible masks never overlap
        counts = record["counts"]
        assert counts["objects"] == len(objects) == counts["annotated"] + counts["below_min_visible_pixels"]
        assert counts["annotated"] == len(anns)


@pytest.mark.slow
def test_same_seed_same_bytes_different_seed_different_scenes(tmp_path, rendered_dataset):
    again = tmp_path / "again"
    result = run_cli(
        "render", "render.width=160", "render.height=120", "num_scenes=6", f"output_dir={again}", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    for relative in ["annotations/coco.json", *[f"labels/{i:06d}.json" for i in range(6)], "images/000003.png"]:
        assert (again / relative).read_bytes() == (rendered_dataset / relative).read_bytes(), relative
    other = tmp_path / "other"
    result = render_small(other, "seed=1", width=160, height=120)
    assert result.returncode == 0, result.stderr
    for i in range(2):
        a = json.loads((other / f"labels/{i:06d}.json").read_text())["spec"]
        b = json.loads((rendered_dataset / f"labels/{i:06d}.json").read_text())["spec"]
        assert a["objects"] != b["objects"] and a["camera"] != b["camera"]


@pytest.mark.slow
def test_rerun_skips_finished_frames_and_keeps_the_dataset(tmp_path):
    out = tmp_path / "out"
    args = ["render", "render.width=96", "render.height=64", "num_scenes=3", f"output_dir={out}", "--no-progress"]
    assert run_cli(*args).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "dataset.json"}
    (out / "labels" / "000001.json").unlink()  # as if the run had died while writing frame 1
    assert run_cli(*args).returncode == 0
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "dataset.json"}
    assert after == before


@pytest.mark.slow
def test_semantic_masks_hold_category_ids(tmp_path):
    out = tmp_path / "out"
    result = render_small(out, "output.semantic_masks=true")
    assert result.returncode == 0, result.stderr
    for i in range(2):
        record = json.loads((out / f"labels/{i:06d}.json").read_text())
        ids = cv2.imread(str(out / record["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        semantic = cv2.imread(str(out / record["files"]["semantic_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        for ann in record["annotations"]:
            assert np.all(semantic[ids == ann["instance_id"]] == ann["category_id"])
        assert np.all(semantic[ids == 0] == 0)


def _evaluate(gt: COCO, predictions: list[dict], kind: str) -> float:
    """COCOeval's AP at IoU 0.50:0.95 of ``predictions`` against ``gt`` (its printing silenced)."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(gt, gt.loadRes(predictions), kind)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])


@pytest.mark.slow
def test_predictions_keyed_by_file_stem_score_ap_1(rendered_dataset):
    """Detectors (Ultralytics' predictions.json, COCO's val2017) key predictions by the number in the image's
    file name: perfect predictions written that way score AP 1.0 for boxes and masks."""
    path = rendered_dataset / "annotations" / "coco.json"
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
    stem_of = {image["file_name"]: int(Path(image["file_name"]).stem) for image in gt.dataset["images"]}
    file_of = {image["id"]: image["file_name"] for image in gt.dataset["images"]}
    predictions = [
        {
            "image_id": stem_of[file_of[ann["image_id"]]],
            "category_id": ann["category_id"],
            "bbox": ann["bbox"],
            "segmentation": ann["segmentation"],
            "score": 0.9,
        }
        for ann in gt.dataset["annotations"]
    ]
    assert len(predictions) > 10
    assert _evaluate(gt, predictions, "bbox") == pytest.approx(1.0)
    assert _evaluate(gt, predictions, "segm") == pytest.approx(1.0)
    shifted = [{**p, "image_id": p["image_id"] + 1} for p in predictions if p["image_id"] + 1 in file_of]
    assert _evaluate(gt, shifted, "bbox") < 0.5  # the check can fail: predictions on the wrong images


@pytest.mark.slow
def test_coco_file_names_resolve_under_the_images_folder(rendered_dataset):
    """torchvision's CocoDetection(root=out/images, annFile=...) opens
    ``Image.open(os.path.join(self.root, file_name)).convert("RGB")`` for each id of
    ``sorted(coco.imgs)``: every file name resolves there, to an image of the size the file says (and the same
    for the split files)."""
    root = str(rendered_dataset / "images")
    for name in ("coco", "coco_train", "coco_val"):
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(rendered_dataset / "annotations" / f"{name}.json"))
        for image_id in sorted(coco.imgs.keys()):
            entry = coco.loadImgs(image_id)[0]
            assert not os.path.isabs(entry["file_name"]) and os.sep not in entry["file_name"]
            with Image.open(os.path.join(root, entry["file_name"])) as image:
                assert image.convert("RGB").size == (entry["width"], entry["height"])

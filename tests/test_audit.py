"""``scenegen audit`` on COCO datasets it did not write: hand-drawn circles and squares, biased or not."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_api

from conftest import run_cli
from scenegen.tools.audit.config import load_audit_config
from scenegen.tools.audit.run import audit
from scenegen.tools.audit.shortcuts import detect_shortcut

W, H = 96, 72
RED_HUE, BLUE_HUE = 0.0, 0.63  # HSV hue in [0, 1]


def hsv_colour(rng: np.random.Generator, hue: float | None) -> tuple[int, int, int]:
    """An RGB colour: ``hue`` (jittered by 0.02) or a random one, saturation 0.6-1, value 0.5-1."""
    h = (rng.uniform(0, 1) if hue is None else hue + rng.uniform(-0.02, 0.02)) % 1.0
    hsv = np.array([[[h * 180, rng.uniform(0.6, 1) * 255, rng.uniform(0.5, 1) * 255]]], dtype=np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def backdrop(rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 RGB: a random colour under a random linear shading, plus noise."""
    base = np.array(hsv_colour(rng, None), dtype=float) * rng.uniform(0.4, 0.9)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:H, 0:W]
    shade = ((xs - W / 2) * np.cos(angle) + (ys - H / 2) * np.sin(angle)) / W * rng.uniform(40, 100)
    image = base[None, None, :] + shade[..., None] + rng.normal(0, 6, (H, W, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE: run lengths of the column-major mask, starting with a run of zeros."""
    flat = mask.ravel(order="F").astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [H, W], "counts": np.diff(np.concatenate([[0], edges])).tolist()}


def segmentation(mask: np.ndarray, kind: str, number: int) -> dict | list:
    """The mask as ``kind``: "rle" alternates compressed and uncompressed RLE, "polygon" its outer contours."""
    if kind == "polygon":
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        return [c.ravel().astype(float).tolist() for c in contours if len(c) >= 3]
    if number % 2:
        return uncompressed_rle(mask)
    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def make_coco(root: Path, biased: bool, kind: str = "rle", images: int = 120, seed: int = 0) -> Path:
    """Draw ``images`` pictures of one or two shapes (circles, squares) and write ``root/coco.json``.

    Sizes and positions are random for both shapes; ``biased``: circles red, squares blue, else random colours.
    """
    rng = np.random.default_rng(seed)
    (root / "pictures").mkdir(parents=True)
    entries, annotations = [], []
    for index in range(images):
        image, ids = backdrop(rng), np.zeros((H, W), np.uint8)
        kinds = rng.integers(0, 2, rng.integers(1, 3))  # 0 circle, 1 square
        for k, shape in enumerate(kinds, start=1):
            r = int(rng.integers(6, 16))
            cx, cy = int(rng.integers(r, W - r)), int(rng.integers(r, H - r))
            colour = hsv_colour(rng, (RED_HUE if shape == 0 else BLUE_HUE) if biased else None)
            for target, value in ((image, colour), (ids, k)):
                if shape == 0:
                    cv2.circle(target, (cx, cy), r, value, -1, cv2.LINE_8)
                else:
                    cv2.rectangle(target, (cx - r, cy - r), (cx + r, cy + r), value, -1, cv2.LINE_8)
        name = f"pictures/img_{index:04d}.png"
        cv2.imwrite(str(root / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        entries.append({"id": 1000 + index, "file_name": name, "width": W, "height": H})
        for k, shape in enumerate(kinds, start=1):
            mask = ids == k
            if mask.sum() < 20:
                continue
            ys, xs = np.nonzero(mask)
            box = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": 1000 + index,
                    "category_id": 7 if shape == 0 else 3,
                    "bbox": box,
                    "area": int(mask.sum()),
                    "segmentation": segmentation(mask, kind, len(annotations)),
                    "iscrowd": 0,
                }
            )
    coco = {
        "images": entries,
        "annotations": annotations,
        "categories": [{"id": 3, "name": "square"}, {"id": 7, "name": "circle"}],
    }
    path = root / "coco.json"
    path.write_text(json.dumps(coco))
    return path


@pytest.fixture(scope="module")
def biased(tmp_path_factory) -> Path:
    return make_coco(tmp_path_factory.mktemp("biased"), biased=True)


@pytest.fixture(scope="module")
def unbiased(tmp_path_factory) -> Path:
    return make_coco(tmp_path_factory.mktemp("unbiased"), biased=False, seed=1)


def flagged(summary: dict) -> list[str]:
    return [f for f, r in summary["shortcuts"].items() if r is not None and r["flagged"]]


@pytest.mark.slow
def test_biased_colour_is_flagged_and_named(biased):
    summary = audit(biased, load_audit_config([]))
    assert flagged(summary) == ["hue"], summary["shortcuts"]
    hue = summary["shortcuts"]["hue"]
    assert hue["accuracy"] > 0.95 and 0.4 < hue["chance"] < 0.65
    assert not summary["passed"]
    (flag,) = summary["flags"]
    assert "predictable from colour alone" in flag and ("'circle'" in flag or "'square'" in flag), flag
    assert f"{hue['chance']:.2f}" in flag


@pytest.mark.slow
def test_unbiased_has_no_shortcut(unbiased):
    summary = audit(unbiased, load_audit_config([]))
    assert flagged(summary) == [], summary["shortcuts"]
    assert summary["passed"] and summary["flags"] == []
    for result in summary["shortcuts"].values():
        assert result["accuracy"] < result["chance"] + 0.15, result


@pytest.mark.slow
def test_polygon_segmentations_work(tmp_path):
    path = make_coco(tmp_path, biased=True, kind="polygon", images=80, seed=2)
    summary = audit(path, load_audit_config([]), out=tmp_path / "report")
    assert summary["counts"]["annotations"] == len(json.loads(path.read_text())["annotations"])
    assert flagged(summary) == ["hue"]
    # Red circles: the circular mean hue of their visible pixels is near 0 degrees, and concentrated.
    circle = summary["per_class"]["circle"]["hue"]
    assert min(circle["mean_deg"], 360 - circle["mean_deg"]) < 10 and circle["resultant_length"] > 0.95


def test_one_class_with_its_own_colour_is_named_in_a_note():
    """Among 8 classes of random hue, one always red: the accuracy over all classes stays under the flag,
    but the class stands out (recall and precision) and is named."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(8), 60)
    angle = np.where(labels == 5, rng.normal(0, 0.05, labels.size), rng.uniform(0.6, 2 * np.pi - 0.6, labels.size))
    hue = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    classes = [f"class{i}" for i in range(8)]
    images = np.arange(labels.size) // 3  # three instances per image
    result = detect_shortcut("hue", hue, labels, images, classes, load_audit_config([]))
    assert not result.flagged and result.recall["class5"] > 0.9 and result.precision["class5"] > 0.9
    assert result.message.startswith("class 'class5' is predictable from colour alone: recall"), result.message


@pytest.mark.slow
def test_big_datasets_are_sampled(unbiased, tmp_path):
    cfg = load_audit_config(["max_instances=40", "max_images=30", "seed=3"])
    summary = audit(unbiased, cfg, out=tmp_path / "sampled")
    assert summary["counts"]["instances_measured"] == 40 and summary["counts"]["images_measured"] == 30
    assert summary["counts"]["annotations"] > 40 and any("sample of 40" in note for note in summary["notes"])


@pytest.mark.slow
def test_strict_exit_codes_and_overrides(biased, unbiased, tmp_path):
    result = run_cli("audit", str(biased), "--strict", "--out", str(tmp_path / "b"))
    assert result.returncode == 1, result.stderr
    assert "FLAG: class" in result.stdout and "colour alone" in result.stdout
    assert run_cli("audit", str(biased), "--out", str(tmp_path / "b")).returncode == 0
    assert run_cli("audit", str(unbiased), "--strict", "--out", str(tmp_path / "u")).returncode == 0
    lenient = run_cli("audit", str(biased), "shortcut_margin=0.99", "--strict", "--out", str(tmp_path / "l"))
    assert lenient.returncode == 0, lenient.stdout


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing", "not_json", "not_coco", "no_annotations", "no_images", "override"])
def test_bad_input_is_one_line_exit_2(tmp_path, unbiased, case):
    path = tmp_path / "input.json"
    args = [str(path)]
    if case == "missing":
        args = [str(tmp_path / "nope.json")]
    elif case == "not_json":
        path.write_text("not json {")
    elif case == "not_coco":
        path.write_text(json.dumps({"hello": []}))
    elif case == "no_annotations":
        path.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    elif case == "no_images":
        args = [str(unbiased), "--images", str(tmp_path)]
    else:
        args = [str(unbiased), "folds=1"]
    result = run_cli("audit", *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scenegen: error:"), result.stderr


@pytest.mark.slow
def test_report_references_existing_plots_and_summary_has_counts(biased):
    summary = audit(biased, load_audit_config([]))
    out = biased.with_name("coco_audit")
    assert summary["report"] == str(out / "report.html")
    page = (out / "report.html").read_text()
    sources = re.findall(r"<img src='([^']+)'", page)
    assert len(sources) >= 6 and all((out / s).is_file() and s.endswith(".png") for s in sources)
    assert "<script" not in page and "http" not in page
    saved = json.loads((out / "summary.json").read_text())
    coco = json.loads(biased.read_text())
    assert saved["counts"]["images"] == len(coco["images"]) == 120
    assert saved["counts"]["annotations"] == len(coco["annotations"])
    labels = [a["category_id"] for a in coco["annotations"]]
    assert saved["counts"]["classes"] == {"square": labels.count(3), "circle": labels.count(7)}
    assert saved["flags"] == summary["flags"] and saved["shortcuts"]["hue"]["flagged"]


@pytest.mark.slow
def test_near_duplicates_and_imbalance_fail(tmp_path, unbiased):
    """Copies of images (slightly brightened) are near-duplicates; dropping most squares unbalances."""
    root = tmp_path / "copy"
    shutil.copytree(unbiased.parent, root, ignore=shutil.ignore_patterns("*_audit"))
    coco = json.loads((root / "coco.json").read_text())
    for entry in coco["images"][:20]:
        twin = dict(entry, id=entry["id"] + 5000, file_name=entry["file_name"].replace(".png", "_twin.png"))
        image = cv2.imread(str(root / entry["file_name"]))
        cv2.imwrite(str(root / twin["file_name"]), cv2.add(image, 12))
        coco["images"].append(twin)
    squares = [a for a in coco["annotations"] if a["category_id"] == 3]
    coco["annotations"] = [a for a in coco["annotations"] if a["category_id"] == 7] + squares[:8]
    (root / "coco.json").write_text(json.dumps(coco))
    summary = audit(root / "coco.json", load_audit_config([]))
    checks = {c["check"]: c for c in summary["checks"]}
    assert not checks["near_duplicates"]["passed"] and summary["duplicates"]["pairs_count"] >= 20
    assert summary["duplicates"]["fraction"] >= 40 / 140 - 1e-9
    assert not checks["class_balance"]["passed"] and summary["balance"]["imbalance_ratio"] > 10
    assert "'circle'" in checks["class_balance"]["message"]


@pytest.mark.slow
def test_a_rendered_scenegen_dataset_passes_with_the_defaults(tmp_path):
    out = tmp_path / "render"
    size = ["num_scenes=20", "render.width=128", "render.height=96"]
    rendered = run_cli("render", *size, f"output_dir={out}", "--no-progress")
    assert rendered.returncode == 0, rendered.stderr
    result = run_cli("audit", str(out), "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "audit" / "summary.json").read_text())
    assert summary["scenegen_dataset"] and summary["passed"] and summary["flags"] == []
    coco = json.loads((out / "annotations" / "coco.json").read_text())
    assert summary["counts"]["annotations"] == len(coco["annotations"])
    assert all(stats["visibility"] is not None for stats in summary["per_class"].values())

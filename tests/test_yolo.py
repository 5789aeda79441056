"""The YOLO export of a real rendered dataset, read back by the Ultralytics conventions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from conftest import run_cli
from scenegen.dataset.record import read_records
from scenegen.formats.split import SPLIT_STREAM, Split, split_indices
from scenegen.formats.yolo import (
    data_yaml,
    mask_polygon,
    write_yolo,
    yolo_detection_lines,
    yolo_segmentation_lines,
)
from scenegen.labels.rle import decode_rle


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("yolo") / "out"
    result = run_cli(
        "render", "num_scenes=6", f"output_dir={out}", "render.width=160", "render.height=120", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    return out


def _classes(dataset: Path) -> list[str]:
    categories = json.loads((dataset / "dataset.json").read_text())["categories"]
    return [c["name"] for c in sorted(categories, key=lambda c: c["id"])]


def _rows(lines: list[str]) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in lines]


def _fill(polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.fillPoly(np.zeros(shape, np.uint8), [polygon.astype(np.int32)], 1).astype(bool)


IMAGE_SUFFIXES = {".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"}


def _split_images(data_yaml: Path, split: str) -> list[Path]:
    """The images of a split as Ultralytics finds them (``ultralytics/data/utils.py`` ``check_det_dataset``):
    without a ``path`` key the root is the yaml's folder, joined with the split's entry, a folder searched
    recursively for image files."""
    data = yaml.safe_load(data_yaml.read_bytes().decode("utf-8"))
    assert "path" not in data  # a path would be absolute (the original folder) or read from elsewhere
    folder = (data_yaml.parent / data[split]).resolve()
    assert folder.is_dir(), folder
    return sorted(p for p in folder.rglob("*.*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _label_path(image: Path) -> Path:
    """Ultralytics' img2label_paths: the last /images/ becomes /labels/, the suffix .txt."""
    images, labels = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return Path(labels.join(str(image).rsplit(images, 1)).rsplit(".", 1)[0] + ".txt")


def _read_export(dataset: Path, data_yaml: Path, classes: list[str], val_fraction: float, seed: int) -> dict:
    """Check the Ultralytics layout; return each image's label rows by frame name."""
    data = yaml.safe_load(data_yaml.read_text())
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    assert data["names"] == dict(enumerate(classes))
    train, val = _split_images(data_yaml, "train"), _split_images(data_yaml, "val")
    assert train and val
    expected = split_indices([r["index"] for r in read_records(dataset)], val_fraction, seed)
    assert ([int(p.stem) for p in train], [int(p.stem) for p in val]) == expected  # every image once, seeded
    caches = {_label_path(images[0]).parent.with_suffix(".cache") for images in (train, val)}
    assert len(caches) == 2  # Ultralytics' label cache: one per split, never shared
    rows = {}
    for image in train + val:
        assert image.read_bytes() == (dataset / "images" / image.name).read_bytes()
        label = _label_path(image)
        assert label.is_file()  # also for frames without objects
        rows[image.stem] = _rows(label.read_text().splitlines())
    return rows


@pytest.mark.slow
def test_detection_export_matches_coco_boxes(dataset: Path) -> None:
    classes = _classes(dataset)
    records = read_records(dataset)
    data_yaml = write_yolo(dataset, records, classes, "detect", Split(0.3, 1, len(records)))
    rows = _read_export(dataset, data_yaml, classes, 0.3, 1)
    checked = 0
    for record in records:
        width, height = record["width"], record["height"]
        annotated = [a for a in record["annotations"] if "bbox" in a]
        lines = rows[Path(record["files"]["image"]["path"]).stem]
        assert lines == _rows(yolo_detection_lines(record))
        for row, ann in zip(lines, annotated, strict=True):
            assert len(row) == 5 and row[0] == int(row[0]) and 0 <= row[0] < len(classes)
            assert classes[int(row[0])] == ann["class_name"]
            assert all(0.0 <= v <= 1.0 for v in row[1:])
            cx, cy, w, h = row[1] * width, row[2] * height, row[3] * width, row[4] * height
            x, y, bw, bh = ann["bbox"]  # pixel-edge extent [x, x + bw] x [y, y + bh]
            box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
            np.testing.assert_allclose(box, [x, y, x + bw, y + bh], atol=1.0)
            checked += 1
    assert checked > 0


@pytest.mark.slow
def test_segmentation_export_rasterises_back_to_the_masks(dataset: Path) -> None:
    classes = _classes(dataset)
    records = read_records(dataset)
    data_yaml = write_yolo(dataset, records, classes, "segment", Split(0.2, 0, len(records)))
    rows = _read_export(dataset, data_yaml, classes, 0.2, 0)
    checked = 0
    for record in records:
        width, height = record["width"], record["height"]
        lines = rows[Path(record["files"]["image"]["path"]).stem]
        assert lines == _rows(yolo_segmentation_lines(record))
        annotated = [a for a in record["annotations"] if "bbox" in a]
        with_polygon = [a for a in annotated if mask_polygon(decode_rle(a["segmentation"])) is not None]
        assert len(with_polygon) >= len(annotated) - sum(a["area"] < 3 for a in annotated)
        for row, ann in zip(lines, with_polygon, strict=True):
            assert len(row) >= 7 and len(row) % 2 == 1 and 0 <= row[0] < len(classes)
            assert classes[int(row[0])] == ann["class_name"]
            points = np.array(row[1:]).reshape(-1, 2)
            assert points.min() >= 0.0 and points.max() <= 1.0
            mask = decode_rle(ann["segmentation"])
            drawn = _fill(np.round(points * [width, height] - 0.5), mask.shape)  # boundary pixel centres
            assert not (mask & ~drawn).any()
            iou = (drawn & mask).sum() / (drawn | mask).sum()
            if ann["area"] >= 100:
                assert iou > 0.9, (record["index"], ann["instance_id"], iou)
                checked += 1
    assert checked > 0


def test_mask_polygon_keeps_holes_and_pieces() -> None:
    mask = np.zeros((20, 30), bool)
    mask[8:18, 10:25] = True  # a large piece with a hole
    mask[11:14, 14:20] = False
    mask[2:5, 2:5] = True  # a small piece
    polygon = mask_polygon(mask)
    assert polygon.min(axis=0).tolist() == [2, 2] and polygon.max(axis=0).tolist() == [24, 17]
    drawn = _fill(polygon, mask.shape)
    assert not (mask & ~drawn).any() and not drawn[11:14, 14:20].any()
    assert (drawn & ~mask).sum() <= 6  # only the bridge to the small piece
    pixels = np.zeros((5, 5), bool)
    pixels[2, 1:3] = True  # two pixels: two contour points
    assert mask_polygon(pixels) is None
    pixels[3, 1] = True  # an L of three pixels
    assert np.array_equal(_fill(mask_polygon(pixels), pixels.shape), pixels)
    assert mask_polygon(np.zeros((5, 5), bool)) is None


def test_split_is_seeded_disjoint_covering_and_stable_under_growth() -> None:
    indices = list(range(2000))
    train, val = split_indices(indices, 0.2, seed=3)
    assert sorted(train + val) == indices and not set(train) & set(val)
    assert abs(len(val) - 400) < 4 * np.sqrt(2000 * 0.2 * 0.8)
    assert split_indices(indices[::-1], 0.2, seed=3) == (train, val)
    assert split_indices(indices, 0.2, seed=4) != (train, val)
    assert split_indices(indices[:500], 0.2, seed=3) == ([i for i in train if i < 500], [i for i in val if i < 500])
    assert split_indices([0, 1, 2], 0.0, seed=0) == ([0, 1, 2], [])
    assert split_indices([0, 1, 2], 1.0, seed=0) == ([], [0, 1, 2])


def test_a_small_dataset_keeps_one_scene_in_val() -> None:
    """Several scenes none of which drew val: the one with the lowest draw goes to val, the same whether asked
    per scene (exports) or for the whole list, and back to train once the dataset grows; one scene stays where
    its draw puts it, and val_fraction 0 leaves val empty."""

    def draw(seed: int, scene: int) -> float:  # the split module's documented stream
        return np.random.default_rng([seed, SPLIT_STREAM, scene]).random()

    forced = 0
    for seed in range(40):
        own = [s for s in range(3) if draw(seed, s) < 0.2]
        train, val = split_indices([0, 1, 2], 0.2, seed)
        assert val == [s for s in range(3) if Split(0.2, seed, 3).is_val(s)] and sorted(train + val) == [0, 1, 2]
        if own:
            assert val == own
        else:
            lowest = min(range(3), key=lambda s: draw(seed, s))
            assert val == [lowest] and not Split(0.2, seed, 100).is_val(lowest)
            forced += 1
        assert Split(0.2, seed, 1).is_val(0) == (draw(seed, 0) < 0.2)
    assert 5 < forced < 35  # 0.8 ** 3: about half the seeds draw no val scene of three
    assert split_indices([0, 1, 2], 0.0, seed=1) == ([0, 1, 2], [])
    assert not any(Split(0.0, 1, 3).is_val(s) for s in range(3))


def test_data_yaml_names_are_utf8_and_any_text() -> None:
    names = ["mug \U0001f600", 'a "quoted": #name', "caf\u00e9", "- dash", "yes", "1.5", "new\nline"]
    text = data_yaml(names, copied=False)
    raw = text.encode("utf-8")
    assert "\U0001f600".encode() in raw and b"\\ud83d" not in raw.lower()
    data = yaml.safe_load(raw.decode("utf-8"))
    assert data["names"] == dict(enumerate(names)) and "path" not in data
    assert (data["train"], data["val"]) == ("images/train", "images/val")


@pytest.mark.slow
def test_a_copied_or_moved_export_reads_its_own_images(dataset: Path, tmp_path: Path) -> None:
    """The yolo folder copied with its images (--copy) and the original moved away: the copy's data.yaml
    names the copy's images, as Ultralytics resolves it."""
    result = run_cli("export", str(dataset), "--format", "yolo", "--copy")
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "elsewhere" / "yolo"
    shutil.copytree(dataset / "yolo", copy)
    moved = dataset.rename(tmp_path / "moved")
    try:
        images = _split_images(copy / "data.yaml", "train") + _split_images(copy / "data.yaml", "val")
        assert len(images) == 6 and all(copy in p.parents for p in images)
        assert all(_label_path(p).is_file() and copy in _label_path(p).parents for p in images)
    finally:
        moved.rename(dataset)


@pytest.mark.slow
def test_export_links_by_default_copies_on_request_and_follows_the_split(dataset: Path) -> None:
    yolo = dataset / "yolo"
    result = run_cli("export", str(dataset), "--format", "yolo", "--val-fraction", "0.5")
    assert result.returncode == 0, result.stderr
    assert "hard links" in result.stdout and "--copy" in result.stdout
    data = yolo / "data.yaml"
    images = _split_images(data, "train") + _split_images(data, "val")
    assert len(images) == 6 and all(p.samefile(dataset / "images" / p.name) for p in images)
    assert "hard links" in (yolo / "data.yaml").read_text()
    result = run_cli("export", str(dataset), "--format", "yolo", "--val-fraction", "0", "--copy")
    assert result.returncode == 0, result.stderr
    assert _split_images(data, "val") == [] and not list((yolo / "labels" / "val").iterdir())  # no stale files
    train = _split_images(data, "train")
    assert len(train) == 6 and len(list((yolo / "labels" / "train").iterdir())) == 6
    for image in train:
        assert not image.samefile(dataset / "images" / image.name) and image.stat().st_nlink == 1
        assert image.read_bytes() == (dataset / "images" / image.name).read_bytes()
    assert "copies" in (yolo / "data.yaml").read_text()

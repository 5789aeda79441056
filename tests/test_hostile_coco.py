"""Malformed COCO input to every command that reads COCO (audit, preview, merge --coco, balance): one
line naming the file and the image, category or annotation, exit 2, nothing written anywhere."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run_main, tree

COMMANDS = {
    "audit": lambda coco, tmp: ["audit", str(coco)],
    "preview": lambda coco, tmp: ["preview", str(coco)],
    "merge --coco": lambda coco, tmp: ["merge", "--coco", str(tmp / "merged.json"), str(coco)],
    "balance": lambda coco, tmp: ["balance", "--against", str(coco), "--out", str(tmp / "balance.txt")],
}


def valid_coco() -> dict:
    """Two 64x48 images, two categories, one polygon and one box-only annotation per image."""
    images = [{"id": 100 + i, "file_name": f"{100 + i}.png", "width": 64, "height": 48} for i in range(2)]
    annotations = []
    for image in images:
        for category_id, segmentation in ((10, [[10, 10, 30, 10, 30, 25, 10, 25]]), (11, [])):
            annotations.append(
                {
                    "id": len(annotations) + 7,
                    "image_id": image["id"],
                    "category_id": category_id,
                    "bbox": [10, 10, 20, 15],
                    "area": 300,
                    "segmentation": segmentation,
                    "iscrowd": 0,
                }
            )
    categories = [{"id": 10, "name": "mug"}, {"id": 11, "name": "ball", "supercategory": "toy"}]
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco(folder: Path, data: dict | str | bytes) -> Path:
    """``folder/real.json`` holding ``data`` (a dict as JSON, or raw text or bytes), beside its images."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        cv2.imwrite(str(folder / f"{100 + i}.png"), np.full((48, 64, 3), 90 + 40 * i, np.uint8))
    path = folder / "real.json"
    if isinstance(data, dict):
        data = json.dumps(data)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def changed(edit):
    """The valid COCO file's text after ``edit(data)``."""
    data = copy.deepcopy(valid_coco())
    edit(data)
    return json.dumps(data)


def image(key, value):
    return lambda d: d["images"][0].update({key: value})


def ann(key, value):
    return lambda d: d["annotations"][0].update({key: value})


def category(key, value):
    return lambda d: d["categories"][0].update({key: value})


def without(part, key):
    return lambda d: d[part][0].pop(key)


def raw_bbox(text):
    """The file with the first annotation's bbox written as ``text`` (NaN and Infinity are not JSON)."""
    return json.dumps(valid_coco()).replace('"bbox": [10, 10, 20, 15]', f'"bbox": {text}', 1)


CASES = {
    "image id a list": (changed(image("id", [1])), "images[0]: id [1] must be an integer"),
    "image id an object": (changed(image("id", {"a": 1})), "images[0]: id {'a': 1} must be an integer"),
    "image id 10^30": (changed(image("id", 10**30)), "images[0]: id 1000000000000000000000000000000 must be"),
    "image id a fraction": (changed(image("id", 1.5)), "images[0]: id 1.5 must be an integer"),
    "image id twice": (changed(image("id", 101)), "images[1] (id 101): the id is used by another image"),
    "annotation id a list": (changed(ann("id", [7])), "annotations[0]: id [7] must be an integer"),
    "category id an object": (changed(category("id", {})), "categories[0]: id {} must be an integer"),
    "image_id unknown": (changed(ann("image_id", 5)), "annotations[0] (id 7): image_id 5 is not an image"),
    "image_id 10^30": (changed(ann("image_id", 10**30)), "annotations[0] (id 7): image_id 10000"),
    "category_id a string": (changed(ann("category_id", "10")), "annotations[0] (id 7): category_id '10' must be"),
    "bbox NaN": (raw_bbox("[NaN, 10, 20, 15]"), "annotations[0] (id 7): bbox [NaN, 10, 20, 15] must be"),
    "bbox width Infinity": (raw_bbox("[10, 10, Infinity, 15]"), "bbox [10, 10, Infinity, 15] must be"),
    "bbox -Infinity": (raw_bbox("[10, 10, 5, -Infinity]"), "bbox [10, 10, 5, -Infinity] must be"),
    "bbox negative width": (changed(ann("bbox", [10, 10, -2, 15])), "has a negative width or height"),
    "bbox of 3 numbers": (changed(ann("bbox", [10, 10, 20])), "bbox [10, 10, 20] must be [x, y, w, h]"),
    "bbox a string": (changed(ann("bbox", "10 10 20 15")), "bbox '10 10 20 15' must be [x, y, w, h]"),
    "bbox 10^400": (raw_bbox("[10, 10, 1" + "0" * 400 + ", 15]"), "annotations[0] (id 7): bbox [10, 10, 1000"),
    "width NaN": (
        json.dumps(valid_coco()).replace('"width": 64', '"width": NaN', 1),
        "images[0] (id 100): width NaN must be an integer",
    ),
    "width 0": (changed(image("width", 0)), "images[0] (id 100): width 0 must be an integer in [1,"),
    "NaN outside any checked field": (
        json.dumps({**valid_coco(), "info": {"year": "x"}}).replace('"x"', "NaN"),
        "holds NaN, which is not a JSON number",
    ),
    "deeply nested": ('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "file_name missing": (changed(without("images", "file_name")), "images[0] (id 100): file_name is missing"),
    "file_name a number": (changed(image("file_name", 5)), "images[0] (id 100): file_name 5 must be a string"),
    "file_name leaving the folder": (changed(image("file_name", "../secret.png")), "'../secret.png' leaves"),
    "file_name absolute": (changed(image("file_name", "/etc/passwd")), "'/etc/passwd' is absolute"),
    "file_name empty": (changed(image("file_name", "")), "images[0] (id 100): '' is not a file path"),
    "category name missing": (changed(without("categories", "name")), "categories[0] (id 10): name is missing"),
    "category name a number": (changed(category("name", 3)), "categories[0] (id 10): name 3 must be a non-empty"),
    "supercategory a list": (changed(category("supercategory", [])), "supercategory [] must be a string"),
    "images a number": (changed(lambda d: d.update(images=3)), "it needs 'images' and 'categories' lists"),
    "annotations an object": (changed(lambda d: d.update(annotations={})), "'annotations' must be a list"),
    "an image a number": (changed(lambda d: d["images"].__setitem__(0, 5)), "images[0]: 5 must be an object"),
    "an annotation a string": (
        changed(lambda d: d["annotations"].__setitem__(0, "x")),
        "annotations[0]: 'x' must be an object with image_id",
    ),
    "a category null": (changed(lambda d: d["categories"].__setitem__(0, None)), "categories[0]: None must be"),
    "segmentation a number": (changed(ann("segmentation", 5)), "segmentation: must be a list of polygons or"),
    "polygon too short": (changed(ann("segmentation", [[1, 2, 3, 4]])), "segmentation: a polygon must be"),
    "polygon of pairs": (changed(ann("segmentation", [[[1, 2], [3, 4], [5, 6]]])), "segmentation: a polygon"),
    "polygon of numbers": (changed(ann("segmentation", [1, 2, 3, 4, 5, 6])), "segmentation: a polygon must be"),
    "RLE of another size": (
        changed(ann("segmentation", {"size": [100000, 100000], "counts": "0"})),
        "RLE size [100000, 100000] is not the image's [h, w] [48, 64]",
    ),
    "RLE counts short": (
        changed(ann("segmentation", {"size": [48, 64], "counts": [5, 10]})),
        "RLE counts cover 15 pixels, the image has 3072",
    ),
    "RLE counts negative": (
        changed(ann("segmentation", {"size": [48, 64], "counts": [-5, 3077]})),
        "RLE counts must be run lengths",
    ),
    "RLE counts a number": (changed(ann("segmentation", {"size": [48, 64], "counts": 7})), "RLE counts must be"),
    "iscrowd 2": (changed(ann("iscrowd", 2)), "annotations[0] (id 7): iscrowd 2 must be an integer in [0, 1]"),
    "area NaN": (json.dumps(valid_coco()).replace('"area": 300', '"area": NaN', 1), "area NaN must be a finite"),
    "truncated": (json.dumps(valid_coco())[:300], "is not a JSON file"),
    "not UTF-8": (b'{"images": "\xff\xfe"}', "is not a JSON file"),
    "a list at the top": ("[]", "it needs 'images' and 'categories' lists"),
    "empty": ("", "is not a JSON file"),
}


# audit composes its own config first (about 0.1 s): every case runs through the other commands, a sample
# of each kind through audit; all four read through the one reader.
AUDITED = ["image id a list", "bbox NaN", "deeply nested", "file_name leaving the folder", "RLE of another size"]
AUDITED += ["category name missing", "an annotation a string", "truncated", "NaN outside any checked field"]
RUNS = [(case, command) for case in CASES for command in COMMANDS if command != "audit" or case in AUDITED]


@pytest.mark.parametrize(("case", "command"), RUNS)
def test_malformed_coco_is_one_line_naming_the_culprit(tmp_path, case, command):
    text, message = CASES[case]
    coco = write_coco(tmp_path / "real", text)
    before = tree(tmp_path)
    code, _, stderr = run_main(*COMMANDS[command](coco, tmp_path))
    assert code == 2 and stderr.count("\n") == 1 and stderr.startswith("scenegen: error: "), stderr
    assert str(coco) in stderr and message in stderr, stderr
    assert "NaN" not in stderr or "NaN" in message  # an error message shows the value, never more
    assert tree(tmp_path) == before  # nothing written, nothing changed


@pytest.mark.parametrize("command", [pytest.param(c, marks=pytest.mark.slow) if c == "audit" else c for c in COMMANDS])
def test_the_valid_file_passes_every_command(tmp_path, command):
    coco = write_coco(tmp_path / "real", valid_coco())
    code, stdout, stderr = run_main(*COMMANDS[command](coco, tmp_path))
    assert code == 0, stderr
    assert "wrote" in stdout or "audit of" in stdout


def test_a_missing_image_is_named_by_audit_and_preview(tmp_path):
    coco = write_coco(tmp_path / "real", valid_coco())
    (tmp_path / "real" / "101.png").unlink()
    for command in ("audit", "preview"):
        code, _, stderr = run_main(*COMMANDS[command](coco, tmp_path))
        assert code == 2 and stderr.count("\n") == 1, stderr
        assert f"cannot read image {tmp_path / 'real' / '101.png'} (image id 101)" in stderr
    assert not (tmp_path / "real" / "real_audit").exists() and not (tmp_path / "real" / "real_preview.png").exists()


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    coco = write_coco(tmp_path / "real", valid_coco())
    cv2.imwrite(str(tmp_path / "secret.png"), np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "real" / "100.png").unlink()
    (tmp_path / "real" / "100.png").symlink_to(tmp_path / "secret.png")
    for command in COMMANDS:
        code, _, stderr = run_main(*COMMANDS[command](coco, tmp_path))
        assert code == 2 and "images[0] (id 100): path '100.png' leaves" in stderr, (command, stderr)


def test_preview_into_a_missing_folder_fails_clearly(tmp_path):
    coco = write_coco(tmp_path / "real", valid_coco())
    code, stdout, stderr = run_main("preview", str(coco), "--out", "/nonexistent/p.png")
    assert code == 2 and stdout == "" and stderr.count("\n") == 1
    assert stderr.startswith("scenegen: error: --out /nonexistent/p.png: no folder /nonexistent")
    code, _, stderr = run_main("preview", str(coco), "--count", "0")
    assert code == 2 and "--count 0 must be at least 1" in stderr


def test_reports_that_cannot_be_written_are_one_line(tmp_path):
    """A report folder that cannot be made (here a file is in the way; a read-only mount fails the same way)."""
    coco = write_coco(tmp_path / "real", valid_coco())
    (tmp_path / "blocker").write_text("a file, not a folder")
    code, _, stderr = run_main("audit", str(coco), "--out", str(tmp_path / "blocker" / "audit"))
    assert code == 2 and stderr.count("\n") == 1 and f"cannot write the report to {tmp_path / 'blocker'}" in stderr
    code, _, stderr = run_main("preview", str(coco), "--out", str(tmp_path / "blocker" / "p.png"))
    assert code == 2 and stderr.count("\n") == 1 and "blocker" in stderr
    target = tmp_path / "blocker" / "balance.txt"
    code, _, stderr = run_main("balance", "--against", str(coco), "--out", str(target))
    assert code == 2 and stderr.count("\n") == 1 and "blocker" in stderr, stderr


def test_merge_coco_refuses_to_overwrite_an_input(tmp_path):
    coco = write_coco(tmp_path / "real", valid_coco())
    other = write_coco(tmp_path / "other", valid_coco())
    before = tree(tmp_path)
    code, _, stderr = run_main("merge", "--coco", str(coco), str(other), str(coco))
    assert code == 2 and f"{coco}: is the COCO file of the source {coco}; choose another OUT file" in stderr
    assert tree(tmp_path) == before
    code, _, stderr = run_main("merge", "--coco", str(tmp_path / "all.json"), str(coco), str(other))
    assert code == 0, stderr
    merged = json.loads((tmp_path / "all.json").read_text())
    names = ["real/100.png", "real/101.png", "other/100.png", "other/101.png"]
    assert [im["file_name"] for im in merged["images"]] == names
    assert tree(tmp_path) == {**before, "all.json": (tmp_path / "all.json").read_bytes()}


def test_a_truncated_frame_record_in_a_scenegen_folder_is_named(tmp_path):
    """A scenegen folder: annotations/coco.json, images, and frame records read for visib_fract."""
    folder = tmp_path / "dataset"
    data = valid_coco()  # file_name relative to images/, as COCO's layout has it
    write_coco(folder / "images", {})
    (folder / "annotations").mkdir()
    (folder / "annotations" / "coco.json").write_text(json.dumps(data))
    (folder / "labels").mkdir()
    (folder / "labels" / "000100.json").write_text('{"index": 100, "annotations": [')  # image id 100
    before = tree(tmp_path)
    code, _, stderr = run_main("audit", str(folder))
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert f"{folder / 'labels' / '000100.json'}: not a readable frame record" in stderr
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_audit_memory_stays_flat_with_many_annotations_per_image(tmp_path):
    """5,000 annotations on one 640x480 image: decoding them all at once took 3.1 GB; now about 190 MB. The
    peak is the audit process's own (``VmHWM``): ``ru_maxrss`` holds the parent's peak too, through fork and
    exec, which is the test worker's (once 1.6 GB)."""
    cv2.imwrite(str(tmp_path / "1.png"), np.full((480, 640, 3), 128, np.uint8))
    rng = np.random.default_rng(0)
    annotations = []
    for i in range(5_000):
        x, y = rng.integers(0, 600), rng.integers(0, 440)
        polygon = [x, y, x + 30, y, x + 30, y + 30, x, y + 30]
        bbox = [int(x), int(y), 30, 30]
        annotations.append({"id": i, "image_id": 1, "category_id": 1 + i % 2, "bbox": bbox, "segmentation": [polygon]})
    data = {
        "images": [{"id": 1, "file_name": "1.png", "width": 640, "height": 480}],
        "annotations": json.loads(json.dumps(annotations, default=int)),
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }
    (tmp_path / "many.json").write_text(json.dumps(data))
    script = (
        "import sys; from pathlib import Path; from scenegen.cli import main; code = main(sys.argv[1:]); "
        "status = Path('/proc/self/status').read_text().splitlines(); "
        "print(next(int(line.split()[1]) for line in status if line.startswith('VmHWM:')) // 1024)"
    )
    command = [sys.executable, "-c", script, "audit", str(tmp_path / "many.json"), "max_instances=500"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.strip().splitlines()[-1])
    assert peak_mb < 1000, peak_mb

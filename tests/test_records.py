"""Frame records and ``dataset.json`` read back (issue 18, items 2 and 3): every reader goes through one
validating reader, and frames, scenes and sequences come from the typed config's frame arithmetic.

Intact datasets of views and of sequences verify ok; missing frames, tampered flow and track files, records
whose place disagrees with the arithmetic, NaN and infinities, unknown categories, deleted or mistyped keys,
paths naming another file, edited ``dataset.json`` values and FIFOs are each one line naming the file and
the key, with exit 2 (verify: 1 for a frame's problem), and nothing is written. The hostile inputs are made
here, from two tiny renders."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import dataset_files, render_small, run_main, tree
from scenegen.dataset.readback import BadValue, checked, read_json
from scenegen.dataset.record import ObjectLabel, is_annotated, record_path
from scenegen.labels.rle import parse_counts
from scenegen.scene.spec import SceneSpec

FPS = 12
SEQUENCE = ["sequence.frames=3", f"sequence.fps={FPS}", "output.flow=true", "output.tracks=8"]
EXPORTS = "output.formats=[coco,yolo_seg,youtube_vis,mot]"
EXPORT = ["--format", "coco", "--format", "yolo", "--format", "yolo_seg", "--format", "youtube_vis", "--format", "mot"]
TINY = {"width": 48, "height": 36}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """``views/``: one scene of 3 views; ``sequence/``: 2 sequences of 3 frames with flow, tracks and exports."""
    root = tmp_path_factory.mktemp("records")
    result = render_small(root / "views", "scene.views_per_scene=3", scenes=1, **TINY)
    assert result.returncode == 0, result.stderr
    result = render_small(root / "sequence", "+experiment=flying", *SEQUENCE, EXPORTS, scenes=2, **TINY)
    assert result.returncode == 0, result.stderr
    return root


def copy_of(rendered: Path, tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(rendered / name, tmp_path / name))


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# ---- the frame arithmetic (item 2) ----


@pytest.mark.slow
def test_intact_views_and_sequences_verify_ok(rendered):
    for name, frames, files in (("views", 3, 3 * 2), ("sequence", 6, 6 * 2 + 4 * 4 + 6)):
        code, stdout, stderr = run_main("verify", str(rendered / name))
        assert (code, stderr) == (0, ""), stderr
        assert stdout == f"{rendered / name}: {frames} of {frames} frames, {files} files checked: ok\n"


@pytest.mark.slow
def test_verify_names_every_missing_frame_and_tampered_flow_and_tracks(rendered, tmp_path):
    out = copy_of(rendered, tmp_path, "sequence")
    for index in (1, 2, 3, 5):
        record_path(out, index).unlink()
    flow, tracks = out / "flow" / "000000_fw.npy", out / "tracks" / "000001.npz"
    for path in (flow, tracks):
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
    code, stdout, stderr = run_main("verify", str(out))
    changed = "its content differs from the record (SHA-256)"
    assert code == 1 and stdout == f"{out}: 2 of 6 frames, 12 files checked: 6 problems\n"
    assert stderr.splitlines() == [
        f"{flow}: {changed}",
        *(f"{record_path(out, i)}: missing (frame {i})" for i in (1, 2, 3)),
        f"{tracks}: {changed}",  # listed by frame 4, the one record of scene 1 left
        f"{record_path(out, 5)}: missing (frame 5)",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["a frame missing in the middle", "a run stopped early"])
def test_exports_refuse_an_incomplete_dataset_by_name_or_leave_out_what_partial_says(rendered, tmp_path, case):
    out = copy_of(rendered, tmp_path, "sequence")
    shutil.rmtree(out / "mot")
    if case == "a frame missing in the middle":
        record_path(out, 4).unlink()
        problem = f"{out}: incomplete: 1 frames have no record: labels/000004.json"
        left, scenes = "left out 1 of its 2 scenes: 1", [0]
    else:
        dataset = read(out / "dataset.json")
        (out / "dataset.json").write_text(json.dumps({**dataset, "status": "rendering"}))
        problem = f"{out}: incomplete: its run did not finish (status 'rendering')"
        left, scenes = "left out 0 of its 2 scenes", [0, 1]
    before = tree(tmp_path)
    code, _, stderr = run_main("export", str(out), *EXPORT)
    assert code == 2 and one_line(stderr) == f"scenegen: error: {problem}; rerun its command, or export with --partial"
    assert tree(tmp_path) == before
    code, stdout, stderr = run_main("export", str(out), *EXPORT, "--partial")
    assert code == 0 and one_line(stderr) == f"scenegen: {problem}; {left}", stderr
    assert sorted(p.name for p in (out / "mot").iterdir()) == [f"{s:06d}" for s in scenes]
    for scene in scenes:
        info = configparser.ConfigParser()
        info.read(out / "mot" / f"{scene:06d}" / "seqinfo.ini")
        assert (int(info["Sequence"]["seqLength"]), float(info["Sequence"]["frameRate"])) == (3, FPS)
        assert len(list((out / "mot" / f"{scene:06d}" / "img1").iterdir())) == 3
    videos = read(out / "annotations" / "youtube_vis.json")["videos"]
    assert [(v["id"], v["length"], len(v["file_names"])) for v in videos] == [(s + 1, 3, 3) for s in scenes]
    images = read(out / "annotations" / "coco.json")["images"]
    assert [im["id"] for im in images] == [3 * s + k for s in scenes for k in range(3)]


@pytest.mark.slow
def test_resume_renders_again_a_record_out_of_its_place(rendered, tmp_path):
    """Resume reads records with the same reader: a view's record that claims another view is damaged."""
    out = copy_of(rendered, tmp_path, "views")
    path = record_path(out, 1)
    path.write_text(json.dumps({**read(path), "view": 2}))
    result = render_small(out, "scene.views_per_scene=3", scenes=1, **TINY)
    assert result.returncode == 0, result.stderr
    assert "rendering again 1 frames whose record or files are damaged: 1" in result.stderr
    assert dataset_files(out) == dataset_files(rendered / "views")


# ---- records read back (item 3) ----


def first_annotated(record: dict) -> int:
    found = [i for i, ann in enumerate(record["annotations"]) if is_annotated(ann)]
    assert found, "the fixture's frame 4 shows no labelled object"
    return found[0]


def edit(change):
    """A case that loads frame 4's record (scene 1, frame 1 of its sequence), changes it, writes it back as
    ``json.dumps`` does (NaN and infinities as Python writes them); ``change`` returns the key named."""

    def apply(out: Path) -> str:
        path = record_path(out, 4)
        record = read(path)
        key = change(record, first_annotated(record))
        path.write_text(json.dumps(record))
        return key

    return apply


def raw(old: str, new: str):
    """A case that replaces text in frame 4's record, for what ``json.dumps`` cannot write."""

    def apply(out: Path) -> str:
        path = record_path(out, 4)
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        return "not a readable frame record"

    return apply


def assign(record: dict, keys: list, value) -> None:
    for key in keys[:-1]:
        record = record[key]
    record[keys[-1]] = value


def at(keys: list, value, named: str):
    return edit(lambda r, i: assign(r, [k if k != "A" else i for k in keys], value) or named.replace("A", str(i)))


def remove(key: str):
    return edit(lambda r, i: (r["annotations"][i].pop(key), f"annotations[{i}].{key}: missing")[1])


HOSTILE_RECORDS = {
    "NaN visibility": (at(["annotations", "A", "visib_fract"], float("nan"), "NaN is not a JSON number"), ""),
    "Infinity translation": (
        at(["annotations", "A", "cam_t_m2c", 2], float("inf"), "Infinity is not a JSON number"),
        "",
    ),
    "a float overflow": (raw('"time": 0.08333333333333333,', '"time": 1e999,'), "1e999 is not a finite number"),
    "an unknown category": (
        at(["annotations", "A", "category_id"], 998, "annotations[A].category_id: 998 is not the category of"),
        "",
    ),
    "a category of another class": (
        edit(
            lambda r, i: (
                assign(r, ["annotations", i, "category_id"], r["annotations"][i]["category_id"] % 8 + 1)
                or f"annotations[{i}].category_id"
            )
        ),
        "",
    ),  # fmt: skip
    "instance_id deleted": (remove("instance_id"), ""),
    "category_id deleted": (remove("category_id"), ""),
    "segmentation deleted": (remove("segmentation"), "missing beside bbox"),
    "amodal_bbox deleted": (remove("amodal_bbox"), "missing beside amodal_area"),
    "bbox mistyped": (at(["annotations", "A", "bbox"], "x", "annotations[A].bbox: 'x' is not a list"), ""),
    "area mistyped": (at(["annotations", "A", "area"], "12", "annotations[A].area: '12' is not an int"), ""),
    "a box outside the image": (at(["annotations", "A", "bbox"], [40, 0, 20, 5], "annotations[A].bbox"), ""),
    "an RLE of another size": (at(["annotations", "A", "segmentation", "size"], [5, 5], "segmentation.size"), ""),
    "an RLE that is not one": (at(["annotations", "A", "segmentation", "counts"], "~~", "segmentation.counts"), ""),
    "scene_index edited": (at(["scene_index"], 0, "scene_index: 0, but frame 4 of this dataset has 1"), ""),
    "frame_in_sequence edited": (at(["frame_in_sequence"], 2, "frame_in_sequence: 2, but frame 4"), ""),
    "time edited": (at(["time"], 2.0, "time: 2.0, but frame 4 of this dataset has"), ""),
    "the image path naming the mask": (
        edit(
            lambda r, i: r["files"].update(image=r["files"]["instance_mask"]) or "files.image.path: 'masks/000004.png'"
        ),
        "is not the image file 'images/000004.png'",
    ),
    "a flow file dropped": (edit(lambda r, i: r["files"].pop("flow_fw") and "files: kinds"), ""),
    "an unknown key": (at(["annotations", "A", "extra"], 1, "annotations[A].'extra': not a key of this file"), ""),
    "counts edited": (at(["counts", "objects"], 99, "counts.objects: 99, the frame has"), ""),
    "a spec pose mistyped": (at(["spec", "camera", "pose", 0], "x", "spec.camera.pose[0]: 'x' is not a list"), ""),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(HOSTILE_RECORDS))
def test_a_hostile_record_is_one_line_naming_the_file_and_key(rendered, tmp_path, case):
    tamper, more = HOSTILE_RECORDS[case]
    out = copy_of(rendered, tmp_path, "sequence")
    named = tamper(out)
    before = tree(tmp_path)
    for args, exit_code in (
        (["export", str(out), *EXPORT], 2),
        (["export", str(out), *EXPORT, "--partial"], 2),
        (["merge", str(tmp_path / "merged"), str(out)], 2),
        (["verify", str(out)], 1),
    ):
        code, _, stderr = run_main(*args)
        lines = stderr.strip().splitlines()
        line = lines[0] if args[0] == "verify" else one_line(stderr)
        assert code == exit_code and len(lines) == 1, (args, stderr)
        assert str(record_path(out, 4)) in line and named in line and more in line, (args, line)
    assert tree(tmp_path) == before and not (tmp_path / "merged").exists()


HOSTILE_DATASET_FILES = {
    "seed a string": (lambda d: d["config"].update(seed="x"), "config: seed: Value 'x'"),
    "num_scenes 10**10": (lambda d: d["config"].update(num_scenes=10**10), "config: num_scenes = 10000000000 must be"),
    "frames over the limit": (
        lambda d: d["config"]["sequence"].update(frames=10**6),
        "config: num_scenes x frames per scene = 2000000 frames is over 1000000",
    ),
    "categories a number": (lambda d: d.update(categories=5), "categories: 5 is not a list"),
    "a category without a name": (lambda d: d["categories"][0].pop("name"), "categories[0].name: missing"),
    "categories out of order": (lambda d: d["categories"].reverse(), "ids count from 1 in order"),
    "config an interpolation": (
        lambda d: d["config"].update(output_dir="${oc.env:HOME}"),
        "config: output_dir: '${oc.env:HOME}' is an interpolation",
    ),
    "config a key deleted": (lambda d: d["config"]["scene"].pop("layout"), "config: scene.layout: Missing mandatory"),
    "an unknown status": (lambda d: d.update(status="done"), "status 'done' is not one of"),
    "NaN in the config": (lambda d: d["config"]["camera"].update(znear=float("nan")), "NaN is not a JSON number"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(HOSTILE_DATASET_FILES))
def test_an_edited_dataset_file_is_one_line_naming_it_and_the_key(rendered, tmp_path, case):
    change, message = HOSTILE_DATASET_FILES[case]
    out = copy_of(rendered, tmp_path, "sequence")
    data = read(out / "dataset.json")
    change(data)
    (out / "dataset.json").write_text(json.dumps(data))
    before = tree(tmp_path)
    for args in (["verify", str(out)], ["export", str(out), *EXPORT], ["merge", str(tmp_path / "merged"), str(out)]):
        code, _, stderr = run_main(*args)
        line = one_line(stderr)
        assert code == 2 and line.startswith(f"scenegen: error: {out / 'dataset.json'}: ") and message in line, line
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_fifos_named_as_records_or_files_are_refused_not_waited_on(rendered, tmp_path):
    """Run as subprocesses: a reader that opened a FIFO would wait for a writer forever (the timeout here is
    only a guard that turns such a hang into a failure)."""
    views = copy_of(rendered, tmp_path, "views")
    record_path(views, 1).unlink()
    os.mkfifo(record_path(views, 1))
    sequence = copy_of(rendered, tmp_path, "sequence")
    image = sequence / "images" / "000004.png"
    image.unlink()
    os.mkfifo(image)
    cases = (
        (["verify", str(views)], 1, f"{record_path(views, 1)}: not a readable frame record (not a regular file)"),
        (["export", str(views), "--format", "coco"], 2, f"{record_path(views, 1)}: not a readable frame record"),
        (["merge", str(tmp_path / "m1"), str(views)], 2, f"{record_path(views, 1)}: not a readable frame record"),
        (["verify", str(sequence)], 1, f"{image}: not a regular file"),
        (["export", str(sequence), "--format", "yolo"], 2, f"{image}: not a regular file"),
        (["merge", str(tmp_path / "m2"), str(sequence)], 2, f"{image}: not a regular file"),
    )
    for args, exit_code, message in cases:
        command = [sys.executable, "-m", "scenegen.cli", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == exit_code and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()


# ---- the reader itself ----


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": [1, -Infinity]}', "-Infinity is not a JSON number"),
        ('{"a": 1e400}', "1e400 is not a finite number"),
        ('{"a": ' * 100_000, "nested too deeply"),
        ("", "Expecting value"),
    ],
)
def test_read_json_refuses_what_is_not_strict_json(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_json(path, 1 << 30)


def test_read_json_refuses_special_and_large_files(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big.json").write_text("[" + "0," * 100 + "0]")
    for path, message in ((tmp_path / "fifo", "not a regular file"), (tmp_path, "not a regular file")):
        with pytest.raises(ValueError, match=message):
            read_json(path, 1 << 20)
    with pytest.raises(ValueError, match="203 bytes, more than the 100 allowed"):
        read_json(tmp_path / "big.json", 100)
    assert read_json(tmp_path / "big.json", 203) == [0] * 101


@pytest.mark.slow
def test_checked_names_the_nested_key_and_builds_dataclasses(rendered):
    record = read(record_path(rendered / "sequence", 4))
    spec = checked(record["spec"], SceneSpec, "spec")
    assert spec == SceneSpec.from_dict(record["spec"])  # the same objects the renderer's own reader builds
    ann = {**record["annotations"][0], "keypoints": [[1.0, 2.0, 2]] * 8 + [[1.0, True, 0]]}
    with pytest.raises(BadValue, match=r"^a\.keypoints\[8\]\[1\]: True is not a float$"):
        checked(ann, ObjectLabel, "a")
    with pytest.raises(BadValue, match=r"^spec\.objects\[0\]\.material\.texture: 3 is not an object$"):
        objects = [{**record["spec"]["objects"][0], "material": {"base_color": [1, 1, 1, 1], "metallic": 0,
                                                                  "roughness": 0, "texture": 3}}]  # fmt: skip
        checked({**record["spec"], "objects": objects}, SceneSpec, "spec")


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ("a", "its last count is left open"),
        ("0~", "a character outside '0'..'o'"),
        ("0\u00e9", "a character outside '0'..'o'"),
        ("P" * 12 + "0", "a count of more than 12 groups"),
    ],
)
def test_parse_counts_refuses_what_is_not_a_compressed_rle(counts, message):
    with pytest.raises(ValueError, match=message):
        parse_counts(counts)
    assert parse_counts("1234567") == [1, 2, 3, 4 + 2, 5 + 3, 6 + 6, 7 + 8]  # from the 4th, + the count 2 back
    assert parse_counts("O") == [-1] and parse_counts("") == []

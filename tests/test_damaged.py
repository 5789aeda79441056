"""Hostile and damaged datasets: paths in records that leave the dataset, frames whose files are missing
or corrupt. merge, export and verify refuse them by name (nothing written, nothing outside touched);
a rerun of the render renders them again; ``scenegen verify`` lists every problem."""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import dataset_files, render_small, run_main, tree
from scenegen.dataset.dataset_file import read_dataset_file
from scenegen.dataset.record import FORMAT, iter_records, read_records, record_path
from scenegen.formats.registry import FORMATS, export

FRAMES = 4
EXPORTS = ("output.formats=[coco,yolo,bop]", "output.depth_png=true")  # BOP needs the run's depth


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """``whole/``: one run of 4 frames; ``shard0/``, ``shard1/``: the same frames in two shards."""
    root = tmp_path_factory.mktemp("rendered")
    for name, shard in (("whole", []), ("shard0", ["shard.index=0"]), ("shard1", ["shard.index=1"])):
        count = ["shard.count=2"] if shard else []
        result = render_small(root / name, *EXPORTS, *shard, *count, scenes=FRAMES)
        assert result.returncode == 0, result.stderr
    return root


def copies(rendered: Path, tmp_path: Path, *names: str) -> list[Path]:
    """Real copies (not links) of the rendered folders, so that damaging one never touches the fixture."""
    return [Path(shutil.copytree(rendered / name, tmp_path / name)) for name in names]


def edit_record(folder: Path, index: int, edit) -> Path:
    path = record_path(folder, index)
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))
    return path


# ---- paths that leave the dataset (issue 11, item 1) ----


def image_path(value):
    return lambda folder, outside: edit_record(folder, 1, lambda r: r["files"]["image"].update(path=value))


def image_link_out(folder: Path, outside: Path) -> Path:
    image = folder / "images" / "000001.png"
    shutil.copyfile(image, outside / "image.png")
    image.unlink()
    image.symlink_to(outside / "image.png")
    return record_path(folder, 1)


def record_link_out(folder: Path, outside: Path) -> Path:
    record = record_path(folder, 1)
    shutil.copyfile(record, outside / "000001.json")
    record.unlink()
    record.symlink_to(outside / "000001.json")
    return folder


ESCAPES = {
    "image path with ..": (image_path("../../outside/x.txt"), "path '../../outside/x.txt' leaves"),
    "image path absolute": (image_path("/etc/passwd"), "path '/etc/passwd' is absolute"),
    "image path a number": (image_path(5), "5 is not a file path"),
    "image path empty": (image_path(""), "'' is not a file path"),
    "image a symbolic link out": (image_link_out, "path 'images/000001.png' leaves"),
    "record a symbolic link out": (record_link_out, "path 'labels/000001.json' leaves"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ESCAPES))
def test_paths_leaving_the_dataset_are_refused_by_merge_export_and_verify(rendered, tmp_path, case):
    tamper, message = ESCAPES[case]
    shard0, shard1 = copies(rendered, tmp_path, "shard0", "shard1")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("not part of any dataset")
    named = tamper(shard1, outside)
    before = tree(tmp_path)
    merged = tmp_path / "merged"
    for args, code in (
        (["merge", str(merged), str(shard0), str(shard1)], 2),
        (["export", str(shard1), "--format", "yolo", "--format", "coco"], 2),
        (["verify", str(shard1)], 1),
    ):
        result, stdout, stderr = run_main(*args)
        lines = stderr.strip().splitlines()
        assert result == code and len(lines) == 1 and message in lines[0] and str(named) in lines[0], (args, stderr)
        assert "Traceback" not in stderr
    assert tree(tmp_path) == before  # no merged folder, no export, nothing outside touched
    assert not merged.exists()


# ---- damaged frames (issue 11, item 2) ----


def truncate(folder: Path) -> str:
    image = folder / "images" / "000001.png"
    size = image.stat().st_size
    image.write_bytes(image.read_bytes()[: size // 2])
    return f"{image}: {size // 2} bytes, the record says {size}"


def flip_a_bit(folder: Path) -> str:
    image = folder / "images" / "000001.png"
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0x01
    image.write_bytes(bytes(data))
    return f"{image}: its content differs from the record (SHA-256)"


def delete_mask(folder: Path) -> str:
    (folder / "masks" / "000001.png").unlink()
    return f"{folder / 'masks' / '000001.png'}: No such file or directory"


def empty_record(folder: Path) -> str:
    record_path(folder, 1).write_bytes(b"")  # what a power loss can leave without fsync
    return f"{record_path(folder, 1)}: not a readable frame record"


def truncated_record(folder: Path) -> str:
    path = record_path(folder, 1)
    path.write_bytes(path.read_bytes()[:100])
    return f"{path}: not a readable frame record"


def record_of_another_frame(folder: Path) -> str:
    shutil.copyfile(record_path(folder, 3), record_path(folder, 1))
    return f"{record_path(folder, 1)}: holds frame index 3, not the frame of its name"


def record_of_another_version(folder: Path) -> str:
    edit_record(folder, 1, lambda r: r.update(format="scenegen.frame/1"))
    return f"{record_path(folder, 1)}: frame record format 'scenegen.frame/1', expected {FORMAT!r}"


def record_with_a_wrong_hash(folder: Path) -> str:
    edit_record(folder, 1, lambda r: r["files"]["instance_mask"].update(sha256=hashlib.sha256(b"").hexdigest()))
    return f"{folder / 'masks' / '000001.png'}: its content differs from the record (SHA-256)"


DAMAGE = [
    truncate,
    flip_a_bit,
    delete_mask,
    empty_record,
    truncated_record,
    record_of_another_frame,
    record_of_another_version,
    record_with_a_wrong_hash,
]


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_merge_refuses_a_damaged_frame_by_name(rendered, tmp_path, damage):
    shard0, shard1 = copies(rendered, tmp_path, "shard0", "shard1")
    message = damage(shard1)
    before = tree(tmp_path)
    code, _, stderr = run_main("merge", str(tmp_path / "merged"), str(shard0), str(shard1))
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], stderr
    if damage not in (empty_record, truncated_record, record_of_another_frame, record_of_another_version):
        assert lines[0].startswith(f"scenegen: error: frame 1 of {shard1} is damaged: ")
    assert tree(tmp_path) == before and not (tmp_path / "merged").exists()


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_verify_names_the_damage_and_a_rerun_repairs_it(rendered, tmp_path, damage):
    (whole,) = copies(rendered, tmp_path, "whole")
    message = damage(whole)
    code, stdout, stderr = run_main("verify", str(whole))
    lines = stderr.splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith(message), stderr
    assert stdout.strip().endswith("1 problem"), stdout
    result = render_small(whole, *EXPORTS, scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    assert "rendering again 1 frames whose record or files are damaged: 1" in result.stderr
    assert dataset_files(whole) == dataset_files(rendered / "whole")  # byte for byte the undamaged dataset
    assert run_main("verify", str(whole))[0] == 0


@pytest.mark.slow
def test_verify_lists_every_problem_and_a_summary(rendered, tmp_path):
    (whole,) = copies(rendered, tmp_path, "whole")
    code, stdout, stderr = run_main("verify", str(whole))
    assert (code, stderr) == (0, "") and stdout == f"{whole}: 4 of 4 frames, 12 files checked: ok\n"
    messages = [truncate(whole), delete_mask(whole)]
    record_path(whole, 2).unlink()
    (whole / "labels" / "notes.json").write_text("{}")
    dataset = json.loads((whole / "dataset.json").read_text())
    (whole / "dataset.json").write_text(json.dumps({**dataset, "status": "rendering"}))
    code, stdout, stderr = run_main("verify", str(whole))
    assert code == 1 and stdout == f"{whole}: 3 of 4 frames, 9 files checked: 5 problems\n"
    assert stderr.splitlines() == [
        f"{whole / 'dataset.json'}: status 'rendering', not complete; rerun its command",
        f"{whole / 'labels' / 'notes.json'}: not a frame record (its name is not a frame number)",
        *messages,
        f"{record_path(whole, 2)}: missing (frame 2)",
    ]
    code, _, stderr = run_main("verify", str(tmp_path / "nothing"))
    assert code == 2 and "not a scenegen dataset" in stderr


@pytest.mark.slow
def test_an_empty_record_left_by_a_crash_is_rendered_again(rendered, tmp_path):
    """A zero-length record and dataset.json still at "rendering": the rerun completes, no traceback."""
    (whole,) = copies(rendered, tmp_path, "whole")
    empty_record(whole)
    dataset = json.loads((whole / "dataset.json").read_text())
    (whole / "dataset.json").write_text(json.dumps({**dataset, "status": "rendering"}))
    result = render_small(whole, *EXPORTS, scenes=FRAMES)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert json.loads((whole / "dataset.json").read_text())["status"] == "complete"
    assert dataset_files(whole) == dataset_files(rendered / "whole")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FORMATS))
def test_exports_make_one_pass_over_the_records(rendered, tmp_path, name):
    """Every export reads the records once, one at a time: fed a generator it writes what a list gives."""
    (streamed,) = copies(rendered, tmp_path, "whole")
    listed = Path(shutil.copytree(streamed, tmp_path / "listed"))
    dataset = read_dataset_file(streamed)
    categories, config = dataset.categories, dataclasses.replace(dataset.config, seed=3)
    export(streamed, name, iter_records(streamed), categories, config, 0.5)
    export(listed, name, read_records(listed), categories, config, 0.5)
    assert dataset_files(streamed) == dataset_files(listed)

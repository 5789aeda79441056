"""The output folder is the run's alone (issue 18.4): a second render into a folder another run holds is
refused in one line, exit 2; a dataset whose sub-folder is a symbolic link out of it is never written
through, by a render, an export or a single write; nothing outside the dataset changes."""

import fcntl
import json
import subprocess
import sys

import pytest

from conftest import REPO, SMALL, render_small, run_cli, run_main, tree
from scenegen.dataset import atomic
from scenegen.errors import ScenegenError


@pytest.mark.slow
def test_a_render_into_a_folder_another_run_holds_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".scenegen.lock", "w") as held:  # as a running render holds it: flock, exclusive
        fcntl.flock(held, fcntl.LOCK_EX)
        result = render_small(out, scenes=1)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"scenegen: error: {out} is in use by another scenegen run (render, merge or export); wait for it to end"
        ]
        assert [p.name for p in out.iterdir()] == [".scenegen.lock"]  # nothing written


@pytest.mark.slow
def test_a_lock_file_left_by_a_killed_run_locks_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".scenegen.lock").touch()  # a run killed before it wrote anything: the kernel released its lock
    result = render_small(out, scenes=1)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "dataset.json").read_text())["status"] == "complete"


@pytest.mark.slow
def test_two_renders_of_different_configs_started_together_never_mix(tmp_path):
    out = tmp_path / "out"
    commands = [
        [sys.executable, "-m", "scenegen.cli", "render", *SMALL, f"seed={seed}", f"output_dir={out}", "--no-progress"]
        for seed in (1, 2)
    ]
    runs = [subprocess.Popen(c, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    results = [(run.wait(timeout=600), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    winner = 1 + [code for code, _ in results].index(0)
    loser_error = next(err for code, err in results if code == 2)
    assert str(out) in loser_error and len(loser_error.strip().splitlines()) == 1
    assert json.loads((out / "dataset.json").read_text())["config"]["seed"] == winner
    assert {json.loads(p.read_text())["seed"] for p in (out / "labels").glob("*.json")} == {winner}
    assert run_main("verify", str(out))[0] == 0


@pytest.fixture
def linked(tmp_path):
    """A rendered dataset with COCO and YOLO exports, and an empty folder outside it."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    result = render_small(out, "output.formats=[coco,yolo]")
    assert result.returncode == 0, result.stderr
    outside.mkdir()
    return out, outside


def link_out(out, name, outside):
    """Replace the dataset's sub-folder ``name`` with a symbolic link to an empty folder outside."""
    target = outside / name
    target.mkdir()
    for path in sorted((out / name).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (out / name).rmdir()
    (out / name).symlink_to(target, target_is_directory=True)


@pytest.mark.slow
def test_a_render_never_writes_through_a_linked_sub_folder(linked):
    out, outside = linked
    link_out(out, "annotations", outside)
    before = tree(outside)
    result = render_small(out, "output.formats=[coco,yolo]")  # the same command: resume, then the exports
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"scenegen: error: {out}: annotations is a symbolic link to {outside / 'annotations'}; scenegen never writes "
        "through links: make it a real folder inside the dataset"
    ]
    assert tree(outside) == before and not any((outside / "annotations").iterdir())


@pytest.mark.slow
def test_an_export_never_writes_through_a_linked_sub_folder(linked):
    out, outside = linked
    link_out(out, "yolo", outside)
    result = run_cli("export", str(out), "--format", "yolo")
    assert result.returncode == 2 and "yolo is a symbolic link" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any((outside / "yolo").iterdir())


@pytest.mark.parametrize("name", ["flow", "mot"])
def test_a_single_write_never_goes_through_a_link(tmp_path, name):
    """The last guard, for a link made while a run writes: each write and link checks its folder."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    (outside / name).mkdir(parents=True)
    out.mkdir()
    (out / name).symlink_to(outside / name, target_is_directory=True)
    (out / "image.png").write_bytes(b"x")
    with pytest.raises(ScenegenError, match=rf"cannot write {out / name / 'a'}: .* symbolic link"):
        atomic.write_bytes(out / name / "a", b"data")
    with pytest.raises(ScenegenError, match="symbolic link"):
        atomic.link_or_copy(out / "image.png", out / name / "b.png")
    assert not any((outside / name).iterdir())


@pytest.mark.slow
def test_an_export_into_a_folder_a_run_holds_is_refused_in_one_line(linked):
    out, _ = linked
    before = tree(out)
    with open(out / ".scenegen.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_cli("export", str(out), "--format", "yolo")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"scenegen: error: {out} is in use by another scenegen run (render, merge or export); wait for it to end"
    ]
    assert tree(out) == before

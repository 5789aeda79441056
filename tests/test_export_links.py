"""The exports' links to a frame's files (YOLO, BOP, MOT images; BOP's depth): found where each export puts
them, checked by ``scenegen verify``, and repaired by a rerun of the render (issue 18, item 5)."""

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import render_small, run_cli, run_main
from scenegen.dataset.record import file_path, iter_records
from scenegen.formats.links import export_links, link_problems

LINKED = ["--format", "yolo", "--format", "yolo_seg", "--format", "bop", "--format", "mot"]
OUTPUTS = ("output.depth_png=true", "output.amodal=true")  # BOP links the run's depth, MOT needs amodal boxes


def render_and_export(out: Path, *overrides: str, scenes: int) -> None:
    """A tiny dataset with COCO at the end of the run, and the linking exports made afterwards (as
    ``scenegen export`` does), so that a rerun of the render does not write them again."""
    result = render_small(out, *OUTPUTS, *overrides, scenes=scenes, width=64, height=48)
    assert result.returncode == 0, result.stderr
    result = run_cli("export", str(out), *LINKED)
    assert result.returncode == 0, result.stderr


def rerender(out: Path, scenes: int) -> str:
    result = render_small(out, *OUTPUTS, scenes=scenes, width=64, height=48)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """4 scenes of one frame each, with every linking export."""
    out = tmp_path_factory.mktemp("single") / "out"
    render_and_export(out, scenes=4)
    return out


def frame_files(folder: Path) -> dict[tuple[int, int], Path]:
    """(device, inode) -> path of every file under the dataset's own frame folders."""
    files = [p for name in ("images", "depth") for p in (folder / name).iterdir()]
    return {(p.stat().st_dev, p.stat().st_ino): p for p in files}


def decoded(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} does not decode"
    return image


def test_export_links_follow_each_exports_declaration(tmp_path, monkeypatch):
    """An export that declares links is checked where its folder is: a toy one added to the registry, besides
    the built-in ones, for a frame of a sequence with its depth image."""
    from scenegen.formats import registry
    from scenegen.formats.job import Export, ExportLink

    def toy_links(record):
        yield ExportLink("toy", "image", (f"toy/{record['index']}.png",))

    toy = Export("toy", lambda job: tmp_path, links=toy_links)
    monkeypatch.setitem(registry.FORMATS, "toy", toy)
    record = {
        "index": 1003,
        "scene_index": 250,
        "view": 0,
        "frame_in_sequence": 3,
        "files": {"image": {"path": "images/001003.png"}, "depth_png": {"path": "depth/001003.png"}},
    }
    assert list(export_links(tmp_path, record)) == []
    for name in ("yolo_seg", "bop", "mot", "toy", "coco"):
        (tmp_path / name).mkdir()
    assert list(export_links(tmp_path, record)) == [
        ExportLink("yolo_seg", "image", ("yolo_seg/images/train/001003.png", "yolo_seg/images/val/001003.png")),
        ExportLink("bop", "image", ("bop/train_pbr/000001/rgb/000003.png",)),
        ExportLink("bop", "depth_png", ("bop/train_pbr/000001/depth/000003.png",)),
        ExportLink("mot", "image", ("mot/000250/img1/000004.png",)),
        ExportLink("toy", "image", ("toy/1003.png",)),
    ]


@pytest.mark.slow
def test_export_links_are_where_each_export_put_its_hard_links(tmp_path):
    """Against the exports themselves: every file an export hard-linked to a frame's file (found by inode) is
    one of ``export_links``' places, for that frame's file, and every place found is such a link. Views, so
    that MOT's sequences have several frames."""
    out = tmp_path / "views"
    render_and_export(out, "scene.views_per_scene=2", scenes=2)
    by_inode = frame_files(out)
    made = {}
    for export in ("yolo", "yolo_seg", "bop", "mot"):
        for path in (out / export).rglob("*"):
            key = (path.stat().st_dev, path.stat().st_ino)
            if key in by_inode:
                made[path] = by_inode[key]
    found = {}
    for record in iter_records(out):
        for link in export_links(out, record):
            places = [out / place for place in link.places if (out / place).exists()]
            assert len(places) == 1, (link, places)
            found[places[0].resolve()] = file_path(out, record, link.kind)
    assert found == {path.resolve(): source.resolve() for path, source in made.items()}
    assert len(made) == 4 * 4 + 4  # 4 frames, each in 4 exports; BOP's depth of each
    assert (out / "mot" / "000001" / "img1" / "000002.png").resolve() in found
    assert list(link_problems(out)) == []


@pytest.mark.slow
def test_resume_makes_the_exports_links_the_repaired_image_again(single, tmp_path):
    """An image truncated in place (its export links share the inode, so they are truncated too): verify names
    the image; the rerun renders it again and every export's link is the new file again, a hard link that
    decodes to the image."""
    out = tmp_path / "out"
    subprocess.run(["cp", "-a", str(single), str(out)], check=True)  # a copy with its hard links, as made
    image = out / "images" / "000003.png"
    links = [p for p in out.rglob("*.png") if p != image and p.samefile(image)]
    assert len(links) == 4  # yolo, yolo_seg, bop, mot
    size = image.stat().st_size
    os.truncate(image, size // 2)
    assert all(cv2.imread(str(link)) is None for link in links)
    code, _, stderr = run_main("verify", str(out))
    assert code == 1 and stderr.splitlines() == [f"{image}: {size // 2} bytes, the record says {size}"]
    assert "rendering again 1 frames" in rerender(out, 4)
    for link in links:
        assert link.samefile(image) and np.array_equal(decoded(link), decoded(image)), link
    code, _, stderr = run_main("verify", str(out))
    assert (code, stderr) == (0, "")


def stale_copy(out: Path) -> Path:
    """The image of frame 0 in the YOLO export: a separate file holding half of it (a truncated copy)."""
    (link,) = [p for p in (out / "yolo" / "images").rglob("000000.png")]
    data = link.read_bytes()
    link.unlink()
    link.write_bytes(data[: len(data) // 2])
    return link


def flipped_bit(out: Path) -> Path:
    """The image of frame 1 in the YOLO segmentation export: its size, one bit flipped."""
    (link,) = [p for p in (out / "yolo_seg" / "images").rglob("000001.png")]
    data = bytearray(link.read_bytes())
    data[len(data) // 2] ^= 0x01
    link.write_bytes(bytes(data))
    return link


def symbolic_link(out: Path) -> Path:
    link = out / "bop" / "train_pbr" / "000000" / "rgb" / "000002.png"
    link.unlink()
    link.symlink_to(out / "images" / "000002.png")
    return link


def fifo(out: Path) -> Path:
    link = out / "mot" / "000003" / "img1" / "000001.png"
    link.unlink()
    os.mkfifo(link)  # reading it would block forever
    return link


@pytest.mark.slow
def test_verify_names_each_stale_export_file_and_a_rerun_repairs_them(single, tmp_path):
    """Export files made stale by the test (a truncated copy, a flipped bit, a symbolic link, a FIFO):
    verify names each on one line (the frames themselves are whole); the rerun of the render, with nothing to
    render, makes each a copy of its frame's image again (the exports were copied, so copies they stay)."""
    out = Path(shutil.copytree(single, tmp_path / "out"))  # real copies: the exports hold copies
    assert list(link_problems(out)) == []
    stale = [stale_copy(out), flipped_bit(out), symbolic_link(out), fifo(out)]
    code, stdout, stderr = run_main("verify", str(out))
    lines = stderr.splitlines()
    assert code == 1 and stdout.strip().endswith("4 problems"), (stdout, stderr)
    assert [line.split(": ")[0] for line in lines] == [str(p) for p in stale]  # frame order
    assert "bytes, not a link to" in lines[0] and "content differs" in lines[1]
    assert "not a regular file" in lines[2] and "not a regular file" in lines[3]
    assert all(line.endswith("rerun its render command to repair it") for line in lines)
    assert "repaired 4 export files" in rerender(out, 4)
    for frame, path in enumerate(stale):
        image = out / "images" / f"{frame:06d}.png"
        assert path.is_file() and not path.is_symlink() and not path.samefile(image), path
        assert path.read_bytes() == image.read_bytes() and np.array_equal(decoded(path), decoded(image))
    code, _, stderr = run_main("verify", str(out))
    assert (code, stderr) == (0, "")


@pytest.mark.slow
def test_verify_names_a_missing_export_file_with_the_export_command(single, tmp_path):
    out = Path(shutil.copytree(single, tmp_path / "out"))
    missing = out / "bop" / "train_pbr" / "000000" / "depth" / "000001.png"
    missing.unlink()
    code, _, stderr = run_main("verify", str(out))
    assert code == 1 and stderr.splitlines() == [
        f"{missing}: missing (frame 1 in the bop export); scenegen export {out} --format bop writes it again"
    ]


@pytest.mark.slow
def test_verify_names_an_export_folder_linked_out_of_the_dataset(single, tmp_path):
    """A folder of an export replaced by a symbolic link to outside the dataset: named, never read through."""
    out = Path(shutil.copytree(single, tmp_path / "out"))
    outside = Path(shutil.move(out / "mot" / "000002" / "img1", tmp_path / "outside"))
    (out / "mot" / "000002" / "img1").symlink_to(outside)
    before = sorted(outside.iterdir())
    code, _, stderr = run_main("verify", str(out))
    link = out / "mot" / "000002" / "img1" / "000001.png"
    leaves = f"{link}: path 'mot/000002/img1' leaves {out} (.. or a symbolic link pointing out)"
    assert code == 1 and stderr.splitlines() == [leaves], stderr
    assert sorted(outside.iterdir()) == before

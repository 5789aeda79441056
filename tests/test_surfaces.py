"""Printed surfaces and photo textures: what they draw, how often, from where, and how they wrap the meshes."""

import hashlib
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import trimesh

from conftest import REPO, dataset_files, render_small, run_main, small_config
from scenegen.scene.materials import sample_material
from scenegen.scene.spec import TextureSpec
from scenegen.scene.textures import texture_image, wrapped_uv

PAPER, INK = [0.9, 0.85, 0.7], [0.05, 0.1, 0.4]


def make_images(folder, count: int = 3) -> list:
    """Images whose pixel (x, y) of image k is (R, G, B) = (x, y, 60 k): any crop tells where it came from."""
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for k in range(count):
        y, x = np.mgrid[0:150, 0:200]
        rgb = np.dstack([x, y, np.full_like(x, 60 * k)]).astype(np.uint8)
        cv2.imwrite(str(folder / f"photo_{k}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        images.append(rgb)
    return images


@pytest.mark.slow
def test_printed_texture_is_the_same_for_the_same_seed_in_any_process():
    spec = TextureSpec("print", 1234, [PAPER, INK], 96)
    here = texture_image(spec)
    code = (
        "import hashlib; from scenegen.scene.textures import texture_image; from scenegen.scene.spec import "
        f"TextureSpec; print(hashlib.sha256(texture_image(TextureSpec('print', 1234, {[PAPER, INK]}, 96)).tobytes())"
        ".hexdigest())"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert hashlib.sha256(here.tobytes()).hexdigest() == there.stdout.strip()
    assert not np.array_equal(here, texture_image(TextureSpec("print", 1235, [PAPER, INK], 96)))


@pytest.mark.parametrize("seed", range(6))
def test_printed_texture_is_a_label_band_with_ink_on_paper(seed):
    """The top and bottom rows are the paper (a can's shoulder and base); the band between holds ink."""
    tile = texture_image(TextureSpec("print", seed, [PAPER, INK], 128))
    paper = np.round(np.asarray(PAPER) * 255)
    ink = np.round(np.asarray(INK) * 255)
    assert tile.shape == (128, 128, 3) and tile.dtype == np.uint8
    assert (np.abs(tile[:3].astype(float) - paper).max(axis=2) <= 1).all()
    assert (np.abs(tile[-3:].astype(float) - paper).max(axis=2) <= 1).all()
    inked = (np.abs(tile.astype(float) - ink).max(axis=2) <= 1).sum()
    assert inked >= 20  # text and the band's rules
    assert len(np.unique(tile.reshape(-1, 3), axis=0)) > 8  # antialiased text, blobs: not a flat fill


def test_texture_kinds_are_drawn_at_their_probabilities(tmp_path):
    """Photo with image_probability, else print with print_probability, else a procedural kind: binomial
    counts over 4000 draws within 4.5 standard deviations."""
    make_images(tmp_path / "photos")
    overrides = [f"materials.image_dir={tmp_path / 'photos'}", "materials.image_probability=0.2"]
    cfg = small_config(tmp_path, *overrides, "materials.print_probability=0.3", "materials.texture_probability=0.5")
    rng = np.random.default_rng(7)
    n = 4000
    kinds = [getattr(sample_material(rng, cfg.materials).texture, "kind", None) for _ in range(n)]
    expected = {"photo": 0.2, "print": 0.8 * 0.3, None: 0.8 * 0.7 * 0.5}
    for kind, p in expected.items():
        count = sum(k == kind for k in kinds)
        assert abs(count - n * p) < 4.5 * np.sqrt(n * p * (1 - p)), (kind, count, n * p)
    procedural = {"noise", "checker", "stripes", "gradient", "marble", "wood"}
    assert sum(k in procedural for k in kinds) > 0.8 * n * 0.8 * 0.7 * 0.5


def test_print_is_on_by_default_and_off_at_zero(tmp_path):
    cfg = small_config(tmp_path)
    assert cfg.materials.print_probability > 0 and not cfg.materials.image_dir
    rng = np.random.default_rng(3)
    kinds = [getattr(sample_material(rng, cfg.materials).texture, "kind", None) for _ in range(400)]
    assert "print" in kinds and "photo" not in kinds and None in kinds
    off = small_config(tmp_path, "materials.print_probability=0")
    kinds = [getattr(sample_material(rng, off.materials).texture, "kind", None) for _ in range(400)]
    assert "print" not in kinds and "noise" in kinds


def test_photo_textures_are_crops_of_the_folder_images(tmp_path):
    images = make_images(tmp_path / "photos")
    overrides = [f"materials.image_dir={tmp_path / 'photos'}", "materials.image_probability=1"]
    cfg = small_config(tmp_path, *overrides, "materials.texture_size=32")
    rng = np.random.default_rng(11)
    for _ in range(5):
        texture = sample_material(rng, cfg.materials).texture
        assert texture.kind == "photo" and texture.image.startswith(str((tmp_path / "photos").resolve()))
        tile = texture_image(texture).astype(float)
        k = int(round(tile[..., 2].mean() / 60))
        assert (np.abs(tile[..., 2] - 60 * k) <= 1).all() and 0 <= k < len(images)  # from one image only
        # x varies along columns only, y along rows only, each by a constant step: a region, resampled.
        x, y = tile[..., 0], tile[..., 1]
        assert np.abs(x - x[:1]).max() <= 1 and np.abs(y - y[:, :1]).max() <= 1
        for profile in (x[0], y[:, 0]):
            step = np.diff(profile)
            assert (step > 0).all() and np.abs(step - step.mean()).max() <= 1.01
        side = max(x[0, -1] - x[0, 0], y[-1, 0] - y[0, 0]) * 32 / 31
        assert abs(side - texture.crop[2] * 150) <= 6  # the square crop's side, a fraction of the shorter side
        assert 0 <= x.min() and x.max() < 200 and 0 <= y.min() and y.max() < 150


@pytest.mark.parametrize("key", ["materials.image_dir", "background.image_dir"])
@pytest.mark.parametrize("folder", ["missing", "empty", "file", "corrupt", "truncated"])
def test_a_bad_image_folder_stops_the_run_before_anything_is_written(tmp_path, folder, key):
    """Even when no frame would draw from it (probability 0); a file that is no image is named."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("not a folder")
    make_images(tmp_path / "corrupt", 2)
    (tmp_path / "corrupt" / "photo_1.png").write_bytes(b"not a png")
    make_images(tmp_path / "truncated", 1)
    whole = (tmp_path / "truncated" / "photo_0.png").read_bytes()
    (tmp_path / "truncated" / "photo_0.png").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    overrides = [f"{key}={tmp_path / folder}", f"{key.split('.')[0]}.image_probability=0"]
    code, _, err = run_main("render", f"output_dir={out}", "num_scenes=1", *overrides, "--no-progress")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and key in lines[0] and str(tmp_path / folder) in lines[0], err
    if folder in ("corrupt", "truncated"):
        assert "photo_1.png" in lines[0] if folder == "corrupt" else "photo_0.png" in lines[0]
    assert not out.exists()


def can() -> trimesh.Trimesh:
    return trimesh.load(REPO / "assets/builtin/meshes/can.ply", process=False)


def test_wrapped_uvs_band_a_can_by_angle_and_height():
    mesh = can()
    wrapped = wrapped_uv(mesh, np.eye(3))
    assert np.allclose(wrapped.vertices[wrapped.faces], mesh.vertices[mesh.faces])  # the same triangles
    uv, p = wrapped.visual.uv.astype(float), wrapped.vertices
    assert np.allclose(uv[:, 1], p[:, 2] / p[:, 2].max(), atol=1e-6)  # v: height, base 0, top 1
    side = np.hypot(p[:, 0], p[:, 1]) > 1e-6
    angle = (np.arctan2(p[side, 1], p[side, 0]) / (2 * np.pi) + 0.5) % 1.0
    offset = (uv[side, 0] - angle) % 1.0  # u is the angle counter-clockwise seen from above, from some start
    turn = (offset - offset[0] + 0.5) % 1.0 - 0.5
    assert np.abs(turn).max() < 1e-6
    assert (np.ptp(uv[wrapped.faces][..., 0], axis=1) < 0.1).all()  # no face smears across the seam


def test_wrapped_uvs_put_the_tile_right_reading_on_every_box_face():
    box = trimesh.creation.box([0.3, 0.2, 0.1])
    turned = box.copy().apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))  # y up
    up_y = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    for mesh, up in ((box, np.eye(3)), (turned, up_y)):
        wrapped = wrapped_uv(mesh, up)
        assert np.allclose(wrapped.vertices[wrapped.faces], mesh.vertices[mesh.faces])
        upright = wrapped.vertices @ up.T
        for face, normal in zip(wrapped.faces, wrapped.face_normals @ up.T, strict=True):
            uv, corners = wrapped.visual.uv[face], upright[face]
            assert uv.min() >= -1e-6 and uv.max() <= 1 + 1e-6
            if abs(normal[2]) < 0.5:  # a side: v is the height, u grows to the right of a viewer outside
                right = np.cross(-normal, [0.0, 0.0, 1.0])
                assert np.allclose(uv[:, 1], (corners[:, 2] + 0.05) / 0.1, atol=1e-6)
                du, dr = uv[:, 0] - uv[0, 0], (corners - corners[0]) @ right
                assert np.allclose(du * np.ptp(upright @ right), dr, atol=1e-6)


@pytest.mark.slow
def test_a_render_with_print_and_photos_names_its_textures_and_is_the_same_however_split(tmp_path):
    make_images(tmp_path / "photos")
    one, two = tmp_path / "one", tmp_path / "two"
    surfaces = [f"materials.image_dir={tmp_path / 'photos'}", "materials.image_probability=0.5"]
    surfaces += ["materials.print_probability=1", "scene.distractors=[1,2]"]
    for out, workers in ((one, 1), (two, 2)):
        result = render_small(out, *surfaces, f"executor.workers={workers}", scenes=4)
        assert result.returncode == 0, result.stderr
    assert dataset_files(one) == dataset_files(two)
    kinds = []
    for record in sorted((one / "labels").glob("*.json")):
        spec = json.loads(record.read_text())["spec"]
        for material in [o["material"] for o in spec["objects"]] + [d["material"] for d in spec["distractors"]]:
            texture = material["texture"]
            kinds.append(texture["kind"])
            if texture["kind"] == "photo":
                assert texture["image"].startswith(str((tmp_path / "photos").resolve()))
    assert set(kinds) == {"photo", "print"}

"""Domain randomization: wide by default, seeded, and never touching the labels."""

import colorsys
import dataclasses
import json

import cv2
import numpy as np
import pytest

from conftest import render_small, small_config
from scenegen.config.postfx import PostFXConfig
from scenegen.geometry import project, world_to_camera_cv
from scenegen.render.backdrop import backdrop_image, composite
from scenegen.scene.lights import kelvin_to_rgb
from scenegen.scene.sampler import sample_scene
from scenegen.scene.spec import BackdropSpec

ALL_ON = [
    "materials.texture_probability=1",
    "background.texture_probability=1",
    "scene.distractors=[2,3]",
    "camera.focal_jitter=0.05",
    "camera.principal_point_jitter=3",
    "render.antialias=true",
    *[f"postfx.{effect.name}.probability=1" for effect in dataclasses.fields(PostFXConfig)],
]


def object_hue(material) -> float:
    """The hue an object shows: its texture's first colour, else its base colour."""
    rgb = material.texture.colors[0] if material.texture else material.base_color[:3]
    return colorsys.rgb_to_hsv(*rgb)[0]


@pytest.fixture(scope="module")
def many_specs(tmp_path_factory, catalog):
    cfg = small_config(tmp_path_factory.mktemp("specs"), "scene.objects_per_scene=[4,8]")
    return cfg, [sample_scene(cfg, catalog, i) for i in range(300)]


@pytest.mark.slow
def test_hue_is_not_predictable_from_class(many_specs, catalog):
    _, specs = many_specs
    by_class = {c: [] for c in catalog.classes}
    for spec in specs:
        for obj in spec.objects:
            by_class[obj.class_name].append(object_hue(obj.material))
    for name, hues in by_class.items():
        hues = np.array(hues)
        assert len(hues) > 100, name
        counts, _ = np.histogram(hues, bins=6, range=(0, 1))
        chi2 = np.sum((counts - len(hues) / 6) ** 2 / (len(hues) / 6))
        assert chi2 < 25, (name, counts)  # 5 dof: p < 1e-4 if the hue depended on the class
        resultant = abs(np.mean(np.exp(2j * np.pi * hues)))
        assert resultant < 0.2, (name, resultant)  # no preferred hue


def test_sizes_and_image_positions_cover_their_ranges(many_specs, catalog):
    cfg, specs = many_specs
    lo, hi = cfg.objects.size_scale
    factors = np.array([o.scale / catalog.asset(o.asset_id).unit_scale for s in specs for o in s.objects])
    assert factors.min() < lo + 0.05 * (hi - lo) and factors.max() > hi - 0.05 * (hi - lo)
    pixels = []
    for spec in specs:
        to_cam = world_to_camera_cv(np.asarray(spec.camera.pose))
        centres = np.array([np.asarray(o.pose)[:3, 3] for o in spec.objects])
        cam = (to_cam[:3, :3] @ centres.T).T + to_cam[:3, 3]
        uv, _ = project(cam, np.asarray(spec.camera.K))
        pixels.append(uv / [spec.camera.width, spec.camera.height])
    pixels = np.concatenate(pixels)
    quadrants = np.histogram2d(pixels[:, 0], pixels[:, 1], bins=2, range=[[0, 1], [0, 1]])[0] / len(pixels)
    assert quadrants.min() > 0.1, quadrants  # objects appear all over the frame, not only in the centre


@pytest.mark.slow
def test_every_randomizer_on_is_still_byte_reproducible(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = render_small(out, *ALL_ON, scenes=3)
        assert result.returncode == 0, result.stderr
        runs.append(out)
    files = sorted(p.relative_to(runs[0]) for p in runs[0].rglob("*.*") if p.name != "dataset.json")
    assert len(files) >= 10
    for relative in files:
        assert (runs[0] / relative).read_bytes() == (runs[1] / relative).read_bytes(), relative
    record = json.loads((runs[0] / "labels/000000.json").read_text())
    assert len(record["postfx"]) == 10 and record["counts"]["distractors"] >= 2


@pytest.mark.slow
def test_sensor_effects_leave_labels_byte_identical(tmp_path):
    outs = {}
    for effects in ("none", "default"):
        outs[effects] = out = tmp_path / effects
        overrides = [f"postfx={effects}", *[o for o in ALL_ON if o.startswith("postfx.")] * (effects == "default")]
        result = render_small(out, *overrides, scenes=3)
        assert result.returncode == 0, result.stderr

    def same(relative: str) -> bool:
        return (outs["none"] / relative).read_bytes() == (outs["default"] / relative).read_bytes()

    assert same("annotations/coco.json")
    for i in range(3):
        name = f"{i:06d}"
        assert same(f"masks/{name}.png") and not same(f"images/{name}.png")
        plain, noisy = (json.loads((outs[k] / f"labels/{name}.json").read_text()) for k in ("none", "default"))
        assert plain["postfx"] == [] and len(noisy["postfx"]) == 10
        assert plain["files"]["instance_mask"] == noisy["files"]["instance_mask"]
        assert {**plain, "postfx": None, "files": None} == {**noisy, "postfx": None, "files": None}


@pytest.mark.slow
def test_background_images_fill_the_backdrop(tmp_path):
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    cv2.imwrite(str(folder / "red.png"), np.full((50, 70, 3), (0, 0, 255), np.uint8))  # BGR: pure red
    out = tmp_path / "out"
    overrides = ["background.image_probability=1", f"background.image_dir={folder}", "scene.plane_size=0"]
    result = render_small(out, *overrides, "postfx=none")
    assert result.returncode == 0, result.stderr
    for i in range(2):
        record = json.loads((out / f"labels/{i:06d}.json").read_text())
        assert record["spec"]["backdrop"]["image"] == str((folder / "red.png").resolve())
        image = cv2.cvtColor(cv2.imread(str(out / record["files"]["image"]["path"])), cv2.COLOR_BGR2RGB)
        ids = cv2.imread(str(out / record["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        background = image[ids == 0]
        assert np.mean(np.all(background == [255, 0, 0], axis=1)) > 0.5  # distractors are id 0 too


@pytest.mark.slow
def test_missing_background_folder_is_a_clear_error(tmp_path):
    result = render_small(
        tmp_path / "out", "background.image_probability=1", f"background.image_dir={tmp_path / 'nope'}"
    )
    assert result.returncode == 2 and "background.image_dir" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "override",
    [
        "materials.texture_kinds=[plaid]",
        "scene.distractor_shapes=[blob]",
        "postfx.jpeg.probability=1.5",
        "scene.layout=up",
    ],
)
@pytest.mark.slow
def test_bad_randomization_values_are_rejected(tmp_path, override):
    result = render_small(tmp_path / "out", override)
    assert result.returncode == 2 and override.split("=")[0] in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["tabletop", "clutter", "flying"])
def test_presets_render(tmp_path, preset):
    out = tmp_path / "out"
    result = render_small(out, f"+experiment={preset}")
    assert result.returncode == 0, result.stderr
    counts = json.loads((out / "dataset.json").read_text())["counts"]
    assert counts["frames"] == 2 and counts["annotations"] > 0


def test_composite_over_backdrop():
    backdrop = np.full((2, 2, 3), 200, np.uint8)
    rgba = np.array([[[100, 50, 0, 255], [0, 0, 0, 0]], [[50, 25, 0, 128], [0, 0, 0, 0]]], np.uint8)  # premultiplied
    out = composite(rgba, backdrop)
    assert out[0, 0].tolist() == [100, 50, 0] and out[0, 1].tolist() == [200, 200, 200]
    assert out[1, 0].tolist() == [50 + 100, 25 + 100, 100]
    flat = backdrop_image(BackdropSpec([1.0, 0.5, 0.0]), 5, 3)
    assert flat.shape == (3, 5, 3) and flat[0, 0].tolist() == [255, 128, 0]


def test_colour_temperature_runs_warm_to_cool():
    warm, day, cool = kelvin_to_rgb(2700), kelvin_to_rgb(6600), kelvin_to_rgb(12000)
    assert warm[0] == 1.0 and warm[0] > warm[1] > warm[2]
    assert min(day) > 0.95
    assert cool[2] == 1.0 and cool[0] < cool[2]


@pytest.mark.slow
def test_keep_asset_material_renders_the_assets_own_look(tmp_path):
    out = tmp_path / "out"
    result = render_small(out, "materials.keep_asset_material=1", scenes=1)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "labels/000000.json").read_text())
    assert all(o["material"] is None for o in record["spec"]["objects"]) and record["counts"]["annotated"] > 0

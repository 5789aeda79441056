"""Every bad value is refused once, before anything is written: one line naming the key, exit 2."""

import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, render_small, small_config
from scenegen.assets.shapes import run_catalog
from scenegen.cli import main
from scenegen.config.schema import Backend, CameraMotion, DistractorShape, LightKind, TextureKind
from scenegen.render.backend import BACKENDS
from scenegen.scene.placement import choose_asset, drawable_assets
from scenegen.scene.sampler import class_probabilities
from scenegen.scene.textures import TEXTURE_KINDS
from scenegen.scene.trajectory import CAMERA_MOTIONS

BAD_CONFIGS = [
    ("render.backend=vulkan", "render.backend"),
    ("render.backend=foo", "render.backend"),
    ("scene.layout=upside_down", "scene.layout"),
    ("output.formats=[coco,pascal]", "output.formats"),
    ("executor.kind=slurm", "executor.kind"),
    ("objects.balance=never", "objects.balance"),
    ("materials.texture_kinds=[plaid]", "materials.texture_kinds"),
    ("scene.distractor_shapes=[teapot]", "scene.distractor_shapes"),
    ("seed=-1", "seed"),
    ("num_scenes=1000000000000", "num_scenes"),
    ("+objects.class_weights.mug=inf", "objects.class_weights.mug"),
    ("+objects.class_weights.mug=-1", "objects.class_weights.mug"),
    ("+objects.class_weights.mug=nan", "objects.class_weights.mug"),
    ("camera.znear=1 camera.zfar=0.5", "camera.znear"),
    ("camera.distance=[1e308,1e308]", "camera.distance"),
    ("camera.distance=[1,inf]", "camera.distance"),
    ("scene.placement_radius=inf", "scene.placement_radius"),
    ("scene.plane_size=inf", "scene.plane_size"),
    ("lighting.point_intensity=[1,inf]", "lighting.point_intensity"),
    ("lighting.distance=[1,1e300]", "lighting.distance"),
    ("postfx.gaussian_blur.sigma=[1e9,1e9]", "postfx.gaussian_blur.sigma"),
    ("postfx.motion_blur.length=[1,100000]", "postfx.motion_blur.length"),
    ("postfx.gamma.gamma=[0.5,inf]", "postfx.gamma.gamma"),
    ("shard.index=3 shard.count=2", "shard.index"),
    ("render.egl_device=[]", "render.egl_device"),
    ("render.egl_device=[-1]", "render.egl_device"),
    ("background.image_dir=/nonexistent/backgrounds", "background.image_dir"),
    ("output_dir=/etc/passwd", "output_dir"),
    ("objects.classes=[unicorn]", "objects.classes"),
    ("scene.views_per_scene=2 sequence.frames=2", "scene.views_per_scene"),
    ("output.flow=true", "output.flow"),
    ("output.tracks=5", "output.tracks"),
    ("output.formats=[mot] output.amodal=false", "output.formats"),
    ("sequence.camera_motions=[crane]", "sequence.camera_motions"),
    ("sequence.fps=0", "sequence.fps"),
    ("num_scenes=500000 sequence.frames=4", "num_scenes"),
    ("scene.layout=drop scene.plane_size=0", "scene.plane_size"),
    ("physics.max_seconds=inf", "physics.max_seconds"),
    ("physics.collision.hull_vertices=1000", "physics.collision.hull_vertices"),
    ("lighting.shadow_probability=1.5", "lighting.shadow_probability"),
    ("render.shadow_map_size=100000", "render.shadow_map_size"),
]


def run_main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, list[str]]:
    """``scenegen ARGS`` in this process: its exit code and stderr lines."""
    code = main(list(args))
    return code, capsys.readouterr().err.strip().splitlines()


# every case in the full suite; the fast tier takes every third (each costs a Hydra composition, ~0.4 s)
SAMPLED_BAD_CONFIGS = [pytest.param(*c, marks=[pytest.mark.slow] if k % 3 else []) for k, c in enumerate(BAD_CONFIGS)]


@pytest.mark.parametrize(("overrides", "culprit"), SAMPLED_BAD_CONFIGS)
def test_bad_value_is_one_line_exit_2_and_nothing_is_written(tmp_path, capsys, overrides, culprit):
    out = tmp_path / "out"
    code, lines = run_main(capsys, "render", f"output_dir={out}", "num_scenes=1", *overrides.split(), "--no-progress")
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("scenegen: error:") and culprit in lines[0], lines
    assert not out.exists()


def test_an_empty_background_folder_is_refused_before_any_frame(tmp_path, capsys):
    """A bad folder is noticed even when no frame would draw a background image."""
    empty = tmp_path / "backgrounds"
    empty.mkdir()
    out = tmp_path / "out"
    overrides = [f"background.image_dir={empty}", "background.image_probability=0.0"]
    code, lines = run_main(capsys, "render", f"output_dir={out}", "num_scenes=1", *overrides, "--no-progress")
    assert code == 2 and len(lines) == 1 and "background.image_dir" in lines[0]
    assert not out.exists()


def test_a_read_only_output_folder_is_refused(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only folders")
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        code, lines = run_main(capsys, "render", f"output_dir={parent / 'out'}", "num_scenes=1", "--no-progress")
    finally:
        parent.chmod(0o700)
    assert code == 2 and len(lines) == 1 and "output_dir" in lines[0]


def test_a_corrupt_dataset_file_is_named(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset.json").write_bytes(b'{"status": "rend')
    code, lines = run_main(capsys, "render", f"output_dir={out}", "num_scenes=1", "--no-progress")
    assert code == 2 and len(lines) == 1 and "dataset.json" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json"]


def test_an_overrides_file_that_is_not_utf8_is_named(tmp_path, capsys):
    bad = tmp_path / "overrides.txt"
    bad.write_bytes(b"num_scenes=1\n\xff\xfe seed=3\n")
    code, lines = run_main(capsys, "render", "--overrides-file", str(bad), f"output_dir={tmp_path / 'out'}")
    assert code == 2 and len(lines) == 1 and "overrides.txt" in lines[0] and "UTF-8" in lines[0]


def test_choice_enums_match_what_the_code_implements():
    """The schema's choices are the names the samplers, renderer and exporters know, no more, no less."""
    assert {k.value for k in TextureKind} == set(TEXTURE_KINDS)
    assert {k.value for k in Backend} == {"auto", *BACKENDS}
    assert {k.value for k in LightKind} == {"directional", "point", "spot"}
    assert {k.value for k in CameraMotion} == set(CAMERA_MOTIONS)
    from scenegen.assets.primitives import unit_primitive

    for shape in DistractorShape:
        assert len(unit_primitive(str(shape)).faces) > 0


def test_importing_the_config_schema_imports_neither_opencv_nor_gl():
    probe = "import sys, scenegen.config.load; print(sorted({'cv2', 'OpenGL', 'pyrender'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))  # dataset.json fits, an image does not


@pytest.fixture(scope="module")
def warm_pose_cache(tmp_path_factory) -> None:
    """The session's resting-pose cache (outside the output folder) filled by a render: the full disk below is
    the dataset's."""
    assert render_small(tmp_path_factory.mktemp("warm") / "out", scenes=1).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_disk_is_one_line_with_the_resume_hint_and_the_rerun_completes(tmp_path, warm_pose_cache, workers):
    out = tmp_path / "out"
    args = ["render", "num_scenes=3", "render.width=96", "render.height=72", f"output_dir={out}"]
    args += [f"executor.workers={workers}", "--no-progress"]
    command = [sys.executable, "-m", "scenegen.cli", *args]
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=_limit_file_size, cwd=REPO)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "cannot write" in lines[0] and "run the same command to resume" in lines[0]
    assert render_small(out, "executor.workers=" + str(workers), scenes=3).returncode == 0
    assert json.loads((out / "dataset.json").read_text())["status"] == "complete"


def test_the_checks_load_exactly_the_assets_and_variants_a_frame_can_draw(tmp_path):
    """No GL: ``drawable_assets``, what the checks load, is the set ``choose_asset`` draws from (20000 draws
    reach every one of them): every shape-family variant of a class of weight above 0, and nothing of a class
    of weight 0 (mug) nor the built-in meshes that a variant pool replaces."""
    cfg = small_config(tmp_path, "+objects.class_weights={mug:0,ball:3}")
    catalog = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
    probs = class_probabilities(catalog, cfg)
    rng = np.random.default_rng(0)
    drawn = {choose_asset(rng, catalog, probs).id for _ in range(20000)}
    drawable = [asset.id for asset in drawable_assets(catalog, probs)]
    assert sorted(drawable) == sorted(drawn) and len(drawable) == len(set(drawable))
    variants = [v.id for name, pool in catalog.variants.items() if name != "mug" for v in pool]
    assert sorted(drawable) == sorted(variants) and len(variants) == cfg.objects.shape_pool * (len(catalog.classes) - 1)

"""The command line as a user meets it: help, bad input, and an installed wheel."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, pip_install_target, render_small, run_cli


def test_help_lists_commands_and_config_groups():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ["render", "doctor", "camera", "objects", "lighting", "materials", "scene", "output", "fov_deg"]:
        assert word in result.stdout


@pytest.mark.slow
def test_show_config_prints_overrides(tmp_path):
    result = run_cli("render", "--show-config", "camera.fov_deg=[40,70]", "seed=7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "seed: 7" in result.stdout and "- 40.0\n  - 70.0" in result.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "culprit"),
    [
        ("camera.fov_deg=[70,40]", "camera.fov_deg"),
        ("camera.fovdeg=50", "camera.fovdeg"),
        ("render.width=abc", "render.width"),
        ("scene.objects_per_scene=[-1,3]", "scene.objects_per_scene"),
        ("materials.hue=[0,2]", "materials.hue"),
        ("objects.classes=[unicorn]", "objects.classes"),
        ("objects.packs=[/nonexistent/pack]", "objects.packs"),
        ("+objects.class_weights.unicorn=2", "objects.class_weights.unicorn"),
        ("lighting.types=[laser]", "lighting.types"),
        ("camera=nope", "camera/nope"),
    ],
)
@pytest.mark.slow
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path, override, culprit):
    out = tmp_path / "out"
    result = run_cli("render", override, f"output_dir={out}", "num_scenes=1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scenegen: error:") and culprit in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_refuses_an_output_dir_of_another_config(tmp_path):
    out = tmp_path / "out"
    assert (
        run_cli(
            "render", "render.width=64", "render.height=48", "num_scenes=1", f"output_dir={out}", "--no-progress"
        ).returncode
        == 0
    )
    result = run_cli("render", "render.width=64", "render.height=48", "num_scenes=1", "seed=5", f"output_dir={out}")
    assert result.returncode == 2 and "another config" in result.stderr


@pytest.mark.slow
def test_regular_install_finds_configs_and_assets_from_any_directory(tmp_path):
    """``pip install .`` (a wheel, not editable) carries conf/ and assets/ inside the package."""
    target = tmp_path / "site"
    pip_install_target(REPO, target)
    assert (target / "scenegen" / "data" / "conf" / "config.yaml").is_file()
    assert (target / "scenegen" / "data" / "assets" / "builtin" / "manifest.json").is_file()
    env = {**os.environ, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scenegen.cli",
            "render",
            "num_scenes=1",
            "render.width=64",
            "render.height=48",
            "--no-progress",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert str(elsewhere / "out") in result.stdout
    assert (elsewhere / "out" / "annotations" / "coco.json").is_file()
    probe = "import scenegen.paths as p; print(p.conf_dir())"
    located = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert located.stdout.strip() == str(target / "scenegen" / "data" / "conf")


@pytest.mark.slow
def test_doctor_command_reports_a_working_backend():
    result = run_cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "egl: works" in result.stdout


@pytest.mark.slow
def test_osmesa_backend_gives_the_same_labels_as_egl(tmp_path):
    """Same labels byte for byte; the same colour, backdrop included (OSMesa gives pyrender no alpha
    channel), up to a few levels of shading difference. Sensor effects off, so they do not amplify it."""
    runs = {}
    for backend in ("egl", "osmesa"):
        runs[backend] = tmp_path / backend
        result = render_small(runs[backend], f"render.backend={backend}", "postfx=none", width=160, height=120)
        assert result.returncode == 0, result.stderr
    for i in range(2):
        labels = [json.loads((runs[b] / f"labels/{i:06d}.json").read_text()) for b in runs]
        masks = [(runs[b] / f"masks/{i:06d}.png").read_bytes() for b in runs]
        assert masks[0] == masks[1]
        assert labels[0]["files"]["instance_mask"] == labels[1]["files"]["instance_mask"]
        assert {**labels[0], "files": None} == {**labels[1], "files": None}  # all but the image's hash
        ours, egl = (cv2.imread(str(runs[b] / f"images/{i:06d}.png")).astype(int) for b in ("osmesa", "egl"))
        assert np.abs(ours - egl).max() <= 4 and np.mean(np.any(ours != egl, axis=2)) < 0.05


@pytest.mark.slow
def test_render_takes_hydras_own_flags(tmp_path):
    """``scenegen render`` is the Hydra app when asked for Hydra's flags: --cfg, --info, --hydra-help."""
    job = run_cli("render", "--cfg", "job", "seed=7", "camera.fov_deg=[40,70]", cwd=tmp_path)
    assert job.returncode == 0, job.stderr
    assert "seed: 7" in job.stdout and "- 40.0\n  - 70.0" in job.stdout and "hydra:" not in job.stdout
    assert "job:\n    name: scenegen" in run_cli("render", "--cfg", "hydra", cwd=tmp_path).stdout
    info = run_cli("render", "--info", "defaults", cwd=tmp_path)
    assert info.returncode == 0 and "camera/orbit" in info.stdout
    help_text = run_cli("render", "--hydra-help", cwd=tmp_path)
    assert help_text.returncode == 0 and "--multirun" in help_text.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "override", "culprit"),
    [
        *(
            (command, override, culprit)
            for command in (["render", "--cfg", "job"], ["render", "-m"], ["hydra"])
            for override, culprit in (("camera.fovdeg=50", "camera.fovdeg"), ("camera=nope", "camera/nope"))
        ),
        # bounds are checked when the job runs (--cfg only prints what Hydra composed)
        (["render", "-m"], "camera.fov_deg=[70,40]", "camera.fov_deg"),
        (["hydra"], "camera.fov_deg=[70,40]", "camera.fov_deg"),
    ],
)
def test_hydra_entry_points_fail_in_one_line_with_exit_2(tmp_path, command, override, culprit):
    out = tmp_path / "out"
    args = [*command, override, f"output_dir={out}", "num_scenes=1"]
    if command == ["hydra"]:
        result = subprocess.run(
            [sys.executable, "-m", "scenegen.hydra_app", *args[1:]], capture_output=True, text=True, cwd=tmp_path
        )
    else:
        result = run_cli(*args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("scenegen: error:") and culprit in lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_render_multirun_and_hydra_overrides_log_as_scenegen(tmp_path):
    """-m sweeps through Hydra's launcher; hydra.* overrides reach Hydra; the log is scenegen.log and no
    OpenGL start-up line leaks into it or the output."""
    size = ["render.width=64", "render.height=48", "num_scenes=1"]
    sweep = run_cli("render", "-m", *size, "seed=1,2", "output_dir=run_${seed}", "--no-progress", cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr
    assert (tmp_path / "run_1" / "dataset.json").is_file() and (tmp_path / "run_2" / "dataset.json").is_file()
    logs = sorted((tmp_path / "multirun").rglob("*.log"))
    assert [p.name for p in logs] == ["scenegen.log", "scenegen.log"]
    single = run_cli("render", *size, "hydra.run.dir=hydra_run", "output_dir=single", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    assert (tmp_path / "hydra_run" / "scenegen.log").is_file() and (tmp_path / "single" / "dataset.json").is_file()
    everything = sweep.stdout + sweep.stderr + single.stdout + single.stderr
    everything += "".join(p.read_text() for p in (tmp_path / "multirun").rglob("*.log"))
    everything += (tmp_path / "hydra_run" / "scenegen.log").read_text()
    assert "OpenGL" not in everything and "Traceback" not in everything


def _leaves(parser, name="scenegen"):
    """(command line, parser) of every command that runs: those without sub-commands of their own."""
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    if not actions:
        return [(name, parser)]
    return [leaf for sub, child in actions[0].choices.items() for leaf in _leaves(child, f"{name} {sub}")]


def test_every_command_is_declared_with_its_own_handler():
    from scenegen.cli import build_parser, commands

    leaves = dict(_leaves(build_parser()))
    handlers = {name: parser.get_default("run") for name, parser in leaves.items()}
    assert all(callable(h) and h.__module__ == commands.__name__ for h in handlers.values()), handlers
    assert len(set(handlers.values())) == len(handlers)  # no two commands share one
    assert handlers["scenegen pack validate"] is commands.pack_validate and "scenegen pack" not in handlers
    coco = build_parser().parse_args(["merge", "--coco", "out.json", "a", "b"])
    assert coco.run is commands.merge and coco.coco is True  # a flag of merge, kept for compatibility

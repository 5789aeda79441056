"""``scenegen-hydra`` lets Hydra instantiate nothing but an installed launcher or sweeper plugin."""

import contextlib
import io
import sys

import pytest

from conftest import run_cli, run_main
from scenegen import cli
from scenegen.errors import ScenegenError
from scenegen.hydra_app import check_hydra_arguments, main, sweep_output_dir


def run_hydra_app(monkeypatch, *argv: str, command: tuple[str, ...] = ("scenegen-hydra",)) -> tuple[int, str]:
    """``scenegen-hydra ARGV`` (or ``scenegen render ARGV``, which hands Hydra's arguments to the same app) in
    this process: exit code and stderr (refusals return before Hydra starts)."""
    monkeypatch.setattr(sys, "argv", [*command, *argv])
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main() if command == ("scenegen-hydra",) else cli.main(["render", *argv])
    return code, err.getvalue()


@pytest.mark.parametrize("command", [("scenegen-hydra",), ("scenegen", "render")])
def test_a_callback_target_is_refused_before_hydra_runs(tmp_path, monkeypatch, command):
    """The issue's exploit: Hydra instantiated builtins.open as a callback and created the file."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "PWNED"
    argv = ["+hydra.callbacks.x._target_=builtins.open", f"+hydra.callbacks.x.file={target}"]
    argv.append("+hydra.callbacks.x.mode=w")
    overrides = ("num_scenes=1", f"output_dir={tmp_path / 'out'}")
    code, stderr = run_hydra_app(monkeypatch, *argv, *overrides, command=command)
    assert code == 2 and stderr.count("\n") == 1
    assert stderr.startswith("scenegen: error: +hydra.callbacks.x._target_=builtins.open: refused;")
    assert list(tmp_path.iterdir()) == []  # no file, no dataset, no Hydra outputs/


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["+hydra.callbacks.x._target_=builtins.open"], "never instantiates a _target_"),
        (["+hydra.callbacks={x:{_target_:builtins.open}}"], "never instantiates a _target_"),
        (["hydra.launcher._target_=builtins.exec"], "never instantiates a _target_"),
        (["+objects={_target_:os.system}"], "never instantiates a _target_"),
        (["+x=[1,{_target_:os.system}]"], "never instantiates a _target_"),
        (["-m", "+x={_target_:a},{_target_:b}"], "never instantiates a _target_"),
        (["+hydra.callbacks.x.file=/tmp/x"], "of Hydra's own settings scenegen-hydra accepts only hydra/launcher=NAME"),
        (["+hydra.job_logging.handlers.x.class=builtins.open"], "accepts only"),  # logging's dictConfig calls it
        (["hydra.hydra_logging.root.level=DEBUG"], "accepts only"),
        (["hydra.searchpath=[file:///tmp/evil]"], "accepts only"),  # configs from elsewhere
        (["+hydra.job.env_set.LD_PRELOAD=/tmp/evil.so"], "accepts only"),
        (["hydra={}"], "accepts only"),
        (["~hydra.callbacks"], "accepts only"),
        (["hydra/launcher@hydra.callbacks.x=basic"], "may not be placed into hydra.callbacks.x"),
        (["+experiment@_global_=flying"], "may not be placed into _global_"),
        (["--config-dir", "/tmp/evil"], "--config-dir: refused"),
        (["-cp", "/tmp/evil"], "--config-path: refused"),
        (["--experimental-rerun", "/tmp/config.pickle"], "--experimental-rerun: refused"),  # unpickles
        (["num_scenes=[1,"], "config: "),
    ],
)
def test_refused_arguments_are_one_line(argv, message):
    with pytest.raises(ScenegenError, match="^[^\n]*$") as err:
        check_hydra_arguments(argv)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "num_scenes=1000", "shard.count=4", "shard.index=range(4)", "output_dir=run/shard_${shard.index}"],
        ["-m", "hydra/launcher=submitit_slurm", "hydra.launcher.gpus_per_node=1", "hydra.launcher.cpus_per_task=4"],
        ["hydra/job_logging=disabled", "hydra.run.dir=/tmp/r", "hydra.job.chdir=false", "+experiment=flying"],
        ["-m", "hydra.sweep.dir=/tmp/s", "hydra.sweep.subdir=${hydra.job.num}", "seed=1,2", "hydra/sweeper=basic"],
        ["+objects.class_weights={mug:3,ball:0.5}", "camera.fov_deg=[40,70]", "--cfg", "job"],
    ],
)
def test_the_documented_uses_pass(argv):
    check_hydra_arguments(argv)


@pytest.mark.slow
def test_cfg_job_validates_the_config_as_show_config_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = run_main("render", "--show-config", "camera.fov_deg=[70,40]")
    code, stderr = run_hydra_app(monkeypatch, "--cfg", "job", "camera.fov_deg=[70,40]", command=("scenegen", "render"))
    assert shown[0] == code == 2 and stderr == shown[2] and stderr.count("\n") == 1
    assert "camera.fov_deg has min 70.0 > max 40.0" in stderr
    assert run_hydra_app(monkeypatch, "--cfg", "job", "num_scenes=3", command=("scenegen", "render"))[0] == 0
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_job_gets_its_own_folder_unless_its_override_names_one():
    assert sweep_output_dir("out", ["num_scenes=2"], 1) == "out_1"
    assert sweep_output_dir("/data/x", ["output_dir=/data/x", "seed=3"], 0) == "/data/x_0"
    assert sweep_output_dir("run/shard_2", ["shard.index=2", "output_dir=run/shard_${shard.index}"], 2) == "run/shard_2"
    assert sweep_output_dir("run_2", ["seed=2", "output_dir=run_$\\{seed\\}"], 1) == "run_2"  # as Hydra passes it


@pytest.mark.slow
def test_a_sweep_renders_each_job_into_its_own_folder_quietly(tmp_path):
    """The issue's `scenegen render -m num_scenes=2,3`: the second job failed on the first one's folder."""
    size = ("render.width=32", "render.height=24")
    out, runs = tmp_path / "out", tmp_path / "multirun"
    result = run_cli("render", "-m", "num_scenes=1,2", *size, f"output_dir={out}", f"hydra.sweep.dir={runs}")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr and "DEBUG" not in result.stdout + result.stderr  # trimesh's debug log
    assert not out.exists()
    for job, frames in ((0, 1), (1, 2)):
        assert len(list((tmp_path / f"out_{job}" / "labels").glob("*.json"))) == frames

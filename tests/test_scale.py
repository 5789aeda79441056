"""Throughput features that must not change the dataset: workers, Ray, shards, interruption and resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import dataset_files, render_small, run_cli

SIZE = ["render.width=96", "render.height=72"]
FRAMES = 9
LONG_FRAMES = 30  # runs stopped midway (a 9-frame run can end between the check and the signal)


EXPORTS = ("output.formats=[coco,yolo,bop]", "output.depth_png=true")  # BOP needs the run's depth


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """An uninterrupted single-process run, all exports on."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = render_small(out, *EXPORTS, scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    return dataset_files(out)


@pytest.mark.slow
def test_two_workers_give_the_same_dataset(tmp_path, reference):
    out = tmp_path / "out"
    result = render_small(out, *EXPORTS, "executor.workers=2", scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    assert dataset_files(out) == reference


@pytest.mark.slow
def test_ray_executor_gives_the_same_dataset(tmp_path, reference):
    out = tmp_path / "out"
    result = render_small(out, *EXPORTS, "executor=ray", "executor.workers=2", scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    assert dataset_files(out) == reference


@pytest.mark.slow
def test_shards_merged_equal_the_single_run(tmp_path, reference):
    shards = []
    for index in range(3):
        shards.append(tmp_path / f"shard{index}")
        result = render_small(shards[-1], *EXPORTS, f"shard.index={index}", "shard.count=3", scenes=FRAMES)
        assert result.returncode == 0, result.stderr
    assert sorted(p.stem for p in (shards[1] / "labels").iterdir()) == ["000001", "000004", "000007"]
    merged = tmp_path / "merged"
    result = run_cli("merge", str(merged), *map(str, shards))
    assert result.returncode == 0, result.stderr
    assert dataset_files(merged) == reference
    missing = run_cli("merge", str(tmp_path / "partial"), str(shards[0]), str(shards[2]))
    assert missing.returncode == 2 and "frames missing" in missing.stderr and "1, 4, 7" in missing.stderr
    twice = run_cli("merge", str(tmp_path / "twice"), str(shards[0]), str(shards[0]), str(shards[1]), str(shards[2]))
    assert twice.returncode == 2 and "is in both" in twice.stderr


def start_render(out: Path, *overrides: str, frames: int = FRAMES) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "scenegen.cli",
        "render",
        *SIZE,
        f"num_scenes={frames}",
        *EXPORTS,
    ]
    command += [*overrides, f"output_dir={out}", "--no-progress"]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    """In the child: Ctrl-C at its default, as for a command in a terminal. A process started with SIGINT
    ignored keeps it ignored (Python then installs no KeyboardInterrupt), and a test suite started as a
    background job of a non-interactive shell (``bash .ci/run &``) runs with SIGINT ignored: the render then
    ran to its end and exited 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_frames(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while len(list((out / "labels").glob("*.json"))) < count:
        assert process.poll() is None, "the render finished before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory) -> dict[str, bytes]:
    """An uninterrupted single-process run of ``LONG_FRAMES``, for the runs that are stopped midway: long
    enough that a signal sent after a few frames lands before the run's end, however fast or loaded."""
    out = tmp_path_factory.mktemp("long_reference") / "out"
    result = render_small(out, *EXPORTS, scenes=LONG_FRAMES)
    assert result.returncode == 0, result.stderr
    return dataset_files(out)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_killed_run_resumes_to_the_same_dataset(tmp_path, long_reference, workers):
    out = tmp_path / "out"
    process = start_render(out, f"executor.workers={workers}", frames=LONG_FRAMES)
    wait_for_frames(out, 3, process)
    os.killpg(process.pid, signal.SIGKILL)  # kill -9, worker processes included
    process.wait()
    assert len(list((out / "labels").glob("*.json"))) < LONG_FRAMES
    result = render_small(out, *EXPORTS, f"executor.workers={workers}", scenes=LONG_FRAMES)
    assert result.returncode == 0, result.stderr
    assert dataset_files(out) == long_reference


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, long_reference):
    out = tmp_path / "out"
    process = start_render(out, "executor.workers=2", frames=LONG_FRAMES)
    wait_for_frames(out, 2, process)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "run the same command again to resume" in stderr.lower()
    assert "Traceback" not in stderr
    result = render_small(out, *EXPORTS, scenes=LONG_FRAMES)
    assert result.returncode == 0, result.stderr
    assert dataset_files(out) == long_reference


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker pids from /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_scenegen_process(tmp_path, sig):
    """kill -9 or SIGTERM of the scenegen process alone (not its process group): its workers end within
    seconds and write nothing more; SIGTERM stops as Ctrl-C does; the same command then completes."""
    out, frames = tmp_path / "out", 40
    process = start_render(out, "executor.workers=2", frames=frames)
    wait_for_frames(out, 3, process)
    workers = children(process.pid)
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
    os.kill(process.pid, sig)
    _, stderr = process.communicate(timeout=60)
    deadline = time.time() + 5
    while any(running(pid) for pid in workers):
        assert time.time() < deadline, "a worker outlived the scenegen process by 5 s"
        time.sleep(0.05)
    if sig == signal.SIGTERM:
        assert process.returncode == 130 and "run the same command again to resume" in stderr.lower()
        assert "Traceback" not in stderr
    left = sorted(p.name for p in out.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))
    time.sleep(2)
    assert sorted(p.name for p in out.rglob("*") if p.is_file() and not p.name.endswith(".tmp")) == left
    assert len(list((out / "labels").glob("*.json"))) < frames
    process = start_render(out, "executor.workers=2", frames=frames)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert len(list((out / "labels").glob("*.json"))) == frames


@pytest.mark.slow
def test_hydra_multirun_of_shards_merges_to_the_single_run(tmp_path, reference):
    """The way Slurm or other Hydra launchers run shards: one Hydra multirun job per shard."""
    command = [sys.executable, "-m", "scenegen.hydra_app", "-m", *SIZE, f"num_scenes={FRAMES}", "shard.count=3"]
    command += [
        "shard.index=range(3)",
        f"output_dir={tmp_path}/shard_${{shard.index}}",
        *EXPORTS,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    merged = tmp_path / "merged"
    result = run_cli("merge", str(merged), *(str(tmp_path / f"shard_{i}") for i in range(3)))
    assert result.returncode == 0, result.stderr
    assert dataset_files(merged) == reference

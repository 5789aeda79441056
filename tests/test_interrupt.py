"""Interrupted renders: kill -9, Ctrl-C and SIGTERM stop a run (its workers with it), and the same command
then resumes it to the uninterrupted run's dataset."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import dataset_files, render_small, start_scenegen

SIZE = ["render.width=96", "render.height=72"]
LONG_FRAMES = 30  # runs stopped midway (a 9-frame run can end between the check and the signal)
EXPORTS = ("output.formats=[coco,yolo,bop]", "output.depth_png=true")  # BOP needs the run's depth


def start_render(out: Path, *overrides: str, frames: int) -> subprocess.Popen:
    """``scenegen render`` of ``frames`` frames into ``out``, started in a session of its own."""
    return start_scenegen("render", *SIZE, f"num_scenes={frames}", *overrides, f"output_dir={out}", "--no-progress")


def wait_for_frames(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while len(list((out / "labels").glob("*.json"))) < count:
        assert process.poll() is None, "the render finished before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory) -> dict[str, bytes]:
    """An uninterrupted single-process run of ``LONG_FRAMES``, all exports on, for the runs that are stopped
    midway: long enough that a signal sent after a few frames lands before the run's end, however fast or
    loaded."""
    out = tmp_path_factory.mktemp("long_reference") / "out"
    result = render_small(out, *EXPORTS, scenes=LONG_FRAMES)
    assert result.returncode == 0, result.stderr
    return dataset_files(out)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_killed_run_resumes_to_the_same_dataset(tmp_path, long_reference, workers):
    out = tmp_path / "out"
    process = start_render(out, *EXPORTS, f"executor.workers={workers}", frames=LONG_FRAMES)
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
    process = start_render(out, *EXPORTS, "executor.workers=2", frames=LONG_FRAMES)
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


def alive_in_session(session: int) -> list[int]:
    """The processes of ``session`` that exist and are not zombies: whatever a run started with
    ``start_new_session`` (the session is its pid) still has running, its workers' children included."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, _, sid = stat.read_text().rsplit(")", 1)[1].split()[:4]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z" and int(sid) == session:
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker pids from /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_the_scenegen_process(tmp_path, sig):
    """kill -9 or SIGTERM of the scenegen process alone (not its process group): its workers end within
    seconds and write nothing more; SIGTERM stops as Ctrl-C does; the same command then completes. (No
    exports: what is checked here is the processes and the frames they write.)"""
    out, frames = tmp_path / "out", 40
    process = start_render(out, "executor.workers=2", frames=frames)
    wait_for_frames(out, 3, process)
    workers = children(process.pid)
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
    os.kill(process.pid, sig)
    _, stderr = process.communicate(timeout=60)
    deadline = time.time() + 5
    while left := alive_in_session(process.pid):
        assert time.time() < deadline, f"processes {left} of the run outlived the scenegen process by 5 s"
        time.sleep(0.05)
    # No process of the run is left (workers and anything they started): nothing can write to `out` any more.
    if sig == signal.SIGTERM:
        assert process.returncode == 130 and "run the same command again to resume" in stderr.lower()
        assert "Traceback" not in stderr
    assert len(list((out / "labels").glob("*.json"))) < frames
    process = start_render(out, "executor.workers=2", frames=frames)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    assert len(list((out / "labels").glob("*.json"))) == frames

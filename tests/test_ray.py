"""``executor=ray`` when things go wrong (issue 18, item 5): a bad or unreachable ``ray.address`` is one line
before anything is written; after ``kill -9`` of scenegen no actor writes on and no Ray process of the run is
left; SIGTERM stops the run with the resume message; an actor's death is one line with the resume hint.

Each run gets its own Ray temporary folder (``RAY_TMPDIR``), which every process of its Ray instance has in
its environment: that is how the tests find the run's Ray processes, and only those."""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_main, start_scenegen
from scenegen.pipeline.ray_executor import ANSWER_SECONDS, check_ray

# Ray is looked for, not imported: importing it costs every collecting worker a second
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'ray>=2.40'")

SCENES = 40


def free_port() -> int:
    """A local TCP port that nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "address, message",
    [
        ("garbage", "ray.address='garbage' is not HOST:PORT"),
        ("head:99999", "ray.address='head:99999' is not HOST:PORT"),
        ("ray://head", "ray.address='ray://head' is not HOST:PORT"),
        ("127.0.0.1:{port}", "ray.address=127.0.0.1:{port}: cannot connect within 10 s"),
    ],
)
def test_a_bad_ray_address_is_one_line_before_anything_is_written(tmp_path, address, message):
    port = free_port()
    out = tmp_path / "out"
    address = address.format(port=port)
    code, _, stderr = run_main("render", "executor=ray", f"ray.address={address}", f"output_dir={out}")
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message.format(port=port) in lines[0], stderr
    assert not out.exists()


def test_a_port_that_speaks_another_protocol_is_refused_at_once_before_anything_is_written(tmp_path):
    """A server that answers, but not as Ray's head (gRPC) does: one line naming ray.address, no waiting."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def answer() -> None:
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                connection.recv(64)

        thread = threading.Thread(target=answer)
        thread.start()
        start = time.monotonic()
        code, _, stderr = run_main(
            "render", "executor=ray", f"ray.address=127.0.0.1:{port}", f"output_dir={tmp_path / 'out'}"
        )
        thread.join()
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert f"ray.address=127.0.0.1:{port}: no Ray cluster answers there" in lines[0], stderr
    assert time.monotonic() - start < ANSWER_SECONDS  # told from a silent port by its answer, not a timeout
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_joining_an_address_where_no_ray_answers_gives_up_in_one_line(tmp_path):
    """A port that accepts connections and never answers (no Ray there): Ray alone waits minutes; scenegen
    gives up within a bounded time, with one line naming ray.address, before anything is written."""
    with socket.create_server(("0.0.0.0", 0)) as silent:  # the kernel accepts; nobody ever answers
        port = silent.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "scenegen.cli", "render", "executor=ray", f"ray.address=127.0.0.1:{port}"]
            + [f"output_dir={tmp_path / 'out'}", "--no-progress"],
            capture_output=True,
            text=True,
            timeout=150,
        )
    lines = [line for line in result.stderr.splitlines() if line.startswith("scenegen:")]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and f"ray.address=127.0.0.1:{port}: no Ray cluster answers there" in lines[0], lines
    assert not (tmp_path / "out").exists()  # refused by the checks, before dataset.json


@pytest.fixture
def ray_tmpdir() -> Iterator[str]:
    """A short, new Ray temporary folder (Ray's socket paths must stay under 108 bytes); afterwards, any
    process of its Ray instance still running is killed, so that a failing test leaves none behind."""
    folder = tempfile.mkdtemp(prefix="sgray", dir="/tmp")
    yield folder
    for pid in ray_processes(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


def ray_processes(folder: str) -> list[int]:
    """The running processes (zombies left out) with ``RAY_TMPDIR=folder`` in their environment, or a file open
    in ``folder`` (a process title may overwrite the environment; every Ray process has its logs open)."""
    found, variable = [], f"RAY_TMPDIR={folder}".encode()
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            opened = any(os.readlink(fd).startswith(folder + "/") for fd in (entry / "fd").iterdir())
            if opened or variable in (entry / "environ").read_bytes().split(b"\0"):
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def actors_of(folder: str) -> list[int]:
    """The run's Ray actors (named ``ray::FrameWorker...``)."""
    return [pid for pid in ray_processes(folder) if b"FrameWorker" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def start_ray_render(out: Path, folder: str) -> subprocess.Popen:
    args = ["render", "render.width=64", "render.height=48", f"num_scenes={SCENES}", "executor=ray"]
    args += ["executor.workers=2", f"output_dir={out}", "--no-progress"]
    return start_scenegen(*args, env={**os.environ, "RAY_TMPDIR": folder})


def records(out: Path) -> int:
    return len(list((out / "labels").glob("*.json")))


def wait_for_records(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 300  # starting Ray on a busy machine takes a while
    while not (out / "labels").is_dir() or records(out) < count:
        assert process.poll() is None, process.communicate()[1]
        assert time.time() < deadline, "no records after 300 s"
        time.sleep(0.05)


def wait_until_gone(folder: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while ray_processes(folder):
        left = [Path(f"/proc/{pid}/cmdline").read_bytes()[:80] for pid in ray_processes(folder)]
        assert time.time() < deadline, f"Ray processes of the run outlived it by {seconds} s: {left}"
        time.sleep(0.1)


def files_of(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))


@pytest.mark.slow
def test_after_kill_9_of_scenegen_no_actor_writes_and_no_ray_process_is_left(tmp_path, ray_tmpdir):
    out = tmp_path / "out"
    process = start_ray_render(out, ray_tmpdir)
    wait_for_records(out, 3, process)
    actors = actors_of(ray_tmpdir)
    assert len(actors) == 2
    os.kill(process.pid, signal.SIGKILL)  # scenegen alone, not its process group
    at_kill = records(out)
    process.wait(timeout=60)
    wait_until_gone(ray_tmpdir, 10)
    left = files_of(out)
    time.sleep(3)
    assert files_of(out) == left  # nothing written after the run's processes ended
    assert records(out) <= at_kill + len(actors)  # at most the frames being written at the kill, one per actor
    assert records(out) < SCENES


@pytest.mark.slow
def test_sigterm_stops_a_ray_run_with_the_resume_message(tmp_path, ray_tmpdir):
    out = tmp_path / "out"
    process = start_ray_render(out, ray_tmpdir)
    wait_for_records(out, 3, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Run the same command again to resume." in stderr, stderr
    assert "Traceback" not in stderr and "SIGTERM received" not in stderr and "@ " not in stderr, stderr
    wait_until_gone(ray_tmpdir, 10)  # the local Ray instance was shut down
    assert records(out) < SCENES


@pytest.mark.slow
def test_a_dead_ray_actor_is_one_line_with_the_resume_hint(tmp_path, ray_tmpdir):
    out = tmp_path / "out"
    process = start_ray_render(out, ray_tmpdir)
    wait_for_records(out, 3, process)
    actors = actors_of(ray_tmpdir)
    os.kill(actors[0], signal.SIGKILL)  # what the kernel's out-of-memory killer does
    _, stderr = process.communicate(timeout=120)
    lines = [line for line in stderr.splitlines() if line.startswith("scenegen: ")]
    assert process.returncode == 2 and "Traceback" not in stderr, stderr
    assert lines == [
        "scenegen: error: a Ray worker died (ActorDiedError); finished frames are kept: run the same command to resume"
    ], stderr
    wait_until_gone(ray_tmpdir, 10)


@pytest.mark.slow
def test_a_real_ray_head_passes_the_address_check_and_the_run_joins_it(tmp_path, ray_tmpdir):
    """``ray start --head`` (token authentication off, as on a cluster without it): ``check_ray`` accepts its
    address at once, and a render joins it."""
    port = free_port()
    env = {**os.environ, "RAY_TMPDIR": ray_tmpdir, "RAY_AUTH_MODE": "disabled"}
    ray = Path(sys.executable).with_name("ray")
    head = [str(ray), "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false"]
    started = subprocess.run([*head, f"--temp-dir={ray_tmpdir}"], capture_output=True, text=True, env=env, timeout=120)
    assert started.returncode == 0, started.stderr
    start = time.monotonic()
    check_ray(f"127.0.0.1:{port}")
    assert time.monotonic() - start < ANSWER_SECONDS
    out = tmp_path / "out"
    command = [sys.executable, "-m", "scenegen.cli", "render", "render.width=64", "render.height=48", "num_scenes=2"]
    command += ["executor=ray", "executor.workers=1", f"ray.address=127.0.0.1:{port}", f"output_dir={out}"]
    result = subprocess.run([*command, "--no-progress"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert records(out) == 2

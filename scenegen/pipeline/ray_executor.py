"""Scenes rendered by Ray actors: a local Ray instance started for the run, or the cluster at ``ray.address``.

The run ends with scenegen, however scenegen ends: a local instance is shut down when the run ends (Ctrl-C
and SIGTERM included, which stop it as the process executor does), and after ``kill -9`` its ``ray_reaper``
kills every process of it at once (actors and Ray's agents included), so nothing is written after scenegen.
On a cluster, Ray ends the actors with their owner, the driver. An actor that dies (killed, out of memory) is one
line with the resume hint. ``ray.address`` is checked before anything is written: its form, and that it
accepts a connection within ``CONNECT_SECONDS``; joining the cluster then waits about half a minute at most.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scenegen.config.schema import Config
from scenegen.errors import ConfigError, RenderError, ScenegenError
from scenegen.pipeline import ray_reaper
from scenegen.pipeline.executor import Stats, failed_write, interrupt_on_sigterm
from scenegen.pipeline.worker import FrameWorker

CONNECT_SECONDS = 10.0  # the longest wait for ray.address to accept a connection
# Ray's own waits for a cluster's head (GCS) to answer, each attempt and how many: minutes by default
RAY_WAITS = {"RAY_py_gcs_connect_timeout_s": "5", "RAY_gcs_server_port_wait_time_s": "2"}
ADDRESS = re.compile(r"(ray://)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
ADDRESS_FORM = "HOST:PORT (a cluster's head) or ray://HOST:PORT (Ray's client); empty: a local Ray instance"


def check_ray(address: str) -> None:
    """ScenegenError naming ``ray.address`` unless Ray is installed and ``address`` is empty or of the form
    ``ADDRESS_FORM`` and accepts a TCP connection within ``CONNECT_SECONDS``."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("config: executor=ray needs Ray: pip install 'ray>=2.40'")
    if not address:
        return
    match = ADDRESS.fullmatch(address)
    if not match or not 0 < int(match["port"]) < 65536:
        raise ConfigError(f"config: ray.address={address!r} is not {ADDRESS_FORM}")
    if match[1] and importlib.util.find_spec("grpc") is None:
        raise ConfigError(f"config: ray.address={address} needs Ray's client: pip install 'ray[client]'")
    host = match["host"].strip("[]")
    try:
        socket.create_connection((host, int(match["port"])), timeout=CONNECT_SECONDS).close()
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ConfigError(
            f"config: ray.address={address}: cannot connect within {CONNECT_SECONDS:g} s ({reason})"
        ) from None


def run_ray(cfg: Config, out: Path, todo: list[int], bar: tqdm, devices: list[int]) -> list[Stats]:
    """Scenes ``todo`` as tasks of one Ray actor per device of ``devices``, each holding one FrameWorker (its
    GL context); one FrameWorker.finish() per actor. ``ray.address`` empty starts a local Ray instance for the
    run (shut down when it ends), else it joins that cluster, whose nodes must all see ``output_dir``."""
    if cfg.ray.address:
        for key, value in RAY_WAITS.items():  # read once, when Ray's core is first imported
            os.environ.setdefault(key, value)
    import ray

    started_here = not ray.is_initialized()
    reaper = _join(ray, cfg) if started_here else None
    if started_here:
        interrupt_on_sigterm()  # Ray's core worker took SIGTERM over: a stack dump instead of the resume message
    try:
        actor: Any = ray.remote(num_cpus=1)(FrameWorker)  # an actor class: its methods are called .remote()
        workers = [actor.remote(cfg, out, device) for device in devices]
        waiting = deque(todo)
        running = {}
        for worker in workers:  # two scenes queued per actor keep each one busy
            for _ in range(2):
                if waiting:
                    running[worker.render.remote(waiting.popleft())] = worker
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            worker = running.pop(done[0])
            _result(ray, done[0])
            bar.update()
            if waiting:
                running[worker.render.remote(waiting.popleft())] = worker
        return [_result(ray, ref) for ref in [w.finish.remote() for w in workers]]
    finally:
        if started_here:
            ray.shutdown()
        if reaper is not None:  # it kills what the shutdown left, then ends
            if reaper.stdin is not None:  # stdin=PIPE: always
                reaper.stdin.close()
            reaper.wait()
            del os.environ[ray_reaper.VARIABLE]


def _join(ray: Any, cfg: Config) -> subprocess.Popen | None:
    """``ray.init``: the cluster at ``ray.address``, waiting about half a minute at most (``RAY_WAITS``) for its
    head to answer; or a new local instance (whatever ``RAY_ADDRESS`` says), with its ``ray_reaper``, returned."""
    options = {"log_to_driver": False, "logging_level": logging.ERROR}
    if not cfg.ray.address:
        tag = f"{os.getpid()}-{time.time_ns()}"
        os.environ[ray_reaper.VARIABLE] = tag  # inherited by every process of the instance
        command = [sys.executable, "-m", ray_reaper.__name__, tag]
        quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        reaper = subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True, **quiet)  # own group
        assert reaper.stdin is not None  # stdin=PIPE
        context = ray.init(address="local", num_cpus=cfg.executor.workers, include_dashboard=False, **options)
        reaper.stdin.write(f"{context.address_info.get('session_dir', '')}\n".encode())
        reaper.stdin.flush()
        return reaper
    try:
        ray.init(address=cfg.ray.address, **options)
    except ConnectionError as err:  # an OSError, but no file is to blame
        raise ConfigError(f"config: ray.address={cfg.ray.address}: no Ray cluster answers there ({err})") from None
    return None


def _result(ray: Any, ref: Any) -> Any:
    """``ray.get(ref)``; a failure in one line: a ScenegenError or a failed write as raised, else what failed."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        if isinstance(err.cause, OSError):
            raise failed_write(err.cause) from None
        if isinstance(err.cause, ScenegenError):
            raise err.cause from None
        cause = f"{type(err.cause).__name__}: {err.cause}" if err.cause else str(err).strip().splitlines()[-1]
        raise RenderError(f"a Ray worker failed ({cause})") from None
    except ray.exceptions.RayError as err:  # the actor's process died: killed, out of memory, its node lost
        raise RenderError(f"a Ray worker died ({type(err).__name__})") from None

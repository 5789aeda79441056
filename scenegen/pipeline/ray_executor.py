"""Scenes rendered by Ray actors: a local Ray instance started for the run, or the cluster at ``ray.address``.

The run ends with scenegen, however scenegen ends: a local instance is shut down when the run ends (Ctrl-C
and SIGTERM included, which stop it as the process executor does), and after ``kill -9`` its ``ray_reaper``
kills every process of it at once (actors and Ray's agents included), so nothing is written after scenegen.
On a cluster, Ray ends the actors with their owner, the driver. An actor that dies (killed, out of memory) is one
line with the resume hint. ``ray.address`` is checked before anything is written: its form, that it accepts a
connection within ``CONNECT_SECONDS``, and that a gRPC server answers there, as Ray's head (GCS) and client server
are (``answers_grpc``); joining the cluster then waits about half a minute at most.
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
ANSWER_SECONDS = 5.0  # then the longest wait for its gRPC server's first frame
# HTTP/2's client connection preface (RFC 9113, 3.4): the magic, then an empty SETTINGS frame
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
# Ray's own waits for a cluster's head (GCS) to answer, each attempt and how many: minutes by default
RAY_WAITS = {"RAY_py_gcs_connect_timeout_s": "5", "RAY_gcs_server_port_wait_time_s": "2"}
ADDRESS = re.compile(r"(ray://)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
ADDRESS_FORM = "HOST:PORT (a cluster's head) or ray://HOST:PORT (Ray's client); empty: a local Ray instance"


def check_ray(address: str) -> None:
    """ScenegenError naming ``ray.address`` unless Ray is installed and ``address`` is empty or of the form
    ``ADDRESS_FORM``, accepts a TCP connection within ``CONNECT_SECONDS`` and answers as a gRPC server does
    (``answers_grpc``; not checked with ``RAY_USE_TLS``, whose handshake this does not make)."""
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
        connection = socket.create_connection((host, int(match["port"])), timeout=CONNECT_SECONDS)
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ConfigError(
            f"config: ray.address={address}: cannot connect within {CONNECT_SECONDS:g} s ({reason})"
        ) from None
    with connection:
        tls = os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true")
        if not tls and not answers_grpc(connection):
            raise ConfigError(
                f"config: ray.address={address}: no Ray cluster answers there (no gRPC server answered"
                f" within {ANSWER_SECONDS:g} s)"
            )


def answers_grpc(connection: socket.socket) -> bool:
    """Whether the server at ``connection`` answers HTTP/2's client preface with a SETTINGS frame (its own
    preface, RFC 9113 3.4) within ``ANSWER_SECONDS``, as a gRPC server, Ray's head among them, does at once; a
    silent port or another protocol does not. Nothing else is sent: the connection is then closed."""
    header = b""
    deadline = time.monotonic() + ANSWER_SECONDS
    try:
        connection.settimeout(ANSWER_SECONDS)
        connection.sendall(PREFACE)
        while len(header) < 9:  # a frame header: length 3, type, flags, stream 4
            connection.settimeout(max(deadline - time.monotonic(), 1e-3))
            chunk = connection.recv(9 - len(header))
            if not chunk:
                break
            header += chunk
    except OSError:  # no answer in time, or the connection reset
        return False
    return len(header) == 9 and header[3] == 4 and not header[4] & 1 and not any(header[5:])


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

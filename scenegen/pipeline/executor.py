"""Run a dataset's scenes: in this process, in local worker processes, or as Ray actors.

Every scene (all its frames) is rendered, labelled and written by whichever worker takes it, from its own
seeds, so the dataset is the same byte for byte however the scenes are spread. Each worker owns one GL context,
created inside its own process, on EGL device ``render.egl_device[k % len]`` for worker ``k``.

Worker processes die with the scenegen process, however it ends (``kill -9`` included): on Linux the
kernel kills them (``PR_SET_PDEATHSIG``), and everywhere each watches a pipe from the parent and exits
when it closes; Ray actors likewise (``pipeline.ray_executor``). SIGTERM stops a run as Ctrl-C does. A
write that fails (disk full, out of inodes, read-only) is one line naming the file, with the resume hint.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scenegen.assets.catalog import Catalog
from scenegen.config.schema import Config
from scenegen.errors import RenderError, ScenegenError
from scenegen.pipeline.worker import FrameWorker

Stats = dict[str, Any]  # FrameWorker.finish(): frames and per-stage seconds
RESUME_HINT = "finished frames are kept: run the same command to resume"
PR_SET_PDEATHSIG = 1  # prctl option, linux/prctl.h


def run_frames(cfg: Config, out: Path, todo: list[int], progress: bool, catalog: Catalog) -> list[Stats]:
    """Render scenes ``todo`` of ``cfg`` into ``out`` with ``cfg.executor``; one Stats per worker.
    ``catalog`` is this process's: a worker here reuses it, worker processes build their own.
    SIGTERM raises KeyboardInterrupt here, as Ctrl-C does."""
    bar = tqdm(total=len(todo), desc="rendering", unit="scene", disable=not progress, file=sys.stderr)
    previous = interrupt_on_sigterm()
    try:
        with bar:
            if cfg.executor.kind == "ray":
                from scenegen.pipeline.ray_executor import run_ray  # imports Ray only when it is used

                devices = [_device(cfg, k) for k in range(min(cfg.executor.workers, len(todo)))]
                return run_ray(cfg, out, todo, bar, devices)
            if cfg.executor.workers == 1 or len(todo) <= 1:
                return [_run_here(cfg, out, todo, bar, catalog)]
            return _run_processes(cfg, out, todo, bar)
    except OSError as err:
        raise failed_write(err) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def failed_write(err: OSError) -> RenderError:
    """The one line for a file or folder that could not be written (disk full, out of inodes, read-only)."""
    return RenderError(f"cannot write {err.filename or 'a file'}: {err.strerror or err}")


def interrupt_on_sigterm() -> Any:
    """Make SIGTERM raise KeyboardInterrupt in the main thread, as Ctrl-C does (a no-op in another thread);
    return the handler it replaces (None in another thread)."""
    return signal.signal(signal.SIGTERM, _interrupt) if _in_main_thread() else None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _device(cfg: Config, worker: int) -> int:
    return cfg.render.egl_device[worker % len(cfg.render.egl_device)]


def _run_here(cfg: Config, out: Path, todo: list[int], bar: tqdm, catalog: Catalog) -> Stats:
    worker = FrameWorker(cfg, out, _device(cfg, 0), catalog)
    try:
        for index in todo:
            worker.render(index)
            bar.update()
    finally:
        stats = worker.finish()
    return stats


def _process_main(cfg: Config, out: Path, device: int, tasks: Any, results: Any, lifeline: Any, parent: int) -> None:
    """A worker process: scenes from ``tasks`` until None; reports ("scene", s), ("done", stats) or ("error", e),
    ``e`` the ScenegenError itself (its type kept) or the text of any other exception's traceback.
    It exits when the parent process ``parent`` ends (``lifeline``: the reading end of a pipe only it holds)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers on Ctrl-C
    _die_with_parent(lifeline, parent)
    try:
        worker = FrameWorker(cfg, out, device)
        try:
            for index in iter(tasks.get, None):
                worker.render(index)
                results.put(("scene", index))
        finally:
            stats = worker.finish()
        results.put(("done", stats))
    except ScenegenError as err:
        results.put(("error", err))
    except OSError as err:
        results.put(("error", failed_write(err)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _die_with_parent(lifeline: Any, parent: int) -> None:
    """End this process as soon as the process ``parent`` ends, however it ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the kernel kills us when the parent dies
    if os.getppid() != parent:  # it died before we got here
        os._exit(1)

    def watch() -> None:
        try:
            lifeline.recv()  # nothing is ever sent: returns only by EOF, when the parent's end closes
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _run_processes(cfg: Config, out: Path, todo: list[int], bar: tqdm) -> list[Stats]:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no GL state inherited
    tasks, results = context.Queue(), context.Queue()
    lifeline, keep_alive = context.Pipe(duplex=False)  # the workers read; this process holds the other end
    workers = min(cfg.executor.workers, len(todo))
    for index in todo:
        tasks.put(index)
    for _ in range(workers):
        tasks.put(None)
    processes = [
        context.Process(
            target=_process_main, args=(cfg, out, _device(cfg, k), tasks, results, lifeline, os.getpid()), daemon=True
        )
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    stats: list[Stats] = []
    try:
        while len(stats) < workers:
            try:
                kind, value = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise RenderError(f"a worker process died (exit code {dead[0]})") from None
                continue
            if kind == "error":
                raise value if isinstance(value, ScenegenError) else RenderError(value.strip().splitlines()[-1])
            if kind == "done":
                stats.append(value)
            else:
                bar.update()
    finally:
        for process in processes:
            if len(stats) < workers:
                process.terminate()
            process.join()
        keep_alive.close()
    return stats

"""Ends a local Ray instance together with the scenegen process that started it, however scenegen ends.

Run as ``python -m scenegen.pipeline.ray_reaper TAG`` by scenegen, which holds the writing end of its stdin and
writes the instance's session folder to it once Ray has started. When stdin closes (scenegen ended: finished,
failed, ``kill -9``), it kills every process of the instance: those with a file open in its session folder
(each Ray process keeps its logs there), or with ``SCENEGEN_RAY_RUN=TAG`` in their environment, which they
all inherit (but a process title set by Ray may overwrite it). Ray's own reaper ends only scenegen's process
group, and Ray's workers and agents each have their own: without this, actors wrote on after ``kill -9``
and agents lingered. Linux (``/proc``); elsewhere it does nothing.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

VARIABLE = "SCENEGEN_RAY_RUN"


def of_the_instance(tag: str, session: str, spared: set[int]) -> list[int]:
    """The pids of the processes, but ``spared``, with ``SCENEGEN_RAY_RUN=tag`` in their environment or, when
    ``session`` is not empty, a file open in the folder ``session``."""
    entry, found = f"{VARIABLE}={tag}".encode(), []
    for folder in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not folder.name.isdigit() or int(folder.name) in spared:
            continue
        try:
            if entry in (folder / "environ").read_bytes().split(b"\0") or (session and _uses(folder, session)):
                found.append(int(folder.name))
        except OSError:  # ended meanwhile, or another user's
            continue
    return found


def _uses(process: Path, session: str) -> bool:
    for fd in (process / "fd").iterdir():
        try:
            if os.readlink(fd).startswith(session + os.sep):
                return True
        except OSError:
            continue
    return False


def main(tag: str) -> None:
    spared = {os.getpid(), os.getppid()}  # this process and scenegen, which may still be ending
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches scenegen, which then closes our stdin
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    session = sys.stdin.buffer.readline().decode().strip()  # empty when scenegen ended before Ray started
    sys.stdin.buffer.read()  # returns at EOF: scenegen's end of the pipe closed
    for _ in range(10):  # again while a dying raylet may still start a worker
        pids = of_the_instance(tag, session, spared)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main(sys.argv[1])

"""Ends a local Ray instance together with the scenegen process that started it, however scenegen ends.

Run as ``python -m scenegen.pipeline.ray_reaper TAG`` by scenegen, which holds the writing end of its stdin:
when stdin closes (scenegen ended: finished, failed, ``kill -9``), it kills every process whose environment
holds ``SCENEGEN_RAY_RUN=TAG``, which every process of the instance inherits (GCS, raylet, actors, agents).
Ray's own reaper ends only scenegen's process group, and Ray's workers and agents each have their own: without
this, actors wrote on after ``kill -9`` and agents lingered. Linux (``/proc``); elsewhere it does nothing.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

VARIABLE = "SCENEGEN_RAY_RUN"


def tagged(tag: str) -> list[int]:
    """The pids of the processes, this one aside, whose environment holds ``SCENEGEN_RAY_RUN=tag``."""
    entry = f"{VARIABLE}={tag}".encode()
    found = []
    for folder in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        try:
            if folder.name.isdigit() and int(folder.name) != os.getpid():
                if entry in (folder / "environ").read_bytes().split(b"\0"):
                    found.append(int(folder.name))
        except OSError:  # ended meanwhile, or another user's
            continue
    return found


def main(tag: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches scenegen, which then closes our stdin
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stdin.buffer.read()  # returns at EOF: scenegen's end of the pipe closed
    for _ in range(10):  # again while a dying raylet may still start a worker
        pids = tagged(tag)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main(sys.argv[1])

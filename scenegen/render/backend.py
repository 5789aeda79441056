"""Choose the headless OpenGL platform before anything imports OpenGL.

PyOpenGL binds to a platform (EGL, OSMesa) the first time it is imported, from
the environment variable ``PYOPENGL_PLATFORM``. This module is the one place
that sets it: EGL first (GPU or Mesa llvmpipe), OSMesa as the fallback.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

BACKENDS = ("egl", "osmesa")

# The shared library each backend needs, as ctypes.util.find_library names it.
_LIBRARIES = {"egl": ("EGL", "OpenGL"), "osmesa": ("OSMesa",)}


def library_missing(backend: str) -> str | None:
    """Name of the first shared library ``backend`` needs that is absent, or None."""
    for name in _LIBRARIES[backend]:
        if ctypes.util.find_library(name) is None:
            return f"lib{name}"
    return None


def choose_backend(requested: str = "auto") -> str:
    """Pick a backend: ``requested`` itself, or for ``auto`` the first whose libraries exist."""
    if requested != "auto":
        if requested not in BACKENDS:
            raise ValueError(f"render.backend: unknown backend {requested!r}, expected auto, egl or osmesa")
        return requested
    for backend in BACKENDS:
        if library_missing(backend) is None:
            return backend
    return BACKENDS[0]


def activate(backend: str, egl_device: int | None = None) -> None:
    """Set ``PYOPENGL_PLATFORM`` (and the EGL device) for this process.

    Must run before the first ``import OpenGL`` in the process; a process that
    already imported OpenGL with another platform cannot switch.
    """
    current = os.environ.get("PYOPENGL_PLATFORM")
    if "OpenGL" in sys.modules and current not in (None, backend):
        raise RuntimeError(f"OpenGL was already imported with PYOPENGL_PLATFORM={current}; cannot switch to {backend}")
    os.environ["PYOPENGL_PLATFORM"] = backend
    if backend == "egl" and egl_device is not None:
        os.environ["EGL_DEVICE_ID"] = str(egl_device)

"""``scenegen doctor``: report whether headless rendering works here, and how to fix it.

Each backend is probed in its own subprocess, because PyOpenGL binds its
platform at first import; this process never imports OpenGL.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from scenegen.render.backend import BACKENDS, choose_backend, library_missing

PROBE_TIMEOUT_S = 60

# Runs in a fresh interpreter with PYOPENGL_PLATFORM set; prints one JSON line.
_PROBE_SCRIPT = """
import json, sys, traceback
out = {}
try:
    import numpy as np
    import pyrender
    import trimesh
    from OpenGL.GL import GL_RENDERER, GL_VENDOR, GL_VERSION, glGetString
    scene = pyrender.Scene(bg_color=(0, 0, 0))
    scene.add(pyrender.Mesh.from_trimesh(trimesh.creation.box()))
    scene.add(pyrender.PerspectiveCamera(yfov=1.0), pose=np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3], [0, 0, 0, 1]], dtype=float))
    renderer = pyrender.OffscreenRenderer(16, 16)
    color, _ = renderer.render(scene, pyrender.RenderFlags.FLAT)
    for key, name in (("vendor", GL_VENDOR), ("renderer", GL_RENDERER), ("version", GL_VERSION)):
        out[key] = glGetString(name).decode()
    renderer.delete()
    if not color[8, 8].any():
        out["error"] = "rendered image is empty: the test box did not appear"
except Exception:
    out["error"] = traceback.format_exc().strip().splitlines()[-1]
if sys.argv[1] == "egl":
    try:
        from pyrender.platforms import egl
        out["devices"] = [device.name or "(no DRM device file)" for device in egl.query_devices()]
    except Exception as exc:
        out["devices_error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""

_SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast")

# Symptom -> one-line fix; symptoms() below says which ones a probe shows.
FIXES: list[tuple[str, str]] = [
    (
        "libEGL missing",
        "apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0",
    ),
    ("libOSMesa missing", "apt-get install libosmesa6, and use PyOpenGL >= 3.1.4"),
    (
        "EGL device index out of range",
        "list only devices below the EGL device count in render.egl_device, e.g. render.egl_device=[0]",
    ),
    ("no GPU found", "llvmpipe is used: rendering works on CPU, but slower"),
    (
        "numpy 2 with upstream pyrender 0.1.45 (np.infty)",
        "pip uninstall pyrender && pip install pyrender2",
    ),
]


@dataclass
class Probe:
    """What probing one backend found."""

    backend: str
    missing_library: str | None = None
    vendor: str | None = None
    renderer: str | None = None
    version: str | None = None
    error: str | None = None
    devices: list[str] | None = None
    devices_error: str | None = None

    @property
    def works(self) -> bool:
        """True when the probe rendered and read back the GL strings."""
        return self.missing_library is None and self.error is None and self.renderer is not None

    @property
    def software(self) -> bool:
        """True when the GL renderer is a CPU rasteriser (llvmpipe, softpipe, swrast)."""
        return any(name in (self.renderer or "").lower() for name in _SOFTWARE_RENDERERS)


def probe(backend: str) -> Probe:
    """Render a tiny scene with ``backend`` in a subprocess and collect what it reports."""
    missing = library_missing(backend)
    if missing is not None:
        return Probe(backend, missing_library=missing)
    env = {**os.environ, "PYOPENGL_PLATFORM": backend}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE_SCRIPT, backend],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return Probe(backend, error=f"probe timed out after {PROBE_TIMEOUT_S} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()
        return Probe(
            backend,
            error=tail[-1] if tail else f"probe exited with code {done.returncode}",
        )
    return Probe(backend, **json.loads(lines[-1]))


def symptoms(probes: list[Probe]) -> list[str]:
    """Symptoms from FIXES that these probes show, in table order."""
    found = set()
    for p in probes:
        if p.missing_library in ("libEGL", "libOpenGL"):
            found.add("libEGL missing")
        if p.missing_library == "libOSMesa":
            found.add("libOSMesa missing")
        if "Invalid device ID" in (p.error or ""):
            found.add("EGL device index out of range")
        if "np.infty" in (p.error or ""):
            found.add("numpy 2 with upstream pyrender 0.1.45 (np.infty)")
    working = [p for p in probes if p.works]
    if working and all(p.software for p in working):
        found.add("no GPU found")
    return [symptom for symptom, _ in FIXES if symptom in found]


def describe(p: Probe) -> list[str]:
    """Report lines for one backend's probe."""
    if p.missing_library is not None:
        return [f"{p.backend}: not working ({p.missing_library} not found; probe skipped)"]
    if not p.works:
        return [f"{p.backend}: not working ({p.error})"]
    kind = "software, CPU" if p.software else "GPU"
    return [
        f"{p.backend}: works ({kind})",
        f"  vendor:   {p.vendor}",
        f"  renderer: {p.renderer}",
        f"  version:  {p.version}",
    ]


def describe_devices(p: Probe) -> list[str]:
    """Report lines for the EGL devices the EGL probe listed."""
    if p.devices is not None:
        return [f"EGL devices: {len(p.devices)}"] + [f"  [{i}] {name}" for i, name in enumerate(p.devices)]
    if p.devices_error is not None:
        return [f"EGL devices: unknown ({p.devices_error})"]
    return ["EGL devices: not queried (EGL probe did not run)"]


def versions() -> list[str]:
    """Installed versions of the rendering stack, read from package metadata only."""
    lines = []
    for names in (("pyrender2", "pyrender"), ("PyOpenGL",), ("numpy",), ("trimesh",)):
        for name in names:
            try:
                lines.append(f"  {name} {importlib.metadata.version(name)}")
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            lines.append(f"  {names[-1]}: not installed")
    return lines


def fix_lines(probes: list[Probe]) -> list[str]:
    """The 'common failures' section: one fix per detected symptom, or a line saying none apply."""
    fixes = dict(FIXES)
    found = symptoms(probes)
    if not found:
        return ["  none detected, no fixes needed"]
    return [f"  {symptom}: {fixes[symptom]}" for symptom in found]


def run_doctor() -> int:
    """Print the rendering report; 0 when at least one backend renders, else 1."""
    probes = {backend: probe(backend) for backend in BACKENDS}
    auto = choose_backend("auto")
    lines = ["scenegen doctor", "", "backends:"]
    for p in probes.values():
        lines += ["  " + line for line in describe(p)]
    lines += ["", *describe_devices(probes["egl"]), "", "versions:", *versions(), ""]
    lines.append(f"auto selects: {auto} ({'works' if probes[auto].works else 'NOT working'})")
    lines += ["", "common failures:", *fix_lines(list(probes.values()))]
    print("\n".join(lines))
    return 0 if any(p.works for p in probes.values()) else 1

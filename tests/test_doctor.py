"""Tests for ``scenegen doctor``: a real run here, and the probe-to-report label math."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO
from scenegen.tools.doctor import Probe, describe, fix_lines, run_doctor, symptoms


def _gpu(backend: str = "egl") -> Probe:
    return Probe(
        backend,
        vendor="NVIDIA Corporation",
        renderer="NVIDIA H100/PCIe/SSE2",
        version="4.6.0 NVIDIA",
    )


@pytest.mark.slow
def test_run_doctor_here_finds_egl_working(capsys) -> None:
    assert run_doctor() == 0
    out = capsys.readouterr().out
    assert "egl: works" in out
    assert "vendor:" in out and "renderer:" in out and "version:" in out
    assert "EGL devices:" in out
    for package in ("pyrender", "PyOpenGL", "numpy", "trimesh"):
        assert f"  {package}" in out
    assert "auto selects:" in out
    assert "common failures:" in out


@pytest.mark.slow
def test_doctor_never_imports_opengl_in_its_own_process() -> None:
    code = "import sys; from scenegen.tools.doctor import run_doctor; run_doctor(); sys.exit('OpenGL' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True).returncode == 0


def test_missing_library_is_not_working_and_gets_its_fix() -> None:
    missing = Probe("osmesa", missing_library="libOSMesa")
    assert not missing.works
    assert describe(missing) == ["osmesa: not working (libOSMesa not found; probe skipped)"]
    assert fix_lines([_gpu(), missing]) == [
        "  libOSMesa missing: apt-get install libosmesa6, and use PyOpenGL >= 3.1.4"
    ]


def test_missing_libegl_gets_the_mesa_packages() -> None:
    (line,) = fix_lines([Probe("egl", missing_library="libEGL"), _gpu("osmesa")])
    assert "apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0" in line


def test_failed_render_shows_error_and_matching_fixes() -> None:
    bad_device = Probe("egl", error="ValueError: Invalid device ID (5)", devices=["/dev/dri/card0"])
    old_pyrender = Probe(
        "osmesa",
        error="AttributeError: `np.infty` was removed in the NumPy 2.0 release.",
    )
    assert describe(bad_device) == ["egl: not working (ValueError: Invalid device ID (5))"]
    assert symptoms([bad_device, old_pyrender]) == [
        "EGL device index out of range",
        "numpy 2 with upstream pyrender 0.1.45 (np.infty)",
    ]


def test_software_renderer_is_flagged_only_when_no_gpu_works() -> None:
    llvmpipe = Probe(
        "egl",
        vendor="Mesa",
        renderer="llvmpipe (LLVM 15.0.6, 256 bits)",
        version="4.5 Mesa 22.3.6",
    )
    assert llvmpipe.works and llvmpipe.software
    assert describe(llvmpipe)[0] == "egl: works (software, CPU)"
    assert symptoms([llvmpipe]) == ["no GPU found"]
    assert symptoms([llvmpipe, _gpu("osmesa")]) == []


def test_everything_working_needs_no_fixes() -> None:
    assert describe(_gpu())[0] == "egl: works (GPU)"
    assert fix_lines([_gpu("egl"), _gpu("osmesa")]) == ["  none detected, no fixes needed"]

"""Shared fixtures. Tests render for real, headless: EGL (Mesa llvmpipe on CPU, or a GPU)."""

from __future__ import annotations

import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # before anything imports OpenGL

import collections
import contextlib
import io
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from scenegen.assets.catalog import Catalog
from scenegen.assets.limits import MeshLimits
from scenegen.assets.shapes import run_catalog
from scenegen.config.load import load_config
from scenegen.config.schema import Config
from scenegen.geometry import intrinsics, look_at
from scenegen.scene.spec import BackdropSpec, CameraSpec, MaterialSpec, ObjectSpec, SceneSpec

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LIMITS = MeshLimits.of(load_config([]).objects)
SMALL = ["render.width=160", "render.height=120", "num_scenes=4"]


def small_config(tmp_path: Path, *overrides: str, schema: type[Config] = Config) -> Config:
    """The default config (of ``schema``) at 160x120, 4 frames, writing under ``tmp_path``."""
    return load_config([*SMALL, f"output_dir={tmp_path / 'out'}", *overrides], schema)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``scenegen ARGS`` in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "scenegen.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def start_scenegen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``scenegen ARGS`` started in a session of its own (to signal it and all its processes), with Ctrl-C at its
    default, as for a command in a terminal."""
    return subprocess.Popen(
        [sys.executable, "-m", "scenegen.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
        env=env,
    )


def _default_sigint() -> None:
    """In the child: Ctrl-C at its default. A process started with SIGINT ignored keeps it ignored (Python then
    installs no KeyboardInterrupt), and a test suite started as a background job of a non-interactive shell
    (``bash .ci/run &``) runs with SIGINT ignored: a render to be interrupted then ran to its end and exited 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_main(*args: str) -> tuple[int, str, str]:
    """``scenegen ARGS`` in this process (fast, for error cases): exit code, stdout, stderr."""
    from scenegen.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit:
            code = exit.code
    return code, out.getvalue(), err.getvalue()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes: to show that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def dataset_files(folder: Path) -> dict[str, bytes]:
    """Every file of a dataset but dataset.json (which records timings), by relative path; the YOLO
    data.yaml's ``path:``, which names the folder itself, as ``DATASET``."""
    return {
        name: data.replace(str(folder.resolve()).encode(), b"DATASET") if name.endswith("data.yaml") else data
        for name, data in tree(folder).items()
        if name != "dataset.json"
    }


def pip_install_target(source: Path, target: Path) -> None:
    """``pip install SOURCE`` as a regular (wheel) install into the folder ``target``, dependencies not included."""
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target)]
    subprocess.run([*pip, str(source)], check=True, capture_output=True)


def render_small(
    out: Path, *overrides: str, scenes: int = 2, width: int = 96, height: int = 72
) -> subprocess.CompletedProcess:
    """``scenegen render`` of a tiny dataset into ``out``."""
    size = [f"render.width={width}", f"render.height={height}", f"num_scenes={scenes}"]
    return run_cli("render", *size, *overrides, f"output_dir={out}", "--no-progress")


# Hand-made scenes for renders whose answer is known from geometry.
GREY = MaterialSpec([0.6, 0.6, 0.6, 1.0], 0.0, 0.5)
W, H = 160, 120


def scene(objects: list[ObjectSpec], eye, target, fov: float = 50.0) -> SceneSpec:
    camera = CameraSpec(
        W,
        H,
        intrinsics(W, H, fov).tolist(),
        look_at(np.array(eye, float), np.array(target, float)).tolist(),
        0.01,
        20.0,
    )
    return SceneSpec(0, 0, camera, objects, [], BackdropSpec([0.0, 0.0, 0.0]), [1.0, 1.0, 1.0])


def placed(instance_id: int, asset: str, xyz, scale: float = 1.0) -> ObjectSpec:
    pose = trimesh.transformations.translation_matrix(xyz)
    return ObjectSpec(instance_id, asset, asset, pose.tolist(), scale, GREY)


class OneShotRenderer:
    """Renders with a fresh SceneRenderer each time: pyrender's EGL teardown ends the process's
    shared display, so two renderers must not be alive in one process at once."""

    def __init__(self, catalog):
        self.catalog = catalog

    def render(
        self,
        spec: SceneSpec,
        antialias: bool = False,
        alone: list[list[int]] = (),
        regions: list[list[int]] | None = None,
    ):
        from scenegen.render.renderer import SceneRenderer

        renderer = SceneRenderer(self.catalog, spec.camera.width, spec.camera.height, antialias=antialias)
        try:
            return renderer.render(spec, alone, regions)
        finally:
            renderer.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files with the most slow tests first, then those with the most tests, each file's tests in their
    order: with ``--dist loadfile --no-loadscope-reorder`` (pyproject.toml) the long files start first and the
    quick ones fill in at the end, so that no worker is left alone on a long file at the end of the suite (in the
    fast tier, ``-m "not slow"``, as in the full one)."""
    slow = collections.Counter(item.path for item in items if item.get_closest_marker("slow"))
    tests = collections.Counter(item.path for item in items)
    items.sort(key=lambda item: (-slow[item.path], -tests[item.path]))


@pytest.fixture(scope="session", autouse=True)
def collision_cache(tmp_path_factory: pytest.TempPathFactory):
    """The folder collision shapes are cached in for the whole session: ``XDG_CACHE_HOME`` points into a
    temporary folder (for CLI runs too), so tests never touch the user's cache, and compute each shape once.
    The pytest-xdist workers of a run share it (the folder above their own temporary folders): the cache's
    writes are atomic renames, so a shape that two workers compute at once is still read back whole."""
    root = tmp_path_factory.getbasetemp()
    home = (root.parent if "PYTEST_XDIST_WORKER" in os.environ else root) / "xdg_cache"
    home.mkdir(exist_ok=True)
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(home)
    yield home / "scenegen"
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def renderer(catalog):
    return OneShotRenderer(catalog)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The default run's catalog: the built-in pack, its classes drawn from their shape families' pools."""
    cfg = load_config([])
    return run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)


@pytest.fixture(scope="session")
def rendered_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real dataset rendered once for the session, through the CLI."""
    out = tmp_path_factory.mktemp("dataset") / "out"
    result = run_cli("render", *SMALL, "num_scenes=6", f"output_dir={out}", "--no-progress")
    assert result.returncode == 0, result.stderr
    return out

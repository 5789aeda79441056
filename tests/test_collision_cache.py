"""The collision-shape cache is not trusted (issue 18.4): a cached shape that was scaled, truncated, given a
NaN, or replaced by a FIFO, a link to /dev/zero or a folder is never used; it is computed again (one line
says so) or refused in one line, without hanging, and a box dropped with the shape then rests on the support."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import trimesh
from surfaces import posed_mesh

from conftest import REPO, run_cli, small_config
from scenegen.assets import collision
from scenegen.assets.collision import collision_shape, convex_parts
from scenegen.scene.drop import support_boxes
from scenegen.scene.physics import Body, settle
from scenegen.scene.spec import ObjectSpec

TOLERANCE = 0.002  # metres, as tests/test_physics.py

LOAD = """
import json, sys
from pathlib import Path
from scenegen.assets.catalog import build_catalog
from scenegen.assets.limits import MeshLimits
from scenegen.assets.collision import collision_shape
from scenegen.config.load import load_config
cfg = load_config([])
catalog = build_catalog(["builtin"], ["box"], MeshLimits.of(cfg.objects))
shape = collision_shape(catalog.asset("box"), cfg.physics.collision, Path(sys.argv[1]))
print(json.dumps([p.tolist() for p in shape.parts]))
"""


def checksum(name: str, body: str) -> str:
    """The cache file's first line, computed here from its documented layout: SHA-256 of name and body."""
    return "# scenegen collision shape sha256 " + hashlib.sha256(f"{name}\n{body}".encode()).hexdigest()


def rewrite(path, edit_vertex, forge: bool) -> None:
    """Apply ``edit_vertex`` to each ``v`` line's numbers; keep the old checksum, or ``forge`` a matching one."""
    first, _, body = path.read_text().partition("\n")
    lines = []
    for line in body.splitlines():
        if line.startswith("v "):
            line = "v " + " ".join(edit_vertex([float(x) for x in line.split()[1:]]))
        lines.append(line)
    body = "\n".join(lines) + "\n"
    path.write_text(f"{checksum(path.stem, body) if forge else first}\n{body}")


def scaled(path, forge):
    rewrite(path, lambda v: [repr(0.6 * x) for x in v], forge)


def not_a_number(path, forge):
    first = [True]

    def edit(v):
        nan, first[0] = first[0], False
        return ["nan"] * 3 if nan else [repr(x) for x in v]

    rewrite(path, edit, forge)


def truncated(path, forge):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def fifo(path, forge):
    path.unlink()
    os.mkfifo(path)


def dev_zero(path, forge):
    path.unlink()
    path.symlink_to("/dev/zero")


HOSTILE = {
    "scaled 0.6, old checksum": (scaled, False),
    "scaled 0.6, checksum forged": (scaled, True),
    "v nan nan nan, checksum forged": (not_a_number, True),
    "truncated": (truncated, False),
    "a FIFO": (fifo, False),
    "a link to /dev/zero": (dev_zero, False),
}


@pytest.mark.slow
@pytest.mark.parametrize("hostile", list(HOSTILE))
def test_a_hostile_cached_shape_is_computed_again_and_the_box_rests_on_the_support(
    tmp_path, catalog, monkeypatch, hostile
):
    cfg = small_config(tmp_path, "scene.layout=drop")
    cache = tmp_path / "cache"
    box = catalog.asset("box")
    sound = collision_shape(box, cfg.physics.collision, cache)
    edit, forge = HOSTILE[hostile]
    edit(sound.path, forge)
    # a fresh process reads the cache (a FIFO or /dev/zero would hang it or eat memory: a timeout guards)
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD, str(cache)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr
    lines = loaded.stderr.strip().splitlines()
    assert len(lines) == 1 and str(sound.path) in lines[0] and "computing it again" in lines[0], loaded.stderr
    parts = [np.array(p) for p in json.loads(loaded.stdout)]
    assert len(parts) == len(sound.parts) and all(map(np.array_equal, parts, sound.parts))
    assert sound.path.is_file() and not sound.path.is_symlink()  # the hostile entry itself was replaced
    monkeypatch.setattr(collision, "_LOADED", {})  # this process reads the repaired file: no recomputation
    monkeypatch.setattr(collision, "convex_parts", lambda *a: pytest.fail("the repaired file was not used"))
    shape = collision_shape(box, cfg.physics.collision, cache)
    start = trimesh.transformations.rotation_matrix(0.3, [1, 1, 0])
    start[2, 3] = 0.25
    settled = settle([Body(shape, 1.0, start)], support_boxes(cfg), cfg.physics)
    low = posed_mesh(ObjectSpec(1, "box", "box", settled.poses[0].tolist(), 1.0, None), catalog).vertices[:, 2].min()
    assert 0 <= low <= TOLERANCE  # on the support, not sunk into it


def test_the_scaled_shape_would_have_sunk_into_the_support(tmp_path, catalog):
    """The hostile input above matters: a box simulated with its shape scaled by 0.6 rests sunk in the support."""
    cfg = small_config(tmp_path, "scene.layout=drop")
    sound = collision_shape(catalog.asset("box"), cfg.physics.collision, tmp_path / "cache")
    parts = [0.6 * p for p in sound.parts]
    collision.write_parts(tmp_path / "scaled.obj", parts)
    small = collision.CollisionShape(tuple(parts), sound.path, sound.center_of_mass, 0.2, tmp_path / "scaled.obj")
    start = np.eye(4)
    start[2, 3] = 0.25
    settled = settle([Body(small, 1.0, start)], support_boxes(cfg), cfg.physics)
    low = posed_mesh(ObjectSpec(1, "box", "box", settled.poses[0].tolist(), 1.0, None), catalog).vertices[:, 2].min()
    assert low < -0.005


@pytest.mark.slow
def test_a_folder_in_place_of_a_cached_shape_stops_the_render_in_one_line(tmp_path, catalog):
    cfg = small_config(tmp_path, "scene.layout=drop")
    cache = tmp_path / "cache"
    sound = collision_shape(catalog.asset("box"), cfg.physics.collision, cache)
    sound.path.unlink()
    (sound.path / "x").mkdir(parents=True)
    out = tmp_path / "out"
    box = ["objects.classes=[box]", "objects.shape_variation=0"]  # the box mesh itself is drawn, not a pool's shapes
    result = run_cli("render", "scene.layout=drop", *box, f"cache_dir={cache}", f"output_dir={out}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"scenegen: error: collision shape cache {sound.path}: cannot write (Is a directory)"
    assert not out.exists()


def test_a_mesh_too_large_to_decompose_is_refused_before_coacd(tmp_path, catalog):
    cfg = small_config(tmp_path, "physics.collision.max_faces=1000")
    mug = catalog.asset("mug").load_mesh()  # 1312 faces, not convex: a decomposition
    with pytest.raises(ValueError, match=r"1312 faces is over physics.collision.max_faces=1000"):
        convex_parts(mug, cfg.physics.collision)


@pytest.mark.slow
def test_a_sound_decomposed_shape_is_read_back_not_recomputed(tmp_path, catalog, monkeypatch):
    """The checks on read accept what was written: a decomposition (the torus: 8 parts) holds the mesh."""
    params = small_config(tmp_path).physics.collision
    torus = catalog.asset("torus")
    shape = collision_shape(torus, params, tmp_path / "cache")
    assert len(shape.parts) > 1
    monkeypatch.setattr(collision, "_LOADED", {})
    monkeypatch.setattr(collision, "convex_parts", lambda *a: pytest.fail("a sound decomposition was recomputed"))
    again = collision_shape(torus, params, tmp_path / "cache")
    assert all(map(np.array_equal, again.parts, shape.parts))


def test_physics_never_reads_the_shared_cache_file_again_after_its_checks(tmp_path, catalog):
    """PyBullet reads the checked parts from this process's own copy: the cache file scaled by a neighbour
    (checksum forged) after the shape was loaded changes nothing."""
    cfg = small_config(tmp_path, "scene.layout=drop")
    shape = collision_shape(catalog.asset("box"), cfg.physics.collision, tmp_path / "cache")
    assert shape.bullet_file != shape.path and shape.bullet_file.read_bytes() == shape.path.read_bytes()
    scaled(shape.path, forge=True)
    start = np.eye(4)
    start[2, 3] = 0.25
    settled = settle([Body(shape, 1.0, start)], support_boxes(cfg), cfg.physics)
    low = posed_mesh(ObjectSpec(1, "box", "box", settled.poses[0].tolist(), 1.0, None), catalog).vertices[:, 2].min()
    assert 0 <= low <= TOLERANCE

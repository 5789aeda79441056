"""Shape families: closed meshes with UVs, exact volumes, convex pieces that hold them, determinism, the run's
pools, the records that rebuild each shape, and the single mesh at shape_variation 0."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial import ConvexHull
from surfaces import winding_number

from conftest import render_small, run_main
from scenegen.assets import collision
from scenegen.assets.collision import collision_shape
from scenegen.assets.families import FAMILIES, Variant, build
from scenegen.assets.lathe import revolve, welded
from scenegen.assets.pose_cache import pose_path
from scenegen.assets.shapes import draw_variants, run_catalog, variant_id
from scenegen.config.load import load_config
from scenegen.errors import ScenegenError
from scenegen.formats.bop_models import record_model_mesh
from scenegen.scene.sampler import sample_scene
from scenegen.scene.spec import ObjectSpec

SECTIONS = 64


def family_params() -> list[tuple[str, dict[str, float]]]:
    """Every family at its base, at the low and at the high end of every span, at three random draws, and at
    three random corners of its parameter box (each parameter at one end of its span)."""
    cases, rng = [], np.random.default_rng(7)
    for family, (params, _) in FAMILIES.items():
        for end in ("base", "low", "high"):
            cases.append((family, {name: getattr(p, end) for name, p in params.items()}))
        for variant in draw_variants(family, 1.0, 3, seed=123):
            cases.append((family, dict(variant.params)))
        for _ in range(3):
            cases.append((family, {name: (p.low, p.high)[rng.integers(2)] for name, p in params.items()}))
    return cases


CASES = family_params()
IDS = [f"{family}-{k % 9}" for k, (family, _) in enumerate(CASES)]
# the costly checks of every case; the fast tier takes each family's base and span ends (the first three)
SAMPLED = [
    pytest.param(*case, id=name, marks=[pytest.mark.slow] if k % 9 >= 3 else [])
    for k, (case, name) in enumerate(zip(CASES, IDS, strict=True))
]


def hull_equations(pieces) -> list[np.ndarray]:
    return [ConvexHull(piece).equations for piece in pieces]


def inside_any(points: np.ndarray, equations: list[np.ndarray], tolerance: float = 1e-9) -> np.ndarray:
    """(n,) whether each point lies in at least one of the hulls."""
    return np.any([(points @ eq[:, :3].T + eq[:, 3]).max(axis=1) <= tolerance for eq in equations], axis=0)


def interior_points(mesh, count: int, seed: int) -> np.ndarray:
    """Points drawn uniformly in ``mesh``'s box, kept where its winding number says inside."""
    points = np.random.default_rng(seed).uniform(mesh.bounds[0], mesh.bounds[1], (count, 3))
    return points[winding_number(points, mesh) > 0.5]


@pytest.mark.parametrize(("family", "params"), CASES, ids=IDS)
def test_every_shape_is_a_closed_surface_with_uvs_resting_on_z0(family, params):
    mesh = build(family, params).mesh
    uv = np.asarray(mesh.visual.uv)
    assert uv.shape == (len(mesh.vertices), 2) and np.isfinite(uv).all() and np.ptp(uv, axis=0).min() > 0
    closed = welded(mesh)
    assert closed.is_watertight and closed.is_winding_consistent and closed.volume > 0
    assert np.isfinite(mesh.vertices).all() and abs(mesh.bounds[0, 2]) < 1e-12
    assert np.allclose(np.linalg.norm(mesh.vertex_normals, axis=1), 1.0)


@pytest.mark.parametrize(("family", "params"), SAMPLED)
def test_convex_pieces_hold_the_whole_solid(family, params):
    """Every vertex, surface sample and interior point lies in a piece's hull; the cavity of a mug or a
    bowl stays open."""
    shape = build(family, params)
    closed = welded(shape.mesh)
    equations = hull_equations(shape.pieces)
    points = np.vstack([closed.vertices, closed.sample(1500, seed=2), interior_points(closed, 600, seed=3)])
    assert inside_any(points, equations).all()
    assert sum(ConvexHull(piece).volume for piece in shape.pieces) >= closed.volume * (1 - 1e-9)
    if family in ("mug", "bowl"):
        r = params["radius"] * (params.get("taper", 1.0) + 1) / 2
        lo, hi = closed.bounds[:, 2]
        cavity = np.array([[0.0, 0.0, lo + 0.7 * (hi - lo)], [0.5 * r, 0.0, hi - 0.001]])
        assert not inside_any(cavity, equations).any()


@pytest.mark.parametrize(
    "profile",
    [
        [[0, 0], [0.04, 0], [0.03, 0.1], [0, 0.12]],  # a cone with a rounded-off top
        [[0, 0], [0.04, 0], [0.05, 0.09], [0.045, 0.09], [0.035, 0.006], [0, 0.006]],  # a tapered cup
        [[0, 0], [0.03, 0.0], [0.03, 0.05], [0.01, 0.07], [0.01, 0.1], [0, 0.1]],  # a bottle
    ],
)
def test_a_revolved_mesh_encloses_its_profiles_volume(profile):
    """Pappus: a profile of area A whose centroid lies at radius c sweeps 2 pi A c; a 64-gon for the circle
    keeps 64 sin(2 pi / 64) / (2 pi) of it. Shoelace sums on the profile, not the mesh."""
    p = np.asarray(profile, dtype=float)
    r, z, r1, z1 = p[:, 0], p[:, 1], np.roll(p[:, 0], -1), np.roll(p[:, 1], -1)
    cross = r * z1 - r1 * z
    area = cross.sum() / 2
    centroid = ((r + r1) * cross).sum() / (6 * area)
    polygon = SECTIONS * np.sin(2 * np.pi / SECTIONS) / (2 * np.pi)
    expected = 2 * np.pi * area * centroid * polygon
    assert welded(revolve(p, SECTIONS)).volume == pytest.approx(expected, rel=1e-9)


def digest_of(family: str, params: dict[str, float]) -> str:
    shape = build(family, params)
    digest = hashlib.sha256()
    mesh = shape.mesh
    for array in (mesh.vertices, mesh.faces, mesh.visual.uv, mesh.vertex_normals, *shape.pieces):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_the_same_parameters_give_the_same_bytes_in_another_process():
    cases = [CASES[k] for k in range(0, len(CASES), 6)]
    here = [digest_of(family, params) for family, params in cases]
    code = (
        "import json, sys\nfrom test_shapes import digest_of\n"
        "print(json.dumps([digest_of(f, p) for f, p in json.loads(sys.argv[1])]))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code, json.dumps(cases)], capture_output=True, text=True, check=True,
        cwd=__import__("pathlib").Path(__file__).parent,
    )  # fmt: skip
    assert json.loads(there.stdout) == here
    assert len(set(here)) == len(here)


def test_wrong_parameters_are_refused_by_name(catalog):
    base = {name: p.base for name, p in FAMILIES["mug"][0].items()}
    with pytest.raises(ValueError, match="takes parameters"):
        build("mug", {"radius": 0.04})
    with pytest.raises(ValueError, match="unknown shape family 'vase'"):
        build("vase", {})
    for bad in (5.0, float("nan"), "0.04", True):  # outside the span, not a number
        with pytest.raises(ValueError, match="mug radius"):
            build("mug", {**base, "radius": bad})

    def spec_object(asset_id: str, params: dict) -> ObjectSpec:
        return ObjectSpec(1, asset_id, "mug", np.eye(4).tolist(), 1.0, None, {"family": "mug", "params": params})

    record = spec_object("mug@00000000", {**base, "wall": -1.0})
    with pytest.raises(ScenegenError, match="^frame record: object 'mug@00000000': its shape cannot be rebuilt"):
        record_model_mesh(catalog, record)  # the BOP export, given a damaged record
    rebuilt = record_model_mesh(catalog, spec_object("x", base))
    assert np.array_equal(rebuilt.vertices, build("mug", base).mesh.vertices)


def test_the_pool_is_drawn_from_the_seed_and_bounds_the_shapes_a_run_uses():
    cfg = load_config(["objects.shape_pool=3", "scene.layout=flying"])  # flying: no resting poses to find
    catalog = run_catalog(cfg.objects, 0, cfg.cache_dir)
    again, other = run_catalog(cfg.objects, 0, cfg.cache_dir), run_catalog(cfg.objects, 1, cfg.cache_dir)
    assert set(catalog.variants) == set(FAMILIES) and all(len(pool) == 3 for pool in catalog.variants.values())
    ids = {a.id for pool in catalog.variants.values() for a in pool}
    assert ids == {a.id for pool in again.variants.values() for a in pool}
    assert not ids & {a.id for pool in other.variants.values() for a in pool}
    for pool in catalog.variants.values():
        for asset in pool:
            assert asset.id == variant_id(asset.shape.family, asset.shape) and asset.unit_scale == 1.0
    used = {o.asset_id for i in range(20) for o in sample_scene(cfg, catalog, i).objects}
    assert used <= ids and len(used) > 8  # every instance is a pool member, and the pools are used


def test_shape_variation_zero_keeps_the_built_in_meshes(tmp_path):
    cfg = load_config(["objects.shape_variation=0", f"cache_dir={tmp_path}", "scene.layout=flying"])
    catalog = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
    assert catalog.variants == {}
    objects = [o for i in range(10) for o in sample_scene(cfg, catalog, i).objects]
    assert objects and all(o.shape is None and o.asset_id in FAMILIES for o in objects)
    assert all(catalog.asset(o.asset_id).mesh_path.suffix == ".ply" for o in objects)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("objects.shape_variation=1.5", "objects.shape_variation"),
        ("objects.shape_variation=-0.1", "objects.shape_variation"),
        ("+objects.shape_spans={mug:{height:[0.2,0.3]}}", "objects.shape_spans.mug.height"),  # beyond its span
        ("+objects.shape_spans={mug:{height:[0.1,0.08]}}", "objects.shape_spans.mug.height"),
        ("+objects.shape_spans={mug:{height:[0.1]}}", "objects.shape_spans.mug.height"),
        ("+objects.shape_spans={mug:{spout:[0.1,0.2]}}", "objects.shape_spans.mug.spout"),
        ("+objects.shape_spans={vase:{height:[0.1,0.2]}}", "objects.shape_spans.vase"),
    ],
)
def test_bad_shape_settings_are_refused_by_key(tmp_path, override, key):
    code, _, err = run_main("render", override, f"output_dir={tmp_path / 'out'}")
    assert code == 2 and err.count("\n") == 1 and key in err, err
    assert not (tmp_path / "out").exists()


def test_shape_spans_narrow_what_is_drawn(tmp_path):
    cfg = load_config(
        ["+objects.shape_spans={mug:{height:[0.1,0.11]},box:{bevel:[0.004,0.006]}}", "objects.shape_pool=20"]
    )
    catalog = run_catalog(cfg.objects, cfg.seed, str(tmp_path))
    heights = [a.load_mesh().extents[2] for a in catalog.variants["mug"]]
    assert 0.1 - 1e-9 <= min(heights) and max(heights) <= 0.11 + 1e-9 and np.ptp(heights) > 0.005
    assert all(0.004 <= dict(a.shape.params)["bevel"] <= 0.006 for a in catalog.variants["box"])
    default = run_catalog(load_config([]).objects, cfg.seed, str(tmp_path))
    assert [a.id for a in catalog.variants["can"]][:8] == [a.id for a in default.variants["can"]]  # others unchanged


@pytest.mark.slow
@pytest.mark.parametrize("family", ["mug", "bowl", "torus"])
def test_concave_families_get_their_own_pieces_without_coacd(tmp_path, monkeypatch, family):
    cfg = load_config([f"cache_dir={tmp_path}"])
    monkeypatch.setattr(collision, "_decompose", lambda *a: pytest.fail("CoACD ran for a shape family"))
    params = cfg.physics.collision
    for asset in run_catalog(cfg.objects, cfg.seed, cfg.cache_dir).variants[family][:2]:
        shape = collision_shape(asset, params, tmp_path)
        closed = welded(asset.load_mesh())
        assert len(shape.parts) > 1 and all(len(part) <= params.part_vertices for part in shape.parts)
        assert inside_any(np.vstack([closed.vertices, closed.sample(1000, seed=4)]), hull_equations(shape.parts)).all()
        assert shape.volume == pytest.approx(closed.volume) and shape.path.is_file()


def test_resting_poses_are_kept_on_disk_and_a_damaged_file_is_computed_again(tmp_path):
    cfg = load_config([f"cache_dir={tmp_path}"])
    asset = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir).variants["mug"][0]
    poses = asset.resting_poses
    for transform in poses.transforms:  # each pose rests the mesh on z = 0
        assert abs(np.min(asset.load_mesh().vertices @ transform[:3, :3].T + transform[:3, 3], axis=0)[2]) < 1e-9
    path = pose_path(tmp_path.resolve(), asset.load_mesh())
    stored = np.load(path)
    np.testing.assert_array_equal(stored["transforms"], poses.transforms)
    bent, lifted = poses.transforms.copy(), poses.transforms.copy()
    bent[0, :3, :3] *= 2  # not a rotation
    lifted[-1, 2, 3] += 0.01  # a rigid pose that would float the mug 1 cm above the support
    elsewhere = tmp_path / "elsewhere.npz"
    np.savez(elsewhere, transforms=poses.transforms, probabilities=poses.probabilities, radii=poses.radii)

    def timed_out(*_):
        raise TimeoutError("reading the pose cache blocked")

    for damage in ("not a zip file", "bent", "lifted", "fifo", "link"):
        path.unlink()
        if damage in ("bent", "lifted"):
            transforms = bent if damage == "bent" else lifted
            np.savez(path, transforms=transforms, probabilities=poses.probabilities, radii=poses.radii)
        elif damage == "fifo":
            os.mkfifo(path)  # never to be waited on
        elif damage == "link":
            path.symlink_to(elsewhere)  # sound poses, but a cache file is read only as itself
        else:
            path.write_bytes(damage.encode())
        fresh = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir).variants["mug"][0]
        previous = signal.signal(signal.SIGALRM, timed_out)
        signal.alarm(60)
        try:
            np.testing.assert_array_equal(fresh.resting_poses.transforms, poses.transforms)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        assert path.is_file() and not path.is_symlink(), damage
        np.testing.assert_array_equal(np.load(path)["transforms"], poses.transforms)  # written again


@pytest.mark.slow
def test_records_name_each_shape_and_its_exact_parameters(tmp_path):
    """Each object's record names its family and the parameters its mesh was built from, to the last bit
    (test_exactness rebuilds the meshes from them and reprojects them onto the masks)."""
    out = tmp_path / "out"
    result = render_small(out, "seed=3", scenes=3)
    assert result.returncode == 0, result.stderr
    cfg = load_config(["seed=3"])
    catalog = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
    seen = 0
    for path in sorted((out / "labels").glob("*.json")):
        for obj in json.loads(path.read_text())["spec"]["objects"]:
            family, params = obj["shape"]["family"], obj["shape"]["params"]
            assert family == obj["class_name"] and obj["asset_id"].startswith(f"{family}@")
            assert sorted(params) == sorted(FAMILIES[family][0])
            recorded = Variant(family, tuple(sorted(params.items())))  # the numbers, exactly, after JSON
            assert catalog.asset(obj["asset_id"]).shape == recorded and variant_id(family, recorded) == obj["asset_id"]
            seen += 1
    assert seen > 3

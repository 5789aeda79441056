"""The drop layout: collision shapes (bounded, holding their mesh, cached), settling with PyBullet
(deterministic, at rest on the support), and the label-exactness check on the render meshes."""

import json
import multiprocessing
import subprocess
import sys
from dataclasses import replace

import cv2
import numpy as np
import pytest
import trimesh
from pycocotools import mask as coco_mask
from surfaces import deepest_overlap, depth_inside, posed_mesh, winding_number

from conftest import DEFAULT_LIMITS, REPO, dataset_files, render_small, run_cli, small_config
from scenegen.assets import collision
from scenegen.assets.catalog import build_catalog
from scenegen.assets.collision import collision_shape, convex_parts, read_parts, shape_bytes, shape_key, write_parts
from scenegen.scene.drop import support_boxes
from scenegen.scene.physics import Body, settle
from scenegen.scene.sampler import sample_scene
from scenegen.scene.spec import ObjectSpec

CONVEX = ["ball", "bottle", "box", "can", "cone"]  # meshes whose shapes are hulls: no decomposition to wait for
TOLERANCE = 0.002  # metres: no surface point of an object inside another, or below the support, deeper than this


@pytest.fixture(scope="module")
def convex_catalog():
    return build_catalog(["builtin"], CONVEX, DEFAULT_LIMITS)


def distance_outside_parts(points: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """(n,) distance from each point to the nearest of the convex parts (0 inside one), via trimesh's hulls."""
    hulls = [trimesh.convex.convex_hull(part) for part in parts]
    inside = np.zeros(len(points), bool)
    for hull in hulls:
        offsets = np.sum(hull.face_normals * hull.triangles[:, 0], axis=1)
        inside |= np.all(points @ hull.face_normals.T <= offsets + 1e-12, axis=1)
    distance = np.zeros(len(points))
    if not inside.all():  # the distances of the points inside no part (the others' minimum is 0)
        outside = points[~inside]
        distance[~inside] = np.min([trimesh.proximity.closest_point_naive(h, outside)[1] for h in hulls], axis=0)
    return distance


def air(parts: list[np.ndarray], mesh: trimesh.Trimesh) -> float:
    """The farthest a corner of the parts lies outside ``mesh`` (corners inside the mesh count 0)."""
    corners = np.vstack(parts)
    outside = winding_number(corners, mesh) < 0.5
    return float(trimesh.proximity.closest_point_naive(mesh, corners[outside])[1].max()) if outside.any() else 0.0


@pytest.mark.parametrize("name", ["ball", "bottle", "can", "cone", "box"])
def test_convex_meshes_get_one_bounded_part_that_holds_the_mesh_closely(tmp_path, catalog, name):
    cfg = small_config(tmp_path)
    mesh = catalog.asset(name).load_mesh()
    parts = convex_parts(mesh, cfg.physics.collision)
    assert len(parts) == 1 and 4 <= len(parts[0]) <= cfg.physics.collision.hull_vertices
    surface = np.vstack([mesh.vertices, trimesh.sample.sample_surface(mesh, 2000, seed=1)[0]])
    assert distance_outside_parts(surface, parts).max() < 1e-9  # the whole surface is inside
    assert air(parts, mesh) < 0.035 * np.max(mesh.extents)  # and the part hugs it: 3.5% of the size at most


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bowl", "mug"])
def test_concave_meshes_are_decomposed_and_keep_their_cavity(tmp_path, catalog, collision_cache, name):
    cfg = small_config(tmp_path)
    asset = catalog.asset(name)
    shape = collision_shape(asset, cfg.physics.collision, collision_cache)
    mesh = asset.load_mesh()
    assert 2 <= len(shape.parts) <= cfg.physics.collision.max_parts
    assert all(len(part) <= cfg.physics.collision.part_vertices for part in shape.parts)
    parts = list(shape.parts)
    assert distance_outside_parts(mesh.vertices, parts).max() < 1e-9  # every vertex is inside a part
    surface = trimesh.sample.sample_surface(mesh, 2000, seed=1)[0]
    assert distance_outside_parts(surface, parts).max() < 5e-4  # triangles between parts: within a hair
    assert air(parts, mesh) < 0.004
    lo, hi = mesh.bounds
    cavity = np.array([[(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2] + 0.6 * (hi[2] - lo[2])]])
    assert distance_outside_parts(cavity, parts)[0] > 0.01  # the inside stays open


def test_collision_shapes_are_cached_on_disk_by_content_and_parameters(tmp_path, catalog, monkeypatch):
    params = small_config(tmp_path).physics.collision
    ball = catalog.asset("ball")
    shape = collision_shape(ball, params, tmp_path / "cache")
    assert shape.path.parent == (tmp_path / "cache" / "collision").resolve()
    assert [p.name for p in shape.path.parent.iterdir()] == [shape.path.name]  # no temporary file left
    monkeypatch.setattr(collision, "_LOADED", {})  # a new process: only the disk remembers
    monkeypatch.setattr(collision, "convex_parts", lambda *a: pytest.fail("recomputed a cached shape"))
    again = collision_shape(ball, params, tmp_path / "cache")
    assert all(np.array_equal(a, b) for a, b in zip(again.parts, shape.parts, strict=True))
    mesh = ball.load_mesh()
    assert shape_key(mesh, replace(params, hull_vertices=16)) != shape_key(mesh, params)
    moved = mesh.copy()
    moved.vertices[0] += 1e-6
    assert shape_key(moved, params) != shape_key(mesh, params)


def test_a_family_shape_of_more_pieces_than_max_parts_is_read_back_from_the_cache(tmp_path, catalog, monkeypatch):
    """A family's shape has one part per piece of its own, more than CoACD's ``max_parts`` for a bowl: its
    cached file is still used, not computed again on every run."""
    params = small_config(tmp_path).physics.collision
    bowl = max(catalog.variants["bowl"], key=lambda asset: len(asset.shape.build().pieces))
    assert len(bowl.shape.build().pieces) > params.max_parts
    shape = collision_shape(bowl, params, tmp_path / "cache")
    assert len(shape.parts) == len(bowl.shape.build().pieces)
    monkeypatch.setattr(collision, "_LOADED", {})
    monkeypatch.setattr(collision, "convex_parts", lambda *a: pytest.fail("recomputed a cached family shape"))
    again = collision_shape(bowl, params, tmp_path / "cache")
    assert all(np.array_equal(a, b) for a, b in zip(again.parts, shape.parts, strict=True))


def test_a_damaged_cache_file_is_computed_again(tmp_path, catalog):
    params = small_config(tmp_path).physics.collision
    shape = collision_shape(catalog.asset("cone"), params, tmp_path / "first")
    broken = tmp_path / "second" / "collision" / shape.path.name
    broken.parent.mkdir(parents=True)
    broken.write_text("v 0 0\n")  # a crash mid-write cannot leave this (writes are renamed), a disk error might
    again = collision_shape(catalog.asset("cone"), params, tmp_path / "second")
    assert np.array_equal(read_parts(broken, shape_bytes(params))[0], shape.parts[0])
    assert np.array_equal(again.parts[0], shape.parts[0])


def _write_many(path, parts, times):
    for _ in range(times):
        write_parts(path, parts)


def test_concurrent_writers_never_leave_a_partial_file(tmp_path, catalog):
    params = small_config(tmp_path).physics.collision
    parts = convex_parts(catalog.asset("ball").load_mesh(), params)
    path = tmp_path / "collision" / "shape.obj"
    write_parts(path, parts)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_many, args=(path, parts, 30)) for _ in range(2)]
    for writer in writers:
        writer.start()
    reads = 0
    while any(w.is_alive() for w in writers) or reads < 20:
        read = read_parts(path, shape_bytes(params))  # raises on a partial file
        assert len(read) == 1 and np.array_equal(read[0], parts[0])
        reads += 1
    assert all(w.join() is None and w.exitcode == 0 for w in writers)
    assert [p.name for p in path.parent.iterdir()] == ["shape.obj"]


def test_a_dropped_box_comes_to_rest_flat_on_the_support(tmp_path, catalog):
    cfg = small_config(tmp_path, "scene.layout=drop")
    shape = collision_shape(catalog.asset("box"), cfg.physics.collision, tmp_path / "cache")
    start = trimesh.transformations.rotation_matrix(0.3, [1, 1, 0])
    start[2, 3] = 0.25
    settled = settle([Body(shape, 1.0, start)], support_boxes(cfg), cfg.physics)
    assert settled.at_rest and settled.seconds < cfg.physics.max_seconds
    box = posed_mesh(ObjectSpec(1, "box", "box", settled.poses[0].tolist(), 1.0, None), catalog)
    low = np.sort(box.vertices[:, 2])
    assert 0 <= low[0] <= TOLERANCE and low[3] - low[0] < 1e-3  # four corners down: resting on a face


@pytest.mark.slow
def test_settling_depends_on_its_inputs_only(tmp_path, convex_catalog):
    """Same bodies, same poses, byte for byte: after another simulation in this process, and in a fresh one."""
    cfg = small_config(tmp_path, "scene.layout=drop", "scene.objects_per_scene=[8,8]")
    spec = sample_scene(cfg, convex_catalog, 5)
    other = sample_scene(cfg, convex_catalog, 6)
    assert spec == sample_scene(cfg, convex_catalog, 5)
    assert spec.objects != other.objects
    overrides = ["render.width=160", "render.height=120", "scene.layout=drop", "scene.objects_per_scene=[8,8]"]
    code = (
        "import json; from scenegen.config.load import load_config; from scenegen.scene.sampler import sample_scene\n"
        "from scenegen.assets.catalog import build_catalog; from scenegen.assets.limits import MeshLimits\n"
        f"cfg = load_config({overrides!r})\n"
        f"catalog = build_catalog(['builtin'], {CONVEX!r}, MeshLimits.of(cfg.objects))\n"
        "print(json.dumps(sample_scene(cfg, catalog, 5).to_dict()))"
    )
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(fresh.stdout) == json.loads(json.dumps(spec.to_dict()))


def test_surface_check_measures_overlaps(catalog):
    """The label-exactness check itself: a box sunk 5 mm into another is found, a box 1 mm apart is not."""

    def box_at(z: float) -> trimesh.Trimesh:
        pose = trimesh.transformations.translation_matrix([0, 0, z]).tolist()
        return posed_mesh(ObjectSpec(1, "box", "box", pose, 1.0, None), catalog)

    height = catalog.asset("box").load_mesh().extents[2]
    deepest, pair = deepest_overlap([box_at(0.0), box_at(height - 0.005)])
    assert abs(deepest - 0.005) < 2e-4 and pair in ((0, 1), (1, 0))
    assert deepest_overlap([box_at(0.0), box_at(height + 0.001)])[0] == 0.0
    assert depth_inside(np.array([[0.0, 0.0, height / 2], [0.0, 0.0, -0.01]]), box_at(0.0)).tolist()[1] == 0.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "scenes"),
    [(["scene.layout=drop", "scene.objects_per_scene=[10,10]"], range(4)), (["+experiment=pile"], range(2))],
)
def test_settled_objects_never_sink_into_each_other_or_the_support(tmp_path, catalog, collision_cache, preset, scenes):
    cfg = small_config(tmp_path, *preset)
    stacked = 0
    for index in scenes:
        spec = sample_scene(cfg, catalog, index)
        assert spec.objects and spec.unplaced == 0
        meshes = [posed_mesh(o, catalog) for o in spec.objects]
        deepest, pair = deepest_overlap(meshes)
        assert deepest <= TOLERANCE, (index, pair, deepest)
        lowest = [m.vertices[:, 2].min() for m in meshes]
        assert min(lowest) >= -TOLERANCE, index
        stacked += sum(z > 0.01 for z in lowest)  # resting on another object, not on the support
    if "+experiment=pile" in preset:
        assert stacked >= 5  # a pile, not a layer


@pytest.mark.slow
def test_objects_that_leave_the_support_are_dropped_again_and_counted(tmp_path, convex_catalog):
    """A table barely wider than the drop area: objects roll or fall off it; each is dropped again (the same
    asset), and none is lost without the record saying so."""
    cfg = small_config(
        tmp_path,
        "scene.layout=drop",
        "scene.objects_per_scene=[8,8]",
        "scene.plane_size=0.5",
        "scene.placement_radius=0.24",
    )
    redropped = placed = 0
    for index in range(12):
        spec = sample_scene(cfg, convex_catalog, index)
        assert len(spec.objects) + spec.unplaced == 8
        redropped += spec.redropped
        placed += len(spec.objects)
        for obj in spec.objects:
            vertices = posed_mesh(obj, convex_catalog).vertices
            over_table = np.all(np.abs(vertices[:, :2]) <= 0.25, axis=1)  # an edge may hang over the table's rim
            assert vertices[over_table, 2].min() >= -TOLERANCE  # on the table, not in it
    assert redropped > 0 and placed > 0.9 * 12 * 8


@pytest.mark.slow
def test_a_dropped_dataset_is_the_same_whatever_the_workers_shards_and_resume(tmp_path):
    drop = ["scene.layout=drop", "scene.objects_per_scene=[6,10]"]
    reference = tmp_path / "one"
    assert render_small(reference, *drop, scenes=6).returncode == 0
    expected = dataset_files(reference)
    two = tmp_path / "two"
    assert render_small(two, *drop, "executor.workers=2", scenes=6).returncode == 0
    assert dataset_files(two) == expected
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert render_small(shard, *drop, f"shard.index={i}", "shard.count=2", scenes=6).returncode == 0
    merged = tmp_path / "merged"
    assert run_cli("merge", str(merged), *map(str, shards)).returncode == 0
    assert dataset_files(merged) == expected
    (reference / "labels" / "000004.json").unlink()  # resume: the frame is rendered again, in a new process
    assert render_small(reference, *drop, scenes=6).returncode == 0
    assert dataset_files(reference) == expected


def projected_silhouette(mesh: trimesh.Trimesh, R: np.ndarray, t: np.ndarray, K: np.ndarray, size) -> np.ndarray:
    """(h, w) bool: the pixels whose centres a mesh covers, its model points times R plus t in OpenCV camera
    axes, projected by K (pixel centres at integers). Each triangle is filled by OpenCV on a grid 5 times
    finer (whose fill includes the cells an edge touches), then read at the cell under each pixel centre."""
    width, height = size
    points = mesh.vertices @ R.T + t
    uv = points[:, :2] / points[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    fine = np.zeros((5 * height, 5 * width), np.uint8)
    for triangle in np.round((5 * uv[mesh.faces] + 2) * 256).astype(np.int32):  # pixel u's centre: cell 5u + 2
        cv2.fillConvexPoly(fine, triangle, 1, lineType=cv2.LINE_8, shift=8)
    return fine[2::5, 2::5].astype(bool)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["pile", "room"])
def test_pile_and_room_presets_render_exact_labels(tmp_path, catalog, preset):
    """Visible masks are the id image's; each object's recorded pose, projected with K, covers its amodal
    mask up to the one-pixel band along the silhouette (the poses are those rendered, objects in contact)."""
    out = tmp_path / "out"
    result = render_small(out, f"+experiment={preset}", width=160, height=120)
    assert result.returncode == 0, result.stderr
    occluded = checked = 0
    for index in range(2):
        record = json.loads((out / "labels" / f"{index:06d}.json").read_text())
        ids = cv2.imread(str(out / record["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        K = np.asarray(record["spec"]["camera"]["K"])
        assert record["counts"]["unplaced"] == 0 and len(record["spec"]["objects"]) == record["counts"]["objects"]
        scales = {o["instance_id"]: o["scale"] for o in record["spec"]["objects"]}
        for ann in record["annotations"]:
            assert ann["visible_pixels"] == int((ids == ann["instance_id"]).sum())
            if "bbox" not in ann:
                continue
            assert ann["amodal_area"] >= ann["area"] and 0 < ann["visib_fract"] <= 1
            occluded += ann["visib_fract"] < 0.9
            amodal = coco_mask.decode(ann["amodal_segmentation"]).astype(bool)
            mesh = catalog.asset(ann["asset_id"]).load_mesh().copy()
            mesh.apply_scale(scales[ann["instance_id"]])
            R = np.asarray(ann["cam_R_m2c"]).reshape(3, 3)
            expected = projected_silhouette(mesh, R, np.asarray(ann["cam_t_m2c"]), K, (160, 120))
            kernel = np.ones((3, 3), np.uint8)
            band = cv2.dilate(expected.astype(np.uint8), kernel) > cv2.erode(expected.astype(np.uint8), kernel)
            assert not np.any((amodal ^ expected) & ~band), (index, ann["instance_id"])
            assert (amodal & expected).sum() >= 0.5 * expected.sum()
            checked += 1
    assert checked >= 4
    assert occluded > (5 if preset == "pile" else 0)  # objects hide each other

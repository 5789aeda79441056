"""Scene sampling without rendering: seeds, resting poses, no interpenetration, class weights."""

import json

import numpy as np
import pytest
import trimesh
from scipy.spatial import ConvexHull

from conftest import small_config
from scenegen.scene.sampler import sample_scene
from scenegen.scene.spec import SceneSpec


def posed_vertices(obj, catalog) -> np.ndarray:
    mesh = catalog.asset(obj.asset_id).load_mesh()
    return trimesh.transform_points(mesh.vertices * obj.scale, np.asarray(obj.pose))


def footprints_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test of the convex hulls of two (n, 2) point sets."""
    for pts in (a, b):
        hull = _hull2d(pts)
        edges = np.roll(hull, -1, axis=0) - hull
        for normal in np.c_[-edges[:, 1], edges[:, 0]]:
            pa, pb = a @ normal, b @ normal
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


def _hull2d(pts: np.ndarray) -> np.ndarray:
    return pts[ConvexHull(pts).vertices]


def test_same_seed_same_spec_and_frames_differ(tmp_path, catalog):
    cfg = small_config(tmp_path)
    assert sample_scene(cfg, catalog, 3) == sample_scene(cfg, catalog, 3)
    assert sample_scene(cfg, catalog, 3) != sample_scene(cfg, catalog, 4)
    assert sample_scene(small_config(tmp_path, "seed=1"), catalog, 3) != sample_scene(cfg, catalog, 3)


def test_spec_round_trips_through_json(tmp_path, catalog):
    spec = sample_scene(small_config(tmp_path), catalog, 0)
    assert SceneSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_objects_rest_on_the_plane_without_interpenetrating(tmp_path, catalog):
    cfg = small_config(tmp_path, "scene.objects_per_scene=[6,10]", "scene.placement_radius=0.25")
    for index in range(30):
        spec = sample_scene(cfg, catalog, index)
        assert spec.objects, index
        posed = [posed_vertices(o, catalog) for o in spec.objects]
        for v in posed:
            assert abs(v[:, 2].min()) < 1e-4  # touching z = 0, not below, not floating
        for i in range(len(posed)):
            for j in range(i + 1, len(posed)):
                assert not footprints_overlap(posed[i][:, :2], posed[j][:, :2]), (index, i, j)


def test_class_weights_set_class_frequencies(tmp_path, catalog):
    cfg = small_config(
        tmp_path, "+objects.class_weights={mug:6,ball:0}", "scene.objects_per_scene=[4,4]", "scene.placement_radius=1.0"
    )
    names = [o.class_name for i in range(300) for o in sample_scene(cfg, catalog, i).objects]
    counts = {c: names.count(c) for c in catalog.classes}
    assert counts["ball"] == 0
    expected_mug = 6 / (6 + 6)  # six other classes of weight 1
    assert abs(counts["mug"] / len(names) - expected_mug) < 4 * np.sqrt(expected_mug * (1 - expected_mug) / len(names))


def test_camera_looks_at_the_objects(tmp_path, catalog):
    cfg = small_config(tmp_path)
    for index in range(20):
        spec = sample_scene(cfg, catalog, index)
        cam = np.asarray(spec.camera.pose)
        centre = np.mean([np.asarray(o.pose)[:3, 3] for o in spec.objects], axis=0)
        to_centre = centre - cam[:3, 3]
        cos = (-cam[:3, 2]) @ to_centre / np.linalg.norm(to_centre)
        assert cos > 0.98


@pytest.mark.slow
def test_shadows_are_drawn_with_their_probability(tmp_path, catalog):
    for probability in (0.0, 0.3, 1.0):
        cfg = small_config(tmp_path, f"lighting.shadow_probability={probability}", "scene.objects_per_scene=[1,1]")
        share = np.mean([sample_scene(cfg, catalog, i).shadows for i in range(200)])
        assert abs(share - probability) <= 4 * np.sqrt(probability * (1 - probability) / 200)

"""Stable resting poses (``scenegen.assets.stable``) against trimesh's own walk of the topple graph, and a
cube's, known exactly."""

import numpy as np
import pytest
import trimesh

from scenegen.assets.families import FAMILIES, build
from scenegen.assets.stable import stable_poses


def test_a_cube_rests_on_each_face_with_one_chance_in_six():
    cube = trimesh.creation.box([0.1, 0.1, 0.1])
    transforms, probabilities = stable_poses(cube, cube.center_mass)
    assert len(transforms) == 6
    np.testing.assert_allclose(probabilities, 1 / 6, rtol=1e-9)
    np.testing.assert_allclose(
        sorted(tuple(t[2, :3]) for t in transforms),
        sorted(tuple(r) for r in np.vstack([-np.eye(3), np.eye(3)])),
        atol=1e-12,
    )
    for t in transforms:
        assert trimesh.transform_points(cube.vertices, t)[:, 2].min() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("family", ["box", "can", "cone", "bowl", "mug", "torus"])
def test_poses_are_trimeshs(family):
    """The same poses and chances as ``trimesh.poses.compute_stable_poses`` on each family's base shape (the
    can's hull has flat faces whose triangles topple into each other: chains that never end)."""
    mesh = build(family, {name: p.base for name, p in FAMILIES[family][0].items()}).mesh
    expected, chances = trimesh.poses.compute_stable_poses(mesh, center_mass=mesh.center_mass)
    transforms, probabilities = stable_poses(mesh, mesh.center_mass)
    assert len(transforms) == len(expected)
    found = {tuple(np.round(t[2, :3], 9)): (t, p) for t, p in zip(transforms, probabilities, strict=True)}
    for t, p in zip(expected, chances, strict=True):
        mine, chance = found[tuple(np.round(t[2, :3], 9))]
        np.testing.assert_allclose(mine, t, atol=1e-12)
        assert chance == pytest.approx(p, abs=1e-12)

"""Camera geometry against hand computations, and the RLE decoder against pycocotools."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from scenegen.geometry import (
    GL_TO_CV,
    box_corners,
    box_keypoints,
    look_at,
    object_to_camera,
    project,
    rigid_inverse,
    world_to_camera_cv,
)
from scenegen.labels.rle import decode_rle, encode_rle, parse_counts

K = np.array([[500.0, 0.0, 319.5], [0.0, 400.0, 239.5], [0.0, 0.0, 1.0]])


def _translation(x: float, y: float, z: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = [x, y, z]
    return m


def _rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(4)
    m[:2, :2] = [[c, -s], [s, c]]
    return m


def test_camera_above_origin_looking_down_projects_by_hand() -> None:
    camera = _translation(0.0, 0.0, 2.0)  # OpenGL: looks along world -Z at the origin, image up = world +Y
    w2c = world_to_camera_cv(camera)
    points = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 1.0]])
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    np.testing.assert_allclose(cam, [[0, 0, 2], [0.1, 0, 2], [0, -0.1, 2], [0, 0, 1]], atol=1e-12)
    uv, depth = project(cam, K)
    np.testing.assert_allclose(depth, [2.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(uv[0], [319.5, 239.5])
    np.testing.assert_allclose(uv[1], [319.5 + 500.0 * 0.05, 239.5])  # +x world: to the right
    np.testing.assert_allclose(uv[2], [319.5, 239.5 - 400.0 * 0.05])  # +y world (image up): up, smaller v
    np.testing.assert_allclose(uv[3], [319.5, 239.5])


def test_look_at_camera_puts_its_target_on_the_principal_point_in_front() -> None:
    eye, target = np.array([1.0, -2.0, 1.5]), np.array([0.1, 0.2, 0.0])
    w2c = world_to_camera_cv(look_at(eye, target))
    target_cam = w2c[:3, :3] @ target + w2c[:3, 3]
    uv, depth = project(target_cam[None], K)
    np.testing.assert_allclose(uv[0], K[:2, 2], atol=1e-9)
    np.testing.assert_allclose(depth[0], np.linalg.norm(eye - target))
    above = w2c[:3, :3] @ (target + [0.0, 0.0, 0.1]) + w2c[:3, 3]  # world up looks up in the image
    assert project(above[None], K)[0][0, 1] < K[1, 2]


def test_world_to_camera_round_trip() -> None:
    camera = look_at(np.array([0.3, 0.8, 1.1]), np.zeros(3))
    w2c = world_to_camera_cv(camera)
    flip = np.eye(4)
    flip[:3, :3] = GL_TO_CV
    np.testing.assert_allclose(rigid_inverse(w2c) @ flip, camera, atol=1e-12)  # back to camera-to-world, GL axes
    np.testing.assert_allclose(w2c @ camera @ flip, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(w2c[:3, :3] @ w2c[:3, :3].T, np.eye(3), atol=1e-12)
    assert np.linalg.det(w2c[:3, :3]) == pytest.approx(1.0)


def test_object_to_camera_of_identity_poses() -> None:
    rotation, translation = object_to_camera(np.eye(4), np.eye(4))
    np.testing.assert_allclose(rotation, GL_TO_CV)  # the GL camera at the origin: y and z flip
    np.testing.assert_allclose(translation, 0.0)
    rotation, translation = object_to_camera(_translation(0.2, 0.0, -1.0), np.eye(4))
    np.testing.assert_allclose(rotation, GL_TO_CV)
    np.testing.assert_allclose(translation, [0.2, 0.0, 1.0])  # 1 m in front, 0.2 m right


def test_object_to_camera_moves_model_points_like_the_world() -> None:
    camera = look_at(np.array([0.5, -0.7, 0.9]), np.array([0.0, 0.0, 0.05]))
    pose = _translation(0.1, -0.05, 0.0) @ _rotation_z(0.7)
    rotation, translation = object_to_camera(pose, camera)
    model = np.array([[0.0, 0.0, 0.0], [0.05, 0.0, 0.0], [0.0, 0.02, 0.08]])
    world = model @ pose[:3, :3].T + pose[:3, 3]
    expected = world @ world_to_camera_cv(camera)[:3, :3].T + world_to_camera_cv(camera)[:3, 3]
    np.testing.assert_allclose(model @ rotation.T + translation, expected, atol=1e-12)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)


def test_box_corners_order_and_keypoints() -> None:
    bounds = np.array([[-1.0, -2.0, 0.0], [1.0, 2.0, 3.0]])
    corners = box_corners(bounds)
    assert corners.shape == (8, 3)
    np.testing.assert_array_equal(corners[0], bounds[0])
    np.testing.assert_array_equal(corners[7], bounds[1])
    np.testing.assert_array_equal(corners[1], [-1.0, -2.0, 3.0])  # bit 0: z
    np.testing.assert_array_equal(corners[2], [-1.0, 2.0, 0.0])  # bit 1: y
    np.testing.assert_array_equal(corners[4], [1.0, -2.0, 0.0])  # bit 2: x
    assert len({tuple(c) for c in corners}) == 8
    keypoints = box_keypoints(bounds)
    np.testing.assert_array_equal(keypoints[0], [0.0, 0.0, 1.5])
    np.testing.assert_array_equal(keypoints[1:], corners)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (48, 64), (120, 160)])
def test_decode_rle_equals_pycocotools_on_random_masks(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for density in (0.0, 0.02, 0.5, 0.98, 1.0):
        mask = rng.random(shape) < density
        if shape[0] > 4:  # long runs exercise large, negative and multi-group deltas
            mask[1 : shape[0] // 2, 1:] = rng.random() < 0.5
        fortran = np.asfortranarray(mask.astype(np.uint8))
        theirs = coco_mask.encode(fortran)
        ours = {"size": theirs["size"], "counts": theirs["counts"].decode()}
        np.testing.assert_array_equal(decode_rle(ours), coco_mask.decode(theirs).astype(bool))
        np.testing.assert_array_equal(decode_rle(encode_rle(mask)), mask)
        assert encode_rle(mask)["counts"] == ours["counts"]


def test_decode_rle_takes_uncompressed_counts_and_rejects_a_wrong_size() -> None:
    mask = np.array([[0, 1, 1], [1, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(decode_rle({"size": [2, 3], "counts": [1, 4, 1]}), mask)
    assert parse_counts(encode_rle(mask)["counts"]) == [1, 4, 1]
    with pytest.raises(ValueError, match="cover 6 pixels"):
        decode_rle({"size": [3, 3], "counts": [1, 4, 1]})

"""Normals from analytic depth images (planes, a sphere, occlusion seams) and the 8-bit PNG encoding."""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.labels.normals import MAX_RELATIVE_STEP, decode_normals, encode_normals, normals_from_depth

H, W = 240, 320
K = np.array([[300.0, 0.0, 159.5], [0.0, 280.0, 119.5], [0.0, 0.0, 1.0]])


def _rays(K: np.ndarray = K, h: int = H, w: int = W) -> np.ndarray:
    """(h, w, 3) float64 pixel rays ``K^-1 @ [u, v, 1]`` (z = 1)."""
    u, v = np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float))
    return np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(K).T


def _plane_depth(normal: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(H, W) float32 depth of the plane through ``point`` with ``normal``; every pixel must hit it in front."""
    rays = _rays()
    t = (normal @ point) / (rays @ normal)
    assert (t > 0).all()
    return t.astype(np.float32)


def _sphere(centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 depth of the sphere's near side (0 off it) and (H, W, 3) its exact normals there."""
    rays = _rays()
    b, a = rays @ centre, np.einsum("...i,...i->...", rays, rays)
    disc = b * b - a * (centre @ centre - radius * radius)
    hit = disc > 0
    t = np.where(hit, (b - np.sqrt(np.where(hit, disc, 0.0))) / a, 0.0)
    normals = (rays * t[..., None] - centre) / radius * hit[..., None]
    return t.astype(np.float32), normals


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.einsum("...i,...i->...", a, b), -1.0, 1.0)))


def _near(mask: np.ndarray, steps: int) -> np.ndarray:
    """Pixels within ``steps`` 4-neighbour steps of ``mask``."""
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def test_fronto_parallel_plane_faces_the_camera() -> None:
    normals = normals_from_depth(np.full((H, W), 2.0, np.float32), K)
    assert normals.shape == (H, W, 3) and normals.dtype == np.float32
    np.testing.assert_allclose(normals, np.broadcast_to([0.0, 0.0, -1.0], (H, W, 3)), atol=1e-4)


@pytest.mark.parametrize(
    "normal",
    [
        [0.0, np.sin(0.5), -np.cos(0.5)],  # tilted about x: floor-like
        [np.sin(-0.9), 0.0, -np.cos(-0.9)],  # tilted about y, about 52 degrees
        [0.3, -0.4, -0.866],
    ],
)
def test_tilted_plane_matches_its_normal_everywhere(normal: list[float]) -> None:
    normal = np.array(normal) / np.linalg.norm(normal)
    depth = _plane_depth(normal, np.array([0.0, 0.0, 2.0]))
    normals = normals_from_depth(depth, K)
    np.testing.assert_allclose(normals, np.broadcast_to(normal, (H, W, 3)), atol=1e-3)  # image borders included


def test_sphere_normals_are_radial_and_the_silhouette_does_not_borrow_the_background() -> None:
    centre, radius = np.array([0.1, -0.05, 2.0]), 0.5
    depth, exact = _sphere(centre, radius)
    normals = normals_from_depth(depth, K)
    hit, background = depth > 0, depth == 0
    assert (normals[background] == 0).all()
    points = _rays() * depth[..., None]
    assert (np.einsum("...i,...i->...", normals, points)[hit] < 0).all()  # towards the camera
    error = _angle_deg(normals, exact)
    interior = hit & ~_near(background, 2)
    silhouette = hit & _near(background, 1)
    assert error[interior].max() < 2.0
    # One-sided differences on a surface seen edge-on are rough; borrowing a background point (the camera
    # centre, depth 0) tilts it by over 90 degrees.
    assert silhouette.sum() > 100 and np.linalg.norm(normals[silhouette], axis=-1).min() > 0.99
    assert error[silhouette].max() < 20.0


def test_sphere_in_front_of_a_wall_is_cut_off_by_depth_alone() -> None:
    centre, radius = np.array([0.0, 0.0, 2.0]), 0.5
    sphere, exact = _sphere(centre, radius)
    depth = np.where(sphere > 0, sphere, np.float32(3.0))  # one id for all: the relative step separates them
    normals = normals_from_depth(depth, K)
    on_sphere = sphere > 0
    assert _angle_deg(normals, exact)[on_sphere].max() < 20.0
    np.testing.assert_allclose(
        normals[~on_sphere], np.broadcast_to([0.0, 0.0, -1.0], ((~on_sphere).sum(), 3)), atol=1e-4
    )


def test_planes_side_by_side_with_different_ids_keep_their_seam_untilted() -> None:
    depth = np.full((H, W), 2.0, np.float32)
    depth[:, W // 2 :] = 2.05  # a 2.5% step: only the ids tell the two surfaces apart
    ids = np.ones((H, W), np.uint16)
    ids[:, W // 2 :] = 2
    facing = np.broadcast_to([0.0, 0.0, -1.0], (H, W, 3))
    np.testing.assert_allclose(normals_from_depth(depth, K, ids), facing, atol=1e-4)
    # Without ids the seam is smeared, so the ids are what kept it clean.
    seam = _angle_deg(normals_from_depth(depth, K), facing)[:, W // 2 - 1 : W // 2 + 1]
    assert seam.min() > 10.0


def test_occlusion_step_within_one_id_is_not_smeared() -> None:
    depth = np.full((H, W), 3.0, np.float32)
    depth[60:180, 100:220] = 2.0  # a mug handle in front of its body: same id, 50% depth step
    ids = np.ones((H, W), np.uint16)
    np.testing.assert_allclose(
        normals_from_depth(depth, K, ids), np.broadcast_to([0.0, 0.0, -1.0], (H, W, 3)), atol=1e-4
    )


def test_relative_step_threshold() -> None:
    """Neighbours are linked when their depths differ by less than MAX_RELATIVE_STEP of the smaller one."""
    for step, linked in ((0.9 * MAX_RELATIVE_STEP, True), (1.1 * MAX_RELATIVE_STEP, False)):
        depth = np.full((H, W), 2.0, np.float32)
        depth[:, W // 2 :] = 2.0 * (1.0 + step)
        seam = normals_from_depth(depth, K)[H // 2, W // 2]
        assert (abs(seam[2]) < 0.999) == linked


def test_pixels_without_a_neighbour_on_an_axis_get_the_zero_normal() -> None:
    depth = np.zeros((H, W), np.float32)
    depth[10, 10] = 2.0  # isolated
    depth[50:90, 40] = 2.0  # one pixel wide: no horizontal neighbour
    depth[50:90, 60:62] = 2.0  # two pixels wide: one-sided differences
    normals = normals_from_depth(depth, K)
    assert (normals[:, :50] == 0).all()
    np.testing.assert_allclose(normals[50:90, 60:62], np.broadcast_to([0.0, 0.0, -1.0], (40, 2, 3)), atol=1e-4)
    assert (normals[depth == 0] == 0).all()


def test_normals_face_the_camera_on_rough_surfaces() -> None:
    rng = np.random.default_rng(0)
    depth = (2.0 * (1.0 + rng.uniform(-0.02, 0.02, (H, W)))).astype(np.float32)  # every neighbour linked
    skewed = K.copy()
    skewed[0, 1] = 5.0
    for k in (K, skewed):
        normals = normals_from_depth(depth, k)
        points = _rays(k) * depth[..., None]
        assert (np.einsum("...i,...i->...", normals, points) < 0).all()
        np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1.0, atol=1e-5)


def test_result_does_not_depend_on_the_image_height() -> None:
    """A crop (with its shifted K) has the same normals away from its own border: no seams between strips."""
    centre, radius = np.array([0.0, 0.0, 1.2]), 0.5
    depth, _ = _sphere(centre, radius)
    depth = np.where(depth > 0, depth, np.float32(1.5))
    full = normals_from_depth(depth, K, (depth < 1.5).astype(np.uint16))
    for top, bottom in ((0, 37), (5, 200), (101, H)):
        crop_k = K.copy()
        crop_k[1, 2] -= top
        crop = normals_from_depth(depth[top:bottom], crop_k, (depth[top:bottom] < 1.5).astype(np.uint16))
        inner = slice(1 if top else 0, bottom - top - (1 if bottom < H else 0))
        np.testing.assert_allclose(crop[inner], full[top:bottom][inner], atol=1e-5)


def test_encode_decode_round_trip() -> None:
    rng = np.random.default_rng(1)
    normals = rng.normal(size=(64, 48, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    normals[::7, ::5] = 0.0
    image = encode_normals(normals)
    assert image.shape == normals.shape and image.dtype == np.uint8
    none = ~normals.any(axis=-1)
    assert (image[none] == 0).all() and image[~none].any(axis=-1).all()
    decoded = decode_normals(image)
    assert decoded.dtype == np.float32
    assert (decoded[none] == 0).all()
    assert np.abs(decoded - normals).max() <= 1.0 / 255.0 + 1e-6
    np.testing.assert_allclose(np.linalg.norm(decoded[~none], axis=-1), 1.0, atol=np.sqrt(3.0) / 255.0)
    np.testing.assert_array_equal(encode_normals(decoded), image)


def test_encoding_of_known_normals() -> None:
    image = encode_normals(normals_from_depth(np.full((H, W), 2.0, np.float32), K))
    assert (image == [128, 128, 0]).all()
    darkest = encode_normals(np.full((1, 1, 3), -1.0 / np.sqrt(3.0), np.float32))
    assert (darkest == 54).all()
    assert (encode_normals(np.array([[[1.0, 0.0, 0.0]]], np.float32)) == [255, 128, 128]).all()

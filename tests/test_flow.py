"""Optical flow and point tracks, checked against geometry computed here independently: rays cast at the
scene's triangles (tests/raycast.py), rigid motions from the specs' poses, pinhole projection written out.
Also analytic cases without GL, and KITTI's PNG encoding read back as KITTI's devkit reads it."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from conftest import H, W, placed, scene
from raycast import cast, pixel_rays, scene_triangles
from scenegen.config.load import load_config
from scenegen.dataset.record import encode_png
from scenegen.geometry import GL_TO_CV
from scenegen.labels.flow import optical_flow
from scenegen.labels.flow_png import encode_kitti
from scenegen.labels.tracks import sample_queries, track_points
from scenegen.labels.visibility import depth_slopes
from scenegen.render.panorama import panorama_image
from scenegen.scene.frames import sample_frames
from scenegen.scene.spec import BackdropSpec, TextureSpec

SIZE = (128, 96)
# A flying scene whose objects move and spin while the camera orbits, dropped objects thrown (PyBullet), and a
# table top seen by a shaking camera.
SEQUENCES = {
    "flying": [
        "+experiment=flying",
        "scene.objects_per_scene=[8,8]",
        "sequence.object_speed=[0.2,0.4]",
        "sequence.object_spin_deg=[45,90]",
        "sequence.camera_motions=[orbit]",
    ],
    "thrown": [  # dropped, then thrown: PyBullet's poses, objects in flight over the first frames
        "scene.layout=drop",
        "camera.distance=[0.6,0.8]",
        "sequence.camera_motions=[static]",
        "sequence.throw_speed=[1.0,2.0]",
        "sequence.fps=96",  # small motion per frame, as in the flying case: the inverse test is first-order exact
    ],
    "tabletop": [
        "+experiment=tabletop",
        "camera.distance=[0.6,0.8]",
        "sequence.camera_motions=[handheld]",
        "sequence.handheld_shift=[0.01,0.02]",
    ],
}


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # rays that hit nothing: infinite points, left out later
        return points @ transform[:3, :3].T + transform[:3, 3]


def to_pixels(spec, world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (n, 2) and depths (n,) of world points (n, 3), the pinhole model written out."""
    pose = np.asarray(spec.camera.pose)
    in_gl = (world - pose[:3, 3]) @ pose[:3, :3]  # world -> camera (OpenGL axes)
    x, y, z = in_gl[:, 0], -in_gl[:, 1], -in_gl[:, 2]  # OpenCV axes: y down, z forward
    K = np.asarray(spec.camera.K)
    return np.stack([K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]], axis=-1), z


def moved(a, b, instance_id: int, world: np.ndarray) -> np.ndarray:
    """World points on object ``instance_id`` (0: fixed) moved from frame ``a`` to frame ``b``."""
    if instance_id == 0:
        return world
    pose = {s.index: {o.instance_id: np.asarray(o.pose) for o in s.objects} for s in (a, b)}
    local = transform_points(np.linalg.inv(pose[a.index][instance_id]), world)
    return transform_points(pose[b.index][instance_id], local)


@pytest.fixture(scope="module", params=sorted(SEQUENCES))
def sequence(request, catalog):
    """(specs, renders) of a 4-frame sequence at 128x96, rendered with one GL context."""
    from scenegen.render.renderer import SceneRenderer

    overrides = [*SEQUENCES[request.param], "sequence.frames=4", f"render.width={SIZE[0]}", f"render.height={SIZE[1]}"]
    specs = sample_frames(load_config(overrides), catalog, 1)
    renderer = SceneRenderer(catalog, *SIZE)
    try:
        renders = [renderer.render(spec) for spec in specs]
    finally:
        renderer.close()
    return specs, renders


def flows(specs, renders, t):
    a, b = renders[t], renders[t + 1]
    fw, fw_occ = optical_flow(specs[t], specs[t + 1], a.depth, a.ids, b.depth, b.ids, depth_slopes(b.depth))
    bw, bw_occ = optical_flow(specs[t + 1], specs[t], b.depth, b.ids, a.depth, a.ids, depth_slopes(a.depth))
    return fw, fw_occ, bw, bw_occ


def visible_points(specs, renders, t, catalog):
    """Object pixels of frame t, their surface points by ray casting moved to frame t + 1 (world), where those
    land there (pixels, depths), and whether frame t + 1's camera sees each point first (ray casting)."""
    a, b = specs[t], specs[t + 1]
    ids = renders[t].ids
    rows, cols = np.nonzero(ids)
    origin, rays = pixel_rays(a, np.stack([cols, rows], axis=-1).astype(float))
    depth, _ = cast(origin, rays, scene_triangles(a, catalog)[0])
    world = np.empty((len(rows), 3))
    for k in np.unique(ids[rows, cols]):
        chosen = ids[rows, cols] == k
        world[chosen] = moved(a, b, int(k), origin + depth[chosen, None] * rays[chosen])
    uv, z = to_pixels(b, world)
    eye = np.asarray(b.camera.pose)[:3, 3]
    first, _ = cast(eye, world - eye, scene_triangles(b, catalog)[0])  # 1 when the point itself is hit first
    pixel = np.floor(uv + 0.5)
    inside = (z > 0) & np.all((pixel >= 0) & (pixel < SIZE), axis=1)
    return rows, cols, world, np.where(inside[:, None], pixel, 0).astype(int), inside & (first > 1 - 1e-6)


@pytest.mark.slow
def test_forward_flow_warps_next_ids_onto_these(sequence, catalog):
    """Frame t + 1's ids read at p + fw(p) equal frame t's at p on >= 99.9% of the object pixels whose
    surface point frame t + 1 sees (ray casting) and that land at least a pixel away from any id boundary
    (so the test says nothing about which id: only the flow decides where the point lands)."""
    specs, renders = sequence
    for t in range(len(specs) - 1):
        fw, _, _, _ = flows(specs, renders, t)
        ids, following = renders[t].ids, renders[t + 1].ids
        rows, cols, _, pixel, visible = visible_points(specs, renders, t, catalog)
        padded = np.pad(following, 1, mode="edge")
        window = np.stack([padded[pixel[:, 1] + dy, pixel[:, 0] + dx] for dy in range(3) for dx in range(3)])
        interior = visible & np.all(window == window[0], axis=0)
        assert interior.sum() >= 0.5 * len(rows)
        target = np.floor(np.stack([cols, rows], axis=-1) + fw[rows, cols] + 0.5).astype(int)[interior]
        warped = following[target[:, 1], target[:, 0]]
        assert np.mean(warped == ids[rows[interior], cols[interior]]) >= 0.999


@pytest.mark.slow
def test_flow_is_where_ray_cast_surface_points_go(sequence, catalog):
    """Every pixel: its surface point by ray casting (or its direction, for the backdrop), moved with the
    specs' poses and projected with frame t + 1's camera, lands at pixel + flow within 0.01 px."""
    specs, renders = sequence
    for t in range(len(specs) - 1):
        a, b = specs[t], specs[t + 1]
        fw, _, _, _ = flows(specs, renders, t)
        triangles, owner = scene_triangles(a, catalog)
        rows, cols = np.mgrid[0 : SIZE[1], 0 : SIZE[0]].reshape(2, -1)
        origin, rays = pixel_rays(a, np.stack([cols, rows], axis=-1).astype(float))
        depth, hit = cast(origin, rays, triangles)
        ids = renders[t].ids[rows, cols]
        rendered = renders[t].depth[rows, cols]
        on_surface = (hit >= 0) & (owner[np.maximum(hit, 0)] == ids) & (np.abs(depth - rendered) < 1e-3 * depth)
        assert np.mean(on_surface | (hit < 0)) > 0.98
        checked = 0
        for k in np.unique(ids[on_surface]):
            chosen = on_surface & (ids == k)
            world = moved(a, b, int(k), origin + depth[chosen, None] * rays[chosen])
            uv, z = to_pixels(b, world)
            front = z > 0
            error = np.linalg.norm(np.stack([cols, rows], -1)[chosen] + fw[rows[chosen], cols[chosen]] - uv, axis=1)
            assert error[front].max() < 0.01, (k, error.max())
            checked += front.sum()
        backdrop = (hit < 0) & (renders[t].depth[rows, cols] == 0)
        far, z = to_pixels(b, np.asarray(b.camera.pose)[:3, 3] + 1e6 * rays[backdrop])  # directions: far away
        error = np.linalg.norm(np.stack([cols, rows], -1)[backdrop] + fw[rows[backdrop], cols[backdrop]] - far, axis=1)
        assert backdrop.sum() > 0 and error[z > 0].max() < 0.01
        assert checked > 0.9 * np.count_nonzero(renders[t].depth)


@pytest.mark.slow
def test_occlusion_mask_agrees_with_ray_cast_correspondence(sequence, catalog):
    """Not occluded = frame t + 1 shows the surface point in the pixel it lands in: it is the first hit of
    rays cast from that camera, and the ray of that pixel hits the same object."""
    specs, renders = sequence
    agree = total = false_visible = 0
    for t in range(len(specs) - 1):
        _, occluded, _, _ = flows(specs, renders, t)
        rows, cols, _, pixel, visible = visible_points(specs, renders, t, catalog)
        triangles, owner = scene_triangles(specs[t + 1], catalog)
        _, shown = cast(*pixel_rays(specs[t + 1], pixel.astype(float)), triangles)
        truth = visible & (shown >= 0) & (owner[np.maximum(shown, 0)] == renders[t].ids[rows, cols])
        ours = ~occluded[rows, cols]
        agree += np.sum(truth == ours)
        false_visible += np.sum(ours & ~truth)
        total += len(rows)
    assert agree / total >= 0.95 and false_visible / total < 0.01


@pytest.mark.slow
def test_forward_and_backward_flow_are_inverse(sequence):
    """p + fw(p) = q and q + bw(q) = p within 0.01 px, bw read at q bilinearly where that is exact to first
    order: the four pixels around q lie on one plane (their inverse depths are affine) of what p shows, and
    none is occluded."""
    specs, renders = sequence
    checked = 0
    for t in range(len(specs) - 1):
        fw, fw_occ, bw, bw_occ = flows(specs, renders, t)
        ids, following, depth = renders[t].ids, renders[t + 1].ids, renders[t + 1].depth.astype(float)
        rows, cols = np.nonzero((renders[t].depth > 0) & ~fw_occ)  # objects, and the fixed plane and distractors
        q = np.stack([cols, rows], axis=-1) + fw[rows, cols]
        x0, y0 = np.floor(q[:, 0]).astype(int), np.floor(q[:, 1]).astype(int)
        fit = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < SIZE[0]) & (y0 + 1 < SIZE[1])
        rows, cols, q, x0, y0 = rows[fit], cols[fit], q[fit], x0[fit], y0[fit]
        corners = [(y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)]
        usable = np.ones(len(rows), bool)
        for r, c in corners:
            usable &= (following[r, c] == ids[rows, cols]) & ~bw_occ[r, c] & (depth[r, c] > 0)
        inverse = [1.0 / np.where(usable, depth[r, c], 1.0) for r, c in corners]
        usable &= np.abs(inverse[0] + inverse[3] - inverse[1] - inverse[2]) < 1e-6 * inverse[0]  # planar
        fx, fy = (q[:, 0] - x0)[:, None], (q[:, 1] - y0)[:, None]
        weights = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy]
        back = sum(w * bw[r, c] for w, (r, c) in zip(weights, corners, strict=True))
        error = np.linalg.norm(q + back - np.stack([cols, rows], axis=-1), axis=1)[usable]
        assert error.max() < 0.01
        checked += usable.sum()
    assert checked >= 100


@pytest.mark.slow
def test_tracks_follow_ray_cast_surface_points_and_their_occlusion(sequence, catalog):
    """Tracks land where the ray-cast surface point under each query goes (0.01 px), and are occluded when a
    nearer surface covers that point: outside the image, or the ray from the camera to the point hits
    something first. Compared where the pixel the point lands in agrees: its own ray hits the point's object
    when nothing is in front, and another surface when something is (a silhouette inside the pixel is
    ambiguous at pixel resolution: at most 10% of the points)."""
    specs, renders = sequence
    depths = [r.depth for r in renders]
    queries = sample_queries(np.random.default_rng(0), renders[0].ids, 300)
    tracks = track_points(specs, depths, [depth_slopes(d) for d in depths], renders[0].ids, queries)
    assert tracks.target_points.shape == (len(queries), len(specs), 2) and tracks.occluded.shape[1] == len(specs)
    assert np.array_equal(tracks.query_points[:, 1:], queries[:, ::-1]) and not tracks.occluded[:, 0].any()
    origin, rays = pixel_rays(specs[0], queries.astype(float))
    depth, hit = cast(origin, rays, scene_triangles(specs[0], catalog)[0])
    assert (hit >= 0).all()
    start = origin + depth[:, None] * rays
    agree = compared = 0
    for t, spec in enumerate(specs):
        world = np.empty_like(start)
        for k in np.unique(tracks.instance_ids):
            chosen = tracks.instance_ids == k
            world[chosen] = moved(specs[0], spec, int(k), start[chosen])
        uv, z = to_pixels(spec, world)
        front = z > 0
        assert np.abs(tracks.target_points[front, t] - uv[front]).max() < 0.01
        triangles, owner = scene_triangles(spec, catalog)
        eye = np.asarray(spec.camera.pose)[:3, 3]
        first, _ = cast(eye, world - eye, triangles)
        pixel = np.floor(uv + 0.5)
        inside = front & np.all((pixel >= 0) & (pixel < SIZE), axis=1)
        _, shown = cast(*pixel_rays(spec, np.where(inside[:, None], pixel, 0.0)), triangles)
        own = inside & (shown >= 0) & (owner[np.maximum(shown, 0)] == tracks.instance_ids)
        covered = first < 1 - 1e-6
        hidden = ~inside | covered
        clear = ~inside | (covered & ~own) | (~covered & own)
        assert clear.mean() >= 0.9
        agree += np.sum((hidden == tracks.occluded[:, t]) & clear)
        compared += clear.sum()
    assert agree / compared >= 0.98


def test_camera_rotation_moves_the_backdrop_by_its_homography():
    """No GL: a camera turning about its centre sees points at infinity move by K R K^-1."""
    a = scene([], eye=[1.0, 0.0, 0.3], target=[0.0, 0.0, 0.3])
    a = dataclasses.replace(a, backdrop=dataclasses.replace(a.backdrop, at_infinity=True))
    turn = np.radians(3.0)
    pose = np.asarray(a.camera.pose)
    yaw = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
    rotated = pose.copy()
    rotated[:3, :3] = yaw @ pose[:3, :3]
    b = dataclasses.replace(a, index=1, camera=dataclasses.replace(a.camera, pose=rotated.tolist()))
    empty = np.zeros((H, W))
    none = empty.astype(np.uint16)
    flow, occluded = optical_flow(a, b, empty, none, empty, none, depth_slopes(empty))
    K = np.asarray(a.camera.K)
    relative = GL_TO_CV @ rotated[:3, :3].T @ pose[:3, :3] @ GL_TO_CV  # camera a -> camera b, OpenCV axes
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    p = np.stack([u, v, np.ones_like(u)], -1) @ (K @ relative @ np.linalg.inv(K)).T
    assert np.abs(flow - (p[..., :2] / p[..., 2:] - np.stack([u, v], -1))).max() < 1e-4
    assert np.abs(flow[..., 0]).min() > 1.0  # a 3 degree yaw moves everything sideways
    x, y = np.floor(p[..., 0] / p[..., 2] + 0.5), np.floor(p[..., 1] / p[..., 2] + 0.5)
    assert np.array_equal(occluded, (x < 0) | (x >= W) | (y < 0) | (y >= H))  # leaves the image


def test_translating_object_flow_no_gl():
    """No GL: a square facing the camera at depth 1 m slides 1 cm to the right: its pixels move by fx * 0.01."""
    a = scene([placed(1, "box", [0.0, 0.0, 0.0])], eye=[0.0, -1.0, 0.0], target=[0.0, 0.0, 0.0])
    shifted = np.asarray(a.objects[0].pose)
    shifted[0, 3] += 0.01  # world +x is the camera's right (it looks along +y with z up)
    b = dataclasses.replace(a, index=1, objects=[dataclasses.replace(a.objects[0], pose=shifted.tolist())])
    K = np.asarray(a.camera.K)
    depth = np.zeros((H, W))
    ids = np.zeros((H, W), np.uint16)
    depth[40:80, 60:100], ids[40:80, 60:100] = 1.0, 1
    moved_depth = np.zeros((H, W))
    moved_depth[40:80, 60:100] = 1.0  # frame b's depth and ids: as if the object had not moved
    flow, occluded = optical_flow(a, b, depth, ids, moved_depth, ids, depth_slopes(moved_depth))
    shift = K[0, 0] * 0.01
    assert np.allclose(flow[ids == 1], [shift, 0.0], atol=1e-9)
    assert np.all(flow[ids == 0] == 0)  # static camera: backdrop still
    past = np.floor(np.arange(60, 100) + shift + 0.5) >= 100  # columns that slide past the square of frame b
    assert past.sum() > 0 and occluded[ids == 1].sum() == 40 * past.sum()


def test_kitti_png_reads_back_as_kitti_devkit_reads_it(tmp_path):
    rng = np.random.default_rng(0)
    flow = rng.uniform(-300, 300, (7, 9, 2)).astype(np.float32)
    valid = rng.random((7, 9)) < 0.5
    flow[0, 0] = [600.0, 0.0]  # outside KITTI's range: stored as invalid
    path = tmp_path / "flow.png"
    path.write_bytes(encode_png(encode_kitti(flow, valid)))
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # the devkit's flow_read: BGR, 16 bit
    assert raw.dtype == np.uint16
    u, v, ok = (raw[..., 2].astype(float) - 2**15) / 64, (raw[..., 1].astype(float) - 2**15) / 64, raw[..., 0] > 0
    expected = valid.copy()
    expected[0, 0] = False
    assert np.array_equal(ok, expected)
    assert np.abs(u - flow[..., 0])[1:].max() <= 1 / 128 and np.abs(v - flow[..., 1]).max() <= 1 / 128


def test_backdrop_at_infinity_moves_by_its_flow():
    """No GL: the panorama seen by a camera that turns and moves, warped back by the backdrop's flow,
    gives the first view again (a smooth texture, so bilinear sampling is close); unwarped, it does not."""
    a = scene([], eye=[1.0, 0.0, 0.3], target=[0.0, 0.0, 0.3])
    texture = TextureSpec("gradient", 7, [[0.9, 0.1, 0.1], [0.1, 0.2, 0.9]], 256)
    backdrop = BackdropSpec([0.5, 0.5, 0.5], texture, at_infinity=True)
    a = dataclasses.replace(a, backdrop=backdrop)
    pose = np.asarray(a.camera.pose)
    turn = np.radians(4.0)
    moved_pose = pose.copy()
    yaw = np.array([[np.cos(turn), -np.sin(turn), 0], [np.sin(turn), np.cos(turn), 0], [0, 0, 1]])
    moved_pose[:3, :3] = yaw @ pose[:3, :3]
    moved_pose[:3, 3] += [0.3, -0.2, 0.1]  # translation does not move what is at infinity
    b = dataclasses.replace(a, index=1, camera=dataclasses.replace(a.camera, pose=moved_pose.tolist()))
    first, second = (panorama_image(s.backdrop, s.camera).astype(np.float32) for s in (a, b))
    empty = np.zeros((H, W))
    none = empty.astype(np.uint16)
    flow, occluded = optical_flow(a, b, empty, none, empty, none, depth_slopes(empty))
    u, v = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    warped = cv2.remap(second, u + flow[..., 0], v + flow[..., 1], cv2.INTER_LINEAR)
    kept = ~occluded
    kept[:, [0, -1]] = kept[[0, -1], :] = False
    assert kept.mean() > 0.8
    assert np.abs(warped - first)[kept].mean() < 1.0 < np.abs(second - first)[kept].mean()

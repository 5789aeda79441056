"""Real headless renders: the id image against geometry, occlusion, and the camera convention."""

from dataclasses import replace

import numpy as np
import pytest
import trimesh

from conftest import GREY, H, W, placed, scene
from scenegen.geometry import look_at
from scenegen.labels.masks import instance_annotations
from scenegen.scene.spec import DistractorSpec, LightSpec, PlaneSpec, SceneSpec


def test_hidden_object_gets_no_annotation(renderer):
    ball = placed(2, "ball", [0.0, 0.4, 0.0])
    wall = placed(1, "box", [0.0, 0.0, 0.0], scale=3.0)  # 0.45 x 0.30 x 0.18 m, between camera and ball
    eye, target = [0.0, -0.6, 0.05], [0.0, 0.4, 0.05]
    alone = renderer.render(scene([ball], eye, target))
    assert instance_annotations(alone.ids, 2, 1)[1]["visible_pixels"] > 100  # the ball is in view
    both = renderer.render(scene([wall, ball], eye, target))
    anns = instance_annotations(both.ids, 2, 1)
    assert anns[0]["visible_pixels"] > 0 and "bbox" in anns[0]
    assert anns[1]["visible_pixels"] == 0 and "bbox" not in anns[1]


def test_id_image_matches_projected_box_silhouette(renderer, catalog):
    """A box's silhouette is the convex hull of its projected corners: pixels whose centres lie inside."""
    box = placed(1, "box", [0.02, -0.01, 0.0], scale=2.0)
    spec = scene([box], eye=[0.3, -0.5, 0.45], target=[0.0, 0.0, 0.05])
    ids = renderer.render(spec).ids
    corners = trimesh.bounds.corners(catalog.asset("box").load_mesh().bounds) * box.scale
    world = trimesh.transform_points(corners, np.asarray(box.pose))
    cam = np.linalg.inv(np.asarray(spec.camera.pose))
    pts = trimesh.transform_points(world, cam) * [1, -1, -1]  # OpenGL -> OpenCV camera axes
    uv = (np.asarray(spec.camera.K) @ pts.T).T
    uv = uv[:, :2] / uv[:, 2:]
    hull = uv[_hull(uv)]
    expected = _inside_convex(hull, W, H)
    mismatch = np.logical_xor(expected, ids == 1)
    perimeter = np.sum(np.linalg.norm(np.diff(np.vstack([hull, hull[:1]]), axis=0), axis=1))
    assert expected.sum() > 500
    assert mismatch.sum() <= 0.05 * perimeter  # a half-pixel offset would break about half the edge


def test_ids_are_exact_instance_values(renderer):
    objects = [placed(k + 1, a, [0.15 * k - 0.15, 0.0, 0.0]) for k, a in enumerate(["ball", "can", "cone"])]
    ids = renderer.render(scene(objects, eye=[0.0, -0.6, 0.4], target=[0.0, 0.0, 0.05])).ids
    assert ids.dtype == np.uint16
    assert set(np.unique(ids).tolist()) == {0, 1, 2, 3}


def _hull(points: np.ndarray) -> np.ndarray:
    """Indices of the 2D convex hull, counter-clockwise (monotone chain)."""
    order = np.lexsort((points[:, 1], points[:, 0]))

    def turns_left(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]) > 0

    def half(idx):
        chain = []
        for i in idx:
            while len(chain) >= 2 and not turns_left(points[chain[-2]], points[chain[-1]], points[i]):
                chain.pop()
            chain.append(i)
        return chain

    lower, upper = half(order), half(order[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _inside_convex(hull: np.ndarray, w: int, h: int) -> np.ndarray:
    """(h, w) bool: pixel centres (integer coordinates) inside the counter-clockwise polygon."""
    v, u = np.mgrid[0:h, 0:w]
    inside = np.ones((h, w), bool)
    for a, b in zip(hull, np.roll(hull, -1, axis=0), strict=True):
        inside &= (b[0] - a[0]) * (v - a[1]) - (b[1] - a[1]) * (u - a[0]) >= 0
    return inside


def test_antialiasing_changes_colour_only_on_the_edge_band(renderer, catalog):
    """With MSAA on, colour and the exact id image disagree only within one pixel of an id edge.

    Convex objects, so that every silhouette edge is an id edge (a mug's handle in front of its own
    body is an edge inside one instance, which MSAA smooths too)."""
    objects = [placed(k + 1, a, [0.12 * k - 0.12, 0.0, 0.0]) for k, a in enumerate(["ball", "box", "cone"])]
    spec = scene(objects, eye=[0.1, -0.5, 0.35], target=[0.0, 0.0, 0.05])
    spec = SceneSpec(**{**spec.__dict__, "lights": [LightSpec("directional", [1, 1, 1], 3.0, spec.camera.pose)]})
    plain = renderer.render(spec)
    smooth = renderer.render(spec, antialias=True)
    assert np.array_equal(smooth.ids, plain.ids)  # the id pass is never anti-aliased
    changed = np.any(smooth.color != plain.color, axis=2)
    padded = np.pad(plain.ids, 1, mode="edge")
    window = [padded[1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    edge_band = np.any([w != plain.ids for w in window], axis=0)
    assert changed.sum() > 50  # anti-aliasing really happened
    assert not np.any(changed & ~edge_band)


def test_distractor_hides_an_object_and_stays_unlabelled(renderer):
    ball = placed(1, "ball", [0.0, 0.4, 0.0])
    eye, target = [0.0, -0.6, 0.05], [0.0, 0.4, 0.05]
    pose = trimesh.transformations.translation_matrix([0.0, 0.0, 0.1]).tolist()
    wall = DistractorSpec("box", pose, [0.4, 0.05, 0.3], GREY)
    alone = renderer.render(scene([ball], eye, target))
    assert np.count_nonzero(alone.ids == 1) > 100
    hidden = renderer.render(SceneSpec(**{**scene([ball], eye, target).__dict__, "distractors": [wall]}))
    assert np.count_nonzero(hidden.ids == 1) == 0  # fully behind the distractor: no annotation
    assert np.count_nonzero(hidden.depth > 0) > np.count_nonzero(alone.depth > 0)  # the distractor is drawn
    assert set(np.unique(hidden.ids).tolist()) == {0}  # and never labelled


def test_shadows_darken_the_plane_under_an_object_and_leave_the_labels_alone(renderer):
    """A box hovering 10 cm over the plane, lit from straight above: with shadows on, the plane under it
    darkens and the plane far from it does not; the id image is the same either way."""
    box = placed(1, "box", [0.0, 0.0, 0.1])
    spec = scene([box], eye=[0.6, 0.0, 0.5], target=[0.0, 0.0, 0.0])
    sun = LightSpec("directional", [1.0, 1.0, 1.0], 3.0, look_at(np.array([0.0, 0.0, 2.0]), np.zeros(3)).tolist())
    spec = replace(spec, lights=[sun], plane=PlaneSpec(2.0, GREY), ambient_light=[0.1, 0.1, 0.1])
    lit = renderer.render(spec)
    shaded = renderer.render(replace(spec, shadows=True))
    assert np.array_equal(shaded.ids, lit.ids) and np.array_equal(shaded.depth, lit.depth)
    (u, v), (far_u, far_v) = [
        project(np.asarray(spec.camera.K), spec.camera.pose, p) for p in ([0, 0, 0], [0.25, 0.3, 0])
    ]
    assert lit.ids[v, u] == 0 and lit.depth[v, u] > 0  # the plane under the box is in view
    under_lit, under_shaded = lit.color[v, u].astype(int).sum(), shaded.color[v, u].astype(int).sum()
    assert under_shaded < 0.5 * under_lit
    assert np.abs(shaded.color[far_v, far_u].astype(int) - lit.color[far_v, far_u]).max() <= 2


def project(K: np.ndarray, camera_pose, point) -> tuple[int, int]:
    """The pixel (column, row) of world ``point`` seen by a camera at ``camera_pose`` (OpenGL axes)."""
    in_camera = np.linalg.inv(np.asarray(camera_pose)) @ np.r_[point, 1.0]
    x, y, z = in_camera[0], -in_camera[1], -in_camera[2]  # OpenGL to OpenCV axes
    return int(round(K[0, 0] * x / z + K[0, 2])), int(round(K[1, 1] * y / z + K[1, 2]))


def test_binding_empty_shadow_slots_changes_no_pixel(renderer, monkeypatch):
    """The spare shadow map bound to absent lights' slots (to spare llvmpipe shader recompiles) is never
    read: a shadowed frame with a textured object, a spot light and a directional light is the same with
    pyrender's own binding."""
    import pyrender

    from scenegen.render import renderer as renderer_module
    from scenegen.render import shadows
    from scenegen.scene.spec import TextureSpec

    checker = TextureSpec("checker", 3, [[0.9, 0.2, 0.1], [0.1, 0.3, 0.9]], 64)
    box = replace(placed(1, "box", [0.0, 0.0, 0.05]), material=replace(GREY, texture=checker))
    spec = scene([box, placed(2, "ball", [0.12, 0.05, 0.0])], eye=[0.5, -0.2, 0.45], target=[0.0, 0.0, 0.0])
    sun = LightSpec("directional", [1.0, 1.0, 1.0], 3.0, look_at(np.array([0.3, 0.2, 2.0]), np.zeros(3)).tolist())
    spot_pose = look_at(np.array([-0.4, 0.3, 0.9]), np.zeros(3)).tolist()
    spot = LightSpec("spot", [1.0, 0.9, 0.8], 8.0, spot_pose, 0.2, 0.6)
    spec = replace(spec, lights=[sun, spot], plane=PlaneSpec(2.0, GREY), shadows=True)
    patched = renderer.render(spec)
    monkeypatch.setattr(renderer_module, "bind_empty_shadow_slots", lambda: None)
    monkeypatch.setattr(pyrender.renderer.Renderer, "_bind_lighting", shadows._unpatched_bind_lighting)
    plain = renderer.render(spec)
    assert np.array_equal(patched.color, plain.color)
    assert np.count_nonzero(patched.ids == 1) > 100  # the textured box is in view


@pytest.mark.slow
def test_shadow_filter_has_pyrender_look_and_changes_no_label(renderer, monkeypatch):
    """scenegen's 4 hardware-filtered comparisons against pyrender's 36 reads (its own shader, its lights'
    maps): a shadowed frame with a spot and a directional light is within a level of pyrender's colour,
    and its ids, depth and amodal masks are the unshadowed frame's. Unshadowed frames keep pyrender's
    shader, byte for byte."""
    import pyrender

    from scenegen.render import renderer as renderer_module

    objects = [placed(1, "box", [0.0, 0.0, 0.06]), placed(2, "ball", [0.1, 0.05, 0.0]), placed(3, "can", [-0.1, 0, 0])]
    spec = scene(objects, eye=[0.5, -0.2, 0.45], target=[0.0, 0.0, 0.0])
    sun = LightSpec("directional", [1.0, 1.0, 1.0], 3.0, look_at(np.array([0.4, 0.2, 2.0]), np.zeros(3)).tolist())
    spot = LightSpec("spot", [1.0, 0.9, 0.8], 8.0, look_at(np.array([-0.4, 0.3, 0.9]), np.zeros(3)).tolist(), 0.2, 0.6)
    spec = replace(spec, lights=[sun, spot], plane=PlaneSpec(2.0, GREY), ambient_light=[0.1, 0.1, 0.1])
    groups = [[1], [2, 3]]
    ours, lit = renderer.render(replace(spec, shadows=True), alone=groups), renderer.render(spec, alone=groups)
    monkeypatch.setattr(renderer_module, "use_shadow_shaders", lambda offscreen: None)
    monkeypatch.setattr(renderer_module, "DirectionalLight", pyrender.DirectionalLight)
    monkeypatch.setattr(renderer_module, "SpotLight", pyrender.SpotLight)
    theirs, their_lit = renderer.render(replace(spec, shadows=True)), renderer.render(spec)
    assert np.array_equal(ours.ids, lit.ids) and np.array_equal(ours.depth, lit.depth)
    assert all(np.array_equal(a, b) for a, b in zip(ours.alone, lit.alone, strict=True))
    darker = ours.color.astype(int).sum(axis=2) < lit.color.astype(int).sum(axis=2) - 30
    assert np.count_nonzero(darker) > 500  # shadows are drawn (of 160 x 120 pixels)
    assert np.abs(ours.color.astype(int) - theirs.color).max() <= 1
    assert np.array_equal(lit.color, their_lit.color)

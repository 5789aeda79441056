"""The full label set against geometry: amodal masks, visibility, truncation, poses, keypoints, depth,
normals; and the export formats built from the records."""

import contextlib
import io
import json

import cv2
import numpy as np
import pytest
import trimesh
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from conftest import H, W, placed, render_small, run_cli, scene
from scenegen.config.load import load_config
from scenegen.geometry import intrinsics
from scenegen.labels.annotate import amodal_crops, amodal_groups, annotate, group_regions, project_objects
from scenegen.labels.masks import disjoint_groups
from scenegen.labels.normals import decode_normals
from scenegen.labels.rle import decode_rle
from scenegen.scene.frames import sample_frames
from scenegen.scene.spec import BackdropSpec, CameraSpec, SceneSpec

BOX = (0.15, 0.10, 0.06)  # the built-in box's extents in metres (x, y, z), resting on z = 0


def labelled(renderer, catalog, spec):
    """Render ``spec`` with its amodal passes and annotate it, as the pipeline does."""
    projections = project_objects(spec, catalog)
    groups = amodal_groups(spec, projections)
    out = renderer.render(spec, alone=groups)
    return out, annotate(spec, out.ids, out.depth, catalog, 1, amodal_crops(groups, out.alone), projections)


def top_down(objects, height: float = 1.0, fov: float = 50.0) -> SceneSpec:
    """A camera at (0, 0, height) looking straight down -Z, image +y along world -Y: OpenCV camera
    coordinates of a world point are (X, -Y, height - Z)."""
    camera = CameraSpec(
        W,
        H,
        intrinsics(W, H, fov).tolist(),
        trimesh.transformations.translation_matrix([0, 0, height]).tolist(),
        0.01,
        20.0,
    )
    return SceneSpec(0, 0, camera, objects, [], BackdropSpec([0.0, 0.0, 0.0]), [1.0, 1.0, 1.0])


def test_object_alone_amodal_equals_visible(renderer, catalog):
    spec = scene([placed(1, "mug", [0.0, 0.0, 0.0])], eye=[0.3, -0.4, 0.3], target=[0.0, 0.0, 0.04])
    out, (ann,) = labelled(renderer, catalog, spec)
    amodal = decode_rle(ann["amodal_segmentation"])
    assert np.array_equal(amodal, out.ids == 1)
    assert ann["visib_fract"] == 1.0 and ann["amodal_bbox"] == ann["bbox"] and not ann["truncated"]


@pytest.mark.slow
@pytest.mark.parametrize("antialias", [False, True])
def test_amodal_passes_where_something_may_hide_read_in_regions_equal_passes_of_all(renderer, catalog, antialias):
    """Sampled scenes (distractors, the plane), labelled as the pipeline does: a pass only for the objects
    that something may hide, read back in its group's region; the labels are those of a pass for every
    object read whole, and both kinds of object occur."""
    cfg = load_config([f"render.width={W}", f"render.height={H}", "scene.objects_per_scene=[8,8]", "seed=3"])
    skipped = drawn = 0
    for index in range(3):
        (spec,) = sample_frames(cfg, catalog, index)
        projections = project_objects(spec, catalog)
        every = [[spec.objects[i].instance_id for i in g] for g in disjoint_groups([p.box for p in projections])]
        groups = amodal_groups(spec, projections)
        whole = renderer.render(spec, antialias, alone=every)
        lean = renderer.render(spec, antialias, alone=groups, regions=group_regions(spec, groups, projections))
        assert np.array_equal(whole.ids, lean.ids)
        expected = annotate(spec, whole.ids, whole.depth, catalog, 1, amodal_crops(every, whole.alone), projections)
        assert (
            annotate(spec, lean.ids, lean.depth, catalog, 1, amodal_crops(groups, lean.alone), projections) == expected
        )
        drawn += sum(map(len, groups))
        skipped += len(spec.objects) - sum(map(len, groups))
    assert skipped > 0 and drawn > 0


def test_partly_hidden_object_visible_subset_of_amodal(renderer, catalog):
    front, back = placed(1, "can", [0.0, -0.1, 0.0]), placed(2, "box", [0.03, 0.1, 0.0], scale=1.5)
    spec = scene([front, back], eye=[0.0, -0.8, 0.15], target=[0.0, 0.0, 0.05])
    out, anns = labelled(renderer, catalog, spec)
    hidden = anns[1]
    amodal = decode_rle(hidden["amodal_segmentation"])
    visible = out.ids == 2
    assert np.all(amodal[visible])  # visible is a subset of amodal
    assert 0.2 < hidden["visib_fract"] < 0.95  # really partly hidden
    assert hidden["visib_fract"] == visible.sum() / amodal.sum()
    assert hidden["amodal_area"] == amodal.sum() > hidden["visible_pixels"]


def test_projected_vertices_bound_the_amodal_mask(renderer, catalog):
    """No amodal pixel centre lies outside the projected vertices' extent (a pixel is drawn when its centre
    is inside), and for blunt shapes the mask's box, in pixel-edge units (COCO's: pixel i spans [i, i + 1],
    the projection's u + 0.5), is within 1 px of the projected extent. Sharp tips (a cone's apex, a
    bottle's neck seen edge-on) can end between pixel centres, so they are checked for containment only."""
    blunt = {"ball", "box", "can", "torus"}
    objects = [
        placed(k + 1, a, xy)
        for k, (a, xy) in enumerate(
            zip(
                ["box", "ball", "can", "torus", "cone", "bottle"],
                [[0.12, 0, 0], [-0.12, 0.05, 0], [0, -0.14, 0], [0, 0.15, 0], [0.15, 0.15, 0], [-0.15, -0.15, 0]],
                strict=True,
            )
        )
    ]
    spec = scene(objects, eye=[0.5, -0.5, 0.4], target=[0.0, 0.0, 0.05])
    _, anns = labelled(renderer, catalog, spec)
    K, pose = np.asarray(spec.camera.K), np.linalg.inv(np.asarray(spec.camera.pose))
    for ann, obj in zip(anns, objects, strict=True):
        vertices = catalog.asset(obj.asset_id).load_mesh().vertices * obj.scale
        cam = trimesh.transform_points(trimesh.transform_points(vertices, np.asarray(obj.pose)), pose) * [1, -1, -1]
        uv = cam[:, :2] / cam[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
        x, y, w, h = ann["amodal_bbox"]
        inner = np.array([x, y, x + w - 1, y + h - 1]) - np.r_[uv.min(axis=0), uv.max(axis=0)]
        gaps = inner * [1, 1, -1, -1]  # how far each side's pixel centres stay inside the projection
        assert np.all(gaps >= -1e-6), (obj.asset_id, gaps)
        if obj.asset_id in blunt:
            assert np.all(np.abs(gaps - 0.5) <= 1.0), (obj.asset_id, gaps)  # box edge vs projected edge


def test_truncated_object_is_flagged_and_clipped(renderer, catalog):
    spec = top_down([placed(1, "box", [0.42, 0.0, 0.0], scale=2.0)])  # the image spans about +-0.5 m at z = 0
    out, (ann,) = labelled(renderer, catalog, spec)
    assert ann["truncated"] and ann["amodal_bbox"][0] + ann["amodal_bbox"][2] == W
    assert ann["visib_fract"] == 1.0
    _, (centred,) = labelled(renderer, catalog, top_down([placed(1, "box", [0.0, 0.0, 0.0])]))
    assert not centred["truncated"]


def test_keypoints_and_pose_of_a_known_box(renderer, catalog):
    """From straight above, at height 0.5: keypoints are the analytic projections; the top corners are
    visible, and a point is occluded where the ray to it crosses the top face first (asserted only where
    that crossing is clearly inside or outside the face, more than 1.5 px from its edge)."""
    height, (a, b, c) = 0.5, BOX
    spec = top_down([placed(1, "box", [0.08, 0.05, 0.0])], height=height)
    _, (ann,) = labelled(renderer, catalog, spec)
    K = np.asarray(spec.camera.K)
    centre = np.array([0.08, 0.05, c / 2])
    corners = [centre + [sx * a / 2, sy * b / 2, sz * c / 2] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
    occluded_checked = 0
    for (u, v, visibility), (X, Y, Z) in zip(ann["keypoints"], [centre, *corners], strict=True):
        z = height - Z
        assert u == pytest.approx(K[0, 0] * X / z + K[0, 2], abs=1e-6)
        assert v == pytest.approx(K[1, 1] * -Y / z + K[1, 2], abs=1e-6)
        if Z == c:
            assert visibility == 2
            continue
        crossing = np.array([X, Y]) * (height - c) / z  # where the ray to the point meets the top face's plane
        inside = min(
            crossing[0] - (centre[0] - a / 2),
            centre[0] + a / 2 - crossing[0],
            crossing[1] - (centre[1] - b / 2),
            centre[1] + b / 2 - crossing[1],
        )
        margin_px = inside * K[0, 0] / (height - c)
        if abs(margin_px) > 1.5:
            assert visibility == (1 if margin_px > 0 else 2), (X, Y, Z, margin_px)
            occluded_checked += margin_px > 0
    assert occluded_checked >= 2
    R, t = np.reshape(ann["cam_R_m2c"], (3, 3)), np.asarray(ann["cam_t_m2c"])
    np.testing.assert_allclose(R, np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    np.testing.assert_allclose(t, [0.08, -0.05, height], atol=1e-12)


@pytest.mark.slow
def test_depth_and_normals_outputs_match_geometry(tmp_path, catalog):
    """A rendered dataset's depth PNG, depth npy and normals PNG at the top face of a box seen from above."""
    out = tmp_path / "out"
    result = render_small(
        out,
        "output.depth_png=true",
        "output.depth_npy=true",
        "output.normals=true",
        "postfx=none",
        scenes=3,
        width=160,
        height=120,
    )
    assert result.returncode == 0, result.stderr
    agree = []  # cosine between the normal image and the true face normal, per checked pixel
    for index in range(3):
        record = json.loads((out / f"labels/{index:06d}.json").read_text())
        depth_mm = cv2.imread(str(out / record["files"]["depth_png"]["path"]), cv2.IMREAD_UNCHANGED)
        depth_m = np.load(out / record["files"]["depth_npy"]["path"])
        normals = decode_normals(
            cv2.cvtColor(cv2.imread(str(out / record["files"]["normals"]["path"])), cv2.COLOR_BGR2RGB)
        )
        ids = cv2.imread(str(out / record["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
        assert depth_mm.dtype == np.uint16 and depth_m.dtype == np.float32
        assert np.all(np.abs(depth_mm.astype(float) - depth_m * 1000) <= 0.5 + 1e-3)
        K = np.asarray(record["spec"]["camera"]["K"])
        for ann in record["annotations"]:
            if ann["visible_pixels"] < 50:
                continue
            R, t = np.reshape(ann["cam_R_m2c"], (3, 3)), np.asarray(ann["cam_t_m2c"])
            obj = next(o for o in record["spec"]["objects"] if o["instance_id"] == ann["instance_id"])
            mesh = catalog.asset(obj["asset_id"]).load_mesh()
            triangles = (mesh.triangles * obj["scale"]) @ R.T + t  # (n, 3, 3) in the OpenCV camera frame
            mask = ids == ann["instance_id"]
            interior = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            rows, cols = np.nonzero(interior)
            for k in np.linspace(0, len(rows) - 1, min(len(rows), 8)).astype(int):
                r, c = rows[k], cols[k]
                ray = np.array([(c - K[0, 2]) / K[0, 0], (r - K[1, 2]) / K[1, 1], 1.0])  # depth 1 along the axis
                z, normal = first_hit(ray, triangles)
                assert abs(depth_m[r, c] - z) < 1e-3, (ann["asset_id"], depth_m[r, c], z)
                assert abs(int(depth_mm[r, c]) - z * 1000) <= 1.0
                facing = -normal if normal @ ray > 0 else normal  # the side the camera sees
                agree.append(normals[r, c] @ facing)
    # Depth was checked at every pixel above. Normals come from depth differences, so a pixel beside a
    # crease of the tessellation mixes two faces: most pixels, not all, match their face closely.
    agree = np.array(agree)
    assert len(agree) > 20 and np.mean(agree > 0.95) > 0.8 and np.all(agree > 0), agree


def first_hit(ray: np.ndarray, triangles: np.ndarray) -> tuple[float, np.ndarray]:
    """Depth along the view axis and unit normal where ``ray`` (z = 1) first meets (n, 3, 3) triangles
    (Moller-Trumbore, vectorised)."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    e1, e2 = b - a, c - a
    p = np.cross(ray, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = -a
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    v = (q @ ray) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    k = np.flatnonzero(hit)[np.argmin(t[hit])]
    normal = np.cross(e1[k], e2[k])
    return float(t[k]), normal / np.linalg.norm(normal)


@pytest.mark.slow
def test_coco_keypoints_file_loads_and_splits_cover_all(tmp_path):
    out = tmp_path / "out"
    assert (
        render_small(out, "output.formats=[coco,coco_keypoints]", "output.val_fraction=0.4", scenes=6).returncode == 0
    )
    coco = COCO(str(out / "annotations/coco_keypoints.json"))
    for ann in coco.loadAnns(coco.getAnnIds()):
        assert len(ann["keypoints"]) == 27 and ann["num_keypoints"] == sum(v > 0 for v in ann["keypoints"][2::3])
    category = coco.loadCats(coco.getCatIds())[0]
    assert len(category["keypoints"]) == 9 and len(category["skeleton"]) == 12
    sigmas = np.array(category["kpt_oks_sigmas"])
    assert sigmas.shape == (9,) and all(
        c["kpt_oks_sigmas"] == category["kpt_oks_sigmas"] for c in coco.dataset["categories"]
    )

    def keypoint_ap(predictions: list[dict]) -> float:
        with contextlib.redirect_stdout(io.StringIO()):
            evaluation = COCOeval(coco, coco.loadRes(predictions), "keypoints")
            evaluation.params.kpt_oks_sigmas = sigmas  # the default is COCO's 17 person sigmas
            evaluation.evaluate()
            evaluation.accumulate()
            evaluation.summarize()
        return float(evaluation.stats[0])

    truth = [{**ann, "score": 1.0} for ann in coco.dataset["annotations"]]
    assert keypoint_ap(truth) == pytest.approx(1.0)
    off = [
        {**p, "keypoints": [v + 0.3 * np.sqrt(p["area"]) * (i % 3 < 2) for i, v in enumerate(p["keypoints"])]}
        for p in truth
    ]
    assert keypoint_ap(off) < 0.5  # points 30% of the object's scale off
    for name in ("coco", "coco_keypoints"):
        whole, train, val = (
            json.loads((out / f"annotations/{name}{s}.json").read_text()) for s in ("", "_train", "_val")
        )
        ids = lambda d: {i["id"] for i in d["images"]}  # noqa: E731
        assert ids(train) | ids(val) == ids(whole) and not ids(train) & ids(val) and ids(val)
        assert len(train["annotations"]) + len(val["annotations"]) == len(whole["annotations"])


@pytest.mark.slow
def test_export_later_equals_export_at_render(tmp_path):
    at_render, later = tmp_path / "at_render", tmp_path / "later"
    formats = "output.formats=[coco,coco_keypoints,yolo,yolo_seg,bop]"
    assert render_small(at_render, formats, "output.depth_png=true", scenes=3).returncode == 0
    assert render_small(later, "output.depth_png=true", scenes=3).returncode == 0
    result = run_cli("export", str(later), *[f"--format={f}" for f in ("coco_keypoints", "yolo", "yolo_seg", "bop")])
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(at_render) for p in at_render.rglob("*") if p.is_file() and p.name != "dataset.json")
    assert any(p.parts[0] == "bop" for p in files) and any(p.name == "data.yaml" for p in files)
    for relative in files:
        assert (later / relative).read_bytes() == (at_render / relative).read_bytes(), relative  # data.yaml too


@pytest.mark.slow
def test_export_of_a_folder_that_is_no_dataset_fails_clearly(tmp_path):
    result = run_cli("export", str(tmp_path), "--format", "yolo")
    assert result.returncode == 2 and "not a scenegen dataset" in result.stderr

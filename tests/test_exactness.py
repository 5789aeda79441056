"""Exactness contracts: depth under MSAA, poses of the mesh file's own coordinates, nothing at the camera.

Poses are checked the way a user of the dataset would: the mesh file loaded with trimesh alone, its
vertices projected with the recorded K, pose and scale, and rasterised here at pixel centres.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import trimesh
import yaml
from pycocotools import mask as mask_api

from conftest import GREY, REPO, render_small, scene
from scenegen.assets.families import build
from scenegen.geometry import world_to_camera_cv
from scenegen.scene.spec import PlaneSpec, SceneSpec

EXAMPLE_PACK = REPO / "examples" / "scenegen-example-pack" / "scenegen_example_pack"
BUILTIN_PACK = REPO / "assets" / "builtin"


def records(out: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((out / "labels").glob("*.json"))]


def frame_file(out: Path, record: dict, kind: str) -> Path:
    return out / record["files"][kind]["path"]


def mesh_files() -> dict[str, Path]:
    """Asset id -> mesh file, read from the two packs' manifests."""
    found = {}
    for manifest in (BUILTIN_PACK / "manifest.json", EXAMPLE_PACK / "manifest.yaml"):
        for asset in yaml.safe_load(manifest.read_text())["assets"]:
            found[asset["id"]] = manifest.parent / asset["mesh"]
    return found


def file_mesh(path: Path) -> trimesh.Trimesh:
    return trimesh.load(str(path), force="mesh")


def record_mesh(obj: dict, files: dict[str, Path]) -> trimesh.Trimesh:
    """The mesh of a record's object: its shape family rebuilt from the recorded parameters, else its file."""
    if obj["shape"] is not None:
        return build(obj["shape"]["family"], obj["shape"]["params"]).mesh
    return file_mesh(files[obj["asset_id"]])


def to_camera(points: np.ndarray, ann: dict, scale: float) -> np.ndarray:
    """(n, 3) OpenCV camera coordinates of (n, 3) points in the mesh file's coordinates, from the record."""
    rotation = np.reshape(ann["cam_R_m2c"], (3, 3))
    return scale * points @ rotation.T + np.asarray(ann["cam_t_m2c"])


def pixels(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = points_cam @ K.T
    return uvw[:, :2] / uvw[:, 2:]


SMALL = 4  # triangles whose box spans at most this many pixel centres each way are drawn all at once


def rasterise(uv: np.ndarray, faces: np.ndarray, width: int, height: int) -> np.ndarray:
    """(h, w) bool: the pixels whose centre (integer coordinates, as in K) lies in a projected triangle. The
    triangles of a few pixels (most, on a fine mesh) are tested together on a ``SMALL`` x ``SMALL`` grid of
    centres from their box's corner, the larger ones one at a time: the same edge tests either way."""
    out = np.zeros((height, width), bool)
    triangles = uv[faces]  # (t, 3, 2)
    (ax, ay), (bx, by), (cx, cy) = (triangles[:, k].T for k in range(3))
    flat = np.abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) < 1e-12  # no area, draws nothing
    lo = np.maximum(np.ceil(triangles.min(axis=1)), 0).astype(int)
    hi = np.minimum(np.floor(triangles.max(axis=1)), [width - 1, height - 1]).astype(int)
    drawn = ~flat & np.all(lo <= hi, axis=1)
    small = drawn & np.all(hi - lo < SMALL, axis=1)
    offsets = np.arange(SMALL)
    xs = lo[small, 0, None, None] + offsets[None, None, :]  # (s, SMALL, SMALL) centres of each small box
    ys = lo[small, 1, None, None] + offsets[None, :, None]
    ys, xs = np.broadcast_arrays(ys, xs)
    in_box = (xs <= hi[small, 0, None, None]) & (ys <= hi[small, 1, None, None])
    _draw(out, triangles[small], xs, ys, in_box)
    large = drawn & ~small
    for triangle, (x0, y0), (x1, y1) in zip(triangles[large], lo[large], hi[large], strict=True):
        xs, ys = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
        _draw(out, triangle[None], xs[None], ys[None], np.ones((1, *xs.shape), bool))
    return out


def _draw(out: np.ndarray, triangles: np.ndarray, xs: np.ndarray, ys: np.ndarray, candidate: np.ndarray) -> None:
    """Set in ``out`` the ``candidate`` pixel centres ``xs``, ``ys`` (n, h, w) that lie inside triangle i (n, 3, 2)
    of their row: on the same side of its three edges."""
    corners = triangles[:, :, :, None, None]  # (n, 3, 2, 1, 1)
    sides = [
        (q[:, 0] - p[:, 0]) * (ys - p[:, 1]) - (q[:, 1] - p[:, 1]) * (xs - p[:, 0])
        for p, q in ((corners[:, k], corners[:, (k + 1) % 3]) for k in range(3))
    ]
    inside = candidate & (np.all([s >= 0 for s in sides], axis=0) | np.all([s <= 0 for s in sides], axis=0))
    out[ys[inside], xs[inside]] = True


def within_one_pixel(inner: np.ndarray, outer: np.ndarray) -> bool:
    return not np.any(inner & ~cv2.dilate(outer.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool))


def check_instance(mesh: trimesh.Trimesh, scale: float, ann: dict, K: np.ndarray, ids: np.ndarray) -> bool:
    """Assert that ``ann``'s amodal and visible masks match the silhouette of ``mesh`` (model coordinates, scaled
    by ``scale`` and posed as the annotation says) projected with ``K`` on the (h, w) id image ``ids``, and its box
    keypoints their projections (a keypoint flagged 0 projects outside the image); return whether the object was
    large enough (amodal area >= 50 pixels) for its silhouette's IoU to be checked too."""
    height, width = ids.shape
    silhouette = rasterise(pixels(to_camera(mesh.vertices, ann, scale), K), mesh.faces, width, height)
    amodal = mask_api.decode(ann["amodal_segmentation"]).astype(bool)
    visible = ids == ann["instance_id"]
    assert within_one_pixel(amodal, silhouette) and within_one_pixel(silhouette, amodal), ann["asset_id"]
    assert within_one_pixel(visible, silhouette)
    uv = pixels(to_camera(box_keypoints(mesh.bounds), ann, scale), K)
    for (u, v, flag), exact in zip(ann["keypoints"], uv, strict=True):
        if flag:
            np.testing.assert_allclose([u, v], exact, atol=1e-6)
        else:
            assert not (-0.5 <= exact[0] < width - 0.5 and -0.5 <= exact[1] < height - 0.5)
    if ann["amodal_area"] < 50:
        return False
    iou = np.count_nonzero(amodal & silhouette) / np.count_nonzero(amodal | silhouette)
    assert iou > 0.98, (ann["asset_id"], iou)
    return True


def box_keypoints(bounds: np.ndarray) -> np.ndarray:
    """(9, 3): the box centre, then corner i taking the max on x, y, z where bits 4, 2, 1 of i are set (README)."""
    corners = [[bounds[(i >> shift) & 1, axis] for axis, shift in enumerate((2, 1, 0))] for i in range(8)]
    return np.vstack([bounds.mean(axis=0), corners])


def test_antialiased_depth_is_the_pixel_centres_depth(renderer):
    """The support plane seen obliquely with 4x MSAA: every pixel's depth is the plane's at the pixel centre."""
    base = scene([], eye=[0.0, -1.0, 0.6], target=[0.0, 0.0, 0.0])
    spec = SceneSpec(**{**base.__dict__, "plane": PlaneSpec(4.0, GREY)})
    depth = renderer.render(spec, antialias=True).depth
    K, world_to_cam = np.asarray(spec.camera.K), world_to_camera_cv(np.asarray(spec.camera.pose))
    v, u = np.mgrid[0 : depth.shape[0], 0 : depth.shape[1]]
    rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u, float)], axis=-1)
    rotation = world_to_cam[:3, :3].T  # camera to world
    eye = -rotation @ world_to_cam[:3, 3]
    exact = -eye[2] / (rays @ rotation.T)[..., 2]  # depth along the view axis where each centre's ray meets z = 0
    hit = depth > 0
    assert hit.mean() > 0.5
    # 24-bit depth buffer: steps of about 6e-6 z^2 metres with znear 0.01; MSAA's resolved depth is off by mm.
    assert np.all(np.abs(depth[hit] - exact[hit]) <= 1e-4 * exact[hit] ** 2)


@pytest.mark.slow
def test_antialiasing_changes_the_colour_image_only(tmp_path):
    """The same frames with and without MSAA: ids, depth (PNG and npy), normals and every label identical."""
    outputs = ["seed=11", "output.depth_npy=true", "output.depth_png=true", "output.normals=true"]
    plain, smooth = tmp_path / "plain", tmp_path / "smooth"
    for out, antialias in ((plain, "false"), (smooth, "true")):
        result = render_small(out, *outputs, f"render.antialias={antialias}", scenes=3, width=160, height=120)
        assert result.returncode == 0, result.stderr
    flags = []
    for a, b in zip(records(plain), records(smooth), strict=True):
        assert a["annotations"] == b["annotations"]  # masks, boxes, poses, keypoints with their flags
        for key in ("instance_mask", "depth_png", "depth_npy", "normals"):
            assert frame_file(plain, a, key).read_bytes() == frame_file(smooth, b, key).read_bytes(), key
        assert frame_file(plain, a, "image").read_bytes() != frame_file(smooth, b, "image").read_bytes()  # MSAA did
        assert np.count_nonzero(np.load(frame_file(smooth, b, "depth_npy"))) > 0
        flags += [point[2] for ann in a["annotations"] for point in ann["keypoints"]]
    assert 2 in flags and 1 in flags  # the depth test behind the flags was exercised both ways


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["tabletop", "flying"])
def test_recorded_poses_reproject_the_mesh_files(tmp_path, layout):
    """Every instance, the example pack's y-up pyramid included, reprojected from its mesh file (a built-in
    class: its shape rebuilt from the record's family and parameters) and the record (and from the BOP export)
    covers exactly its amodal mask; its keypoints are the mesh's box."""
    out = tmp_path / "out"
    classes = "objects.classes=[pyramid,crate,mug,box]"
    result = render_small(
        out, f"+experiment={layout}", f"objects.packs=[builtin,{EXAMPLE_PACK}]", classes, "output.formats=[bop]",
        "output.depth_png=true", "seed=5", scenes=3, width=160, height=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files, checked = mesh_files(), set()
    bop = json.loads((out / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())
    for record in records(out):
        camera = record["spec"]["camera"]
        K = np.asarray(camera["K"])
        ids = cv2.imread(str(frame_file(out, record, "instance_mask")), cv2.IMREAD_UNCHANGED)
        objects = {obj["instance_id"]: obj for obj in record["spec"]["objects"]}
        for ann, bop_entry in zip(record["annotations"], bop[str(record["index"])], strict=True):
            obj = objects[ann["instance_id"]]
            mesh, scale = record_mesh(obj, files), obj["scale"]
            cam = to_camera(mesh.vertices, ann, scale)
            assert cam[:, 2].min() > camera["znear"]
            rotation_bop = np.reshape(bop_entry["cam_R_m2c"], (3, 3))  # BOP: model millimetres to camera mm
            model = trimesh.load(out / "bop" / "models" / f"obj_{bop_entry['obj_id']:06d}.ply", process=False)
            cam_bop = model.vertices @ rotation_bop.T + np.asarray(bop_entry["cam_t_m2c"])  # BOP's model, in mm
            np.testing.assert_allclose(cam_bop.min(0) / 1000, cam.min(0), atol=1e-6)
            np.testing.assert_allclose(cam_bop.max(0) / 1000, cam.max(0), atol=1e-6)
            if check_instance(mesh, scale, ann, K, ids):
                checked.add(ann["asset_id"].split("@")[0])  # a shape family's member: its family's asset
    assert "example_pyramid" in checked and {"mug", "box"} & checked


@pytest.mark.slow
def test_flying_depth_that_reaches_the_camera_is_refused(tmp_path):
    result = render_small(tmp_path / "out", "scene.layout=flying", "scene.flying_depth=[0.01,0.05]")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "scene.flying_depth" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["+experiment=flying", "scene.flying_depth=[0.05,0.2]", "scene.objects_per_scene=[6,10]"],
        ["+experiment=tabletop", "camera.distance=[0.02,0.15]", "scene.distractors=[2,4]"],
    ],
)
def test_nothing_reaches_the_near_plane(tmp_path, overrides):
    """Configs that put the camera among the objects: objects and distractors that would reach the near
    plane are redrawn or left out (counted as unplaced); every vertex that is drawn lies beyond it. Flying
    objects that find no room are redrawn deeper than ``scene.flying_depth`` (so none is left out); on a
    table, objects no camera clears are left out."""
    out = tmp_path / "out"
    result = render_small(out, *overrides, scenes=4, width=96, height=72)
    assert result.returncode == 0, result.stderr
    files, placed, unplaced, deeper = mesh_files(), 0, 0, 0
    for record in records(out):
        camera = record["spec"]["camera"]
        world_to_cam = world_to_camera_cv(np.asarray(camera["pose"]))
        for ann, obj in zip(record["annotations"], record["spec"]["objects"], strict=True):
            depth = to_camera(record_mesh(obj, files).vertices, ann, obj["scale"])[:, 2]
            assert depth.min() > camera["znear"], ann["asset_id"]
            deeper += depth.mean() > 0.2
        for distractor in record["spec"]["distractors"]:  # a sphere of radius |size| / 2 bounds each
            centre = world_to_cam @ np.asarray(distractor["pose"])[:, 3]
            assert centre[2] - np.linalg.norm(distractor["size"]) / 2 > camera["znear"]
        placed += len(record["annotations"])
        unplaced += record["counts"]["unplaced"]
    if "+experiment=flying" in overrides:
        assert placed > 0 and unplaced == 0 and deeper > 0
    else:
        assert placed > 0 and unplaced > 0

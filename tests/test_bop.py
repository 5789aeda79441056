"""The BOP export, read back by a reader written from the BOP format document (thodan/bop_toolkit,
docs/bop_datasets_format.md), not with the writer's code, and checked against geometry and the frame records.

What the document says and this reader relies on: ``models/obj_OBJID.ply`` (ascii, millimetres, with vertex
normals) and ``models_info.json`` (diameter = the largest distance between two vertices, the 3D box as min and
size per axis); per scene ``rgb/``, ``depth/`` (16-bit; times ``depth_scale`` gives mm), ``mask/`` and
``mask_visib/`` named ``IMID_GTID.png``, ``scene_camera.json`` (``cam_K`` row-wise, ``depth_scale``,
``cam_R_w2c``, ``cam_t_w2c``), ``scene_gt.json`` (``obj_id``, ``cam_R_m2c``, ``cam_t_m2c`` with
``s * p_i = K [R | t] p_m``) and ``scene_gt_info.json`` (``bbox_obj``, ``bbox_visib``, ``px_count_all``,
``px_count_valid``, ``px_count_visib``, ``visib_fract = px_count_visib / px_count_all``); the model origin
is the centre of its 3D bounding box; boxes as bop_toolkit's ``calc_2d_bbox``: ``[x, y, xmax - xmin, ymax - ymin]``.
The document leaves the pixel origin implicit; bop_toolkit's renderers fix it: their projection matrix
(``_calc_calib_proj`` with ``x0 = y0 = 0``) maps ``s * p_i = K [R | t] p_m`` to OpenGL window coordinates,
whose pixel ``i`` spans ``[i, i + 1]`` and is drawn where its centre ``i + 0.5`` is covered, so the origin is the
top-left pixel's corner, as in BOP's own PBR data and ``calc_gt_info``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from conftest import placed, render_small, run_cli, scene
from scenegen.dataset.record import read_records
from scenegen.formats.bop_gt import frame_gt as bop_frame
from scenegen.formats.bop_models import Model
from scenegen.labels.rle import encode_rle

pytestmark = pytest.mark.slow

SIZE = {"width": 160, "height": 120}


# ---------------------------------------------------------------- the reader, from the format document


def read_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (n, 3), normals (n, 3), faces (m, 3)) of an ascii PLY."""
    lines = path.read_text().splitlines()
    end = lines.index("end_header")
    assert lines[:2] == ["ply", "format ascii 1.0"]
    elements: list[tuple[str, int, list[str]]] = []
    for line in lines[:end]:
        words = line.split()
        if words[0] == "element":
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            elements[-1][2].append(words[-1])
    rows = iter(lines[end + 1 :])
    data = {name: (props, [next(rows).split() for _ in range(count)]) for name, count, props in elements}
    props, vertex_rows = data["vertex"]
    table = np.array(vertex_rows, dtype=float)
    column = {name: i for i, name in enumerate(props)}
    vertices = table[:, [column["x"], column["y"], column["z"]]]
    normals = table[:, [column["nx"], column["ny"], column["nz"]]]
    face_rows = data["face"][1]
    assert all(int(row[0]) == 3 for row in face_rows)
    return vertices, normals, np.array([row[1:] for row in face_rows], dtype=int)


@dataclass
class Gt:
    obj_id: int
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,) mm
    info: dict
    mask: np.ndarray  # (h, w) bool
    mask_visib: np.ndarray


@dataclass
class BopImage:
    scene_id: int
    im_id: int
    K: np.ndarray
    R_w2c: np.ndarray
    t_w2c: np.ndarray  # mm
    rgb: np.ndarray
    depth_mm: np.ndarray  # (h, w) float
    gts: list[Gt]


def read_json_int_keys(path: Path) -> dict[int, object]:
    return {int(k): v for k, v in json.loads(path.read_text()).items()}


def read_mask(path: Path) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert mask is not None and mask.dtype == np.uint8 and mask.ndim == 2, path
    assert set(np.unique(mask)) <= {0, 255}
    return mask > 0


def load_split(split_dir: Path) -> list[BopImage]:
    """Every image of every scene of a split, with its ground truth and masks."""
    images = []
    for scene_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
        cameras = read_json_int_keys(scene_dir / "scene_camera.json")
        gts = read_json_int_keys(scene_dir / "scene_gt.json")
        infos = read_json_int_keys(scene_dir / "scene_gt_info.json")
        assert sorted(cameras) == sorted(gts) == sorted(infos)
        for im_id in sorted(cameras):
            camera = cameras[im_id]
            rgb = cv2.imread(str(scene_dir / "rgb" / f"{im_id:06d}.png"))
            depth = cv2.imread(str(scene_dir / "depth" / f"{im_id:06d}.png"), cv2.IMREAD_UNCHANGED)
            assert rgb is not None and depth is not None and depth.dtype == np.uint16
            assert depth.shape == rgb.shape[:2]
            entries = []
            for gt_id, (gt, info) in enumerate(zip(gts[im_id], infos[im_id], strict=True)):
                name = f"{im_id:06d}_{gt_id:06d}.png"
                entries.append(
                    Gt(
                        gt["obj_id"],
                        np.reshape(gt["cam_R_m2c"], (3, 3)),
                        np.asarray(gt["cam_t_m2c"], float),
                        info,
                        read_mask(scene_dir / "mask" / name),
                        read_mask(scene_dir / "mask_visib" / name),
                    )
                )
            images.append(
                BopImage(
                    int(scene_dir.name),
                    im_id,
                    np.reshape(camera["cam_K"], (3, 3)),
                    np.reshape(camera["cam_R_w2c"], (3, 3)),
                    np.asarray(camera["cam_t_w2c"], float),
                    rgb,
                    depth.astype(float) * camera["depth_scale"],
                    entries,
                )
            )
    return images


def calc_2d_bbox(xs: np.ndarray, ys: np.ndarray) -> list[int]:
    """bop_toolkit's box of a set of pixels: top-left corner, then xmax - xmin and ymax - ymin."""
    if not len(xs):
        return [-1, -1, -1, -1]
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())]


def mask_box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return calc_2d_bbox(xs, ys)


def project(points_mm: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s * p_i = K [R | t] p_m``: (n, 2) pixel coordinates and (n,) depths (mm)."""
    camera = points_mm @ R.T + t
    uvw = camera @ K.T
    return uvw[:, :2] / uvw[:, 2:], camera[:, 2]


BAND = 0.02  # px: pixel centres this close to a projected edge may fall either way (GL's sub-pixel snapping)


def rasterize(
    uv: np.ndarray, faces: np.ndarray, shape: tuple[int, int], offset: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Two (h, w) bool rasters of the projected triangles in BOP's pixel convention (the origin at the top-left
    pixel's corner, so pixel (i, j) has its centre at (i + 0.5, j + 0.5)), on a canvas whose pixel (0, 0) is
    image pixel ``-offset``: the pixels whose centres lie inside a triangle by more than ``BAND``, and those
    whose centres lie inside or within ``BAND`` of one. An independent raster of the silhouette: a render
    that agrees with it covers every pixel of the first and none outside the second."""
    strict, loose = np.zeros(shape, bool), np.zeros(shape, bool)
    for a, b, c in (uv + offset - 0.5)[faces]:  # from centres at i + 0.5 to centres at integers
        x0, y0 = np.maximum(np.ceil(np.minimum(np.minimum(a, b), c) - BAND).astype(int), 0)
        x1, y1 = np.minimum(np.floor(np.maximum(np.maximum(a, b), c) + BAND).astype(int), [shape[1] - 1, shape[0] - 1])
        lengths = [np.hypot(*(q - p)) for p, q in ((a, b), (b, c), (c, a))]
        if x0 > x1 or y0 > y1 or min(lengths) == 0:
            continue
        ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        d = [
            ((q[0] - p[0]) * (ys - p[1]) - (q[1] - p[1]) * (xs - p[0])) / n  # signed distance to the edge, px
            for (p, q), n in zip(((a, b), (b, c), (c, a)), lengths, strict=True)
        ]
        low, high = np.minimum(np.minimum(d[0], d[1]), d[2]), np.maximum(np.maximum(d[0], d[1]), d[2])
        strict[y0 : y1 + 1, x0 : x1 + 1] |= (low > BAND) | (high < -BAND)
        loose[y0 : y1 + 1, x0 : x1 + 1] |= (low >= -BAND) | (high <= BAND)
    return strict, loose


def bop_K(K: list) -> np.ndarray:
    """A K whose pixel centres are at integers (the frame record's, OpenCV's) in BOP's convention."""
    return np.asarray(K, float) + [[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]]


# ---------------------------------------------------------------- datasets


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Default scenes with depth PNGs, BOP written at the end of the run (random sizes: a model per instance)."""
    out = tmp_path_factory.mktemp("bop") / "out"
    result = render_small(
        out, "output.depth_png=true", "output.formats=[coco,bop]", scenes=6, width=SIZE["width"], height=SIZE["height"]
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"bop: \d+ models for \d+ assets", result.stdout) and "objects.size_scale=[1,1]" in result.stdout
    return out


@pytest.fixture(scope="module")
def flying(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Flying objects (many cut by the border), one size per asset, depth as .npy only; BOP exported
    afterwards with copies."""
    out = tmp_path_factory.mktemp("bop_flying") / "out"
    size = (SIZE["width"], SIZE["height"])
    result = render_small(
        out,
        "+experiment=flying",
        "objects.size_scale=[1,1]",
        "output.depth_npy=true",
        scenes=6,
        width=size[0],
        height=size[1],
    )
    assert result.returncode == 0, result.stderr
    result = run_cli("export", str(out), "--format", "bop", "--copy")
    assert result.returncode == 0, result.stderr
    assert "models for" not in result.stdout and "hard links" not in result.stdout
    return out


def check_bop_dataset(out: Path) -> dict[str, int]:
    """Read ``out/bop`` as a BOP user would and check every number against the images and the geometry;
    return counts of what was checked."""
    bop = out / "bop"
    camera = json.loads((bop / "camera.json").read_text())
    infos = json.loads((bop / "models" / "models_info.json").read_text())
    models = {}
    for obj_id, info in infos.items():
        vertices, normals, faces = read_ply(bop / "models" / f"obj_{int(obj_id):06d}.ply")
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
        low, size = vertices.min(axis=0), np.ptp(vertices, axis=0)
        np.testing.assert_allclose([info[f"min_{a}"] for a in "xyz"], low, atol=1e-4)
        np.testing.assert_allclose([info[f"size_{a}"] for a in "xyz"], size, atol=1e-4)
        np.testing.assert_allclose(low + size / 2, 0.0, atol=1e-4)  # origin at the box centre
        assert info["diameter"] == pytest.approx(pdist(vertices).max(), abs=1e-3)
        models[int(obj_id)] = (vertices, faces)
    images = load_split(bop / "train_pbr")
    records = {r["index"]: r for r in read_records(out)}
    assert sorted(im.scene_id * 1000 + im.im_id for im in images) == sorted(records)
    counts = {"objects": 0, "truncated": 0, "occluded": 0, "tight": 0, "exact": 0, "hidden": 0}
    for im in images:
        h, w = im.rgb.shape[:2]
        assert (w, h) == (camera["width"], camera["height"])
        record = records[im.scene_id * 1000 + im.im_id]
        assert np.array_equal(im.rgb, cv2.imread(str(out / record["files"]["image"]["path"])))
        np.testing.assert_allclose(im.K, bop_K(record["spec"]["camera"]["K"]), atol=1e-9)
        assert len(im.gts) == len(record["spec"]["objects"])
        union = np.zeros((h, w), int)
        for gt, ann in zip(im.gts, record["annotations"], strict=True):
            info = gt.info
            vertices, faces = models[gt.obj_id]
            np.testing.assert_allclose(gt.R @ gt.R.T, np.eye(3), atol=1e-9)
            # masks and pixel counts
            assert not (gt.mask_visib & ~gt.mask).any()
            union += gt.mask_visib
            assert info["px_count_visib"] == gt.mask_visib.sum() == ann["visible_pixels"]
            assert info["px_count_valid"] == (gt.mask & (im.depth_mm > 0)).sum()
            assert info["px_count_all"] >= gt.mask.sum()
            expected = info["px_count_visib"] / info["px_count_all"] if info["px_count_all"] else 0.0
            assert info["visib_fract"] == pytest.approx(expected)
            assert info["bbox_visib"] == mask_box(gt.mask_visib)
            # the model, projected with cam_K, cam_R_m2c and cam_t_m2c and rasterized in BOP's convention
            uv, z = project(vertices, im.K, gt.R, gt.t)
            if z.min() <= 0:
                continue  # crosses the camera plane: no finite projection to compare with
            inside, near = rasterize(uv, faces, (h, w), (0, 0))
            assert not (inside & ~gt.mask).any() and not (gt.mask & ~near).any()  # mask/ is the silhouette
            counts["exact"] += 1
            counts["truncated"] += bool(info["px_count_all"] > gt.mask.sum())  # pixels outside the image
            if info["px_count_visib"] == 0:  # nothing visible: calc_gt_info writes no boxes
                assert info["bbox_obj"] == info["bbox_visib"] == [-1, -1, -1, -1]
                counts["hidden"] += 1
                continue
            low, high = uv.min(axis=0), uv.max(axis=0)
            if np.all(low > 0) and np.all(high < [w, h]):  # wholly inside the image
                assert info["px_count_all"] == gt.mask.sum() and info["bbox_obj"] == mask_box(gt.mask)
            if np.any(low < [-w, -h]) or np.any(high > [2 * w, 2 * h]):
                continue  # reaches beyond the canvas calc_gt_info draws on: counted as far as it reaches
            inside, near = rasterize(uv, faces, (3 * h, 3 * w), (w, h))  # calc_gt_info's canvas
            assert inside.sum() <= info["px_count_all"] <= near.sum()
            if inside.any():  # bbox_obj, on the canvas, lies between the boxes of the two rasters
                x, y, bw, bh = np.add(info["bbox_obj"], [w, h, 0, 0])
                xi, yi, wi, hi = mask_box(inside)
                xn, yn, wn, hn = mask_box(near)
                assert xn <= x <= xi and yn <= y <= yi, (info["bbox_obj"], mask_box(inside))
                assert xi + wi <= x + bw <= xn + wn and yi + hi <= y + bh <= yn + hn, (info["bbox_obj"], wi, hi)
            counts["tight"] += 1
            # depth: the visible pixels' depth lies on the model (mm, through depth_scale)
            seen = im.depth_mm[gt.mask_visib]
            if len(seen):
                assert z.min() - 1.0 <= seen.min() and seen.max() <= z.max() + 1.0
            counts["occluded"] += info["visib_fract"] < 1
            counts["objects"] += 1
        assert union.max() <= 1
    return counts


def test_bop_dataset_at_render_reads_back_exactly(tabletop: Path) -> None:
    counts = check_bop_dataset(tabletop)
    assert counts["objects"] > 20 and counts["tight"] == counts["objects"] == counts["exact"] - counts["hidden"]
    assert counts["occluded"] > 0


def test_bop_export_after_the_fact_with_truncated_objects(flying: Path) -> None:
    counts = check_bop_dataset(flying)
    assert counts["truncated"] >= 3 and counts["objects"] > 20
    rgb = next((flying / "bop" / "train_pbr" / "000000" / "rgb").iterdir())
    assert rgb.stat().st_nlink == 1  # --copy: a copy, not a hard link to images/


def test_a_partial_bop_export_holds_only_its_own_frames(tabletop: Path, tmp_path: Path) -> None:
    """After the run's BOP export, a ``--partial`` one that leaves frame 3 out (its record missing): bop/ holds
    the other frames alone (no image, depth or mask of frame 3 left from the earlier export), which read back
    exactly; what a crashed export left beside it (``.bop.tmp``) is gone."""
    out = Path(shutil.copytree(tabletop, tmp_path / "out"))
    scene = out / "bop" / "train_pbr" / "000000"
    assert {p.name for p in (scene / "rgb").iterdir()} >= {"000003.png"}
    (out / ".bop.tmp" / "train_pbr").mkdir(parents=True)  # an export killed part way
    (out / "labels" / "000003.json").unlink()
    result = run_cli("export", str(out), "--format", "bop", "--partial")
    assert result.returncode == 0 and "left out 1 of its 6 scenes: 3" in result.stderr, result.stderr
    assert sorted(p.name for p in (scene / "rgb").iterdir()) == [f"{i:06d}.png" for i in (0, 1, 2, 4, 5)]
    assert not [p for p in scene.rglob("000003*")] and not list(out.glob(".bop*"))
    check_bop_dataset(out)  # every frame of bop/ against its record: frame 3 is in neither


def test_models_are_the_assets_at_their_scales(tabletop: Path, flying: Path, catalog) -> None:
    """One model per distinct (asset, scale): the mesh times the scale, in mm, centred on its box; with one
    size per asset (objects.size_scale=[1,1]) that is one model per asset."""
    for out in (tabletop, flying):
        source = json.loads((out / "bop" / "models" / "models_scenegen.json").read_text())
        pairs = {(m["asset_id"], m["scale"]) for m in source.values()}
        assert len(pairs) == len(source)
        records = read_records(out)
        used = {(o["asset_id"], o["scale"]) for r in records for o in r["spec"]["objects"]}
        assert pairs == used
        for obj_id, entry in source.items():
            vertices, _, faces = read_ply(out / "bop" / "models" / f"obj_{int(obj_id):06d}.ply")
            mesh = catalog.asset(entry["asset_id"]).load_mesh()
            points = np.asarray(mesh.vertices) * entry["scale"] * 1000.0
            np.testing.assert_allclose(vertices, points - (points.min(axis=0) + points.max(axis=0)) / 2, atol=1e-5)
            assert np.array_equal(faces, mesh.faces)
            assert entry["class_name"] == catalog.asset(entry["asset_id"]).class_name
    flying_models = json.loads((flying / "bop" / "models" / "models_scenegen.json").read_text())
    assets = {o["asset_id"] for r in read_records(flying) for o in r["spec"]["objects"]}
    assert len(flying_models) == len(assets) < sum(len(r["spec"]["objects"]) for r in read_records(flying))


def test_poses_agree_with_the_record_and_the_world(tabletop: Path, catalog) -> None:
    """Each model vertex lands in the camera where the record's world pose puts the mesh vertex it came from
    (mesh times scale, README's model frame), seen through cam_R_w2c and cam_t_w2c."""
    source = json.loads((tabletop / "bop" / "models" / "models_scenegen.json").read_text())
    records = {r["index"]: r for r in read_records(tabletop)}
    checked = 0
    for im in load_split(tabletop / "bop" / "train_pbr"):
        record = records[im.im_id]
        for gt, obj in zip(im.gts, record["spec"]["objects"], strict=True):
            model = source[str(gt.obj_id)]
            assert (model["asset_id"], model["scale"]) == (obj["asset_id"], obj["scale"])
            vertices, _, _ = read_ply(tabletop / "bop" / "models" / f"obj_{gt.obj_id:06d}.ply")
            mesh = np.asarray(catalog.asset(obj["asset_id"]).load_mesh().vertices) * obj["scale"]
            pose = np.asarray(obj["pose"])
            through_world = (mesh @ pose[:3, :3].T + pose[:3, 3]) @ im.R_w2c.T * 1000.0 + im.t_w2c
            np.testing.assert_allclose(vertices @ gt.R.T + gt.t, through_world, atol=1e-3)  # mm
            checked += 1
    assert checked > 20


def test_bop_needs_depth_and_says_which_option(tmp_path: Path) -> None:
    out = tmp_path / "out"
    refused = render_small(out, "output.formats=[coco,bop]")
    assert refused.returncode == 2 and not out.exists()
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "output.depth_png=true" in lines[0], refused.stderr
    assert render_small(out).returncode == 0
    later = run_cli("export", str(out), "--format", "bop")
    assert later.returncode == 2 and "output.depth_png=true" in later.stderr and not (out / "bop").exists()


def test_a_hidden_instance_gets_the_toolkits_empty_boxes(tmp_path: Path) -> None:
    """bop_toolkit's calc_gt_info writes bbox_obj and bbox_visib as [-1, -1, -1, -1] when no pixel of an
    instance is visible (``if px_count_visib > 0``); its whole silhouette still counts in px_count_all."""
    h, w = 20, 30
    ids = np.zeros((h, w), np.uint16)
    ids[5:15, 10:20] = 2  # object 2 covers all of object 1
    hidden = np.zeros((h, w), bool)
    hidden[8:12, 12:18] = True
    for folder, image in (("masks", ids), ("depth", np.where(ids > 0, 500, 0).astype(np.uint16))):
        (tmp_path / folder).mkdir()
        assert cv2.imwrite(str(tmp_path / folder / "000000.png"), image)

    def annotation(instance_id: int, whole: np.ndarray) -> dict:
        pose = {"cam_R_m2c": np.eye(3).ravel().tolist(), "cam_t_m2c": [0.0, 0.0, 0.5]}
        return {"instance_id": instance_id, "truncated": False, "amodal_segmentation": encode_rle(whole), **pose}

    record = {
        "index": 0,
        "width": w,
        "height": h,
        "files": {"instance_mask": {"path": "masks/000000.png"}, "depth_png": {"path": "depth/000000.png"}},
        "annotations": [annotation(1, hidden), annotation(2, ids == 2)],
        "spec": scene([placed(i, "box", (0.0, 0.0, 0.0)) for i in (1, 2)], (0, -1, 1), (0, 0, 0)).to_dict(),
    }
    model = Model(1, "box", "box", 1, 1.0, np.zeros((3, 3)), np.array([[0, 1, 2]]), np.zeros(3))
    _, info, _, _ = bop_frame(tmp_path, record, {("box", 1.0): model}, None)
    assert info[0] == {
        "bbox_obj": [-1, -1, -1, -1],
        "bbox_visib": [-1, -1, -1, -1],
        "px_count_all": 24,
        "px_count_valid": 24,
        "px_count_visib": 0,
        "visib_fract": 0.0,
    }
    assert info[1]["bbox_obj"] == info[1]["bbox_visib"] == [10, 5, 9, 9] and info[1]["px_count_all"] == 100

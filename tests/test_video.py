"""Views and sequences end to end: what a scene shares and what its frames vary, the frame records, the flow
and track files, the YouTube-VIS and MOTChallenge exports (read with readers written from their format
descriptions). The same bytes however the scenes are split: test_split_scenes.py."""

from __future__ import annotations

import configparser
import errno
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from conftest import render_small, run_cli, run_main, small_config, tree
from scenegen.dataset.atomic import link_or_copy
from scenegen.scene.frames import sample_frames
from scenegen.scene.motion import object_sphere
from scenegen.scene.placement import beyond_near_plane
from scenegen.scene.sampler import sample_scene

SEQUENCE = ["+experiment=flying", "sequence.frames=4", "output.flow=true", "output.tracks=50"]
EXPORTS = "output.formats=[coco,youtube_vis,mot]"
SIDES = ("train", "val")


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "labels").glob("*.json"))]


def test_views_share_the_scene_and_draw_their_own_cameras(tmp_path, catalog):
    """No GL: view 0 is the scene a dataset of single frames draws; the other views keep every object,
    light, distractor and material, and draw cameras of their own, clear of the objects."""
    views = small_config(tmp_path, "scene.views_per_scene=4")
    single = small_config(tmp_path)
    for scene in (0, 3):
        frames = sample_frames(views, catalog, scene)
        alone = sample_scene(single, catalog, scene)
        assert [f.index for f in frames] == list(range(4 * scene, 4 * scene + 4))
        assert frames[0].camera == alone.camera and frames[0].objects == alone.objects
        assert all(f.backdrop.at_infinity for f in frames) and not alone.backdrop.at_infinity
        for frame in frames[1:]:
            assert frame.objects == alone.objects and frame.lights == alone.lights
            assert frame.distractors == alone.distractors and frame.plane == alone.plane
            assert frame.camera.pose != alone.camera.pose
            assert all(beyond_near_plane(object_sphere(o, catalog), frame.camera) for o in frame.objects)
        assert len({str(f.camera.K) for f in frames}) == 4  # intrinsics jitter is per view too


@pytest.mark.slow
def test_thrown_objects_start_settled_fly_and_land(tmp_path, catalog):
    """No GL: a drop sequence starts from the settled scene; every thrown object moves, some rise, and all
    come down onto the support again (nothing below it) within two seconds; the camera is static here."""
    drop = ("scene.layout=drop", "sequence.frames=25", "sequence.fps=12", "sequence.camera_motions=[static]")
    frames = sample_frames(small_config(tmp_path, *drop), catalog, 1)
    alone = sample_scene(small_config(tmp_path, "scene.layout=drop"), catalog, 1)
    assert frames[0].objects == alone.objects and all(f.camera == frames[0].camera for f in frames)
    centres = np.array([[object_sphere(o, catalog)[0] for o in f.objects] for f in frames])  # (25, n, 3)
    assert (np.linalg.norm(centres[2] - centres[0], axis=-1) > 0.01).all()  # every object moves
    heights = centres[..., 2]
    assert (heights[1:4].max(axis=0) > heights[0] + 0.01).any()  # some fly up
    radii = np.array([object_sphere(o, catalog)[1] for o in frames[0].objects])
    on_table = np.abs(np.array(frames[-1].objects[0].pose)[:2, 3]).max() < 1.0
    assert on_table and (heights[-1] >= -radii).all()  # settled again, none sunk through the support
    assert np.abs(centres[-1] - centres[-2]).max() < 1e-3 and not np.allclose(heights[-1], heights[0])  # at rest


@pytest.mark.slow
def test_the_last_scene_sampled_is_kept_for_its_config_only(tmp_path, catalog):
    """No GL: a run's checks sample its first scene, then its worker does; the second call gives the same
    frames without simulating again, while another config, scene or catalog samples afresh."""
    import scenegen.scene.frames as frames_module

    drop = ("scene.layout=drop", "sequence.frames=6", "sequence.camera_motions=[static]")
    cfg = small_config(tmp_path, *drop)
    first = sample_frames(cfg, catalog, 1)
    kept = frames_module._last[repr(cfg), 1][1]
    again = sample_frames(cfg, catalog, 1)
    assert again == first and again is not kept and all(a is b for a, b in zip(again, kept, strict=True))
    cfg.sequence.throw_speed = [0.1, 0.2]  # the same object, another config
    thrown_slower = sample_frames(cfg, catalog, 1)
    assert thrown_slower[-1].objects != first[-1].objects
    fresh = sample_frames(small_config(tmp_path, *drop), catalog, 1)  # sampled again: the same frames
    assert fresh == first and fresh[-1] is not first[-1]


@pytest.mark.slow
def test_views_of_a_dropped_scene_share_its_settled_poses(tmp_path):
    """With scene.layout=drop the scene is settled once: every view shows the same resting poses."""
    out = tmp_path / "out"
    drop = ("scene.layout=drop", "objects.classes=[box,can,ball]", f"cache_dir={tmp_path / 'cache'}")
    result = render_small(out, *drop, "scene.views_per_scene=3", scenes=2, width=64, height=48)
    assert result.returncode == 0, result.stderr
    found = records(out)
    single = render_small(tmp_path / "single", *drop, scenes=2, width=64, height=48)
    assert single.returncode == 0, single.stderr
    for scene in (0, 1):
        views = found[3 * scene : 3 * scene + 3]
        alone = json.loads((tmp_path / "single" / "labels" / f"{scene:06d}.json").read_text())
        assert all(v["spec"]["objects"] == alone["spec"]["objects"] for v in views)  # settled once, as alone
        assert len({json.dumps(v["spec"]["camera"]) for v in views}) == 3


def test_sequence_frames_move_objects_rigidly_and_start_where_the_scene_is(tmp_path, catalog):
    cfg = small_config(tmp_path, *SEQUENCE, "sequence.camera_motions=[orbit]")
    frames = sample_frames(cfg, catalog, 2)
    alone = sample_scene(small_config(tmp_path, "+experiment=flying"), catalog, 2)
    assert frames[0].objects == alone.objects and frames[0].camera == alone.camera
    eye = [np.asarray(f.camera.pose)[:3, 3] for f in frames]
    pivot = np.zeros(3)  # the flying layout's camera orbits the origin, about the vertical axis
    radii = [np.linalg.norm((e - pivot)[:2]) for e in eye]
    assert (
        np.allclose(radii, radii[0]) and np.allclose([e[2] for e in eye], eye[0][2]) and not np.allclose(eye[0], eye[1])
    )
    steps = []
    for k, obj in enumerate(alone.objects):
        poses = [np.asarray(f.objects[k].pose) for f in frames]
        assert all(f.objects[k].instance_id == obj.instance_id for f in frames)
        for pose in poses:  # rigid: rotations stay rotations
            assert np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-9)
        centres = [object_sphere(f.objects[k], catalog)[0] for f in frames]
        steps.append(np.diff(centres, axis=0))
    for step in steps:  # constant velocity of the sphere's centre
        assert np.allclose(step, step[0], atol=1e-9)
    assert max(np.linalg.norm(s[0]) for s in steps) > 0


@pytest.mark.slow
def test_views_render_as_frames_of_their_scene(tmp_path):
    out = tmp_path / "out"
    result = render_small(out, "scene.views_per_scene=3", "postfx.gaussian_noise.probability=1", scenes=2)
    assert result.returncode == 0, result.stderr
    found = records(out)
    assert [(r["index"], r["scene_index"], r["view"], r["frame_in_sequence"]) for r in found] == [
        (i, i // 3, i % 3, 0) for i in range(6)
    ]
    for scene in (0, 1):
        views = found[3 * scene : 3 * scene + 3]
        assert len({json.dumps(v["spec"]["objects"]) for v in views}) == 1
        assert len({json.dumps(v["spec"]["camera"]) for v in views}) == 3
        assert len({json.dumps(v["postfx"]) for v in views}) == 3  # sensor effects drawn per view
        assert [a["instance_id"] for a in views[0]["annotations"]] == [
            a["instance_id"] for a in views[1]["annotations"]
        ]


@pytest.fixture(scope="module")
def sequence_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sequence") / "out"
    result = render_small(out, *SEQUENCE, EXPORTS, "sequence.fps=8", scenes=2, width=96, height=72)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
def test_sequence_records_keep_track_ids_and_say_what_is_visible(sequence_dataset):
    found = records(sequence_dataset)
    assert [(r["scene_index"], r["frame_in_sequence"], r["view"]) for r in found] == [
        (i // 4, i % 4, 0) for i in range(8)
    ]
    assert [r["time"] for r in found[:4]] == [0.0, 0.125, 0.25, 0.375]
    for scene in (0, 1):
        frames = found[4 * scene : 4 * scene + 4]
        ids = [[a["instance_id"] for a in f["annotations"]] for f in frames]
        assert ids[0] == ids[1] == ids[2] == ids[3] == list(range(1, len(ids[0]) + 1))
        for frame in frames:
            mask = cv2.imread(str(sequence_dataset / frame["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
            for ann in frame["annotations"]:
                assert ann["visible"] == (np.count_nonzero(mask == ann["instance_id"]) > 0)
            kinds = set(frame["files"])
            assert ("flow_fw" in kinds) == (frame["frame_in_sequence"] < 3) == ("flow_fw_png" in kinds)
            assert ("flow_bw" in kinds) == (frame["frame_in_sequence"] > 0) == ("flow_bw_png" in kinds)
            assert frame["files"]["tracks"]["path"] == f"tracks/{scene:06d}.npz"


@pytest.mark.slow
def test_flow_files_and_tracks_file(sequence_dataset):
    frame = records(sequence_dataset)[1]
    for direction in ("fw", "bw"):
        flow = np.load(sequence_dataset / frame["files"][f"flow_{direction}"]["path"])
        assert flow.dtype == np.float32 and flow.shape == (72, 96, 2)
        png = cv2.imread(str(sequence_dataset / frame["files"][f"flow_{direction}_png"]["path"]), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint16 and png.shape == (72, 96, 3)
        valid = png[..., 0] > 0  # BGR as read: B is KITTI's valid flag
        decoded = (png[..., 2:0:-1].astype(float) - 2**15) / 64  # R = u, G = v
        assert 0.3 < valid.mean() < 1.0
        assert np.abs(decoded - flow)[valid].max() <= 1 / 128
    tracks = np.load(sequence_dataset / "tracks/000000.npz")
    assert set(tracks.files) == {"target_points", "occluded", "query_points", "instance_ids", "object_points"}
    count = len(tracks["query_points"])
    assert 0 < count <= 50 and tracks["target_points"].shape == (count, 4, 2) and tracks["occluded"].shape == (count, 4)
    assert tracks["target_points"].dtype == np.float32 and tracks["occluded"].dtype == bool
    assert np.all(tracks["query_points"][:, 0] == 0)
    first = records(sequence_dataset)[0]
    ids = cv2.imread(str(sequence_dataset / first["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
    y, x = tracks["query_points"][:, 1].astype(int), tracks["query_points"][:, 2].astype(int)
    assert np.array_equal(ids[y, x], tracks["instance_ids"])  # queries on the objects they follow
    assert np.allclose(tracks["target_points"][:, 0], np.stack([x, y], -1), atol=1e-3)


@pytest.mark.slow
def test_youtube_vis_export_read_from_its_format(sequence_dataset):
    """Read as the YouTube-VIS format describes: videos with file_names in order; per annotation, per frame,
    an RLE (decoded with pycocotools), a box and an area, or None."""
    data = json.loads((sequence_dataset / "annotations/youtube_vis.json").read_text())
    found = records(sequence_dataset)
    assert [v["id"] for v in data["videos"]] == [1, 2] and all(v["length"] == 4 for v in data["videos"])
    assert len({a["id"] for a in data["annotations"]}) == len(data["annotations"]) > 0
    for video in data["videos"]:
        frames = found[4 * (video["id"] - 1) : 4 * video["id"]]
        assert video["file_names"] == [f["files"]["image"]["path"] for f in frames]
        masks = [
            cv2.imread(str(sequence_dataset / f["files"]["instance_mask"]["path"]), cv2.IMREAD_UNCHANGED)
            for f in frames
        ]
        tracks = [a for a in data["annotations"] if a["video_id"] == video["id"]]
        covered = set()
        for ann in tracks:
            for t, (rle, box, area) in enumerate(zip(ann["segmentations"], ann["bboxes"], ann["areas"], strict=True)):
                if rle is None:
                    assert box is None and area is None
                    continue
                mask = coco_mask.decode(rle).astype(bool)
                ids = np.unique(masks[t][mask])
                assert len(ids) == 1 and np.array_equal(mask, masks[t] == ids[0])
                covered.add((t, int(ids[0])))
                rows, cols = np.nonzero(mask)
                assert box == [cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1]
                assert area == mask.sum()
        annotated = {(t, a["instance_id"]) for t, f in enumerate(frames) for a in f["annotations"] if "bbox" in a}
        assert covered == annotated
    train, val = (json.loads((sequence_dataset / f"annotations/youtube_vis_{s}.json").read_text()) for s in SIDES)
    assert sorted(v["id"] for v in train["videos"] + val["videos"]) == [1, 2]
    assert val["videos"], "two videos: one of them is in val"


@pytest.mark.slow
def test_mot_export_read_from_its_format(sequence_dataset):
    """MOTChallenge: seqinfo.ini, img1/000001.png..., gt/gt.txt lines ``frame, id, left, top, width, height,
    conf, class, visibility``, frame numbers and box coordinates 1-based."""
    check_mot_sequences(sequence_dataset, [0, 1])


def check_mot_sequences(sequence_dataset: Path, scenes: list[int]) -> None:
    """The MOT sequences of ``scenes`` (4 frames each) read from their format, against the frame records."""
    found = records(sequence_dataset)
    for scene in scenes:
        folder = sequence_dataset / "mot" / f"{scene:06d}"
        info = configparser.ConfigParser()
        info.read(folder / "seqinfo.ini")
        seq = info["Sequence"]
        assert (seq["imDir"], int(seq["seqLength"]), float(seq["frameRate"])) == ("img1", 4, 8.0)
        assert (int(seq["imWidth"]), int(seq["imHeight"]), seq["imExt"]) == (96, 72, ".png")
        frames = found[4 * scene : 4 * scene + 4]
        for number, frame in enumerate(frames, start=1):
            image = (folder / "img1" / f"{number:06d}.png").read_bytes()
            assert image == (sequence_dataset / frame["files"]["image"]["path"]).read_bytes()
        rows = [line.split(",") for line in (folder / "gt" / "gt.txt").read_text().splitlines()]
        assert all(len(row) == 9 for row in rows) and rows
        expected = {
            (number, a["instance_id"]): a
            for number, frame in enumerate(frames, start=1)
            for a in frame["annotations"]
            if a["amodal_area"] > 0
        }
        assert {(int(r[0]), int(r[1])) for r in rows} == set(expected)
        for row in rows:
            ann = expected[int(row[0]), int(row[1])]
            x, y, w, h = ann["amodal_bbox"]
            assert [float(v) for v in row[2:6]] == [x + 1, y + 1, w, h]
            assert (int(row[6]), int(row[7])) == (1, 1)  # consider flag; MOT17's class 1, the one scored
            assert abs(float(row[8]) - ann["visib_fract"]) < 1e-6
        categories = json.loads((folder / "gt" / "categories.json").read_text())
        assert set(categories) == {r[1] for r in rows}
        for (_, track), ann in expected.items():
            assert categories[str(track)] == {"category_id": ann["category_id"], "class_name": ann["class_name"]}


@pytest.mark.slow
def test_mot_ground_truth_scores_itself_perfectly_with_trackeval(sequence_dataset, tmp_path):
    """TrackEval's MotChallenge2DBox, with its defaults (MOT17, class pedestrian), reads the export as the
    ground truth and its gt.txt files as a tracker's results: HOTA, MOTA and IDF1 are 1."""
    check_trackeval_scores_itself(sequence_dataset / "mot", tmp_path)


def check_trackeval_scores_itself(mot: Path, tmp_path: Path) -> None:
    """TrackEval reads ``mot/`` as ground truth and as a tracker's results, and scores it perfectly."""
    trackeval = pytest.importorskip("trackeval", reason="TrackEval is in the test extra (pip install trackeval)")
    sequences = sorted(p.name for p in mot.iterdir())
    tracker = tmp_path / "trackers" / "itself" / "data"
    tracker.mkdir(parents=True)
    for seq in sequences:
        (tracker / f"{seq}.txt").write_bytes((mot / seq / "gt" / "gt.txt").read_bytes())
    dataset = trackeval.datasets.MotChallenge2DBox(
        {
            "GT_FOLDER": str(mot),
            "TRACKERS_FOLDER": str(tmp_path / "trackers"),
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": dict.fromkeys(sequences),  # lengths from each seqinfo.ini
            "PRINT_CONFIG": False,
        }
    )
    config = {**trackeval.Evaluator.get_default_eval_config(), "PRINT_RESULTS": False, "PRINT_CONFIG": False}
    config.update({"OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False, "USE_PARALLEL": False})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()]
    results, messages = trackeval.Evaluator(config).evaluate([dataset], metrics)
    assert messages["MotChallenge2DBox"]["itself"] == "Success"
    combined = results["MotChallenge2DBox"]["itself"]["COMBINED_SEQ"]["pedestrian"]
    lines = sum(len((mot / seq / "gt" / "gt.txt").read_text().splitlines()) for seq in sequences)
    assert combined["CLEAR"]["CLR_TP"] == lines > 0
    assert np.allclose(combined["HOTA"]["HOTA"], 1.0)
    assert combined["CLEAR"]["MOTA"] == pytest.approx(1.0) and combined["Identity"]["IDF1"] == pytest.approx(1.0)


@pytest.mark.slow
def test_a_partial_mot_export_leaves_only_its_own_sequences(sequence_dataset, tmp_path):
    """After the run's full MOT export, a ``--partial`` one that leaves scene 1 out (a record missing): mot/
    holds scene 0's sequence alone, which reads as before and which TrackEval scores; what a crashed export
    left beside it (``.mot.tmp``) is gone."""
    out = Path(shutil.copytree(sequence_dataset, tmp_path / "out"))
    assert sorted(p.name for p in (out / "mot").iterdir()) == ["000000", "000001"]
    (out / ".mot.tmp" / "000007" / "gt").mkdir(parents=True)  # an export killed part way
    (out / "labels" / "000005.json").unlink()
    code, _, stderr = run_main("export", str(out), "--format", "mot", "--partial")
    assert code == 0 and "left out 1 of its 2 scenes: 1" in stderr, stderr
    assert sorted(p.name for p in (out / "mot").iterdir()) == ["000000"]
    assert not list(out.glob(".mot*"))
    check_mot_sequences(out, [0])
    check_trackeval_scores_itself(out / "mot", tmp_path)


@pytest.mark.slow
def test_a_mot_export_failing_part_way_leaves_the_earlier_one_as_it_was(sequence_dataset, tmp_path, monkeypatch):
    """A write failing in the middle of the export (the third image link: disk full): the earlier mot/ is left
    byte for byte, and nothing of the failed one."""
    import scenegen.formats.mot as mot

    out = Path(shutil.copytree(sequence_dataset, tmp_path / "out"))
    before = tree(out)
    links = []

    def full_disk(source: Path, target: Path, copy: bool = False) -> None:
        links.append(target)
        if len(links) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        link_or_copy(source, target, copy)

    monkeypatch.setattr(mot, "link_or_copy", full_disk)
    code, _, stderr = run_main("export", str(out), "--format", "mot")
    assert code == 2 and "No space left on device" in stderr, stderr
    assert len(links) == 3 and links[0].parent.parent.parent == out / ".mot.tmp"  # built beside mot/
    assert tree(out) == before


@pytest.mark.slow
def test_split_by_scene_keeps_views_together(tmp_path):
    out = tmp_path / "out"
    result = render_small(
        out,
        "scene.views_per_scene=2",
        "output.val_fraction=0.5",
        "output.instance_masks=false",
        scenes=6,
        width=48,
        height=36,
    )
    assert result.returncode == 0, result.stderr
    val = json.loads((out / "annotations/coco_val.json").read_text())
    train = json.loads((out / "annotations/coco_train.json").read_text())
    scene_of = lambda image: image["id"] // 2  # noqa: E731  (image id = frame index; 2 views a scene)
    assert {scene_of(i) for i in val["images"]}.isdisjoint({scene_of(i) for i in train["images"]})
    assert len(val["images"]) + len(train["images"]) == 12 and val["images"] and train["images"]


@pytest.mark.parametrize("motion", ["static", "orbit", "dolly", "handheld"])
def test_camera_trajectories(tmp_path, catalog, motion):
    """No GL: every trajectory starts at the sampled camera and moves it as its name says."""
    cfg = small_config(tmp_path, *SEQUENCE, "sequence.frames=6", f"sequence.camera_motions=[{motion}]")
    frames = sample_frames(cfg, catalog, 1)
    assert frames[0].camera == sample_scene(small_config(tmp_path, "+experiment=flying"), catalog, 1).camera
    poses = np.array([f.camera.pose for f in frames])
    eyes, turns = poses[:, :3, 3], poses[:, :3, :3]
    for turn in turns:
        assert np.allclose(turn @ turn.T, np.eye(3), atol=1e-9)
    moved = np.linalg.norm(eyes - eyes[0], axis=1).max()
    if motion == "static":
        assert moved == 0 and np.array_equal(turns, turns[[0] * 6])
    elif motion == "orbit":  # about the vertical axis through the flying layout's centre, the origin
        assert np.allclose(np.linalg.norm(eyes[:, :2], axis=1), np.linalg.norm(eyes[0, :2])) and moved > 0
        assert np.allclose(eyes[:, 2], eyes[0, 2])
    elif motion == "dolly":  # a straight line at constant speed, orientation kept
        assert np.allclose(np.diff(eyes, 2, axis=0), 0, atol=1e-12) and np.allclose(turns, turns[0])
        speed = np.linalg.norm(eyes[1] - eyes[0]) * cfg.sequence.fps
        assert cfg.sequence.dolly_speed[0] - 1e-9 <= speed <= cfg.sequence.dolly_speed[1] + 1e-9
    else:  # a shake: within twice its amplitudes of the start
        assert 0 < moved <= 2 * cfg.sequence.handheld_shift[1]
        angles = [np.degrees(np.arccos(np.clip((np.trace(turns[0].T @ t) - 1) / 2, -1, 1))) for t in turns]
        assert max(angles) <= 2 * np.sqrt(3) * cfg.sequence.handheld_angle_deg[1]


@pytest.mark.slow
def test_moving_objects_never_meet(tmp_path, catalog):
    """No GL: sampled densely in time, the bounding spheres of moving objects stay apart from each other and
    from the distractors' for the whole sequence (velocities are drawn until they do)."""
    cfg = small_config(tmp_path, *SEQUENCE, "sequence.frames=12", "sequence.object_speed=[0.5,1.0]")
    for scene in range(6):
        frames = sample_frames(cfg, catalog, scene)
        first, last = frames[0], frames[-1]
        duration = (len(frames) - 1) / cfg.sequence.fps
        spheres = [object_sphere(o, catalog) for o in first.objects]
        ends = [object_sphere(o, catalog)[0] for o in last.objects]
        still = [(np.asarray(d.pose)[:3, 3], 0.5 * np.linalg.norm(d.size)) for d in first.distractors]
        moving = 0
        for t in np.linspace(0.0, 1.0, 400):
            centres = [c + t * (e - c) for (c, _), e in zip(spheres, ends, strict=True)]  # constant velocity
            radii = [r for _, r in spheres]
            for i in range(len(centres)):
                for j in range(i + 1, len(centres)):
                    assert np.linalg.norm(centres[i] - centres[j]) >= radii[i] + radii[j] - 1e-9
                for centre, radius in still:
                    assert np.linalg.norm(centres[i] - centre) >= radii[i] + radius - 1e-9
        moving += sum(np.linalg.norm(e - c) > 0 for (c, _), e in zip(spheres, ends, strict=True))
        assert duration > 0 and moving > 0


@pytest.mark.slow
def test_mot_without_amodal_labels_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    refused = render_small(out, "output.amodal=false", "output.formats=[coco,mot]")
    assert refused.returncode == 2 and not out.exists()
    assert refused.stderr.count("\n") == 1 and "output.amodal=true" in refused.stderr, refused.stderr
    assert render_small(out, "output.amodal=false").returncode == 0
    later = run_cli("export", str(out), "--format", "mot")
    assert later.returncode == 2 and later.stderr.count("\n") == 1 and "output.amodal=true" in later.stderr
    assert not (out / "mot").exists()

"""The frame record ``labels/NNNNNN.json``: the one typed definition, its writer and its reader.

A frame's files are written first (and synced to disk), the record last, so a frame whose record exists
is complete. The record lists each file with its size and SHA-256, holds the frame's labels and its whole
``SceneSpec``; every export, merge, audit and preview reads frames through :func:`read_record` /
:func:`iter_records`, which refuse a record that is not one, or whose paths leave the dataset folder.
:func:`frame_problems` checks a frame's files against its record (resume, merge, ``scenegen verify``).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np

from scenegen.dataset import atomic
from scenegen.dataset.inside import path_inside
from scenegen.errors import ScenegenError, shown

FORMAT = "scenegen.frame/3"

# kind -> (folder, suffix) of a frame's files; "image" is always there, the others when output.* asks.
FILE_KINDS: dict[str, tuple[str, str]] = {
    "image": ("images", ".png"),
    "instance_mask": ("masks", ".png"),
    "semantic_mask": ("semantic", ".png"),
    "depth_png": ("depth", ".png"),
    "depth_npy": ("depth", ".npy"),
    "normals": ("normals", ".png"),
    "flow_fw": ("flow", "_fw.npy"),  # sequences with output.flow: to the next frame (not on the last)
    "flow_bw": ("flow", "_bw.npy"),  # to the previous frame (not on the first)
    "flow_fw_png": ("flow", "_fw.png"),  # the same in KITTI's 16-bit PNG encoding, occlusion included
    "flow_bw_png": ("flow", "_bw.png"),
    "tracks": ("tracks", ".npz"),  # sequences with output.tracks: one file per sequence, named by its scene
}


class FileEntry(TypedDict):
    path: str  # relative to the dataset folder
    bytes: int
    sha256: str


class Counts(TypedDict):
    objects: int  # objects in the scene (placed)
    annotated: int  # objects with at least output.min_visible_pixels visible
    below_min_visible_pixels: int
    distractors: int
    unplaced: int  # objects drawn that found no room, or (scene.layout=drop) still off the support after re-drops
    redropped: int  # scene.layout=drop: objects dropped again (same asset) after leaving the support or sinking


class ObjectLabel(TypedDict, total=False):
    """One object's labels (the README's frame record table); ``bbox``, ``area``, ``segmentation`` only when
    it has at least ``output.min_visible_pixels``, the amodal keys only with ``output.amodal``."""

    instance_id: int
    asset_id: str
    class_name: str
    category_id: int
    visible_pixels: int
    visible: bool  # at least one visible pixel in this frame
    bbox: list[int]  # COCO [x, y, w, h]
    area: int
    segmentation: dict[str, Any]  # COCO RLE
    cam_R_m2c: list[float]  # (9,) row-major
    cam_t_m2c: list[float]  # (3,) metres
    keypoints: list[list[float]]  # (9, 3) u, v, flag
    amodal_bbox: list[int]
    amodal_area: int
    amodal_segmentation: dict[str, Any]
    visib_fract: float
    truncated: bool


class FrameRecord(TypedDict):
    format: str
    index: int
    scene_index: int  # the scene (or sequence) the frame shows: frames of one scene share objects and ids
    view: int  # which camera of the scene (scene.views_per_scene), else 0
    frame_in_sequence: int  # place in the sequence (sequence.frames), else 0
    time: float  # seconds since the sequence's first frame: frame_in_sequence / sequence.fps
    seed: int
    width: int
    height: int
    files: dict[str, FileEntry]  # kind (FILE_KINDS) -> file
    counts: Counts
    postfx: list[dict[str, Any]]  # the sensor effects applied, in order, with their parameters
    annotations: list[ObjectLabel]  # one per object, in spec order
    spec: dict[str, Any]  # SceneSpec.to_dict()


def frame_name(index: int) -> str:
    return f"{index:06d}"


def record_path(out: Path, index: int) -> Path:
    return out / "labels" / f"{frame_name(index)}.json"


def file_relative(kind: str, index: int) -> str:
    """Where frame ``index``'s file of ``kind`` goes, relative to the dataset folder (for ``tracks``,
    ``index`` is the scene's)."""
    folder, suffix = FILE_KINDS[kind]
    return f"{folder}/{frame_name(index)}{suffix}"


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (h, w, 3) uint8 RGB image or an (h, w) uint8/uint16 image."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


def encode_npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of ``array`` (``numpy.load`` reads them)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def encode_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """``.npz`` bytes of named arrays (``numpy.load`` reads them), the same bytes for the same arrays: unlike
    ``numpy.savez``, the archive's entries carry a fixed date."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), encode_npy(array))
    return buffer.getvalue()


def write_frame_file(out: Path, relative: str, data: bytes) -> FileEntry:
    """Atomically write ``out/relative``, making its folder if needed; return its entry for the record."""
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out / relative, data)
    return {"path": relative, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_record(out: Path, record: FrameRecord) -> None:
    """Write the record of a frame whose files are written: from now on the frame counts as done."""
    path = record_path(out, record["index"])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, record)


def read_record(path: Path) -> FrameRecord:
    """The frame record at ``path`` (``DATASET/labels/NNNNNN.json``); ScenegenError naming the file when it
    is not a record of this version, is not frame NNNNNN's, or lists a file outside the dataset folder."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as err:
        raise ScenegenError(f"{path}: not a readable frame record ({' '.join(str(err).split())[:160]})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != FORMAT:
        raise ScenegenError(f"{path}: frame record format {shown(found)}, expected {FORMAT!r}")
    if not path.stem.isdigit() or type(data.get("index")) is not int or data["index"] != int(path.stem):
        raise ScenegenError(f"{path}: holds frame index {shown(data.get('index'))}, not the frame of its name")
    files = data.get("files")
    if not isinstance(files, dict) or "image" not in files:
        raise ScenegenError(f"{path}: 'files' must map each kind of file (image first) to its entry")
    dataset = path.parent.parent
    for kind, entry in files.items():
        if kind not in FILE_KINDS or not isinstance(entry, dict) or set(entry) != {"path", "bytes", "sha256"}:
            raise ScenegenError(f"{path}: files.{kind} must be one of {list(FILE_KINDS)} with path, bytes, sha256")
        if type(entry["bytes"]) is not int or not isinstance(entry["sha256"], str) or len(entry["sha256"]) != 64:
            raise ScenegenError(f"{path}: files.{kind} needs bytes (an integer) and sha256 (64 hex digits)")
        path_inside(dataset, entry["path"], path)
    return data


def record_indices(out: Path) -> list[int]:
    """The frames of the records in ``out/labels``, sorted; ScenegenError on a file there not named as one."""
    indices = []
    for path in (out / "labels").glob("*.json"):
        if not path.stem.isdigit():
            raise ScenegenError(f"{path}: not a frame record (its name is not a frame number)")
        indices.append(int(path.stem))
    return sorted(indices)


def iter_records(out: Path, indices: list[int] | None = None) -> Iterator[FrameRecord]:
    """The frame records of a dataset folder, in frame order, one at a time: every one, or those of ``indices``."""
    for index in record_indices(out) if indices is None else indices:
        yield read_record(path_inside(out, f"labels/{frame_name(index)}.json", out))  # no link out of out


def read_records(out: Path, indices: list[int] | None = None) -> list[FrameRecord]:
    """:func:`iter_records` as a list."""
    return list(iter_records(out, indices))


def file_path(out: Path, record: FrameRecord, kind: str) -> Path:
    """The absolute path of the record's file of ``kind``; ScenegenError when the record points outside ``out``."""
    return path_inside(out, record["files"][kind]["path"], record_path(out, record["index"]))


def frame_problems(out: Path, record: FrameRecord) -> list[str]:
    """What is wrong with the files of ``record``'s frame in ``out``, one line each naming the file:
    missing, another size, or other content (SHA-256) than the record says; empty when all are whole."""
    problems = []
    for kind, entry in record["files"].items():
        path = file_path(out, record, kind)
        try:
            size = path.stat().st_size
            if size != entry["bytes"]:
                problems.append(f"{path}: {size} bytes, the record says {entry['bytes']}")
            elif _sha256(path) != entry["sha256"]:
                problems.append(f"{path}: its content differs from the record (SHA-256)")
        except OSError as err:
            problems.append(f"{path}: {err.strerror}")
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def frame_done(out: Path, index: int) -> bool:
    """Whether frame ``index`` is finished in ``out``: its record reads and every file matches it. A record
    that is empty, unparsable or of another version counts as not done, as do missing or corrupt files."""
    if not record_path(out, index).is_file():
        return False
    try:
        return not frame_problems(out, read_record(path_inside(out, f"labels/{frame_name(index)}.json", out)))
    except ScenegenError:
        return False

"""The frame record ``labels/NNNNNN.json``: the one typed definition, its writer and its reader.

A frame's files are written first (each atomically), the record last, so a frame whose record exists is
complete; none is synced on its own (:func:`frame_done` checks each file against its record on resume, and a
render syncs everything before it says complete). The record lists each file with its size and SHA-256,
holds the frame's labels and its whole ``SceneSpec``. Every reader (resume, verify, merge, every export,
audit) reads frames through :func:`read_record` / :func:`iter_records`, the one validating reader: a regular
file of strict JSON, every key of its type, finite and in bounds, consistent with its own spec, its files at
their kind's path inside the dataset, and, against the dataset's ``dataset.json``, in its place by the frame
arithmetic (``scene.frames``) with the dataset's kinds of file and categories; anything else is one line
naming the file and the key. Readers then use the accessors here (:func:`is_annotated`, :func:`file_path`,
:func:`image_suffix`, :func:`spec_of`). :func:`frame_problems` checks a frame's files against its record
(resume, merge, ``scenegen verify``).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np

from scenegen.dataset import atomic
from scenegen.dataset.dataset_file import DatasetFile, read_dataset_file
from scenegen.dataset.inside import path_inside
from scenegen.dataset.readback import BadValue, checked, read_json
from scenegen.errors import DatasetError, ScenegenError, shown
from scenegen.labels.rle import parse_counts
from scenegen.outputs.registry import DECLARED, FILE_KINDS, frame_kinds
from scenegen.scene.frames import in_shard, place_of
from scenegen.scene.spec import SceneSpec

FORMAT = "scenegen.frame/3"
MAX_RECORD_BYTES = 32 << 20  # a record of 200 objects at 4K is a few MB


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


class Rle(TypedDict):
    """A COCO compressed RLE mask."""

    size: list[int]  # [h, w]
    counts: str


class _ObjectIdentity(TypedDict):
    """What every object's labels hold (``ObjectLabel`` adds what only some hold)."""

    instance_id: int
    asset_id: str
    class_name: str
    category_id: int
    visible_pixels: int
    visible: bool  # at least one visible pixel in this frame
    cam_R_m2c: list[float]  # (9,) row-major
    cam_t_m2c: list[float]  # (3,) metres
    keypoints: list[list[float]]  # (9, 3) u, v, flag


class ObjectLabel(_ObjectIdentity, total=False):
    """One object's labels (the README's frame record table); ``bbox``, ``area``, ``segmentation`` only when
    it has at least ``output.min_visible_pixels``, the amodal keys only with ``output.amodal``."""

    bbox: list[int]  # COCO [x, y, w, h]
    area: int
    segmentation: Rle
    amodal_bbox: list[int] | None  # None when the object covers no pixel of the image
    amodal_area: int
    amodal_segmentation: Rle
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
    """Where frame ``index``'s file of ``kind`` (``FILE_KINDS``) goes, relative to the dataset folder (for a
    kind written per scene, such as ``tracks``, ``index`` is the scene's)."""
    folder, suffix = FILE_KINDS[kind]
    return f"{folder}/{frame_name(index)}{suffix}"


# cv2.imencode's parameters by dtype, chosen with scripts/png_settings.py: zlib level 1, with its RLE
# strategy and PNG's "up" row filter for 8-bit images (colour, normals), its default strategy and no row
# filter for 16-bit ones (instance and semantic masks, depth, KITTI flow).
PNG_SETTINGS = {
    "uint8": [
        cv2.IMWRITE_PNG_COMPRESSION,
        1,
        cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_RLE,
        cv2.IMWRITE_PNG_FILTER,
        cv2.IMWRITE_PNG_FILTER_UP,
    ],
    "uint16": [
        cv2.IMWRITE_PNG_COMPRESSION,
        1,
        cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_DEFAULT,
        cv2.IMWRITE_PNG_FILTER,
        cv2.IMWRITE_PNG_FILTER_NONE,
    ],
}


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (h, w, 3) uint8 RGB image or an (h, w) uint8/uint16 image."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", image, PNG_SETTINGS[image.dtype.name])
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


ENCODERS: dict[str, Callable[[Any], bytes]] = {".png": encode_png, ".npy": encode_npy, ".npz": encode_npz}


def encode_file(kind: str, content: Any) -> bytes:
    """The bytes of a file of ``kind`` holding ``content``, in the encoding its suffix names (``ENCODERS``):
    ``.png`` an image array, ``.npy`` an array, ``.npz`` a dict of named arrays."""
    suffix = FILE_KINDS[kind][1]
    return ENCODERS[suffix[suffix.rfind(".") :]](content)


def write_frame_file(out: Path, relative: str, data: bytes) -> FileEntry:
    """Atomically write ``out/relative``, making its folder if needed; return its entry for the record.
    Not synced: its record's size and SHA-256 catch a file a power loss damaged (resume renders the frame
    again), and the render syncs everything before ``dataset.json`` says complete."""
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out / relative, data, sync=False)
    return {"path": relative, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_record(out: Path, record: FrameRecord) -> None:
    """Write the record of a frame whose files are written: from now on the frame counts as done. Atomic, not
    synced: a record a power loss left empty or cut reads as not done."""
    path = record_path(out, record["index"])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, record, sync=False)


ANNOTATED_KEYS = ("bbox", "area", "segmentation")  # an object with at least output.min_visible_pixels
AMODAL_KEYS = ("amodal_bbox", "amodal_area", "amodal_segmentation", "visib_fract", "truncated")  # output.amodal
KEYPOINTS = 9  # the centre and the 8 box corners


def is_annotated(ann: ObjectLabel) -> bool:
    """Whether the object has its box, area and mask: at least ``output.min_visible_pixels`` visible."""
    return "bbox" in ann


def read_record(path: Path, dataset: DatasetFile | None = None) -> FrameRecord:
    """The frame record at ``path`` (``DATASET/labels/NNNNNN.json``), every key checked: its type, finite
    numbers, bounds, agreement with its own scene spec, each file at the path and suffix of its kind inside
    the dataset; with ``dataset`` (its ``dataset.json``) also its place (scene, view, frame in sequence,
    time) from the frame arithmetic of the config, its kinds of file, and category ids and names among the
    dataset's categories. ScenegenError in one line naming the file and the key."""
    try:
        data = read_json(path, MAX_RECORD_BYTES)
    except ValueError as err:
        raise DatasetError(f"{path}: not a readable frame record ({err})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != FORMAT:
        raise DatasetError(f"{path}: frame record format {shown(found)}, expected {FORMAT!r}")
    if not path.stem.isdigit() or type(data.get("index")) is not int or data["index"] != int(path.stem):
        raise DatasetError(f"{path}: holds frame index {shown(data.get('index'))}, not the frame of its name")
    files = data.get("files")
    if not isinstance(files, dict) or "image" not in files:
        raise DatasetError(f"{path}: 'files' must map each kind of file (image first) to its entry")
    root = path.parent.parent
    for kind, entry in files.items():
        if kind not in FILE_KINDS or not isinstance(entry, dict) or set(entry) != {"path", "bytes", "sha256"}:
            raise DatasetError(f"{path}: files.{kind} must be one of {list(FILE_KINDS)} with path, bytes, sha256")
        if type(entry["bytes"]) is not int or not isinstance(entry["sha256"], str) or len(entry["sha256"]) != 64:
            raise DatasetError(f"{path}: files.{kind} needs bytes (an integer) and sha256 (64 hex digits)")
        path_inside(root, entry["path"], path)
    try:
        record: FrameRecord = checked(data, FrameRecord)
        if dataset is not None:
            _check_place(record, dataset)
        _check_record(record, checked(record["spec"], SceneSpec, "spec"))
    except BadValue as err:
        raise DatasetError(f"{path}: {err}") from None
    return record


def spec_of(record: FrameRecord) -> SceneSpec:
    """The frame's scene spec (checked when the record was read)."""
    spec: SceneSpec = checked(record["spec"], SceneSpec, "spec")
    return spec


def _check_record(record: FrameRecord, spec: SceneSpec) -> None:
    """What a record must say of itself: bounds, its own spec's numbers, paths and suffixes of its files,
    its counts and each object's labels. BadValue naming the key."""
    index, width, height = record["index"], record["width"], record["height"]
    for key in ("width", "height", "scene_index", "view", "frame_in_sequence", "time", "seed"):
        _at_least(record[key], 1 if key in ("width", "height") else 0, key)
    for key, value, expected in (
        ("width", width, spec.camera.width),
        ("height", height, spec.camera.height),
        ("spec.index", spec.index, index),
        ("spec.seed", spec.seed, record["seed"]),
    ):
        if value != expected:
            raise BadValue(key, f"{shown(value)} disagrees with the frame's {expected}")
    for kind, entry in record["files"].items():
        relative = file_relative(kind, record["scene_index"] if DECLARED[kind].per_scene else index)
        if entry["path"] != relative:
            raise BadValue(f"files.{kind}.path", f"{shown(entry['path'])} is not the {kind} file {relative!r}")
        _at_least(entry["bytes"], 0, f"files.{kind}.bytes")
    annotations = record["annotations"]
    if [a["instance_id"] for a in annotations] != [o.instance_id for o in spec.objects]:
        raise BadValue("annotations", "their instance ids are not those of spec.objects, in order")
    annotated = sum(map(is_annotated, annotations))
    counts = {
        "objects": len(spec.objects),
        "annotated": annotated,
        "below_min_visible_pixels": len(annotations) - annotated,
        "distractors": len(spec.distractors),
        "unplaced": spec.unplaced,
        "redropped": spec.redropped,
    }
    written: Mapping[str, object] = record["counts"]
    for key, count in counts.items():
        if written[key] != count:
            raise BadValue(f"counts.{key}", f"{shown(written[key])}, the frame has {count}")
    for i, (ann, obj) in enumerate(zip(annotations, spec.objects, strict=True)):
        _check_label(ann, obj.asset_id, obj.class_name, width, height, f"annotations[{i}]")


def _check_label(ann: ObjectLabel, asset_id: str, class_name: str, width: int, height: int, key: str) -> None:
    if (ann["asset_id"], ann["class_name"]) != (asset_id, class_name):
        raise BadValue(f"{key}.asset_id", "the asset and class are not those of its spec object")
    _at_least(ann["visible_pixels"], 0, f"{key}.visible_pixels")
    if ann["visible"] != (ann["visible_pixels"] > 0):
        raise BadValue(f"{key}.visible", f"{ann['visible']} with {ann['visible_pixels']} visible pixels")
    if len(ann["cam_R_m2c"]) != 9 or len(ann["cam_t_m2c"]) != 3:
        raise BadValue(f"{key}.cam_R_m2c", "a pose is 9 rotation and 3 translation numbers")
    if len(ann["keypoints"]) != KEYPOINTS or any(len(p) != 3 or p[2] not in (0, 1, 2) for p in ann["keypoints"]):
        raise BadValue(f"{key}.keypoints", f"must be {KEYPOINTS} points [u, v, flag 0, 1 or 2]")
    for keys in (ANNOTATED_KEYS, AMODAL_KEYS):
        present = [k for k in keys if k in ann]
        if present and len(present) != len(keys):
            missing = next(k for k in keys if k not in ann)
            raise BadValue(f"{key}.{missing}", f"missing beside {present[0]}")
    if is_annotated(ann):
        if ann["area"] != ann["visible_pixels"]:
            raise BadValue(f"{key}.area", f"{ann['area']}, not its {ann['visible_pixels']} visible pixels")
        _check_mask(ann["bbox"], ann["area"], ann["segmentation"], width, height, f"{key}.bbox", f"{key}.segmentation")
    if "amodal_area" in ann:
        bbox, area = ann["amodal_bbox"], ann["amodal_area"]
        if (bbox is None) != (area == 0):
            raise BadValue(f"{key}.amodal_bbox", f"{shown(bbox)} with an amodal area of {shown(area)}")
        _check_mask(
            bbox, area, ann["amodal_segmentation"], width, height, f"{key}.amodal_bbox", f"{key}.amodal_segmentation"
        )
        if not 0.0 <= ann["visib_fract"] <= 1.0:
            raise BadValue(f"{key}.visib_fract", f"{ann['visib_fract']} is not in [0, 1]")


def _check_mask(bbox: list[int] | None, area: int, rle: Rle, width: int, height: int, box_key: str, key: str) -> None:
    """A COCO box inside the image (None: an empty mask), and an RLE of the image's size with ``area`` pixels."""
    if bbox is not None:
        if (
            len(bbox) != 4
            or min(bbox) < 0
            or min(bbox[2:]) < 1
            or bbox[0] + bbox[2] > width
            or bbox[1] + bbox[3] > height
        ):
            raise BadValue(box_key, f"{shown(bbox)} is not an [x, y, w, h] box inside the {width}x{height} image")
    if rle["size"] != [height, width]:
        raise BadValue(f"{key}.size", f"{shown(rle['size'])}, the image is [{height}, {width}]")
    try:
        runs = parse_counts(rle["counts"])
    except ValueError as err:
        raise BadValue(f"{key}.counts", str(err)) from None
    if min(runs, default=0) < 0 or sum(runs) != width * height or sum(runs[1::2]) != area:
        raise BadValue(f"{key}.counts", f"its runs do not cover the image with the {area} pixels of the area")


def _check_place(record: FrameRecord, dataset: DatasetFile) -> None:
    """What a record of ``dataset`` must say: its place by the frame arithmetic of the dataset's config, the
    kinds of file that config makes, and categories of the dataset."""
    cfg, index = dataset.config, record["index"]
    if not in_shard(cfg, index):
        raise BadValue("index", f"frame {index} is not a frame of this dataset's num_scenes and shard")
    place = place_of(cfg, index)
    expected = {
        "scene_index": place.scene,
        "view": place.view,
        "frame_in_sequence": place.frame_in_sequence,
        "time": place.frame_in_sequence / cfg.sequence.fps,
        "seed": cfg.seed,
        "width": cfg.render.width,
        "height": cfg.render.height,
    }
    fields: Mapping[str, object] = record
    for key, value in expected.items():
        if fields[key] != value:
            raise BadValue(key, f"{shown(fields[key])}, but frame {index} of this dataset has {value}")
    kinds = frame_kinds(cfg, place)
    if set(record["files"]) != kinds:
        raise BadValue(
            "files", f"kinds {sorted(record['files'])}, but this dataset's frame {index} has {sorted(kinds)}"
        )
    names = [c["name"] for c in dataset.categories]
    minimum = max(1, cfg.output.min_visible_pixels)
    for i, ann in enumerate(record["annotations"]):
        category = ann["category_id"]
        if not 1 <= category <= len(names) or names[category - 1] != ann["class_name"]:
            raise BadValue(f"annotations[{i}].category_id", f"{category} is not the category of {ann['class_name']!r}")
        if is_annotated(ann) != (ann["visible_pixels"] >= minimum):
            raise BadValue(f"annotations[{i}].bbox", f"labelled or not against output.min_visible_pixels={minimum}")
        if ("amodal_area" in ann) != cfg.output.amodal:
            raise BadValue(f"annotations[{i}].amodal_area", f"present or not against output.amodal={cfg.output.amodal}")


def _at_least(value: float, low: float, key: str) -> None:
    if value < low:
        raise BadValue(key, f"{shown(value)} is below {low}")


def listed_records(out: Path) -> list[tuple[Path, int | None]]:
    """Every ``.json`` file in ``out/labels``, by name, with the frame its name gives (None: no frame number)."""
    return [(path, int(path.stem) if path.stem.isdigit() else None) for path in sorted((out / "labels").glob("*.json"))]


def record_indices(out: Path) -> list[int]:
    """The frames of the records in ``out/labels``, sorted; ScenegenError on a file there not named as one."""
    indices = []
    for path, index in listed_records(out):
        if index is None:
            raise DatasetError(f"{path}: not a frame record (its name is not a frame number)")
        indices.append(index)
    return sorted(indices)


def iter_records(
    out: Path, indices: list[int] | None = None, dataset: DatasetFile | None = None
) -> Iterator[FrameRecord]:
    """The frame records of a dataset folder, in frame order, one at a time, each read by :func:`read_record`
    against ``dataset`` (default: the folder's own ``dataset.json``): every one, or those of ``indices``."""
    dataset = read_dataset_file(out) if dataset is None else dataset
    for index in record_indices(out) if indices is None else indices:
        yield read_record(record_file(out, index), dataset)


def read_records(out: Path, indices: list[int] | None = None) -> list[FrameRecord]:
    """:func:`iter_records` as a list."""
    return list(iter_records(out, indices))


def record_file(out: Path, index: int) -> Path:
    """Frame ``index``'s record in ``out``, never through a symbolic link out of it."""
    return path_inside(out, f"labels/{frame_name(index)}.json", out)


def file_path(out: Path, record: FrameRecord, kind: str) -> Path:
    """The absolute path of the record's file of ``kind``, a regular file inside ``out``; ScenegenError naming
    the record when the path leaves ``out``, or the file when it is missing or not a regular file."""
    path = path_inside(out, record["files"][kind]["path"], record_path(out, record["index"]))
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError as err:
        raise DatasetError(f"{path}: {err.strerror}; listed as files.{kind} by frame {record['index']}") from None
    if not regular:
        raise DatasetError(f"{path}: not a regular file; listed as files.{kind} by frame {record['index']}")
    return path


def image_suffix(record: FrameRecord) -> str:
    """The suffix of the frame's image file (``.png``)."""
    return Path(record["files"]["image"]["path"]).suffix


def frame_problems(out: Path, record: FrameRecord) -> list[str]:
    """What is wrong with the files of ``record``'s frame in ``out``, one line each naming the file:
    missing, not a regular file, another size, or other content (SHA-256) than the record says; empty
    when all are whole."""
    problems = []
    for entry in record["files"].values():
        path = path_inside(out, entry["path"], record_path(out, record["index"]))
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                problems.append(f"{path}: not a regular file")
            elif info.st_size != entry["bytes"]:
                problems.append(f"{path}: {info.st_size} bytes, the record says {entry['bytes']}")
            elif file_sha256(path) != entry["sha256"]:
                problems.append(f"{path}: its content differs from the record (SHA-256)")
        except OSError as err:
            problems.append(f"{path}: {err.strerror}")
    return problems


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path``, hex, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def frame_done(out: Path, index: int, dataset: DatasetFile) -> bool:
    """Whether frame ``index`` of ``dataset`` is finished in ``out``: its record reads and every file matches
    it. A record that is empty, unparsable, of another version or wrong in any key counts as not done, as do
    missing or corrupt files."""
    if not record_path(out, index).is_file():
        return False
    try:
        return not frame_problems(out, read_record(record_file(out, index), dataset))
    except ScenegenError:
        return False

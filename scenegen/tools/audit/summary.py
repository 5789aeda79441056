"""The audit's numbers and checks, as the plain data of ``summary.json``.

Three checks can fail (``--strict`` exits 1): a shortcut feature, class imbalance above
``max_imbalance_ratio``, near-duplicates above ``max_duplicate_fraction`` of the images. Notes say what
was measured on what (samples, missing visibility, box-only annotations) and never fail.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from scenegen.formats.coco_reader import CocoDataset
from scenegen.tools.audit.config import AuditConfig
from scenegen.tools.audit.measure import Measurements
from scenegen.tools.audit.phash import BITS, near_duplicates
from scenegen.tools.audit.shortcuts import FEATURES, ShortcutResult, detect_shortcut
from scenegen.tools.audit.stats import circular_hue, class_balance, quantiles

MAX_LISTED_PAIRS = 100  # near-duplicate pairs listed in the summary; all are counted


def feature_matrix(m: Measurements, feature: str) -> np.ndarray:
    """(n, d) values of one of ``FEATURES`` for the n measured instances (NaN rows: not measurable)."""
    if feature == "hue":
        return m.hue
    if feature == "brightness":
        return m.brightness[:, None]
    if feature == "box_size":
        return np.log(np.maximum(m.box_size, 1e-6))[:, None]
    if feature == "box_center":
        return m.box_center
    return m.ring


def hue_vectors(rgb: np.ndarray) -> np.ndarray:
    """(n, 2) saturation-weighted (cos H, sin H) of (n, 3) RGB colours in [0, 1]."""
    hsv = cv2.cvtColor(rgb.astype(np.float32)[None], cv2.COLOR_RGB2HSV)[0].astype(float)
    angle = np.deg2rad(hsv[:, 0])
    return np.stack([hsv[:, 1] * np.cos(angle), hsv[:, 1] * np.sin(angle)], axis=1)


def summarise(
    ds: CocoDataset, m: Measurements, cfg: AuditConfig, shapes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything ``summary.json`` holds: counts, balance, per-class statistics, background, duplicates,
    shortcuts, checks (``passed`` false fails ``--strict``), notes, and the shape diversity per class of a
    scenegen dataset (``shapes.shape_diversity``; None for other COCO datasets)."""
    classes = ds.classes
    counts = np.bincount([a["label"] for a in ds.annotations], minlength=len(classes))
    image_index = {image_id: i for i, image_id in enumerate(sorted(ds.images))}
    per_image = np.bincount([image_index[a["image_id"]] for a in ds.annotations], minlength=len(image_index))
    balance = class_balance(counts)
    shortcuts = {
        f: detect_shortcut(f, feature_matrix(m, f), m.labels, m.instance_images, classes, cfg) for f in FEATURES
    }
    pairs, nearest = near_duplicates(m.hashes, cfg.duplicate_distance)
    with_twin = len(np.unique(pairs[:, :2]))
    duplicate_fraction = with_twin / len(m.hashes) if len(m.hashes) else 0.0
    file_of = [ds.images[int(i)]["file_name"] for i in m.image_ids]
    background = m.background[~np.isnan(m.background).any(axis=1)]

    checks = [_balance_check(counts, classes, balance["imbalance_ratio"], cfg)]
    checks.append(_duplicate_check(with_twin, len(m.hashes), duplicate_fraction, cfg))
    for feature, result in shortcuts.items():
        if result is not None:
            message = (
                result.message if result.flagged else f"accuracy {result.accuracy:.2f} vs chance {result.chance:.2f}"
            )
            checks.append({"check": f"shortcut:{feature}", "passed": not result.flagged, "message": message})
    return {
        "dataset": str(ds.source),
        "annotations_file": str(ds.annotations_file),
        "images_dir": str(ds.images_dir),
        "scenegen_dataset": ds.is_scenegen,
        "passed": all(c["passed"] for c in checks),
        "flags": [c["message"] for c in checks if not c["passed"]],
        "checks": checks,
        "notes": _notes(ds, m, shortcuts, cfg, duplicates_fail=not checks[1]["passed"]) + _shape_notes(shapes),
        "counts": {
            "images": len(ds.images),
            "annotations": len(ds.annotations),
            "crowd_ignored": ds.crowd,
            "box_only_annotations": ds.box_masks,
            "instances_measured": len(m.labels),
            "images_measured": len(m.image_ids),
            "classes": {name: int(c) for name, c in zip(classes, counts, strict=True)},
            "empty_classes": [name for name, c in zip(classes, counts, strict=True) if c == 0],
        },
        "balance": {
            **balance,
            "instances_per_image": {
                **quantiles(per_image.astype(float)),
                "min": int(per_image.min()),
                "max": int(per_image.max()),
                "histogram": np.bincount(per_image).tolist(),
            },
        },
        "per_class": {name: _class_stats(m, label) for label, name in enumerate(classes) if counts[label]},
        "background": {
            "images": len(background),
            "mean_rgb": background.mean(axis=0).tolist() if len(background) else None,
            "std_rgb": background.std(axis=0).tolist() if len(background) else None,
            "mean_distance_to_mean": float(np.linalg.norm(background - background.mean(axis=0), axis=1).mean())
            if len(background)
            else None,
            "hue": circular_hue(hue_vectors(background)) if len(background) else None,
        },
        "duplicates": {
            "max_distance": cfg.duplicate_distance,
            "pairs_count": len(pairs),
            "fraction": duplicate_fraction,
            "pairs": [[file_of[i], file_of[j], int(d)] for i, j, d in pairs[:MAX_LISTED_PAIRS]],
            "nearest_distance": quantiles(nearest.astype(float)),
            "nearest_distance_histogram": np.bincount(nearest, minlength=BITS + 1).tolist(),  # 0..BITS
        },
        "shortcuts": {f: _shortcut_entry(r) for f, r in shortcuts.items()},
        "shapes": shapes,
    }


def _shape_notes(shapes: dict[str, Any] | None) -> list[str]:
    if shapes is None:
        return ["shape diversity: not measured (needs scenegen's frame records)"]
    single = [name for name, stats in shapes["per_class"].items() if stats["distinct_shapes"] == 1]
    if not single:
        return []
    return [f"one shape only (every instance the same mesh, at other sizes): {', '.join(single)}"]


def _class_stats(m: Measurements, label: int) -> dict[str, Any]:
    mine = m.labels == label
    visibility = m.visibility[mine]
    return {
        "measured": int(mine.sum()),
        "box_size": quantiles(m.box_size[mine]),
        "box_center_mean": np.nanmean(m.box_center[mine], axis=0).tolist() if mine.any() else None,
        "visibility": quantiles(visibility) if (~np.isnan(visibility)).any() else None,
        "hue": circular_hue(m.hue[mine]),
        "brightness": quantiles(m.brightness[mine]),
    }


def _shortcut_entry(result: ShortcutResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "instances": result.instances,
        "accuracy": result.accuracy,
        "chance": result.chance,
        "flagged": result.flagged,
        "recall": result.recall,
        "precision": result.precision,
        "message": result.message,
    }


def _balance_check(counts: np.ndarray, classes: list[str], ratio: float, cfg: AuditConfig) -> dict[str, Any]:
    present = np.flatnonzero(counts)
    most, least = present[np.argmax(counts[present])], present[np.argmin(counts[present])]
    passed = ratio <= cfg.max_imbalance_ratio
    message = (
        f"class imbalance: '{classes[most]}' has {counts[most]} instances, '{classes[least]}' {counts[least]}: "
        f"ratio {ratio:.1f} {'<=' if passed else '>'} {cfg.max_imbalance_ratio:g}"
    )
    return {"check": "class_balance", "passed": passed, "message": message}


def _duplicate_check(with_twin: int, images: int, fraction: float, cfg: AuditConfig) -> dict[str, Any]:
    passed = fraction <= cfg.max_duplicate_fraction
    message = (
        f"near-duplicates: {with_twin} of {images} images ({fraction:.1%}) have another within "
        f"{cfg.duplicate_distance} pHash bits, {'at most' if passed else 'more than'} {cfg.max_duplicate_fraction:.0%}"
    )
    return {"check": "near_duplicates", "passed": passed, "message": message}


def _notes(
    ds: CocoDataset,
    m: Measurements,
    shortcuts: dict[str, ShortcutResult | None],
    cfg: AuditConfig,
    duplicates_fail: bool,
) -> list[str]:
    notes = []
    if duplicates_fail and any(r and r.flagged for r in shortcuts.values()):
        notes.append(
            "near-duplicates inflate the shortcut accuracies (an instance's copy in another image is its nearest "
            "neighbour): remove them and audit again"
        )
    if len(m.labels) < len(ds.annotations):
        notes.append(f"measured a sample of {len(m.labels)} of {len(ds.annotations)} instances (max_instances)")
    if len(m.image_ids) < len(ds.images):
        notes.append(f"background and near-duplicates: a sample of {len(m.image_ids)} of {len(ds.images)} images")
    counts = np.bincount([a["label"] for a in ds.annotations], minlength=len(ds.classes))
    if not counts.all():
        empty = [name for name, count in zip(ds.classes, counts, strict=True) if not count]
        notes.append(f"categories without annotations (left out of the balance): {', '.join(empty)}")
    if ds.crowd:
        notes.append(f"{ds.crowd} crowd annotations (iscrowd 1) left out")
    if ds.box_masks:
        notes.append(f"{ds.box_masks} annotations without a segmentation were measured on their box")
    if np.isnan(m.visibility).all():
        notes.append("no visibility (visib_fract) in the annotations")
    notes.extend(
        f"{r.message}; below the flag for the whole dataset"
        for r in shortcuts.values()
        if r and r.message and not r.flagged
    )
    skipped = [FEATURES[f] for f, r in shortcuts.items() if r is None]
    if skipped:
        notes.append(
            f"shortcut tests skipped (fewer than {cfg.min_instances} instances or one class): {', '.join(skipped)}"
        )
    return notes

"""The report's figures: PNG files drawn with matplotlib's Agg canvas (no display, no pyplot state).

Per-class figures show at most ``MAX_CLASSES`` classes, the most measured first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv
from matplotlib.figure import Figure

from scenegen.tools.audit.config import AuditConfig
from scenegen.tools.audit.measure import HUE_BINS, VALUE_BINS, Measurements
from scenegen.tools.audit.shortcuts import FEATURES

MAX_CLASSES = 24
FLAG, OK = "#c0392b", "#2e86c1"


def make_plots(classes: list[str], m: Measurements, summary: dict[str, Any], cfg: AuditConfig, out: Path) -> dict:
    """Draw the figures into ``out`` (shortcuts when any feature was tested, visibility when known); return
    figure key -> file name (relative to ``out``)."""
    measured = np.bincount(m.labels, minlength=len(classes))
    shown = [int(c) for c in np.argsort(-measured, kind="stable")[:MAX_CLASSES] if measured[c]]
    figures = {
        "classes": _classes(summary, out),
        "box_size": _box_size(m, classes, shown, out),
        "box_centers": _box_centers(m, classes, shown, out),
        "colour": _colour(m, classes, shown, out),
        "background": _background(m, summary, out),
    }
    if any(summary["shortcuts"].values()):
        figures["shortcuts"] = _shortcuts(summary, classes, cfg, out)
    if not np.isnan(m.visibility).all():
        figures["visibility"] = _visibility(m, classes, shown, out)
    if summary["shapes"] and summary["shapes"]["per_class"]:
        figures["shapes"] = _shapes(summary["shapes"]["per_class"], out)
    return figures


def _save(fig: Figure, out: Path, name: str) -> str:
    FigureCanvasAgg(fig)
    fig.savefig(out / f"{name}.png", dpi=90)
    return f"{name}.png"


def _grid(count: int, columns: int, size: tuple[float, float]) -> tuple[Figure, list]:
    """A figure of ``count`` panels of ``size`` inches, at most ``columns`` wide; the unused panels hidden."""
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    fig = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, list(axes[:count])


def _classes(summary: dict[str, Any], out: Path) -> str:
    counts = summary["counts"]["classes"]
    names = list(counts)
    fig = Figure(figsize=(11, max(3.0, 0.25 * len(names) + 1)), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.barh(names, list(counts.values()), color=OK)
    left.invert_yaxis()
    left.set_title("instances per class")
    left.set_xlabel("instances")
    histogram = summary["balance"]["instances_per_image"]["histogram"]
    edges = np.arange(len(histogram) + 1) - 0.5  # one patch however many counts (one bar each took minutes)
    right.stairs(histogram, edges, fill=True, color=OK)
    right.set_title("instances per image")
    right.set_xlabel("instances in the image")
    right.set_ylabel("images")
    return _save(fig, out, "classes")


def _box_size(m: Measurements, classes: list[str], shown: list[int], out: Path) -> str:
    fig = Figure(figsize=(8, 0.3 * len(shown) + 1.5), layout="constrained")
    ax = fig.subplots()
    ax.boxplot(
        [m.box_size[m.labels == c] for c in shown], orientation="horizontal", tick_labels=[classes[c] for c in shown]
    )
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("box size: sqrt(box area / image area)")
    ax.set_title("box size per class")
    return _save(fig, out, "box_size")


def _box_centers(m: Measurements, classes: list[str], shown: list[int], out: Path) -> str:
    fig, axes = _grid(len(shown), 6, (2.0, 1.8))
    for ax, c in zip(axes, shown, strict=True):
        centres = m.box_center[m.labels == c]
        heat = np.histogram2d(centres[:, 1], centres[:, 0], bins=(6, 8), range=((0, 1), (0, 1)))[0]
        ax.imshow(heat / max(heat.max(), 1), extent=(0, 1, 1, 0), cmap="magma", vmin=0, vmax=1, aspect="auto")
        ax.set_title(f"{classes[c]} ({len(centres)})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("box centres per class (image area, normalised to each class's peak)")
    return _save(fig, out, "box_centers")


def _visibility(m: Measurements, classes: list[str], shown: list[int], out: Path) -> str:
    fig = Figure(figsize=(8, 0.3 * len(shown) + 1.5), layout="constrained")
    ax = fig.subplots()
    values = [m.visibility[(m.labels == c) & ~np.isnan(m.visibility)] for c in shown]
    ax.boxplot(values, orientation="horizontal", tick_labels=[classes[c] for c in shown], showmeans=True)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("visible fraction (visib_fract); triangles: means")
    ax.set_title("visibility per class")
    return _save(fig, out, "visibility")


def _colour(m: Measurements, classes: list[str], shown: list[int], out: Path) -> str:
    fig, axes = _grid(2 * len(shown), 2, (4.2, 1.1))
    hue_centres = (np.arange(HUE_BINS) + 0.5) / HUE_BINS
    bar_colours = hsv_to_rgb(np.stack([hue_centres, np.full(HUE_BINS, 0.8), np.full(HUE_BINS, 0.9)], axis=1))
    value_centres = (np.arange(VALUE_BINS) + 0.5) / VALUE_BINS
    grey = np.repeat(value_centres[:, None], 3, axis=1)
    for i, c in enumerate(shown):
        hue, value = axes[2 * i], axes[2 * i + 1]
        hue.bar(hue_centres * 360, m.hue_hist[c] / max(m.hue_hist[c].sum(), 1), width=360 / HUE_BINS, color=bar_colours)
        hue.set_xlim(0, 360)
        hue.set_ylabel(classes[c], rotation=0, ha="right", fontsize=9)
        value.bar(value_centres, m.value_hist[c] / max(m.value_hist[c].sum(), 1), width=1 / VALUE_BINS, color=grey)
        value.set_xlim(0, 1)
        for ax in (hue, value):
            ax.set_yticks([])
            if i < len(shown) - 1:
                ax.set_xticks([])
    axes[0].set_title("hue of visible pixels (saturated ones), degrees", fontsize=10)
    axes[1].set_title("brightness (V) of visible pixels", fontsize=10)
    return _save(fig, out, "colour")


def _background(m: Measurements, summary: dict[str, Any], out: Path) -> str:
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    colours = m.background[~np.isnan(m.background).any(axis=1)]
    if len(colours):
        hsv = rgb_to_hsv(np.clip(colours, 0, 1))
        left.scatter(hsv[:, 0] * 360, hsv[:, 2], c=np.clip(colours, 0, 1), s=18, edgecolors="0.3", linewidths=0.3)
    left.set_xlim(0, 360)
    left.set_ylim(0, 1)
    left.set_xlabel("hue of the mean background colour (degrees)")
    left.set_ylabel("its brightness (V)")
    left.set_title("background colour per image (pixels outside every mask)")
    histogram = summary["duplicates"]["nearest_distance_histogram"]
    threshold = summary["duplicates"]["max_distance"]
    right.axvspan(-0.5, threshold + 0.5, color=FLAG, alpha=0.15, linewidth=0)
    right.bar(
        range(len(histogram)),
        histogram,
        width=2.0,
        color=[FLAG if d <= threshold else OK for d in range(len(histogram))],
    )
    right.set_xlabel("pHash Hamming distance to the nearest other image (bits of 256)")
    right.set_ylabel("images")
    right.set_title(f"near-duplicates: distance <= {threshold} (shaded)")
    return _save(fig, out, "background")


def _shortcuts(summary: dict[str, Any], classes: list[str], cfg: AuditConfig, out: Path) -> str:
    tested = {f: r for f, r in summary["shortcuts"].items() if r is not None}
    fig = Figure(figsize=(11, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.4))
    names = [FEATURES[f] for f in tested]
    for i, r in enumerate(tested.values()):
        left.bar(i, r["accuracy"], color=FLAG if r["flagged"] else OK, label="accuracy" if i == 0 else None)
        bar = max(r["chance"] + cfg.shortcut_margin, cfg.shortcut_ratio * r["chance"])
        left.hlines(r["chance"], i - 0.4, i + 0.4, colors="0.1", label="chance" if i == 0 else None)
        left.hlines(bar, i - 0.4, i + 0.4, colors=FLAG, linestyles="--", label="flagged above" if i == 0 else None)
    left.set_xticks(range(len(names)), names, rotation=20, ha="right")
    left.set_ylim(0, 1.15)
    left.set_ylabel("cross-validated accuracy")
    left.legend(loc="upper right", fontsize=8, ncols=3)
    left.set_title("predicting the class from one feature")
    present = [c for c in classes if any(c in r["recall"] for r in tested.values())][:MAX_CLASSES]
    recall = np.array([[r["recall"].get(c, np.nan) for c in present] for r in tested.values()])
    image = right.imshow(recall, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    right.set_yticks(range(len(names)), names)
    right.set_xticks(range(len(present)), present, rotation=60, ha="right", fontsize=8)
    right.set_title("per-class recall from each feature alone")
    fig.colorbar(image, ax=right)
    return _save(fig, out, "shortcuts")


def _shapes(per_class: dict[str, Any], out: Path) -> str:
    """Per class, each distinct shape's proportions (a dot sized by its instances), titled with the count."""
    names = sorted(per_class, key=lambda n: -per_class[n]["instances"])[:MAX_CLASSES]
    fig, axes = _grid(len(names), 6, (2.0, 2.0))
    for ax, name in zip(axes, names, strict=True):
        stats = per_class[name]
        shown = [s for s in stats["shapes"].values() if s["proportions"] is not None]
        if shown:
            points = np.array([s["proportions"] for s in shown])
            sizes = 8 + 40 * np.sqrt([s["instances"] for s in shown]) / np.sqrt(max(s["instances"] for s in shown))
            ax.scatter(points[:, 0], points[:, 1], s=sizes, color=OK if stats["distinct_shapes"] > 1 else FLAG)
        ax.plot([0, 1], [0, 1], color="#bbb", linewidth=0.5)  # shortest <= middle: below the diagonal
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{name}: {stats['distinct_shapes']} shape{'s' * (stats['distinct_shapes'] != 1)}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("middle / longest side", fontsize=7)
        ax.set_ylabel("shortest / longest side", fontsize=7)
    fig.suptitle("proportions of each shape's 3D box, per class", fontsize=10)
    return _save(fig, out, "shapes")

"""The report folder: ``summary.json`` and a self-contained ``report.html`` (plain HTML, its figures as
PNG files beside it, referenced by relative paths; no scripts, nothing fetched)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from scenegen.dataset import atomic
from scenegen.tools.audit.shortcuts import FEATURES

STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.fail { color: #c0392b; font-weight: bold; } .pass { color: #1e8449; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinite floats replaced by None, so the JSON is standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_report(out: Path, summary: dict[str, Any], figures: dict[str, str]) -> Path:
    """Write ``summary.json`` and ``report.html`` into ``out``; return the report's path."""
    atomic.write_json(out / "summary.json", json_safe(summary))
    path = out / "report.html"
    atomic.write_bytes(path, render_html(summary, figures).encode())
    return path


def render_html(summary: dict[str, Any], figures: dict[str, str]) -> str:
    """The report page."""
    e = html.escape
    counts, balance = summary["counts"], summary["balance"]
    verdict = '<span class="pass">PASSED</span>' if summary["passed"] else '<span class="fail">FAILED</span>'
    parts = [
        f"<h1>Dataset audit: {verdict}</h1>",
        f"<p>{e(summary['annotations_file'])}, images in {e(summary['images_dir'])}: {counts['images']} images, "
        f"{counts['annotations']} instances, {len(counts['classes'])} classes; measured {counts['instances_measured']} "
        f"instances and {counts['images_measured']} images.</p>",
        "<h2>Checks</h2><table><tr><th>check</th><th>result</th><th>finding</th></tr>",
    ]
    for check in summary["checks"]:
        state = '<span class="pass">pass</span>' if check["passed"] else '<span class="fail">FAIL</span>'
        parts.append(f"<tr><td>{e(check['check'])}</td><td>{state}</td><td>{e(check['message'])}</td></tr>")
    parts.append("</table>")
    if summary["notes"]:
        parts.append("<ul>" + "".join(f"<li>{e(note)}</li>" for note in summary["notes"]) + "</ul>")

    parts.append("<h2>Shortcuts</h2>")
    parts.append(
        "<p>Each nuisance feature alone predicts the class with k-nearest-neighbours, k-fold cross-validated; "
        "chance is the majority class frequency. Far above chance means a model can learn the feature "
        "instead of the object.</p><table><tr><th>feature</th><th>instances</th><th>accuracy</th>"
        "<th>chance</th><th>flagged</th></tr>"
    )
    for feature, result in summary["shortcuts"].items():
        if result is None:
            parts.append(f"<tr><td>{FEATURES[feature]}</td><td colspan=4>not tested</td></tr>")
            continue
        flag = '<span class="fail">yes</span>' if result["flagged"] else "no"
        parts.append(
            f"<tr><td>{FEATURES[feature]}</td><td>{result['instances']}</td><td>{result['accuracy']:.3f}</td>"
            f"<td>{result['chance']:.3f}</td><td>{flag}</td></tr>"
        )
    parts.append("</table>")
    parts.append(_figure(figures, "shortcuts"))

    parts.append(
        f"<h2>Classes</h2><p>Imbalance ratio (most / least frequent) {balance['imbalance_ratio']:.2f}; "
        f"normalised entropy {balance['normalized_entropy']:.3f} (1 = balanced). Instances per image: "
        f"{balance['instances_per_image']['min']} to {balance['instances_per_image']['max']}, mean "
        f"{balance['instances_per_image']['mean']:.2f}.</p>"
    )
    parts.append(_figure(figures, "classes"))
    parts.append(_class_table(summary))
    parts.append("<h2>Boxes</h2>" + _figure(figures, "box_size") + _figure(figures, "box_centers"))
    if "visibility" in figures:
        parts.append("<h2>Visibility</h2>" + _figure(figures, "visibility"))
    parts.append("<h2>Colour of the visible pixels</h2>" + _figure(figures, "colour"))
    if summary["shapes"] is not None:
        parts.append(_shape_section(summary["shapes"], figures))

    background, duplicates = summary["background"], summary["duplicates"]
    parts.append("<h2>Backgrounds and near-duplicates</h2>")
    if background["std_rgb"] is not None:
        spread = ", ".join(f"{v:.3f}" for v in background["std_rgb"])
        parts.append(
            f"<p>Mean background colour per image (pixels outside every mask): spread across images (std of R, G, "
            f"B in [0, 1]) {spread}; mean distance to the average colour {background['mean_distance_to_mean']:.3f}; "
            f"hue concentration (resultant length, 1 = one hue) {_number(background['hue']['resultant_length'])}.</p>"
        )
    parts.append(
        f"<p>{duplicates['pairs_count']} near-duplicate pairs (pHash distance <= {duplicates['max_distance']}); "
        f"{duplicates['fraction']:.1%} of the images have one.</p>"
    )
    parts.append(_figure(figures, "background"))
    if duplicates["pairs"]:
        parts.append("<table><tr><th>image</th><th>image</th><th>distance</th></tr>")
        parts.extend(f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{d}</td></tr>" for a, b, d in duplicates["pairs"])
        parts.append("</table>")
    parts.append("<p>All numbers: <a href='summary.json'>summary.json</a>.</p>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>scenegen audit</title>"
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _figure(figures: dict[str, str], key: str) -> str:
    return f"<p><img src='{html.escape(figures[key])}' alt='{key}'></p>" if key in figures else ""


def _number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _class_table(summary: dict[str, Any]) -> str:
    rows = [
        "<table><tr><th>class</th><th>instances</th><th>measured</th><th>box size (median)</th>"
        "<th>visible (mean)</th><th>hue mean (deg)</th><th>hue concentration</th><th>brightness (mean)</th></tr>"
    ]
    for name, stats in summary["per_class"].items():
        visibility = stats["visibility"]["mean"] if stats["visibility"] else None
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{summary['counts']['classes'][name]}</td><td>{stats['measured']}</td>"
            f"<td>{_number(stats['box_size']['median'])}</td><td>{_number(visibility)}</td>"
            f"<td>{_number(stats['hue']['mean_deg'])}</td><td>{_number(stats['hue']['resultant_length'])}</td>"
            f"<td>{_number(stats['brightness']['mean'])}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _shape_section(shapes: dict[str, Any], figures: dict[str, str]) -> str:
    rows = [
        "<h2>Shapes</h2><p>Distinct shapes per class (mesh identities: asset and shape parameters) and their "
        "proportions, from the 3D box of each instance (sides sorted, over the longest); spread: the mean distance "
        "of the shapes' proportions to their mean (0: one shape).</p>",
        "<table><tr><th>class</th><th>instances</th><th>distinct shapes</th><th>middle / longest</th>"
        "<th>shortest / longest</th><th>spread</th></tr>",
    ]
    for name, stats in shapes["per_class"].items():
        ranges = stats["proportions_range"] or [[math.nan, math.nan]] * 2
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{stats['instances']}</td><td>{stats['distinct_shapes']}</td>"
            + "".join(f"<td>{_number(lo)} to {_number(hi)}</td>" for lo, hi in ranges)
            + f"<td>{_number(stats['proportions_spread'])}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows) + _figure(figures, "shapes")

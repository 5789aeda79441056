"""The report folder of ``scenegen evaluate``: ``evaluate.json`` (every number) and ``evaluate.html``, a
sibling of the audit's report (same style; figures as PNG files beside it, no scripts, nothing fetched)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from scenegen.dataset import atomic
from scenegen.errors import ExportError
from scenegen.tools.audit.report import STYLE, json_safe

SETTINGS = {
    "synthetic_only": "synthetic only (CAS)",
    "real_only": "real only (k-fold)",
    "real_plus_synthetic": "real + synthetic (k-fold)",
}
COLOURS = {"synthetic_only": "#2e86c1", "real_only": "#7f8c8d", "real_plus_synthetic": "#27ae60"}


def write_report(out: Path, summary: dict[str, Any]) -> Path:
    """Write ``evaluate.json``, the figures and ``evaluate.html`` into ``out``; return the page's path.
    ``summary["_report"]`` (crops for the figures) is not part of the JSON."""
    extra = summary.pop("_report")
    try:
        out.mkdir(parents=True, exist_ok=True)
        figures = {"recall": _recall_figure(summary, out), "confusion": _confusion_figure(summary, out)}
        if summary["mistakes"]:
            figures["mistakes"] = _mistakes_figure(summary, extra, out)
    except OSError as err:
        raise ExportError(f"cannot write the report to {out}: {err.strerror}; choose --out DIR") from None
    atomic.write_json(out / "evaluate.json", json_safe(summary))
    path = out / "evaluate.html"
    atomic.write_bytes(path, render_html(summary, figures).encode())
    return path


def _interval(result: dict[str, Any]) -> str:
    low, high = result["balanced_accuracy_interval"]
    return f"{result['balanced_accuracy']:.3f} [{low:.3f}, {high:.3f}]"


def terminal_summary(summary: dict[str, Any], report: Path) -> str:
    """A few lines for the terminal: the scores with their intervals, the domain gap, what was left out."""
    lines = [f"classes: {', '.join(summary['classes'])}"]
    if summary["unmatched_target_classes"]:
        lines.append(f"unmatched target classes (left out): {', '.join(summary['unmatched_target_classes'])}")
    crops = summary["crops"]
    lines.append(f"crops: synthetic {crops['synthetic']}, target {crops['target']}")
    for key, name in SETTINGS.items():
        if summary.get(key):
            result = summary[key]
            lines.append(f"{name}: balanced accuracy {_interval(result)}, accuracy {result['accuracy']:.3f}, "
                         f"chance {result['chance']:.3f}")  # fmt: skip
    if summary.get("real_note"):
        lines.append(f"real only, real + synthetic: {summary['real_note']}")
    if summary.get("cas_over_real") is not None:
        lines.append(f"CAS / real-only: {summary['cas_over_real']:.3f}")
    gap = summary["domain_gap"]["probe"]
    lines.append(f"KID (probe features): {gap['kid']:.4f} [{gap['interval'][0]:.4f}, {gap['interval'][1]:.4f}]")
    if "inception" in summary["domain_gap"]:
        inception = summary["domain_gap"]["inception"]
        lines.append(f"Inception-v3: FID {inception['fid']:.2f}, KID {inception['kid']:.4f}")
    lines.append(f"report: {report}")
    return "\n".join(lines)


def _save(fig: Figure, out: Path, name: str) -> str:
    FigureCanvasAgg(fig)
    fig.savefig(out / f"{name}.png", dpi=90)
    return f"{name}.png"


def _recall_figure(summary: dict[str, Any], out: Path) -> str:
    """Per-class recall of each setting, bars with their 95% intervals, and the balanced accuracy."""
    classes = summary["classes"]
    settings = [key for key in SETTINGS if summary.get(key)]
    fig = Figure(figsize=(max(6.0, 1.2 * (len(classes) + 1) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(settings)
    positions = np.arange(len(classes) + 1)
    for i, key in enumerate(settings):
        result = summary[key]
        values, lows, highs = [], [], []
        for name in classes:
            entry = result["per_class"][name]
            recall = entry["recall"] if entry["recall"] is not None else np.nan
            low, high = entry["interval"] or (np.nan, np.nan)
            values.append(recall)
            lows.append(recall - low)
            highs.append(high - recall)
        low, high = result["balanced_accuracy_interval"]
        values.append(result["balanced_accuracy"])
        lows.append(result["balanced_accuracy"] - low)
        highs.append(high - result["balanced_accuracy"])
        x = positions - 0.4 + width * (i + 0.5)
        ax.bar(x, values, width, yerr=[lows, highs], capsize=3, color=COLOURS[key], label=SETTINGS[key])
    chance = summary["synthetic_only"]["chance"]
    ax.axhline(chance, color="#c0392b", linestyle="--", linewidth=1, label=f"chance {chance:.2f}")
    ax.set_xticks(positions, [*classes, "balanced\naccuracy"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall on the target")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, out, "recall")


def _confusion_figure(summary: dict[str, Any], out: Path) -> str:
    """The synthetic-only probe's confusion matrix on the target, rows normalised, counts written in."""
    classes = summary["classes"]
    matrix = np.array(summary["synthetic_only"]["confusion"], dtype=float)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = 1.0 + 0.6 * len(classes)
    fig = Figure(figsize=(side + 1.5, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if shares[row, column] > 0.6 else "black"
        ax.text(column, row, f"{int(count)}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted (trained on synthetic)")
    ax.set_ylabel("target class")
    fig.colorbar(image, ax=ax, label="share of the row")
    return _save(fig, out, "confusion")


def _mistakes_figure(summary: dict[str, Any], extra: dict[str, Any], out: Path) -> str:
    """Each row: a misclassified target crop, then synthetic training crops of the class it was taken for."""
    mistakes, pixels, examples = summary["mistakes"], extra["mistake_pixels"], extra["examples"]
    columns = 1 + max(len(v) for v in examples.values())
    fig = Figure(figsize=(1.3 * columns, 1.45 * len(mistakes)), layout="constrained")
    axes = fig.subplots(len(mistakes), columns, squeeze=False)
    for row, (mistake, crop) in enumerate(zip(mistakes, pixels, strict=True)):
        shown = examples[summary["classes"].index(mistake["predicted"])]
        for column, ax in enumerate(axes[row]):
            ax.set_axis_off()
            if column == 0:
                ax.imshow(crop)
                ax.set_title(f"{mistake['true']} -> {mistake['predicted']}\n{mistake['confidence']:.2f}", fontsize=7)
            elif column - 1 < len(shown):
                ax.imshow(shown[column - 1])
                ax.set_title(f"synthetic {mistake['predicted']}", fontsize=7)
    return _save(fig, out, "mistakes")


def render_html(summary: dict[str, Any], figures: dict[str, str]) -> str:
    """The report page."""
    e = html.escape
    parts = [
        "<h1>Does the data teach anything?</h1>",
        f"<p>A probe classifier trained from scratch on crops of {e(summary['synthetic'])} and tested on crops of "
        f"{e(summary['target'])} (images in {e(summary['target_images'])}). Classes: "
        f"{e(', '.join(summary['classes']))}.</p>",
    ]
    if summary["unmatched_target_classes"]:
        parts.append(
            f"<p class='fail'>Target classes with no synthetic counterpart, left out: "
            f"{e(', '.join(summary['unmatched_target_classes']))} (match them with --map TARGET=SYNTHETIC).</p>"
        )
    parts.append(
        "<h2>Scores on the target</h2><table><tr><th>trained on</th><th>target crops</th><th>accuracy</th>"
        "<th>balanced accuracy [95% interval]</th><th>chance</th></tr>"
    )
    for key, name in SETTINGS.items():
        result = summary.get(key)
        if result:
            parts.append(
                f"<tr><td>{name}</td><td>{result['crops']}</td><td>{result['accuracy']:.3f}</td>"
                f"<td>{_interval(result)}</td><td>{result['chance']:.3f}</td></tr>"
            )
        else:
            parts.append(f"<tr><td>{name}</td><td colspan=4>{e(summary.get('real_note', 'not run'))}</td></tr>")
    parts.append("</table>")
    if summary.get("cas_over_real") is not None:
        parts.append(f"<p>CAS / real-only (balanced accuracies): {summary['cas_over_real']:.3f}.</p>")
    parts.append(
        "<p>Balanced accuracy is the mean per-class recall (chance: 1 / classes, whatever the class frequencies); "
        "intervals are the 2.5 and 97.5 percentiles of a stratified bootstrap over the target crops. Real-only and "
        "real + synthetic are out-of-fold predictions, folds split by target image.</p>"
    )
    parts.append(_figure(figures, "recall"))
    parts.append(_class_table(summary))
    parts.append("<h2>Confusion matrix (synthetic only)</h2>" + _figure(figures, "confusion"))
    parts.append(_gap(summary["domain_gap"]))
    if "mistakes" in figures:
        parts.append(
            "<h2>Most confident mistakes</h2><p>Target crops the synthetic-only probe misclassified with the highest "
            "probability (true -> predicted, probability), beside synthetic crops of the class it took them for.</p>"
            + _figure(figures, "mistakes")
        )
    parts.append(_crop_table(summary))
    probe = summary["probe"]
    parts.append(
        f"<h2>Probe</h2><p>{e(probe['architecture'])}; input {probe['input']}; {probe['parameters']} parameters; "
        f"device {e(probe['device'])}. Config: {e(str(summary['config']))}. Versions: {e(str(summary['versions']))}."
        "</p><p>All numbers: <a href='evaluate.json'>evaluate.json</a>.</p>"
    )
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>scenegen evaluate</title>"
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _figure(figures: dict[str, str], key: str) -> str:
    return f"<p><img src='{html.escape(figures[key])}' alt='{key}'></p>" if key in figures else ""


def _class_table(summary: dict[str, Any]) -> str:
    settings = [key for key in SETTINGS if summary.get(key)]
    rows = ["<table><tr><th>class</th><th>synthetic crops</th><th>target crops</th>"]
    rows += [f"<th>recall, {SETTINGS[key]}</th>" for key in settings]
    rows.append("</tr>")
    for name in summary["classes"]:
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{summary['crops']['synthetic'][name]}</td>"
            f"<td>{summary['crops']['target'][name]}</td>"
        )
        for key in settings:
            entry = summary[key]["per_class"][name]
            if entry["recall"] is None:
                rows.append("<td>n/a</td>")
            else:
                low, high = entry["interval"]
                rows.append(f"<td>{entry['recall']:.3f} [{low:.3f}, {high:.3f}]</td>")
        rows.append("</tr>")
    rows.append("</table>")
    return "".join(rows)


def _gap(gap: dict[str, Any]) -> str:
    probe = gap["probe"]
    parts = [
        "<h2>Domain gap</h2><p>KID (unbiased kernel distance, polynomial kernel, 0 for the same distribution) "
        f"between synthetic and target crops in the probe's penultimate features: {probe['kid']:.4f}, 95% of "
        f"{probe['subsets']} subsets of {probe['subset_size']} crops a side in [{probe['interval'][0]:.4f}, "
        f"{probe['interval'][1]:.4f}].</p>"
    ]
    if "inception" in gap:
        inception = gap["inception"]
        parts.append(
            f"<p>Inception-v3 pool features ({inception['crops'][0]} synthetic, {inception['crops'][1]} target "
            f"crops): FID {inception['fid']:.2f}, KID {inception['kid']:.4f} [{inception['interval'][0]:.4f}, "
            f"{inception['interval'][1]:.4f}].</p>"
        )
    return "".join(parts)


def _crop_table(summary: dict[str, Any]) -> str:
    crops = summary["crops"]
    skipped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in crops["skipped_synthetic"].items())
    skipped_target = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in crops["skipped_target"].items())
    return (
        f"<h2>Crops</h2><p>Synthetic boxes left out: {html.escape(skipped)}. Target boxes left out: "
        f"{html.escape(skipped_target)}.</p>"
    )

"""``scenegen audit``: read, measure, summarise, write the report folder, print the findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenegen.errors import ExportError
from scenegen.formats.coco_reader import load_dataset
from scenegen.tools.audit.config import AuditConfig, load_audit_config
from scenegen.tools.audit.measure import measure
from scenegen.tools.audit.plots import make_plots
from scenegen.tools.audit.report import write_report
from scenegen.tools.audit.shapes import shape_diversity
from scenegen.tools.audit.shortcuts import FEATURES
from scenegen.tools.audit.summary import summarise


def default_out(dataset: Path) -> Path:
    """``<folder>/audit`` for a dataset folder, ``<json stem>_audit`` beside a JSON file."""
    return dataset / "audit" if dataset.is_dir() else dataset.with_name(f"{dataset.stem}_audit")


def audit(dataset: Path, cfg: AuditConfig, images_dir: Path | None = None, out: Path | None = None) -> dict[str, Any]:
    """Audit ``dataset`` (a scenegen folder or a COCO JSON file); write the report folder ``out`` (default:
    ``<folder>/audit`` or ``<json stem>_audit``); return the summary, with ``report`` its HTML page."""
    ds = load_dataset(dataset, images_dir)
    m = measure(ds, cfg)
    shapes = shape_diversity(ds.source, m.image_ids) if ds.is_scenegen else None
    summary = summarise(ds, m, cfg, shapes)
    out = out or default_out(dataset)
    try:
        out.mkdir(parents=True, exist_ok=True)
        figures = make_plots(ds.classes, m, summary, cfg, out)
        return {**summary, "report": str(write_report(out, summary, figures))}
    except OSError as err:
        raise ExportError(f"cannot write the report to {out}: {err.strerror}; choose --out DIR") from None


def terminal_summary(summary: dict[str, Any]) -> str:
    """A few lines for the terminal: the counts, each check's numbers and every flag."""
    counts, balance, duplicates = summary["counts"], summary["balance"], summary["duplicates"]
    tested = {f: r for f, r in summary["shortcuts"].items() if r is not None}
    scores = ", ".join(f"{FEATURES[f]} {r['accuracy']:.2f}{' FLAG' if r['flagged'] else ''}" for f, r in tested.items())
    chance = f", chance {max(r['chance'] for r in tested.values()):.2f}" if tested else ""
    lines = [
        f"audit of {summary['annotations_file']}: {counts['images']} images, {counts['annotations']} instances, "
        f"{len(counts['classes'])} classes",
        f"  class balance: imbalance ratio {balance['imbalance_ratio']:.2f}, normalised entropy "
        f"{balance['normalized_entropy']:.3f}",
        f"  near-duplicates: {duplicates['pairs_count']} pairs, {duplicates['fraction']:.1%} of images",
        f"  shortcuts (accuracy from one feature{chance}): {scores or 'not tested'}",
        *(f"  note: {note}" for note in summary["notes"]),
        *(f"FLAG: {flag}" for flag in summary["flags"]),
        f"{'passed' if summary['passed'] else 'FAILED'}; report: {summary['report']}",
    ]
    return "\n".join(lines)


def audit_command(dataset: Path, images_dir: Path | None, out: Path | None, strict: bool, overrides: list[str]) -> int:
    """Run the audit as the CLI does: print the summary; exit status 1 with ``strict`` when a check fails."""
    summary = audit(dataset, load_audit_config(overrides), images_dir, out)
    print(terminal_summary(summary))
    return 1 if strict and not summary["passed"] else 0

"""Render one ``+experiment=video`` sequence and tile a strip of it for the README: frames with their
point tracks, the forward optical flow in the Middlebury colour wheel (Baker et al., via ``flow_vis``),
and the instance masks.

    .venv/bin/python scripts/flow_strip.py            # writes docs/sequence_flow.png
    .venv/bin/python scripts/flow_strip.py --seed 3 --out /tmp/strip.png sequence.camera_motions=[handheld]

By default the camera orbits (``sequence.camera_motions=[orbit]``), so the backdrop moves too.
Row 1: frames 0, 4, ..., 20 with every other point track's last four frames drawn (white where visible; points
occluded in the shown frame are left out). Row 2: the forward flow to the next frame, hue the direction,
saturation the length (the whole strip shares one scale, its largest flow), occluded pixels dimmed. Row 3:
the instance ids, one colour per track, the same in every frame. Needs ``flow_vis`` (``setup.sh --test``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import flow_vis
import numpy as np

from scenegen.dataset.record import file_path, read_records

REPO = Path(__file__).resolve().parent.parent
SHOWN = range(0, 24, 4)


def render(out: Path, seed: int, overrides: list[str]) -> None:
    command = [sys.executable, "-m", "scenegen.cli", "render", "+experiment=video", "num_scenes=1", f"seed={seed}"]
    subprocess.run([*command, "render.antialias=true", *overrides, f"output_dir={out}", "--no-progress"], check=True)


def mask_tile(ids: np.ndarray) -> np.ndarray:
    """Instance ids as distinct colours on black, BGR."""
    hues = (ids.astype(np.uint32) * 47 % 180).astype(np.uint8)
    hsv = np.dstack([hues, np.full_like(hues, 200), np.where(ids > 0, 255, 0).astype(np.uint8)])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    cv2.rectangle(tile, (0, 0), (width + 8, height + 10), (0, 0, 0), cv2.FILLED)
    cv2.putText(tile, text, (4, height + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def strip(dataset: Path) -> np.ndarray:
    records = read_records(dataset)
    tracks = np.load(file_path(dataset, records[0], "tracks"))
    points, occluded = tracks["target_points"], tracks["occluded"]
    flows = {t: np.load(file_path(dataset, records[t], "flow_fw")) for t in SHOWN}
    valid = {
        t: cv2.imread(str(file_path(dataset, records[t], "flow_fw_png")), cv2.IMREAD_UNCHANGED)[..., 0] > 0
        for t in SHOWN
    }
    largest = max(np.linalg.norm(flows[t][valid[t]], axis=-1).max() for t in SHOWN)
    rows: list[list[np.ndarray]] = [[], [], []]
    for t in SHOWN:
        image = cv2.imread(str(file_path(dataset, records[t], "image")))
        for k in np.flatnonzero(~occluded[:, t])[::2]:  # every other track, to keep it readable
            trail = points[k, max(0, t - 3) : t + 1].round().astype(np.int32)
            cv2.polylines(image, [trail], False, (255, 255, 255), 1, cv2.LINE_AA)
            cv2.circle(image, tuple(int(c) for c in trail[-1]), 1, (255, 255, 255), -1, cv2.LINE_AA)
        rows[0].append(label(image, f"frame {t}"))
        colour = flow_vis.flow_to_color(flows[t] / largest, convert_to_bgr=True)
        colour[~valid[t]] //= 3
        rows[1].append(label(colour, f"flow {t} -> {t + 1}"))
        ids = cv2.imread(str(file_path(dataset, records[t], "instance_mask")), cv2.IMREAD_UNCHANGED)
        rows[2].append(label(mask_tile(ids), "instance ids"))
    return np.vstack([np.hstack(row) for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "sequence_flow.png")
    parser.add_argument("overrides", nargs="*", default=["sequence.camera_motions=[orbit]"], help="render overrides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        render(Path(tmp) / "video", args.seed, args.overrides)
        cv2.imwrite(str(args.out), strip(Path(tmp) / "video"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

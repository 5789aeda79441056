"""Render a few frames of each preset and tile them into one PNG for the README.

    .venv/bin/python scripts/contact_sheet.py            # writes docs/presets.png
    .venv/bin/python scripts/contact_sheet.py --frames 6 --out /tmp/sheet.png
    .venv/bin/python scripts/contact_sheet.py --shapes   # writes docs/shapes.png

Each row is one preset (``conf/experiment/``), rendered through the real ``scenegen render``
command at 320x240, with the instance masks of the first frame shown last in the row. With
``--shapes``, each row is one built-in class alone: the variety of its shape family.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from scenegen.dataset.record import file_path, read_records

REPO = Path(__file__).resolve().parent.parent
PRESETS = ("tabletop", "clutter", "flying", "pile", "room")
TILE = (240, 180)  # width, height of one tile in the sheet


CLASSES = ("ball", "bottle", "bowl", "box", "can", "cone", "mug", "torus")
ONE_CLASS = ["scene.objects_per_scene=[5,7]", "scene.distractors=[0,0]", "camera.distance=[0.5,0.7]", "postfx=none"]


def render_preset(preset: str, frames: int, out: Path, overrides: tuple[str, ...] = ()) -> None:
    command = [sys.executable, "-m", "scenegen.cli", "render", f"+experiment={preset}", f"num_scenes={frames}"]
    command += ["render.width=320", "render.height=240", "render.antialias=true", f"output_dir={out}", *overrides]
    subprocess.run([*command, "--no-progress"], check=True)


def mask_tile(ids: np.ndarray) -> np.ndarray:
    """Instance ids as distinct colours on black, BGR."""
    hues = (ids.astype(np.uint32) * 47 % 180).astype(np.uint8)
    hsv = np.dstack([hues, np.full_like(hues, 200), np.where(ids > 0, 255, 0).astype(np.uint8)])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def preset_row(label: str, dataset: Path) -> np.ndarray:
    records = read_records(dataset)
    tiles = [cv2.imread(str(file_path(dataset, r, "image"))) for r in records]
    tiles.append(mask_tile(cv2.imread(str(file_path(dataset, records[0], "instance_mask")), cv2.IMREAD_UNCHANGED)))
    tiles = [cv2.resize(t, TILE, interpolation=cv2.INTER_AREA) for t in tiles]
    (width, height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    cv2.rectangle(tiles[0], (0, 0), (width + 8, height + 10), (0, 0, 0), cv2.FILLED)
    cv2.putText(tiles[0], label, (4, height + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return np.hstack(tiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=4, help="frames per preset (default 4)")
    parser.add_argument("--shapes", action="store_true", help="a row per built-in class instead of per preset")
    parser.add_argument("--out", type=Path, help="default: docs/presets.png, or docs/shapes.png with --shapes")
    args = parser.parse_args()
    args.out = args.out or REPO / "docs" / ("shapes.png" if args.shapes else "presets.png")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name in CLASSES if args.shapes else PRESETS:
            if args.shapes:
                render_preset("tabletop", args.frames, Path(tmp) / name, (f"objects.classes=[{name}]", *ONE_CLASS))
            else:
                render_preset(name, args.frames, Path(tmp) / name)
            rows.append(preset_row(name if args.shapes else f"+experiment={name}", Path(tmp) / name))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

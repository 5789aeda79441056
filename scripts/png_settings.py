"""What each PNG setting costs: encoding time and size of the PNGs scenegen writes, per kind of file.

    .venv/bin/python scripts/png_settings.py                  # renders 6 frames at 640x480 in a temporary folder
    .venv/bin/python scripts/png_settings.py --dataset out    # the PNGs of a dataset already rendered

It decodes the frames' images, instance and semantic masks, depth and normals PNGs, encodes each again
with every setting (zlib level, zlib strategy, PNG row filter; ``cv2.imencode``) and prints, per kind, the
milliseconds per file (CPU time of the encoding thread, best of ``--repeats``: the machine's other load
hardly moves it) and the kilobytes per file, as a markdown table. ``encode_png``'s setting for each is marked ``*``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

KINDS = {
    "image": "images",
    "instance mask": "masks",
    "semantic mask": "semantic",
    "depth": "depth",
    "normals": "normals",
}
STRATEGIES = {"default": cv2.IMWRITE_PNG_STRATEGY_DEFAULT, "rle": cv2.IMWRITE_PNG_STRATEGY_RLE}
FILTERS = {
    "none": cv2.IMWRITE_PNG_FILTER_NONE,
    "sub": cv2.IMWRITE_PNG_FILTER_SUB,
    "up": cv2.IMWRITE_PNG_FILTER_UP,
    "paeth": cv2.IMWRITE_PNG_FILTER_PAETH,
    "all": cv2.IMWRITE_PNG_ALL_FILTERS,
}
SETTINGS: list[tuple[int, str, str]] = [
    (0, "default", "none"),
    *[(1, strategy, f) for strategy in STRATEGIES for f in ("none", "sub", "up", "paeth")],
    (1, "default", "all"),
    (3, "default", "none"),
    (3, "default", "up"),
    (6, "default", "none"),
    (6, "default", "up"),
    (9, "default", "up"),
]


def params(level: int, strategy: str, row_filter: str) -> list[int]:
    return [
        cv2.IMWRITE_PNG_COMPRESSION,
        level,
        cv2.IMWRITE_PNG_STRATEGY,
        STRATEGIES[strategy],
        cv2.IMWRITE_PNG_FILTER,
        FILTERS[row_filter],
    ]


def render(out: Path, frames: int) -> Path:
    """A default dataset of ``frames`` frames at 640x480 with every PNG output on."""
    from scenegen.config.load import load_config
    from scenegen.pipeline.run import render_dataset

    overrides = [
        f"num_scenes={frames}",
        f"output_dir={out}",
        "output.formats=[]",
        "output.semantic_masks=true",
        "output.depth_png=true",
        "output.normals=true",
    ]
    return render_dataset(load_config(overrides), progress=False)


def cost(arrays: list[np.ndarray], setting: list[int] | None, repeats: int) -> tuple[float, float]:
    """(ms, kB) per array: the best of ``repeats`` CPU times, the size of the PNG."""
    seconds, size = 0.0, 0
    for array in arrays:
        best = float("inf")
        for _ in range(repeats):
            start = time.thread_time()
            ok, data = cv2.imencode(".png", array, setting or [])
            best = min(best, time.thread_time() - start)
        seconds, size = seconds + best, size + data.size
    return 1000 * seconds / len(arrays), size / 1000 / len(arrays)


def main() -> None:
    from scenegen.dataset.record import PNG_SETTINGS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, help="a rendered dataset (default: render one)")
    parser.add_argument("--frames", type=int, default=6, help="frames to render (without --dataset)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as scratch:
        dataset = args.dataset or render(Path(scratch) / "png", args.frames)
        found = {kind: sorted((dataset / folder).glob("*.png")) for kind, folder in KINDS.items()}
        arrays = {
            kind: [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in paths] for kind, paths in found.items() if paths
        }
    kinds = list(arrays)
    print(f"{dataset}: ms per file (CPU), kB per file; * encode_png's setting\n")
    print("| level, strategy, filter | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    rows = [("opencv's default", None), *[(", ".join(map(str, s)), params(*s)) for s in SETTINGS]]
    for name, setting in rows:
        cells = []
        for kind in kinds:
            ms, kb = cost(arrays[kind], setting, args.repeats)
            mark = " *" if setting == PNG_SETTINGS[arrays[kind][0].dtype.name] else ""
            cells.append(f"{ms:.2f} ms, {kb:.0f} kB{mark}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

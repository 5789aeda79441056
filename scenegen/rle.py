"""Decode COCO RLE masks with numpy: the inverse of ``scenegen.labels.encode_rle``.

COCO RLE lists the run lengths of the column-major flattened mask, starting
with a run of zeros. The compressed form (maskApi.c ``rleToString``) writes each
count, after the second as a delta to the count two back, in 5-bit groups,
least significant first, as characters from ``'0'`` (48): bit 0x20 of a group
means more groups follow, bit 0x10 of the last group is the sign.
"""

from __future__ import annotations

import numpy as np


def parse_counts(counts: str) -> list[int]:
    """Uncompressed run lengths of a compressed RLE string (maskApi.c ``rleFrString``)."""
    out: list[int] = []
    value, shift = 0, 0
    for char in counts:
        group = ord(char) - 48
        value |= (group & 0x1F) << shift
        shift += 5
        if group & 0x20:
            continue
        if group & 0x10:  # sign-extend the last group
            value -= 1 << shift
        if len(out) > 2:
            value += out[-2]
        out.append(value)
        value, shift = 0, 0
    return out


def decode_rle(rle: dict) -> np.ndarray:
    """(h, w) bool mask of a COCO RLE ``{"size": [h, w], "counts": str | list[int]}``."""
    h, w = rle["size"]
    counts = rle["counts"]
    runs = parse_counts(counts) if isinstance(counts, str) else list(counts)
    if sum(runs) != h * w:
        raise ValueError(f"RLE runs cover {sum(runs)} pixels, the size {h}x{w} has {h * w}")
    values = np.arange(len(runs)) % 2 == 1  # runs alternate 0, 1, 0, ...
    return np.repeat(values, runs).reshape((h, w), order="F")

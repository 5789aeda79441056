"""COCO RLE masks both ways, with numpy: encode (checked against pycocotools) and decode.

COCO RLE lists the run lengths of the column-major flattened mask, starting
with a run of zeros. The compressed form (maskApi.c ``rleToString``) writes each
count, after the second as a delta to the count two back, in 5-bit groups,
least significant first, as characters from ``'0'`` (48): bit 0x20 of a group
means more groups follow, bit 0x10 of the last group is the sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scenegen.labels.crop import Crop

MAX_GROUPS = 12  # 5-bit groups in one count: 60 bits, far beyond any image's pixels


def parse_counts(counts: str) -> list[int]:
    """Uncompressed run lengths of a compressed RLE string (maskApi.c ``rleFrString``), vectorised;
    ValueError when it is not one (a character outside ``'0'``..``'o'``, a count of more than
    ``MAX_GROUPS`` groups, or a last count left open)."""
    if not counts:
        return []
    groups = np.frombuffer(counts.encode(), np.uint8).astype(np.int64) - 48
    if groups.min() < 0 or groups.max() > 0x3F:
        raise ValueError("not a compressed RLE string: a character outside '0'..'o'")
    ends = np.flatnonzero(groups & 0x20 == 0)  # the last group of each count
    if not ends.size or ends[-1] != groups.size - 1:
        raise ValueError("not a compressed RLE string: its last count is left open")
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > MAX_GROUPS:
        raise ValueError(f"not a compressed RLE string: a count of more than {MAX_GROUPS} groups")
    position = np.arange(groups.size) - np.repeat(starts, lengths)  # of each group within its count
    values = np.add.reduceat((groups & 0x1F) << (5 * position), starts)
    values -= np.where(groups[ends] & 0x10, 1 << (5 * lengths), 0)  # the last group's bit 0x10: the sign
    values[1::2] = np.cumsum(values[1::2])  # from the fourth on, each count is a delta to the count two back
    values[2::2] = np.cumsum(values[2::2])
    return values.tolist()


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """(h, w) bool mask of a COCO RLE ``{"size": [h, w], "counts": str | list[int]}``."""
    h, w = rle["size"]
    counts = rle["counts"]
    runs = parse_counts(counts) if isinstance(counts, str) else list(counts)
    if sum(runs) != h * w:
        raise ValueError(f"RLE runs cover {sum(runs)} pixels, the size {h}x{w} has {h * w}")
    values = np.arange(len(runs)) % 2 == 1  # runs alternate 0, 1, 0, ...
    return np.repeat(values, runs).reshape((h, w), order="F")


def rle_counts(crop: Crop) -> list[int]:
    """Uncompressed COCO RLE of the crop's full mask: run lengths of the column-major flattened image,
    starting with zeros; computed from the crop alone."""
    height, width = crop.shape
    mask = np.pad(crop.mask, ((1, 1), (0, 0)))  # False above and below: every run ends inside its column
    flat = mask.ravel(order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1  # in the padded crop, column-major
    col, row = np.divmod(edges, mask.shape[0])
    position = (crop.col + col) * height + crop.row + row - 1  # in the full image, column-major
    # A run that ends at the bottom of one column and one that starts at the top of the next are one run.
    position, seen = np.unique(position, return_counts=True)
    position = position[(seen == 1) & (position < height * width)]  # a run may end at the image's end
    bounds = np.concatenate([[0], position, [height * width]])
    return np.diff(bounds).tolist()


def rle_string(counts: list[int]) -> str:
    """COCO's compressed RLE string for uncompressed ``counts`` (the LEB128-like code of maskApi.c)."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count  # counts after the second are delta coded
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def encode_rle(mask: np.ndarray | Crop) -> dict:
    """COCO RLE ``{"size": [h, w], "counts": str}`` of an (h, w) bool mask or a Crop."""
    crop = mask if isinstance(mask, Crop) else Crop.of(mask)
    return {"size": [int(crop.shape[0]), int(crop.shape[1])], "counts": rle_string(rle_counts(crop))}

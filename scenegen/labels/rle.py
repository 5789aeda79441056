"""COCO RLE masks both ways, with numpy: encode (checked against pycocotools) and decode.

COCO RLE lists the run lengths of the column-major flattened mask, starting
with a run of zeros. The compressed form (maskApi.c ``rleToString``) writes each
count, after the second as a delta to the count two back, in 5-bit groups,
least significant first, as characters from ``'0'`` (48): bit 0x20 of a group
means more groups follow, bit 0x10 of the last group is the sign.
"""

from __future__ import annotations

import numpy as np

from scenegen.labels.crop import Crop


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

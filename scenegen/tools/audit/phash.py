"""Perceptual hashes (pHash, 256 bits) and near-duplicate pairs.

pHash: the grey image shrunk to 64x64, its 2D DCT, the 16x16 lowest frequencies; bit i is set when
coefficient i is above their median (the DC term left out of the median). Images whose hashes differ in
few bits look alike at a glance: same layout, whatever the colours. 256 bits rather than the classic 64
because synthetic frames are simple (a flat backdrop, a few objects): at 8x8 frequencies, unrelated
frames of that kind come within 4 bits of each other, while re-encoded or brightened copies of a frame
stay within about 5% of the bits at 16x16 and unrelated frames stay above 20%.
"""

from __future__ import annotations

import cv2
import numpy as np

BITS = 256
_POPCOUNT = np.array([bin(b).count("1") for b in range(256)], dtype=np.uint8)


def phash(rgb: np.ndarray) -> np.ndarray:
    """(32,) uint8: the 256-bit pHash of an (h, w, 3) uint8 RGB image, packed."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:16, :16].ravel()
    return np.packbits(low > np.median(low[1:]))


def near_duplicates(hashes: np.ndarray, max_distance: int, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For (n, 32) packed ``hashes``: (k, 3) pairs ``[i, j, distance]`` with i < j and Hamming distance
    <= ``max_distance``, and the (n,) distance of each image to its nearest other one (BITS when alone)."""
    n = len(hashes)
    nearest = np.full(n, BITS, dtype=np.int64)
    pairs = [np.zeros((0, 3), np.int64)]
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        d = _POPCOUNT[hashes[rows, None, :] ^ hashes[None, :, :]].sum(axis=-1, dtype=np.int64)
        d[rows - start, rows] = BITS + 1  # not its own duplicate
        nearest[rows] = np.minimum(d.min(axis=1), BITS)
        a, b = np.nonzero(d <= max_distance)
        keep = rows[a] < b
        pairs.append(np.stack([rows[a][keep], b[keep], d[a[keep], b[keep]]], axis=1))
    return np.concatenate(pairs), nearest

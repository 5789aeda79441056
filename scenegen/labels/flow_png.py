"""Optical flow in KITTI's 16-bit PNG encoding, both ways. numpy only (``dataset.record.encode_png`` writes it).

KITTI flow devkit: a 3-channel 16-bit PNG, R = u, G = v, each stored as ``u * 64 + 2**15`` rounded, B = 1
where the flow is valid. Here *valid* means not occluded (the point is what the other frame shows where it
lands), and flow outside KITTI's range (|u| or |v| > 511.98 px) is stored as invalid.
"""

from __future__ import annotations

import numpy as np

SCALE = 64.0
OFFSET = 2**15


def encode_kitti(flow: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint16 R, G, B from (h, w, 2) float flow in pixels and (h, w) bool validity."""
    stored = np.rint(np.asarray(flow, np.float64) * SCALE + OFFSET)
    u, v = stored[..., 0], stored[..., 1]
    fits = (u >= 0) & (u <= 65535) & (v >= 0) & (v <= 65535)  # NaN compares False
    out = np.empty((*flow.shape[:2], 3), np.uint16)
    out[..., :2] = np.where(fits[..., None], stored, OFFSET)
    out[..., 2] = valid & fits
    return out


def decode_kitti(png: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(flow (h, w, 2) float32, valid (h, w) bool)`` from the (h, w, 3) uint16 R, G, B of a KITTI flow PNG."""
    flow = (png[..., :2].astype(np.float32) - OFFSET) / SCALE
    return flow, png[..., 2] > 0

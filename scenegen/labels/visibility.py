"""The depth test of flow and tracks: is a 3D point what a rendered depth image shows? numpy only.

A point at pixel coordinates ``(u, v)`` (K's convention: pixel centres at integers) with depth ``z`` (metres
along the view axis) lands in the pixel whose centre is nearest, ``(floor(u + 0.5), floor(v + 0.5))``.
The depth image is measured at pixel centres, not at ``(u, v)``, so the surface depth ``D`` there is
interpolated: bilinearly in inverse depth between the four pixel centres around ``(u, v)`` (exact on a
plane, whose inverse depth is affine in the image) when all four lie on the surface of the nearest one
(depth > 0, within ``EDGE_STEP`` of its depth); else it is the nearest pixel's depth. The tolerance is
``ABS + REL * z`` plus, for the interpolated case, how far the four corners are from a plane (their inverse
depths' twist, as a depth), and for the nearest-pixel case, the depth step to the linked neighbours times
the offset to the pixel centre. ``D = 0`` means no surface (the backdrop).
"""

from __future__ import annotations

import numpy as np

ABS = 2e-4  # metres
REL = 2e-3  # of the point's depth
EDGE_STEP = 0.1  # neighbours whose depths differ by this fraction or more are on another surface
EDGE_REL = 0.01  # at least this fraction of the depth where the four pixels around a point span an edge


def depth_slopes(depth: np.ndarray) -> np.ndarray:
    """(h, w, 2) float64 depth change per pixel along x, then y: the larger one-sided difference to a
    neighbour on the same surface (both depths > 0, differing by less than ``EDGE_STEP`` of the pixel's
    depth); 0 where there is none."""
    d = np.asarray(depth, dtype=np.float64)
    slopes = []
    for along in (d, d.T):  # x: along rows; y: the same on the transpose
        step = np.where((along[:, :-1] > 0) & (along[:, 1:] > 0), np.abs(np.diff(along, axis=1)), 0.0)
        edge = np.zeros((along.shape[0], 1))
        before, after = np.hstack([edge, step]), np.hstack([step, edge])
        bound = EDGE_STEP * along
        slopes.append(np.maximum(np.where(before < bound, before, 0.0), np.where(after < bound, after, 0.0)))
    return np.stack([slopes[0], slopes[1].T], axis=-1)


def landing_pixels(uv: np.ndarray, z: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, inside)``: the pixel each point at ``uv`` (..., 2) with depth ``z`` (...) lands in (0 where
    it is outside the image or behind the camera), and whether it is inside and in front."""
    h, w = shape
    finite = np.isfinite(uv).all(axis=-1) & (z > 0)
    col = np.floor(np.where(finite, uv[..., 0], -1.0) + 0.5)
    row = np.floor(np.where(finite, uv[..., 1], -1.0) + 0.5)
    inside = finite & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    return np.where(inside, row, 0).astype(np.intp), np.where(inside, col, 0).astype(np.intp), inside


def depth_test(
    depth: np.ndarray, slopes: np.ndarray, uv: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For points at ``uv`` (..., 2) with depths ``z`` (...): ``(seen, hidden, surface)``, bools (...) and
    the surface depth ``D`` (...) where each lands (0: backdrop or outside the image).

    seen: the image shows this point: inside the image, ``z > 0``, ``D > 0`` and ``|z - D| <= tolerance``.
    hidden: it is not visible: outside the image, behind the camera, or a surface nearer than
    ``z - tolerance`` covers it (landing on the backdrop, or on a farther surface beside a silhouette,
    is not hidden).
    """
    h, w = depth.shape
    d = np.asarray(depth, dtype=np.float64)
    r, c, inside = landing_pixels(uv, z, (h, w))
    u, v = np.where(inside, uv[..., 0], c), np.where(inside, uv[..., 1], r)
    nearest = np.where(inside, d[r, c], 0.0)
    surface = nearest.copy()
    slope_term = np.abs(u - c) * slopes[r, c, 0] + np.abs(v - r) * slopes[r, c, 1]
    tolerance = ABS + REL * z + np.maximum(slope_term, EDGE_REL * z)
    x0, y0 = np.floor(u), np.floor(v)
    cell = inside & (x0 >= 0) & (x0 + 1 < w) & (y0 >= 0) & (y0 + 1 < h) & (nearest > 0)
    x, y = np.where(cell, x0, 0).astype(np.intp), np.where(cell, y0, 0).astype(np.intp)
    corners = np.stack([d[y, x], d[y, x + 1], d[y + 1, x], d[y + 1, x + 1]], axis=-1)
    linked = np.all((corners > 0) & (np.abs(corners - nearest[..., None]) < EDGE_STEP * nearest[..., None]), axis=-1)
    smooth = cell & linked
    with np.errstate(divide="ignore"):
        inverse = np.where(smooth[..., None], 1.0 / np.where(corners > 0, corners, 1.0), 0.0)
    fx, fy = u - x0, v - y0
    top = inverse[..., 0] + fx * (inverse[..., 1] - inverse[..., 0])
    bottom = inverse[..., 2] + fx * (inverse[..., 3] - inverse[..., 2])
    twist = np.abs(inverse[..., 0] + inverse[..., 3] - inverse[..., 1] - inverse[..., 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        interpolated = 1.0 / (top + fy * (bottom - top))
    surface = np.where(smooth, interpolated, surface)
    tolerance = np.where(smooth, ABS + REL * z + twist * surface**2, tolerance)
    seen = inside & (surface > 0) & (np.abs(z - surface) <= tolerance)
    hidden = ~inside | ((surface > 0) & (z > surface + tolerance))
    return seen, hidden, surface

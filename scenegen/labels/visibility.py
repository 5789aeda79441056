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

from typing import NamedTuple

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


class DepthTest(NamedTuple):
    """Per point: ``seen``, ``hidden`` (see ``depth_test``), the ``surface`` depth D where it lands (0: the
    backdrop or outside), whether it lands ``inside`` the image in front of the camera, and the pixel it
    lands in, ``row`` and ``col`` (0 where not inside)."""

    seen: np.ndarray
    hidden: np.ndarray
    surface: np.ndarray
    inside: np.ndarray
    row: np.ndarray
    col: np.ndarray


class Landing(NamedTuple):
    """Where points land: ``u``, ``v`` (-1 where not finite or behind the camera), the nearest pixel centre
    ``col``, ``row`` (floats), whether it is ``inside`` the image in front of the camera, and that pixel's
    ``r``, ``c`` (intp, 0 where not inside)."""

    u: np.ndarray
    v: np.ndarray
    col: np.ndarray
    row: np.ndarray
    inside: np.ndarray
    r: np.ndarray
    c: np.ndarray


def landing(shape: tuple[int, ...], uv: np.ndarray, z: np.ndarray) -> Landing:
    """Where the points at ``uv`` (..., 2) with depths ``z`` (...) land in an image of ``shape`` (h, w)."""
    h, w = shape
    u, v = uv[..., 0], uv[..., 1]
    finite = np.isfinite(u) & np.isfinite(v) & (z > 0)
    u, v = np.where(finite, u, -1.0), np.where(finite, v, -1.0)
    col, row = np.floor(u + 0.5), np.floor(v + 0.5)
    inside = finite & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    c, r = np.where(inside, col, 0).astype(np.intp), np.where(inside, row, 0).astype(np.intp)
    return Landing(u, v, col, row, inside, r, c)


def depth_test(depth: np.ndarray, slopes: np.ndarray, uv: np.ndarray, z: np.ndarray) -> DepthTest:
    """The depth test of points at ``uv`` (..., 2) with depths ``z`` (...) against ``depth`` (h, w) and its
    ``depth_slopes``.

    seen: the image shows this point: inside the image, ``z > 0``, ``D > 0`` and ``|z - D| <= tolerance``.
    hidden: it is not visible: outside the image, behind the camera, or a surface nearer than
    ``z - tolerance`` covers it (landing on the backdrop, or on a farther surface beside a silhouette,
    is not hidden).
    """
    h, w = depth.shape
    d = np.asarray(depth, dtype=uv.dtype).ravel()
    u, v, col, row, inside, r, c = landing((h, w), uv, z)
    at = r * w + c  # flat index: take() gathers several times faster than two index arrays
    nearest = np.where(inside, d.take(at), 0.0)
    slope = np.reshape(slopes, (-1, 2)).take(at, axis=0)  # (..., 2): x, y
    slope_term = np.abs(u - col) * slope[..., 0] + np.abs(v - row) * slope[..., 1]
    tolerance = ABS + REL * z + np.maximum(slope_term, EDGE_REL * z)
    x0, y0 = np.floor(u), np.floor(v)
    cell = inside & (x0 >= 0) & (x0 + 1 < w) & (y0 >= 0) & (y0 + 1 < h) & (nearest > 0)
    corner = np.where(cell, y0 * w + x0, 0).astype(np.intp)
    corners = [d.take(corner), d.take(corner + 1), d.take(corner + w), d.take(corner + w + 1)]
    bound = EDGE_STEP * nearest
    smooth = cell
    for depth_there in corners:
        smooth &= (depth_there > 0) & (np.abs(depth_there - nearest) < bound)
    i00, i01, i10, i11 = (1.0 / np.where(smooth, depth_there, 1.0) for depth_there in corners)
    fx, fy = u - x0, v - y0
    top = i00 + fx * (i01 - i00)
    bottom = i10 + fx * (i11 - i10)
    with np.errstate(divide="ignore"):
        interpolated = 1.0 / (top + fy * (bottom - top))
    surface = np.where(smooth, interpolated, nearest)
    tolerance = np.where(smooth, ABS + REL * z + np.abs(i00 + i11 - i01 - i10) * surface**2, tolerance)
    seen = inside & (surface > 0) & (np.abs(z - surface) <= tolerance)
    hidden = ~inside | ((surface > 0) & (z > surface + tolerance))
    return DepthTest(seen, hidden, surface, inside, r, c)

"""Surface normals from a rendered depth image, numpy only.

Normals are unit vectors in the OpenCV camera frame (x right, y down, z
forward) that point towards the camera: ``n . p < 0`` at the back-projected
point ``p``. Every pixel is back-projected through ``K``; the normal is the
cross product of its vertical and horizontal tangents, each a finite
difference to the pixel's valid neighbours on that axis: central when both are
valid, one-sided when only one is, and the pixel gets the zero normal when an
axis has none (background, one-pixel-wide slivers, isolated pixels).

Two 4-neighbours are linked (each is valid for the other) when both have depth
> 0, the same surface id (when ids are given), and depths that differ by less
than ``max_relative_step`` (default 5%) of the smaller one. The last rule cuts
occlusion edges within one id, such as a mug's handle in front of its body;
5% passes a plane seen up to about 87 degrees off its normal at a 500 px focal
length (the depth step between neighbours is about ``z * tan(angle) / f``).

With positive depths and focal lengths the cross product of any such
differences points towards the camera, so no orientation fix-up is needed.
"""

from __future__ import annotations

import numpy as np

MAX_RELATIVE_STEP = 0.05  # neighbours whose depths differ by this fraction of the smaller one or more are not linked
_HEAD = {0: np.s_[:-1, :], 1: np.s_[:, :-1]}  # every pixel that has a next neighbour along axis 0 (down) or 1 (right)
_TAIL = {0: np.s_[1:, :], 1: np.s_[:, 1:]}  # that neighbour
_STRIP_PIXELS = 1 << 16  # work on strips of about this many pixels: small, cached temporaries make it 3x faster


def _points(depth: np.ndarray, k_inv: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The x, y, z (h, w) float32 camera-frame components of every pixel of rows ``top..top + h`` of a
    float32 depth image (given as (h, w) ``depth``) seen through the (3, 3) float32 inverse intrinsics.

    Pixel ``(u, v)`` has its centre at integer coordinates (OpenCV's ``K``);
    its point is ``depth[v, u] * K^-1 @ [u, v, 1]``, whose z is the depth.
    """
    h, w = depth.shape
    u, v = np.arange(w, dtype=np.float32)[None, :], np.arange(top, top + h, dtype=np.float32)[:, None]
    x = (k_inv[0, 0] * u + k_inv[0, 2]) + k_inv[0, 1] * v
    y = (k_inv[1, 0] * u + k_inv[1, 2]) + k_inv[1, 1] * v
    x *= depth
    y *= depth
    return x, y, depth


def _links(depth: np.ndarray, ids: np.ndarray | None, axis: int, max_relative_step: float) -> np.ndarray:
    """Which neighbours along ``axis`` are linked: (h, w - 1) for axis 1, (h - 1, w) for axis 0, bool."""
    near, far = depth[_HEAD[axis]], depth[_TAIL[axis]]
    gap = np.abs(far - near)
    bound = np.minimum(near, far)
    bound *= max_relative_step  # <= 0 where either depth is, so background pixels are never linked
    link = gap < bound
    if ids is not None:
        link &= ids[_HEAD[axis]] == ids[_TAIL[axis]]
    return link


def _tangents(points: tuple[np.ndarray, ...], link: np.ndarray, axis: int) -> list[np.ndarray]:
    """The x, y, z (h, w) float32 tangents along ``axis``: each pixel's sum of the differences to its linked
    neighbours (twice the central difference where both are linked, zero where neither is)."""
    head, tail = _HEAD[axis], _TAIL[axis]
    step = np.empty(link.shape, dtype=np.float32)
    out = []
    for component in points:
        np.subtract(component[tail], component[head], out=step)
        step *= link
        tangent = np.zeros_like(component)
        tangent[head] = step  # the forward difference of the pixel before each link
        tangent[tail] += step  # the backward difference of the pixel after it
        out.append(tangent)
    return out


def _strip_normals(
    depth: np.ndarray, k_inv: np.ndarray, top: int, ids: np.ndarray | None, max_relative_step: float
) -> np.ndarray:
    """(h, w, 3) float32 normals of rows ``top..top + h`` given as (h, w) ``depth`` (and ``ids``)."""
    points = _points(depth, k_inv, top)
    tx_x, tx_y, tx_z = _tangents(points, _links(depth, ids, 1, max_relative_step), 1)
    ty_x, ty_y, ty_z = _tangents(points, _links(depth, ids, 0, max_relative_step), 0)
    normals = np.empty((*depth.shape, 3), dtype=np.float32)
    product, length = np.empty_like(depth), np.zeros_like(depth)
    for i, (a, b, c, d) in enumerate(((ty_y, tx_z, ty_z, tx_y), (ty_z, tx_x, ty_x, tx_z), (ty_x, tx_y, ty_y, tx_x))):
        component = a * b
        component -= np.multiply(c, d, out=product)
        length += np.square(component, out=product)
        normals[..., i] = component
    np.sqrt(length, out=length)
    normals *= np.divide(1.0, length, out=length, where=length > 0)[..., None]
    return normals


def normals_from_depth(
    depth: np.ndarray, K: np.ndarray, ids: np.ndarray | None = None, max_relative_step: float = MAX_RELATIVE_STEP
) -> np.ndarray:
    """(h, w, 3) float32 unit normals, towards the camera, of an (h, w) float32 depth image (metres along z,
    0 = no surface) seen through the (3, 3) intrinsics ``K``; zeros where an axis has no valid neighbour.

    ``ids`` is an optional (h, w) integer image with distinct ids on distinct
    surfaces; neighbours with different ids are never linked.
    """
    depth = np.asarray(depth, dtype=np.float32)
    k_inv = np.linalg.inv(np.asarray(K, dtype=float)).astype(np.float32)
    h, w = depth.shape
    normals = np.empty((h, w, 3), dtype=np.float32)
    rows = max(_STRIP_PIXELS // max(w, 1), 1)
    for top in range(0, h, rows):  # each strip with one row of context above and below
        bottom = min(top + rows, h)
        lo, hi = max(top - 1, 0), min(bottom + 1, h)
        strip_ids = None if ids is None else ids[lo:hi]
        strip = _strip_normals(depth[lo:hi], k_inv, lo, strip_ids, max_relative_step)
        normals[top:bottom] = strip[top - lo : bottom - lo]
    return normals


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB = x, y, z of (h, w, 3) unit normals as ``round((n + 1) / 2 * 255)``, the usual
    8-bit normal-map PNG encoding. The zero normal ("no normal") encodes as (0, 0, 0), which no unit
    vector does: the darkest, (-1, -1, -1) / sqrt(3), encodes to about (54, 54, 54)."""
    normals = np.asarray(normals, dtype=np.float32)
    image = np.rint((normals + 1.0) * 127.5).astype(np.uint8)
    image[~normals.any(axis=-1)] = 0
    return image


def decode_normals(image: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 normals ``image / 255 * 2 - 1`` of an ``encode_normals`` (h, w, 3) uint8 image, with
    (0, 0, 0) pixels decoding to the zero normal. Not renormalised, so ``encode_normals`` gives the image back;
    each component is within 1/255 of the encoded one, each length within 0.7% of 1."""
    image = np.asarray(image)
    normals = image.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    normals[~image.any(axis=-1)] = 0.0
    return normals

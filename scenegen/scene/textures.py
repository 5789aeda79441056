"""Textures of every kind (procedural, printed, photo crops), and the UVs to wrap them on meshes that have none.

Procedural kinds are pure numpy, fully determined by the Generator passed in. Each kind builds a
scalar field t in [0, 1] over one texture tile and blends two colours with it.
Fields use integer wave vectors, periodic noise lattices and periodic offsets
from a centre, so every kind tiles seamlessly: the tile border looks like any
other line through the pattern.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.spatial
import trimesh

from scenegen.scene.images import crop_resized, read_rgb
from scenegen.scene.printed import printed_texture
from scenegen.scene.spec import TextureSpec

TEXTURE_KINDS = ("noise", "checker", "stripes", "gradient", "marble", "wood")
WRAPPED_KINDS = ("print", "photo")  # cover the object once, through ``wrapped_uv``, rather than tile in metres


def texture_image(spec: TextureSpec) -> np.ndarray:
    """(size, size, 3) uint8 RGB of ``spec``: a crop of its image (``photo``), label artwork (``print``, with a
    patch of its image if it names one) or a procedural kind."""
    rng = np.random.default_rng(spec.seed)
    if spec.kind == "photo":
        assert spec.crop is not None  # a photo texture's spec always holds its crop (materials.py)
        return crop_resized(read_rgb(spec.image), spec.crop, spec.size, spec.size)
    if spec.kind == "print":
        photo = None if spec.image is None else read_rgb(spec.image)
        return printed_texture(rng, spec.size, np.asarray(spec.colors), photo)
    return make_texture(spec.kind, rng, spec.size, np.asarray(spec.colors))


def make_texture(kind: str, rng: np.random.Generator, size: int, colors: np.ndarray) -> np.ndarray:
    """(size, size, 3) uint8 RGB pattern ``kind`` blending ``colors``, (2, 3) floats in [0, 1].

    t = 0 gives ``colors[0]``, t = 1 gives ``colors[1]``; every kind reaches both.
    """
    if kind not in _FIELDS:
        raise ValueError(f"unknown texture kind {kind!r}, expected one of {list(TEXTURE_KINDS)}")
    c = np.asarray(colors, dtype=np.float32)
    if c.shape != (2, 3):
        raise ValueError(f"texture colors must have shape (2, 3), got {c.shape}")
    t = _FIELDS[kind](rng, size)[..., None]
    rgb = (c[0] * 255 + 0.5) + t * ((c[1] - c[0]) * 255)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres of the unit tile: x (1, size) along columns, y (size, 1) along rows."""
    u = (np.arange(size, dtype=np.float32) + 0.5) / np.float32(size)
    return u[None, :], u[:, None]


def _wave_vector(rng: np.random.Generator, low: float, high: float) -> tuple[int, int]:
    """A nonzero integer vector of length about U(low, high), low >= 1, at a random angle.

    Integer components make any field of ``a x + b y`` periodic on the tile.
    """
    f, angle = rng.uniform(low, high), rng.uniform(0.0, 2 * np.pi)
    return round(f * np.cos(angle)), round(f * np.sin(angle))


def _centre_offsets(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth periodic offsets (1, size) and (size, 1) from a random centre: sin(pi d) / pi.

    Equal to the plain offset d near the centre, folding smoothly half a tile away.
    """
    x, y = _grid(size)
    cx, cy = rng.uniform(0.0, 1.0, 2).astype(np.float32)
    pi = np.float32(np.pi)
    return np.sin(pi * (x - cx)) / pi, np.sin(pi * (y - cy)) / pi


def _normalize(t: np.ndarray) -> np.ndarray:
    """Stretch ``t`` affinely onto [0, 1]."""
    lo, hi = t.min(), t.max()
    return (t - lo) / max(hi - lo, 1e-6)


def _upsample(lattice: np.ndarray, size: int) -> np.ndarray:
    """(size, size) float32 periodic Catmull-Rom interpolation of an (n, n) float32 lattice.

    Separable 4-tap gathers along rows, no BLAS: OpenBLAS threads stall on these thin products.
    """
    n = len(lattice)
    x = (np.arange(size) + 0.5) * (n / size)
    i = np.floor(x).astype(np.int64)
    f = (x - i)[:, None]
    taps = 0.5 * np.hstack([-(f**3) + 2 * f**2 - f, 3 * f**3 - 5 * f**2 + 2, -3 * f**3 + 4 * f**2 + f, f**3 - f**2])
    taps = taps.astype(np.float32)
    idx = (i[:, None] + np.arange(-1, 3)) % n
    rows = sum(lattice[idx[:, k]] * taps[:, k, None] for k in range(4))  # (size, n), interpolated along y
    cols = np.ascontiguousarray(rows.T)
    return sum(cols[idx[:, k]] * taps[:, k, None] for k in range(4)).T


def _fbm(
    rng: np.random.Generator, size: int, cells: int, octaves: int, gain: float, absolute: bool = False
) -> np.ndarray:
    """(size, size) float32 periodic value noise, about [-1, 1] (``absolute``: [0, 1]).

    Octave k is a ``cells * 2**k`` random lattice (at most ``size // 2``), upsampled
    by periodic cubic interpolation, weighted ``gain**k``. ``absolute`` sums |noise|,
    Perlin's turbulence.
    """
    total = np.zeros((size, size), dtype=np.float32)
    weight = 0.0
    for k in range(octaves):
        n = min(cells * 2**k, max(size // 2, 1))
        octave = _upsample(rng.uniform(-1.0, 1.0, (n, n)).astype(np.float32), size)
        total += gain**k * (np.abs(octave) if absolute else octave)
        weight += gain**k
    return total / weight


def _noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Multi-octave value noise with random base scale, octaves, roughness and contrast."""
    cells, octaves, gain = int(rng.integers(2, 9)), int(rng.integers(2, 7)), rng.uniform(0.35, 0.7)
    t = _normalize(_fbm(rng, size, cells, octaves, gain))
    contrast = np.float32(rng.uniform(1.0, 2.0))
    return _normalize(np.clip((t - 0.5) * contrast, -0.5, 0.5))


def _checker(rng: np.random.Generator, size: int) -> np.ndarray:
    """Hard-edged squares: 2 to 16 cells per tile side (cells of 4 pixels or more) at a random rotation."""
    a, b = _wave_vector(rng, 1.0, max(1.0, min(8.0, size / 8)))
    ox, oy = rng.uniform(0.0, 1.0, 2).astype(np.float32)
    x, y = _grid(size)
    cells = np.floor(2 * (a * x + b * y) + ox) + np.floor(2 * (a * y - b * x) + oy)
    return (cells % 2).astype(np.float32)


def _stripes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Parallel bands: random frequency (periods of 4 pixels or more), angle, duty cycle and edge softness."""
    a, b = _wave_vector(rng, 2.0, max(2.0, min(20.0, size / 4)))
    duty, offset = rng.uniform(0.2, 0.8), rng.uniform(0.0, 1.0)
    margin = min(duty, 1 - duty)
    soft = min(max(rng.uniform(0.0, 0.8) * margin, np.hypot(a, b) / size), 0.8 * margin)
    x, y = _grid(size)
    phase = (a * x + b * y + offset) % 1
    inside = np.where(phase < duty, np.minimum(phase, duty - phase), -np.minimum(phase - duty, 1 - phase))
    t = np.clip(0.5 + inside / np.float32(soft), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    """Linear (a there-and-back ramp along a random direction) or radial (from a random centre)."""
    if rng.uniform() < 0.5:
        a, b = _wave_vector(rng, 1.0, 3.0)
        x, y = _grid(size)
        t = 1 - np.abs(2 * ((a * x + b * y + rng.uniform(0.0, 1.0)) % 1) - 1)
    else:
        dx, dy = _centre_offsets(rng, size)
        t = np.sqrt(dx**2 + dy**2)
    return _normalize(t) ** np.float32(rng.uniform(0.5, 2.0))


def _marble(rng: np.random.Generator, size: int) -> np.ndarray:
    """Veins where |sin(pi k.p + T turbulence(p))| = 0, with random k, T and turbulence scale."""
    a, b = _wave_vector(rng, 1.0, 4.0)
    strength = np.float32(rng.uniform(3.0, 8.0))
    turbulence = _fbm(rng, size, int(rng.integers(2, 4)), int(rng.integers(3, 6)), 0.5, absolute=True)
    x, y = _grid(size)
    veins = _normalize(np.abs(np.sin(np.float32(np.pi) * (a * x + b * y) + strength * turbulence)))
    return veins ** np.float32(rng.uniform(0.3, 1.0))


def _wood(rng: np.random.Generator, size: int) -> np.ndarray:
    """Rings sin(2 pi f r + noise) around a random centre, stretched along a random axis as grain."""
    dx, dy = _centre_offsets(rng, size)
    stretch = np.float32(rng.uniform(1.0, 4.0))
    if rng.uniform() < 0.5:
        dx = dx * stretch
    else:
        dy = dy * stretch
    rings, wobble = np.float32(rng.uniform(6.0, 16.0)), np.float32(rng.uniform(0.5, 2.5))
    noise = _fbm(rng, size, int(rng.integers(2, 5)), 4, 0.5)
    t = 0.5 + 0.5 * np.sin(np.float32(2 * np.pi) * rings * np.sqrt(dx**2 + dy**2) + wobble * noise)
    return t ** np.float32(rng.uniform(1.0, 4.0))


_FIELDS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "noise": _noise,
    "checker": _checker,
    "stripes": _stripes,
    "gradient": _gradient,
    "marble": _marble,
    "wood": _wood,
}


def box_uv(vertices: np.ndarray, normals: np.ndarray, scale: float) -> np.ndarray:
    """(n, 2) float32 box-projected UVs for (n, 3) ``vertices`` with (n, 3) ``normals``.

    Each vertex drops the axis of its largest |normal| component and keeps the other
    two coordinates, divided by ``scale`` (metres per texture repeat). Seams appear
    wherever the dominant axis changes between neighbours; for randomization that is fine.
    """
    keep = np.array([[1, 2], [0, 2], [0, 1]])[np.argmax(np.abs(normals), axis=1)]
    return (np.take_along_axis(np.asarray(vertices, dtype=np.float64), keep, axis=1) / scale).astype(np.float32)


def with_uv(mesh: trimesh.Trimesh, metres_per_repeat: float) -> trimesh.Trimesh:
    """A copy of ``mesh`` whose ``visual`` is a ``TextureVisuals`` with uv, one per vertex.

    The mesh's own UVs are kept if it has one per vertex (``metres_per_repeat`` is then unused).
    Otherwise faces get box UVs by their face normal: a vertex shared by faces that
    project along different axes is split into one copy per axis, so faces never smear
    across a seam. Faces (count and order) stay; vertex normals are carried over from
    the original, so smooth shading is unchanged.
    """
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals) and visual.uv is not None:
        if len(visual.uv) == len(mesh.vertices):  # its vertex normals kept (a shape family's are welded at seams)
            uv = trimesh.visual.TextureVisuals(uv=np.asarray(visual.uv, dtype=np.float32))
            normals = mesh.vertex_normals
            return trimesh.Trimesh(mesh.vertices, mesh.faces, vertex_normals=normals, visual=uv, process=False)
    axis = np.argmax(np.abs(mesh.face_normals), axis=1)
    keys, corners = np.unique((mesh.faces * 3 + axis[:, None]).ravel(), return_inverse=True)
    source = keys // 3
    return trimesh.Trimesh(
        vertices=mesh.vertices[source],
        faces=corners.reshape(-1, 3),
        vertex_normals=mesh.vertex_normals[source],
        visual=trimesh.visual.TextureVisuals(uv=box_uv(mesh.vertices[source], np.eye(3)[keys % 3], metres_per_repeat)),
        process=False,
    )


def wrapped_uv(mesh: trimesh.Trimesh, up: np.ndarray) -> trimesh.Trimesh:
    """A copy of ``mesh`` whose UVs cover it once with the whole texture tile, top row up (``up``, (3, 3), turns
    the mesh's up axis to +Z): a mesh with its own UVs keeps them; a box (its horizontal outline fills its
    smallest bounding rectangle) gets the tile on every face, right-reading from outside; any other shape gets
    a band around its vertical axis (u the angle, v the height), as a can's label. Vertices are split where
    UVs jump (seams, edges between faces); faces and vertex normals stay."""
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals) and visual.uv is not None:
        if len(visual.uv) == len(mesh.vertices):
            return with_uv(mesh, 1.0)
    points = np.asarray(mesh.vertices, dtype=np.float64) @ np.asarray(up, dtype=np.float64).T
    to_rectangle, extents = trimesh.bounds.oriented_bounds_2D(points[:, :2])
    flat = trimesh.transform_points(points[:, :2], to_rectangle)  # centred on the rectangle, axes along its sides
    local = np.column_stack([flat, points[:, 2] - points[:, 2].min()])
    size = np.maximum([*extents, np.ptp(points[:, 2])], 1e-12)
    corners = local[mesh.faces]  # (f, 3, 3)
    outline = scipy.spatial.ConvexHull(points[:, :2]).volume if len(points) > 2 else 0.0
    if outline >= 0.9 * size[0] * size[1]:
        uv = _face_uv(corners / size + [0.5, 0.5, 0.0], mesh.face_normals @ np.asarray(up).T, to_rectangle)
    else:
        uv = _band_uv(corners, size[2])
    keys = np.column_stack([mesh.faces.reshape(-1), np.round(uv.reshape(-1, 2) * 2**20)])
    unique, first, corner_of = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    source = unique[:, 0].astype(np.int64)
    return trimesh.Trimesh(
        vertices=mesh.vertices[source],
        faces=corner_of.reshape(-1, 3),
        vertex_normals=mesh.vertex_normals[source],
        visual=trimesh.visual.TextureVisuals(uv=uv.reshape(-1, 2)[first].astype(np.float32)),
        process=False,
    )


def _band_uv(corners: np.ndarray, height: float) -> np.ndarray:
    """(f, 3, 2) UVs of face corners (f, 3, 3) around the z axis: u the angle / 2 pi, v the height / ``height``.

    A face across the seam (u jumps by more than half a turn) takes u + 1 at its corners before the seam; a
    corner on the axis takes its face's mean u."""
    u = np.arctan2(corners[..., 1], corners[..., 0]) / (2 * np.pi) + 0.5
    u = np.where((u.max(axis=1, keepdims=True) - u > 0.5), u + 1.0, u)
    on_axis = np.hypot(corners[..., 0], corners[..., 1]) < 1e-9 * height
    off = np.where(on_axis, 0.0, u).sum(axis=1, keepdims=True) / np.maximum((~on_axis).sum(axis=1, keepdims=True), 1)
    u = np.where(on_axis, off, u)
    return np.stack([u, corners[..., 2] / height], axis=-1)


def _face_uv(corners: np.ndarray, normals: np.ndarray, to_rectangle: np.ndarray) -> np.ndarray:
    """(f, 3, 2) UVs of face corners (f, 3, 3) in [0, 1] of a box's extents: each face shows the tile along the
    box axis its normal (f, 3) is closest to, the tile's right and up as a viewer outside that face sees them."""
    axes = np.column_stack([normals[:, :2] @ to_rectangle[:2, :2].T, normals[:, 2]])
    axis = np.argmax(np.abs(axes), axis=1)
    sign = np.sign(axes[np.arange(len(axes)), axis])[:, None]
    x, y, z = corners[..., 0], corners[..., 1], corners[..., 2]
    outward = np.choose(axis[:, None], [y, 1 - x, x])  # right along +x, +y, +z faces (seen from outside)
    inward = np.choose(axis[:, None], [1 - y, x, 1 - x])  # ... along -x, -y, -z faces
    u = np.where(sign > 0, outward, inward)
    v = np.where(axis[:, None] == 2, y, z)
    return np.stack([u, v], axis=-1)

"""Closed surfaces made by revolving a profile about +Z or sweeping a circle along a path, with UVs, and the
convex pieces that together hold them (the shape families' collision shapes, with no CoACD).

Both builders return a ``trimesh.Trimesh`` with one UV per vertex: vertices on a texture seam (the closing
section of a revolution, the closing ring of a tube) and at the poles are repeated, one copy per UV, so the
surface is closed where its positions are (``welded`` merges the copies: watertight). Pure numpy, no random
state: the same arguments give the same bytes.

Convex pieces: a revolved solid is cut into horizontal slabs at its profile's heights, neighbouring slabs
merged while their cross-section stays convex within ``tolerance``; a slab that reaches the axis is one piece,
a hollow one (a wall) is cut into ``sectors`` angular sectors. A tube is cut into segments of a few rings.
Each piece is the set of mesh vertices (and the profile's cuts at the slab's heights) that bound its part of
the solid, so the convex hull of each holds that part, and the hulls together hold the whole solid.
"""

from __future__ import annotations

import numpy as np
import trimesh


def revolve(profile: np.ndarray, sections: int) -> trimesh.Trimesh:
    """The closed surface of revolution of ``profile`` (n, 2) (radius, z) about +Z, ``sections`` segments
    around. The profile runs from a point on the axis (r = 0) to another, outward first (counter-clockwise
    in the (r, z) half-plane); points strictly between are off the axis. UV: u = angle / 2 pi, v = arc
    length along the profile over the widest circumference."""
    profile = _on_axis(profile)
    angles = np.linspace(0.0, 2 * np.pi, sections + 1)
    cos, sin = np.cos(angles), np.sin(angles)
    length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(profile, axis=0), axis=1))])
    v = length / (2 * np.pi * profile[:, 0].max())
    vertices = np.vstack([np.column_stack([r * cos, r * sin, np.full(sections + 1, z)]) for r, z in profile])
    u = np.tile(angles / (2 * np.pi), len(profile))
    uv = np.column_stack([u, np.repeat(v, sections + 1)])
    faces = []
    j = np.arange(sections)
    for i in range(len(profile) - 1):
        a, b = i * (sections + 1) + j, (i + 1) * (sections + 1) + j  # this point's ring, the next one's
        if profile[i, 0] > 0:
            faces.append(np.column_stack([a, a + 1, b + 1]))  # the triangle with two vertices on this ring
        if profile[i + 1, 0] > 0:
            faces.append(np.column_stack([a, b + 1, b]))
    return _smooth(vertices, np.vstack(faces), uv)


def tube(path: np.ndarray, radius: float, sections: int, closed: bool, squash: float = 1.0) -> trimesh.Trimesh:
    """A tube of ``radius`` swept along ``path`` (m, 3), ``sections`` segments around, its cross-section
    ``squash`` times as tall (along the path's binormal) as wide; the two ends capped by flat fans unless
    ``closed`` (the path then loops: its last point joins its first). UV: u along the path, v around."""
    path = np.asarray(path, dtype=float)
    m = len(path)
    normals, binormals = _frames(path, closed)
    phi = np.linspace(0.0, 2 * np.pi, sections + 1)
    rings = [
        c + radius * (np.cos(phi)[:, None] * n + squash * np.sin(phi)[:, None] * b)
        for c, n, b in zip(path, normals, binormals, strict=True)
    ]
    count = m + 1 if closed else m
    if closed:
        rings.append(rings[0])
    vertices = np.vstack(rings)
    step = np.linalg.norm(np.diff(np.vstack([path, path[:1]]) if closed else path, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(step)]) / (2 * np.pi * radius)
    uv = np.column_stack([np.repeat(along[:count], sections + 1), np.tile(phi / (2 * np.pi), count)])
    j = np.arange(sections)
    faces = []
    for i in range(count - 1):
        a, b = i * (sections + 1) + j, (i + 1) * (sections + 1) + j
        faces += [np.column_stack([a, b, b + 1]), np.column_stack([a, b + 1, a + 1])]
    if not closed:  # a centre vertex per end, the fan around it
        centres = len(vertices) + np.arange(2)
        vertices = np.vstack([vertices, path[[0, -1]]])
        uv = np.vstack([uv, [[along[0], 0.5], [along[m - 1], 0.5]]])
        last = (m - 1) * (sections + 1) + j
        faces += [np.column_stack([np.full(sections, centres[0]), j, j + 1])]
        faces += [np.column_stack([np.full(sections, centres[1]), last + 1, last])]
    return _smooth(vertices, np.vstack(faces), uv)


def welded(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """``mesh`` with vertices at the same position merged (its UV seams closed), without UVs: the surface
    as geometry, on which watertightness, volume and the centre of mass are defined."""
    out = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    out.merge_vertices(merge_tex=True, merge_norm=True)
    return out


def revolved_pieces(profile: np.ndarray, sections: int, sectors: int, tolerance: float) -> list[np.ndarray]:
    """Convex pieces (k, 3) points each whose hulls together hold ``revolve(profile, sections)``: slabs
    between the profile's heights, merged while the slab's (r, z) cross-section is convex within
    ``tolerance`` metres; a slab off the axis (a wall) is cut into ``sectors`` sectors (``sections`` a
    multiple of it). The profile's cross-section at every height is one interval of radii."""
    profile = _on_axis(profile)
    heights = np.unique(profile[:, 1])
    slabs: list[tuple[float, float]] = []
    for low, high in zip(heights[:-1], heights[1:], strict=True):
        if slabs and _hollow(profile, slabs[-1]) == _hollow(profile, (low, high)):
            merged = (slabs[-1][0], high)
            if _concavity(_clip(profile, *merged)) <= tolerance:
                slabs[-1] = merged
                continue
        slabs.append((low, high))
    angles = np.linspace(0.0, 2 * np.pi, sections + 1)
    per = sections // sectors
    pieces = []
    for slab in slabs:
        outline, arcs = _clip(profile, *slab), [angles]
        if _hollow(profile, slab):  # a wall: in sectors, without the flat stretches of the profile that reach
            margin = 1e-6 * (slab[1] - slab[0])  # into its hollow along the slab's bounds
            for bound, inward in ((slab[0], margin), (slab[1], -margin)):
                hollow = _radii(profile, bound + inward)[0] - 1e-6
                outline = outline[(outline[:, 0] >= hollow) | ~np.isclose(outline[:, 1], bound, rtol=0, atol=1e-12)]
            arcs = [angles[k * per : k * per + per + 1] for k in range(sectors)]
        for arc in arcs:
            r, z = outline[:, :1], outline[:, 1:]
            points = np.stack([r * np.cos(arc), r * np.sin(arc), np.broadcast_to(z, (len(outline), len(arc)))], -1)
            pieces.append(np.unique(points.reshape(-1, 3).round(12), axis=0))
    return pieces


def tube_pieces(mesh: trimesh.Trimesh, rings: int, sections: int, per: int, closed: bool) -> list[np.ndarray]:
    """Convex pieces of ``tube(...)`` with ``rings`` path points and ``sections``: segments of ``per``
    ring-to-ring steps, each the points of its rings (and of the end cap it holds)."""
    size = sections + 1
    count = rings + 1 if closed else rings
    starts = list(range(0, count - 1, per))
    pieces = []
    for n, start in enumerate(starts):
        stop = min(start + per, count - 1)
        points = [mesh.vertices[start * size : (stop + 1) * size]]
        if not closed and n == 0:
            points.append(mesh.vertices[-2:-1])
        if not closed and n == len(starts) - 1:
            points.append(mesh.vertices[-1:])
        pieces.append(np.vstack(points))
    return pieces


def _on_axis(profile: np.ndarray) -> np.ndarray:
    """``profile`` as floats, radii within a nanometre of the axis set to 0 (sin(pi) is not)."""
    profile = np.array(profile, dtype=float)
    profile[np.abs(profile[:, 0]) < 1e-9, 0] = 0.0
    return profile


def _smooth(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray) -> trimesh.Trimesh:
    """The mesh of ``vertices`` (n, 3), ``faces`` (m, 3) and ``uv`` (n, 2), faces turned outward (the volume
    they enclose positive), with the vertex normals of the welded surface: no shading seam where a vertex is
    repeated for its UVs. Vertices no face uses (a pole's copy for the closing section) are left out."""
    used = np.unique(faces)
    renumber = np.zeros(len(vertices), dtype=np.int64)
    renumber[used] = np.arange(len(used))
    vertices, faces, uv = vertices[used], renumber[faces], np.asarray(uv)[used]
    positions, index = np.unique(vertices.round(12), axis=0, return_inverse=True)
    index = index.reshape(-1)
    if trimesh.Trimesh(positions, index[faces], process=False).volume < 0:
        faces = faces[:, ::-1]
    normals = trimesh.Trimesh(positions, index[faces], process=False).vertex_normals[index]
    visual = trimesh.visual.TextureVisuals(uv=np.asarray(uv, dtype=np.float64))
    return trimesh.Trimesh(vertices, faces, vertex_normals=normals, visual=visual, process=False)


def _frames(path: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """(m, 3) normals and binormals of a planar ``path``: the binormal is the plane's normal, the normal the
    tangent (central differences) turned a quarter in the plane."""
    ahead = np.roll(path, -1, axis=0) if closed else np.vstack([path[1:], 2 * path[-1] - path[-2]])
    behind = np.roll(path, 1, axis=0) if closed else np.vstack([2 * path[0] - path[1], path[:-1]])
    tangents = ahead - behind
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    centred = path - path.mean(axis=0)
    plane = np.linalg.svd(centred, full_matrices=False)[2][-1]  # the path's plane normal
    binormals = np.broadcast_to(plane, path.shape)
    normals = np.cross(binormals, tangents)
    return normals, np.ascontiguousarray(binormals)


def _clip(profile: np.ndarray, low: float, high: float) -> np.ndarray:
    """The (r, z) polygon of the solid's cross-section between heights ``low`` and ``high`` (the profile
    closed along the axis, clipped to the strip: Sutherland-Hodgman, exact for a strip)."""
    polygon = profile
    for sign, bound in ((1.0, low), (-1.0, high)):  # keep sign * (z - bound) >= 0
        out = []
        for p, q in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
            dp, dq = sign * (p[1] - bound), sign * (q[1] - bound)
            if dp >= 0:
                out.append(p)
            if (dp >= 0) != (dq >= 0):
                out.append(p + (q - p) * (dp / (dp - dq)))
        polygon = np.array(out)
    return polygon


def _radii(profile: np.ndarray, z: float) -> tuple[float, float]:
    """The smallest and largest radius at which the profile, closed along the axis, crosses height ``z``."""
    p, q = profile, np.roll(profile, -1, axis=0)
    crossing = (p[:, 1] <= z) != (q[:, 1] <= z)  # a vertex at height z counts once, a flat edge never
    p, q = p[crossing], q[crossing]
    radii = p[:, 0] + (q[:, 0] - p[:, 0]) * (z - p[:, 1]) / (q[:, 1] - p[:, 1])
    return float(radii.min()), float(radii.max())


def _hollow(profile: np.ndarray, slab: tuple[float, float]) -> bool:
    """Whether the solid's cross-section in the middle of ``slab`` stays off the axis (a wall)."""
    return _radii(profile, (slab[0] + slab[1]) / 2)[0] > 1e-12


def _concavity(polygon: np.ndarray) -> float:
    """How far (metres) the convex hull of ``polygon`` (n, 2) reaches beyond it: the largest distance from a
    vertex to the hull's boundary."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(polygon)
    except QhullError:  # a flat slab: a segment
        return 0.0
    return float(np.max(np.min(-(polygon @ hull.equations[:, :2].T + hull.equations[:, 2]), axis=1)))

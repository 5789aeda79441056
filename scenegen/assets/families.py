"""Shape families: each built-in class as a parametric generator of meshes, in metres, +Z up, base at z = 0.

A family has named parameters, each with a base value (the shape of ``assets/builtin``'s single mesh) and a
span of plausible values (a mug stays a mug). ``build(family, params)`` makes the mesh, with UVs, and its
convex pieces; the same parameters give the same bytes, so a frame record's family and parameters rebuild
the very mesh it was rendered with. Meshes are closed surfaces (watertight once their UV seams are welded).

    ball    radius, squash (height / width)
    bottle  body_radius, body_height, shoulder (height), shoulder_curve (exponent), neck_radius,
            neck_length, cap (height)
    bowl    radius, height, flare (wall exponent: 2 round, lower more conical), rim (wall thickness),
            foot (radius / radius), foot_height
    box     length, width, height, bevel
    can     radius, height, neck_in (the top's inset), rim (height)
    cone    radius, height, top (radius / radius: 0 pointed, more a frustum)
    mug     radius, height, taper (top / bottom radius), wall, handle_height (/ height), handle_reach,
            handle_thickness, handle_squareness (0 round, 1 squarer)
    torus   major, minor (tube radius / major), squash (tube height / width)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import trimesh
from numpy.typing import ArrayLike

from scenegen.assets.lathe import revolve, revolved_pieces, tube, tube_pieces

SECTIONS = 64  # segments around a revolved shape
SECTORS = 8  # angular pieces of a revolved wall
TOLERANCE = 0.003  # metres a revolved piece's cross-section may bulge beyond the solid


@dataclass(frozen=True)
class Param:
    """A family parameter: its ``base`` value (the built-in mesh's) and its span ``[low, high]``."""

    base: float
    low: float
    high: float


@dataclass(frozen=True)
class Shape:
    """A generated mesh (with UVs) and its convex ``pieces``, (k, 3) points each, whose hulls hold it."""

    mesh: trimesh.Trimesh
    pieces: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Variant:
    """One member of a family: its name and parameters, in name order (hashable: a cache key)."""

    family: str
    params: tuple[tuple[str, float], ...]

    def build(self) -> Shape:
        return build(self.family, dict(self.params))

    def record(self) -> dict[str, object]:
        """What a frame record says of it: ``{"family": name, "params": {name: value}}``."""
        return {"family": self.family, "params": dict(self.params)}


def build(family: str, params: dict[str, float]) -> Shape:
    """The shape of ``family`` with ``params`` (every parameter of the family, nothing else, each within its
    span: the shapes the tests build); cached. ValueError naming what is wrong otherwise."""
    if family not in FAMILIES:
        raise ValueError(f"unknown shape family {family!r}; known: {sorted(FAMILIES)}")
    spans = FAMILIES[family][0]
    if sorted(params) != sorted(spans):
        raise ValueError(f"shape family {family!r} takes parameters {sorted(spans)}, got {sorted(params)}")
    for name, value in params.items():
        if isinstance(value, bool) or not (
            isinstance(value, (int, float)) and spans[name].low <= value <= spans[name].high
        ):
            raise ValueError(f"{family} {name} = {value!r} is not a number in [{spans[name].low}, {spans[name].high}]")
    return _build(family, tuple(sorted((k, float(v)) for k, v in params.items())))


@cache
def _build(family: str, params: tuple[tuple[str, float], ...]) -> Shape:
    mesh, pieces = FAMILIES[family][1](dict(params))
    mesh.vertices.flags.writeable = False
    mesh.faces.flags.writeable = False
    return Shape(mesh, tuple(pieces))


def _solid(profile: ArrayLike, sections: int = SECTIONS) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """The solid of revolution of ``profile`` (n, 2) (radius, height) rows, and its convex pieces."""
    points = np.asarray(profile, dtype=float)
    return revolve(points, sections), revolved_pieces(points, sections, SECTORS, TOLERANCE)


def ball(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A ball (a squashed one: a spheroid) resting on z = 0."""
    phi = np.linspace(0.0, np.pi, 17)
    radius, height = p["radius"], p["radius"] * p["squash"]
    return _solid(np.column_stack([radius * np.sin(phi), height * (1 - np.cos(phi))]), 32)


def bottle(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A solid bottle: bevelled base, straight body, shoulder easing to the neck, lip and cap."""
    body_r, neck_r, lip_r = p["body_radius"], p["neck_radius"], p["neck_radius"] + 0.002
    body_top = p["body_height"]
    neck_bottom = body_top + p["shoulder"]
    neck_top = neck_bottom + p["neck_length"]
    s = np.linspace(0.0, 1.0, 10)
    ease = 0.5 * (1.0 + np.cos(np.pi * s ** p["shoulder_curve"]))
    shoulder = np.column_stack((neck_r + (body_r - neck_r) * ease, body_top + (neck_bottom - body_top) * s))
    top = neck_top + p["cap"]
    profile = [[0.0, 0.0], [body_r - 0.003, 0.0], [body_r, 0.003], *shoulder]
    profile += [[neck_r, neck_top], [lip_r, neck_top + 0.002], [lip_r, top], [0.0, top]]
    return _solid(profile)


def bowl(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """An open bowl on a foot: outer and inner walls ``r = R (1 - (1 - s)^k)^(1/k)`` over their depth
    (k = ``flare``: 2 a quarter ellipse, lower more conical), ``rim`` thick at the top."""
    radius, height, k, rim = p["radius"], p["height"], p["flare"], p["rim"]
    bottom = 0.005  # the outer wall's curve meets the axis here, under the foot
    floor = bottom + max(rim, 0.004) + 0.002  # the inside's lowest point

    def wall(r: float, low: float, z: np.ndarray) -> np.ndarray:
        s = np.clip((z - low) / (height - low), 0.0, 1.0)
        return r * (1.0 - (1.0 - s) ** k) ** (1.0 / k)

    outer_z = np.linspace(p["foot_height"], height, 12)
    inner_z = np.linspace(height, floor, 12)
    outer = np.column_stack([wall(radius, bottom, outer_z), outer_z])
    inner = np.column_stack([wall(radius - rim, floor, inner_z), inner_z])
    return _solid([[0.0, 0.0], [p["foot"] * radius, 0.0], *outer, *inner])


def box(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A carton with its edges and corners bevelled by ``bevel`` metres (0: sharp), on z = 0."""
    half = np.array([p["length"], p["width"], p["height"]]) / 2
    bevel = min(p["bevel"], 0.45 * 2 * half.min())
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    if bevel > 0:
        inset = [half - bevel * (1 - np.eye(3)[axis]) for axis in range(3)]  # each axis's face stays out
        points = np.vstack([signs * corner for corner in inset])
    else:
        points = signs * half
    hull = trimesh.convex.convex_hull(points)
    hull.apply_translation([0.0, 0.0, half[2]])
    return _box_uv(hull, 2 * half), [np.asarray(hull.vertices)]


def can(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A closed drinks can: bevelled base, straight wall, the top drawn in by ``neck_in``, a rim around a
    recessed lid."""
    r, h, neck, rim = p["radius"], p["height"], p["neck_in"], p["rim"]
    profile = [[0.0, 0.0], [r - 0.004, 0.0], [r, 0.007], [r, h - rim - 0.01], [r - neck, h - rim]]
    profile += [[r - neck, h], [r - neck - 0.0025, h], [r - neck - 0.0025, h - rim], [0.0, h - rim]]
    return _solid(profile)


def cone(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A cone (``top`` 0) or a frustum, base on z = 0."""
    r, h = p["radius"], p["height"]
    top = [[p["top"] * r, h]] if p["top"] > 0 else []
    return _solid([[0.0, 0.0], [r, 0.0], *top, [0.0, h]])


def mug(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A cup (straight or tapered wall, a bottom) and a handle on +X: a tube along half a superellipse from
    one point of the wall to another, its ends sunk into the wall."""
    r, h, wall = p["radius"], p["height"], p["wall"]
    top = r * p["taper"]
    bottom = wall + 0.001

    def outside(z: np.ndarray) -> np.ndarray:
        return r + (top - r) * z / h

    inner_bottom = float(outside(np.array(bottom))) - wall
    cup, pieces = _solid([[0.0, 0.0], [r, 0.0], [top, h], [top - wall, h], [inner_bottom, bottom], [0.0, bottom]])
    thickness = p["handle_thickness"]
    low, high = bottom + thickness + 0.002, h - thickness - 0.002  # the handle's ends fit between
    span, centre = min(p["handle_height"] * h, high - low), (low + high) / 2
    t = np.linspace(-np.pi / 2, np.pi / 2, 25)
    power = 2.0 / (2.0 + 3.0 * p["handle_squareness"])
    z = centre + span / 2 * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** power
    x = outside(z) - wall / 2 + p["handle_reach"] * np.abs(np.cos(t)) ** power
    path = np.column_stack([x, np.zeros_like(x), z])
    handle = tube(path, thickness, 16, closed=False)
    pieces += tube_pieces(handle, len(path), 16, 6, closed=False)
    return _joined(cup, handle), pieces


def torus(p: dict[str, float]) -> tuple[trimesh.Trimesh, list[np.ndarray]]:
    """A ring lying flat on z = 0: a tube of radius ``minor * major`` (``squash`` times as tall) around a
    circle of radius ``major``."""
    major, minor = p["major"], p["minor"] * p["major"]
    angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    lift = minor * p["squash"]
    path = np.column_stack([major * np.cos(angles), major * np.sin(angles), np.full(64, lift)])
    mesh = tube(path, minor, 24, closed=True, squash=p["squash"])
    return mesh, tube_pieces(mesh, 64, 24, 8, closed=True)


def _joined(*parts: trimesh.Trimesh) -> trimesh.Trimesh:
    """One mesh of closed ``parts`` (they may overlap: a mug's handle ends inside its wall), UVs kept."""
    offsets = np.cumsum([0] + [len(m.vertices) for m in parts[:-1]])
    return trimesh.Trimesh(
        np.vstack([m.vertices for m in parts]),
        np.vstack([m.faces + o for m, o in zip(parts, offsets, strict=True)]),
        vertex_normals=np.vstack([m.vertex_normals for m in parts]),
        visual=trimesh.visual.TextureVisuals(uv=np.vstack([m.visual.uv for m in parts])),  # type: ignore[union-attr]
        process=False,
    )


def _box_uv(hull: trimesh.Trimesh, extents: np.ndarray) -> trimesh.Trimesh:
    """``hull`` with box UVs: each face's vertices projected along the face normal's largest axis, scaled so
    that a face spans [0, 1]; a vertex is repeated once per axis it is projected along."""
    axis = np.argmax(np.abs(hull.face_normals), axis=1)
    keys, corners = np.unique((hull.faces * 3 + axis[:, None]).ravel(), return_inverse=True)
    keep = np.array([[1, 2], [0, 2], [0, 1]])[keys % 3]
    vertices = np.asarray(hull.vertices)[keys // 3]
    low = np.array([-extents[0] / 2, -extents[1] / 2, 0.0])
    uv = np.take_along_axis((vertices - low) / extents, keep, axis=1)
    mesh = trimesh.Trimesh(vertices, corners.reshape(-1, 3), process=False)
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv)
    return mesh


Builder = Callable[[dict[str, float]], tuple[trimesh.Trimesh, list[np.ndarray]]]
FAMILIES: dict[str, tuple[dict[str, Param], Builder]] = {
    "ball": ({"radius": Param(0.05, 0.03, 0.07), "squash": Param(1.0, 0.8, 1.0)}, ball),
    "bottle": (
        {
            "body_radius": Param(0.034, 0.022, 0.045),
            "body_height": Param(0.15, 0.08, 0.2),
            "shoulder": Param(0.055, 0.015, 0.08),
            "shoulder_curve": Param(1.0, 0.6, 1.6),
            "neck_radius": Param(0.0135, 0.009, 0.018),
            "neck_length": Param(0.031, 0.01, 0.08),
            "cap": Param(0.012, 0.006, 0.025),
        },
        bottle,
    ),
    "bowl": (
        {
            "radius": Param(0.08, 0.055, 0.11),
            "height": Param(0.07, 0.035, 0.09),
            "flare": Param(2.0, 1.3, 2.5),
            "rim": Param(0.005, 0.003, 0.008),
            "foot": Param(0.45, 0.3, 0.6),
            "foot_height": Param(0.0137, 0.007, 0.02),
        },
        bowl,
    ),
    "box": (
        {
            "length": Param(0.15, 0.05, 0.3),
            "width": Param(0.1, 0.03, 0.2),
            "height": Param(0.06, 0.015, 0.3),
            "bevel": Param(0.0, 0.0, 0.006),
        },
        box,
    ),
    "can": (
        {
            "radius": Param(0.033, 0.025, 0.045),
            "height": Param(0.12, 0.06, 0.19),
            "neck_in": Param(0.0045, 0.0, 0.007),
            "rim": Param(0.004, 0.002, 0.007),
        },
        can,
    ),
    "cone": (
        {"radius": Param(0.04, 0.025, 0.06), "height": Param(0.12, 0.06, 0.2), "top": Param(0.0, 0.0, 0.4)},
        cone,
    ),
    "mug": (
        {
            "radius": Param(0.04, 0.03, 0.05),
            "height": Param(0.09, 0.065, 0.12),
            "taper": Param(1.0, 0.85, 1.25),
            "wall": Param(0.005, 0.003, 0.007),
            "handle_height": Param(0.62, 0.4, 0.75),
            "handle_reach": Param(0.028, 0.015, 0.04),
            "handle_thickness": Param(0.006, 0.004, 0.009),
            "handle_squareness": Param(0.0, 0.0, 1.0),
        },
        mug,
    ),
    "torus": (
        {"major": Param(0.06, 0.04, 0.08), "minor": Param(0.333, 0.15, 0.5), "squash": Param(1.0, 0.6, 1.3)},
        torus,
    ),
}

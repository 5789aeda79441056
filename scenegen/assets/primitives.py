"""Unit primitives for distractors: each fits the cube [-0.5, 0.5]^3, centred at the origin.

A distractor of ``size`` (3,) metres is its primitive scaled by ``size`` along x, y, z, so a
sphere of radius ``0.5 * |size|`` always bounds it.
"""

from __future__ import annotations

from functools import cache

import trimesh

DISTRACTOR_SHAPES = ("box", "sphere", "cylinder", "cone", "capsule", "torus")


@cache
def unit_primitive(shape: str) -> trimesh.Trimesh:
    """The mesh of ``shape``, extents 1 along each axis (but torus: 0.3 along z; capsule: 0.5 across)."""
    if shape == "box":
        return trimesh.creation.box([1.0, 1.0, 1.0])
    if shape == "sphere":
        return trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    if shape == "cylinder":
        return trimesh.creation.cylinder(radius=0.5, height=1.0, sections=32)
    if shape == "cone":
        return trimesh.creation.cone(radius=0.5, height=1.0, sections=32).apply_translation([0, 0, -0.5])
    if shape == "capsule":
        return trimesh.creation.capsule(height=0.5, radius=0.25, count=[16, 16])
    if shape == "torus":
        return trimesh.creation.torus(major_radius=0.35, minor_radius=0.15, major_sections=32, minor_sections=16)
    raise ValueError(f"unknown distractor shape {shape!r}; known: {DISTRACTOR_SHAPES}")

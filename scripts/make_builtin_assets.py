"""Generate the built-in asset pack: procedural meshes plus a manifest.

Every mesh is built at its real-world size in metres, +Z up, with its base at
z=0. The output is byte-for-byte deterministic, so the pack can be regenerated
and diffed.

Usage: python scripts/make_builtin_assets.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from trimesh.exchange.ply import export_ply

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "assets" / "builtin"

PACK_NAME = "builtin"
PACK_VERSION = "1.0.0"
PACK_DESCRIPTION = (
    "Procedurally generated household objects and primitives at real-world sizes in metres, +Z up, base at z=0."
)

# Angular resolution of revolved (radially symmetric) parts.
REVOLVE_SECTIONS = 64
MAX_FACES = 5000


@dataclass(frozen=True)
class AssetSpec:
    """One asset of the pack: its class name, mesh builder and tags."""

    name: str
    build: Callable[[], trimesh.Trimesh]
    tags: tuple[str, ...]


def _lifted(mesh: trimesh.Trimesh, dz: float) -> trimesh.Trimesh:
    """Return ``mesh`` translated by ``dz`` along +Z."""
    mesh.apply_translation((0.0, 0.0, dz))
    return mesh


def _revolved(profile: np.ndarray) -> trimesh.Trimesh:
    """Revolve a closed (radius, z) profile, given counter-clockwise, about +Z."""
    return trimesh.creation.revolve(profile, sections=REVOLVE_SECTIONS)


def _half_ring(major: float, minor: float, sections: int = 24, minor_sections: int = 16) -> trimesh.Trimesh:
    """Half a torus about +Z (y >= 0) with both open tube ends closed by fans.

    The tube ends lie in the XZ plane, centred at (+major, 0, 0) and (-major, 0, 0).
    """
    t = np.linspace(0.0, 2.0 * np.pi, minor_sections, endpoint=False)
    circle = np.column_stack((major + minor * np.cos(t), minor * np.sin(t)))
    tube = trimesh.creation.revolve(np.vstack((circle, circle[:1])), angle=np.pi, sections=sections, process=False)
    # revolve() stacks one copy of the (minor_sections + 1)-point profile per slice.
    per = minor_sections + 1
    ends = (np.arange(minor_sections), np.arange(minor_sections) + len(tube.vertices) - per)
    vertices = np.vstack((tube.vertices, [[major, 0.0, 0.0], [-major, 0.0, 0.0]]))
    fans = [
        np.column_stack((np.full(minor_sections, len(tube.vertices) + k), ring, np.roll(ring, -1)))
        for k, ring in enumerate(ends)
    ]
    return trimesh.Trimesh(vertices=vertices, faces=np.vstack([tube.faces, *fans]))


def make_mug() -> list[trimesh.Trimesh]:
    """Cylindrical cup with a bottom and a half-torus handle on the +X side."""
    radius, height, wall, bottom = 0.04, 0.09, 0.005, 0.006
    cup = _revolved(
        np.array(
            [
                [0.0, 0.0],
                [radius, 0.0],
                [radius, height],
                [radius - wall, height],
                [radius - wall, bottom],
                [0.0, bottom],
            ]
        )
    )
    handle = _half_ring(major=0.028, minor=0.006)
    # Rotate the half ring from y >= 0 in the XY plane to x >= 0 in the XZ plane,
    # then sink its cut ends into the cup wall.
    handle.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, (0, 0, 1)))
    handle.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (1, 0, 0)))
    handle.apply_translation((radius - wall / 2, 0.0, 0.048))
    return [cup, handle]


def make_bottle() -> list[trimesh.Trimesh]:
    """Solid bottle: bevelled base, straight body, eased shoulder, neck and lip."""
    body_r, neck_r, lip_r = 0.034, 0.0135, 0.0155
    body_top, neck_bottom = 0.15, 0.205
    s = np.linspace(0.0, 1.0, 10)
    shoulder = np.column_stack(
        (neck_r + (body_r - neck_r) * 0.5 * (1.0 + np.cos(np.pi * s)), body_top + (neck_bottom - body_top) * s)
    )
    profile = np.vstack(
        (
            [[0.0, 0.0], [body_r - 0.003, 0.0], [body_r, 0.003]],
            shoulder,
            [[neck_r, 0.236], [lip_r, 0.238], [lip_r, 0.25], [0.0, 0.25]],
        )
    )
    return [_revolved(profile)]


def make_can() -> list[trimesh.Trimesh]:
    """Closed drinks can with bevelled ends, a top rim and a recessed lid."""
    profile = np.array(
        [
            [0.0, 0.0],
            [0.029, 0.0],
            [0.033, 0.007],
            [0.033, 0.106],
            [0.0285, 0.116],
            [0.0285, 0.12],
            [0.026, 0.12],
            [0.026, 0.116],
            [0.0, 0.116],
        ]
    )
    return [_revolved(profile)]


def make_bowl() -> list[trimesh.Trimesh]:
    """Open bowl on a foot ring: elliptical outer and inner walls, 5 mm rim."""
    rim_z = 0.07
    outer_phi = np.linspace(np.pi / 6, np.pi / 2, 12)
    outer = np.column_stack((0.08 * np.sin(outer_phi), rim_z - 0.065 * np.cos(outer_phi)))
    inner_phi = np.linspace(np.pi / 2, 0.0, 12)
    inner = np.column_stack((0.075 * np.sin(inner_phi), rim_z - 0.058 * np.cos(inner_phi)))
    profile = np.vstack(([[0.0, 0.0], [0.036, 0.0]], outer, inner))
    return [_revolved(profile)]


def make_box() -> list[trimesh.Trimesh]:
    """Rectangular carton of 0.15 x 0.10 x 0.06 m."""
    return [_lifted(trimesh.creation.box(extents=(0.15, 0.10, 0.06)), 0.03)]


def make_ball() -> list[trimesh.Trimesh]:
    """Ball of radius 0.05 m resting on z=0."""
    return [_lifted(trimesh.creation.icosphere(subdivisions=3, radius=0.05), 0.05)]


def make_cone() -> list[trimesh.Trimesh]:
    """Cone 0.12 m tall with a 0.04 m base radius."""
    return [trimesh.creation.cone(radius=0.04, height=0.12, sections=REVOLVE_SECTIONS)]


def make_torus() -> list[trimesh.Trimesh]:
    """Donut lying flat: major radius 0.06 m, minor radius 0.02 m."""
    return [_lifted(trimesh.creation.torus(0.06, 0.02, major_sections=64, minor_sections=24), 0.02)]


ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("ball", make_ball, ("toy",)),
    AssetSpec("bottle", make_bottle, ("container", "kitchen")),
    AssetSpec("bowl", make_bowl, ("kitchen",)),
    AssetSpec("box", make_box, ("packaging",)),
    AssetSpec("can", make_can, ("container", "kitchen")),
    AssetSpec("cone", make_cone, ("primitive",)),
    AssetSpec("mug", make_mug, ("kitchen",)),
    AssetSpec("torus", make_torus, ("primitive",)),
)


def assemble(parts: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """Orient each part's normals outward, concatenate and merge duplicate vertices."""
    for part in parts:
        part.fix_normals()
    mesh = trimesh.util.concatenate(parts)
    mesh.merge_vertices()
    mesh.remove_unreferenced_vertices()
    return mesh


def check(name: str, mesh: trimesh.Trimesh) -> None:
    """Raise if ``mesh`` violates the pack's invariants."""
    if len(mesh.faces) == 0 or len(mesh.faces) >= MAX_FACES:
        raise ValueError(f"{name}: {len(mesh.faces)} faces, expected 1..{MAX_FACES - 1}")
    if not np.isfinite(mesh.vertices).all():
        raise ValueError(f"{name}: non-finite vertices")
    if abs(mesh.bounds[0, 2]) > 1e-6:
        raise ValueError(f"{name}: base at z={mesh.bounds[0, 2]:.6f}, expected 0")


def write_pack(out: Path) -> None:
    """Write every mesh and the manifest under ``out``."""
    (out / "meshes").mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in ASSETS:
        mesh = assemble(spec.build())
        check(spec.name, mesh)
        rel = f"meshes/{spec.name}.ply"
        path = out / rel
        path.write_bytes(export_ply(mesh, encoding="binary", vertex_normal=False, include_attributes=False))
        extents = ", ".join(f"{e:.3f}" for e in mesh.extents)
        print(f"wrote {path} ({len(mesh.faces)} faces, extents {extents} m)")
        entries.append(
            {
                "id": spec.name,
                "class": spec.name,
                "mesh": rel,
                "target_size": round(float(mesh.extents.max()), 4),
                "up_axis": "z",
                "tags": list(spec.tags),
            }
        )
    manifest = {
        "name": PACK_NAME,
        "version": PACK_VERSION,
        "description": PACK_DESCRIPTION,
        "classes": sorted(spec.name for spec in ASSETS),
        "assets": sorted(entries, key=lambda entry: entry["id"]),
    }
    manifest_path = out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {manifest_path} ({len(entries)} assets)")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and write the pack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    write_pack(args.out)


if __name__ == "__main__":
    main()

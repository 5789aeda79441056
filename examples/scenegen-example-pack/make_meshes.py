"""Regenerate the example pack's meshes: a textured crate (OBJ + MTL + PNG) and a pyramid (STL, +Y up, mm)."""

from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from scenegen.scene.textures import make_texture, with_uv

MESHES = Path(__file__).resolve().parent / "scenegen_example_pack" / "meshes"


def crate() -> None:
    mesh = with_uv(trimesh.creation.box([1.0, 1.0, 1.0]), 1.0)
    wood = make_texture("wood", np.random.default_rng(7), 128, np.array([[0.75, 0.5, 0.25], [0.35, 0.18, 0.06]]))
    mesh.visual = trimesh.visual.TextureVisuals(uv=mesh.visual.uv, image=Image.fromarray(wood))
    text, files = trimesh.exchange.obj.export_obj(mesh, mtl_name="crate.mtl", return_texture=True)
    (MESHES / "crate.obj").write_text(text)
    for name, data in files.items():
        target = "crate.png" if name.endswith(".png") else name
        (MESHES / target).write_bytes(data.replace(b"material_0.png", b"crate.png"))


def pyramid() -> None:
    """A square pyramid 80 mm wide and 60 mm tall, apex along +Y."""
    vertices = np.array([[-40, 0, -40], [40, 0, -40], [40, 0, 40], [-40, 0, 40], [0, 60, 0]], float)
    faces = np.array([[0, 1, 2], [0, 2, 3], [0, 4, 1], [1, 4, 2], [2, 4, 3], [3, 4, 0]])
    mesh = trimesh.Trimesh(vertices, faces)
    mesh.fix_normals()
    mesh.export(MESHES / "pyramid.stl")


if __name__ == "__main__":
    MESHES.mkdir(parents=True, exist_ok=True)
    crate()
    pyramid()
    print(f"wrote {sorted(p.name for p in MESHES.iterdir())}")

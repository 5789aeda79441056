"""Tests for procedural textures and box UVs, ending with a real headless render."""

from __future__ import annotations

import os

os.environ["PYOPENGL_PLATFORM"] = "egl"

import numpy as np
import pyrender
import pytest
import trimesh

from scenegen.scene.textures import TEXTURE_KINDS, box_uv, make_texture, with_uv

COLORS = np.array([[0.9, 0.1, 0.1], [0.1, 0.2, 0.9]])


def _texture(kind: str, seed: int, size: int = 128) -> np.ndarray:
    return make_texture(kind, np.random.default_rng(seed), size, COLORS)


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_texture_shape_dtype_and_determinism(kind: str) -> None:
    tex = _texture(kind, 0)
    assert tex.shape == (128, 128, 3) and tex.dtype == np.uint8
    assert np.array_equal(tex, _texture(kind, 0))
    assert not np.array_equal(tex, _texture(kind, 1))


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
@pytest.mark.parametrize("seed", range(5))
def test_texture_varies_and_reaches_both_colors(kind: str, seed: int) -> None:
    tex = _texture(kind, seed).reshape(-1, 3).astype(np.float64)
    assert tex.std(axis=0).max() > 20
    for color in COLORS * 255:
        assert np.abs(tex - color).max(axis=1).min() <= 3


def test_checker_uses_exactly_the_two_colors() -> None:
    tex = _texture("checker", 3)
    colors, counts = np.unique(tex.reshape(-1, 3), axis=0, return_counts=True)
    assert len(colors) == 2
    assert np.abs(np.sort(colors, axis=0) - np.sort(COLORS * 255, axis=0)).max() <= 1
    assert counts.min() > 0.3 * tex.shape[0] * tex.shape[1]


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_texture_size_and_bad_input(kind: str) -> None:
    assert _texture(kind, 2, size=37).shape == (37, 37, 3)
    with pytest.raises(ValueError, match="shape"):
        make_texture(kind, np.random.default_rng(0), 16, COLORS[:1])


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown texture kind"):
        make_texture("plaid", np.random.default_rng(0), 16, COLORS)


def test_box_uv_drops_the_dominant_normal_axis() -> None:
    vertices = np.array([[1.0, 2.0, 3.0]] * 3)
    normals = np.array([[0.9, 0.3, -0.1], [0.1, -0.8, 0.5], [0.2, 0.3, -0.7]])
    uv = box_uv(vertices, normals, scale=0.5)
    assert uv.dtype == np.float32
    assert np.allclose(uv, [[4.0, 6.0], [2.0, 6.0], [2.0, 4.0]])


def test_box_uv_spans_each_face_of_a_unit_cube() -> None:
    cube = trimesh.creation.box()
    for scale in (1.0, 0.25):
        mesh = with_uv(cube, scale)
        uv = mesh.visual.uv
        for face_pair in mesh.faces.reshape(6, 6):  # box faces come in pairs of triangles per side
            span = uv[face_pair].max(axis=0) - uv[face_pair].min(axis=0)
            assert np.allclose(span, 1.0 / scale)


def test_with_uv_splits_only_seam_vertices_and_keeps_faces() -> None:
    cube = trimesh.creation.box()
    mesh = with_uv(cube, 1.0)
    assert len(mesh.faces) == len(cube.faces) and len(mesh.vertices) == 24  # each corner once per side
    assert np.allclose(mesh.vertices[mesh.faces], cube.vertices[cube.faces])
    sphere = trimesh.creation.icosphere(subdivisions=3)
    mesh = with_uv(sphere, 0.3)
    assert len(mesh.faces) == len(sphere.faces)
    assert len(sphere.vertices) < len(mesh.vertices) < 3 * len(sphere.faces)
    assert mesh.visual.uv.shape == (len(mesh.vertices), 2)
    assert np.allclose(mesh.vertices[mesh.faces], sphere.vertices[sphere.faces])
    assert np.allclose(np.linalg.norm(mesh.vertex_normals, axis=1), 1.0)
    assert np.allclose(mesh.vertex_normals, mesh.vertices / np.linalg.norm(mesh.vertices, axis=1)[:, None], atol=0.02)


def test_with_uv_keeps_the_mesh_own_uvs() -> None:
    cube = trimesh.creation.box()
    own = np.random.default_rng(0).uniform(size=(len(cube.vertices), 2))
    textured = trimesh.Trimesh(cube.vertices, cube.faces, visual=trimesh.visual.TextureVisuals(uv=own), process=False)
    mesh = with_uv(textured, 1.0)
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals)
    assert np.allclose(mesh.visual.uv, own) and len(mesh.vertices) == len(cube.vertices)


def test_textured_box_renders_texture_colors() -> None:
    tex = make_texture("checker", np.random.default_rng(0), 64, COLORS)
    material = pyrender.MetallicRoughnessMaterial(
        baseColorTexture=pyrender.Texture(source=tex, source_channels="RGB"), metallicFactor=0.0, roughnessFactor=1.0
    )
    scene = pyrender.Scene(bg_color=[0.0, 1.0, 0.0, 1.0], ambient_light=[0.6, 0.6, 0.6])
    scene.add(pyrender.Mesh.from_trimesh(with_uv(trimesh.creation.box(), 1.0), material=material))
    eye = np.array([1.2, -1.0, 0.9])
    z = eye / np.linalg.norm(eye)
    x = np.cross([0.0, 0.0, 1.0], z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, np.cross(z, x), z, eye
    scene.add(pyrender.PerspectiveCamera(yfov=1.0), pose=pose)
    scene.add(pyrender.DirectionalLight(intensity=3.0), pose=pose)
    renderer = pyrender.OffscreenRenderer(64, 64)
    try:
        color, _ = renderer.render(scene)
    finally:
        renderer.delete()
    rgb = color.reshape(-1, 3).astype(int)
    box = rgb[np.any(rgb != [0, 255, 0], axis=1)]  # not the background
    assert len(box) > 0.3 * len(rgb)
    reddish = (box[:, 0] > box[:, 2] + 40).sum()
    bluish = (box[:, 2] > box[:, 0] + 40).sum()
    assert reddish > 0.1 * len(box) and bluish > 0.1 * len(box)
    assert len(np.unique(box, axis=0)) >= 8

"""Reading a pack's mesh file safely, once per process.

Every file a mesh references (MTL, textures, buffers) must stay inside the pack folder; meshes are checked
for faces, finite vertices (in the file as written, before trimesh cleans anything away), a face-count
limit, a limit on the bytes of the mesh and every file it references, and a limit on texture pixels
(checked before a texture is decoded).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import PIL.Image
import trimesh
from trimesh.resolvers import FilePathResolver

from scenegen.assets.limits import MeshLimits
from scenegen.errors import AssetError


class _PackResolver(FilePathResolver):
    """Resolves the files a mesh references (MTL, textures, buffers) inside the pack folder only, counting
    their bytes with the mesh file's against ``max_bytes``; remembers each reference that tried to leave
    the pack or went over the limit (trimesh catches some errors and carries on without the file)."""

    def __init__(self, mesh_path: Path, pack_root: Path, max_bytes: float):
        super().__init__(str(mesh_path), allow_anywhere=True)
        self.pack_root = pack_root
        self.max_bytes = max_bytes
        self.read = {mesh_path: mesh_path.stat().st_size}  # file -> bytes
        self.problems: list[str] = []

    def absolute(self, name: str) -> Path:
        path = super().absolute(name)
        if not path.is_relative_to(self.pack_root):
            self.problems.append(f"references {name!r}, outside the pack folder")
            raise ValueError(f"{name!r} leaves the pack folder")
        return path

    def get(self, name: str) -> bytes:
        """The bytes of the file ``name`` (as written, else without a leading /, else its base name, as
        trimesh's own resolver tries), once the total is known to stay within ``max_bytes``."""
        for candidate in (name.strip(), name.strip().lstrip("/"), os.path.split(name)[-1]):
            try:
                path = self.absolute(candidate)
            except ValueError:
                continue
            if path.is_file():
                self.read[path] = path.stat().st_size
                total = sum(self.read.values())
                if total > self.max_bytes:
                    self.problems.append(
                        f"{total / 1e6:.1f} MB with the files it references ({name!r} included) is over the "
                        f"limit of {self.max_bytes / 1e6:g} MB (objects.max_mesh_megabytes)"
                    )
                    raise ValueError(f"{name!r}: over the size limit")
                return path.read_bytes()
        raise FileNotFoundError(name)


@contextlib.contextmanager
def _texture_pixel_limit(max_pixels: int) -> Iterator[list[str]]:
    """While trimesh loads a mesh: Pillow refuses any image of more than ``max_pixels`` from its header,
    before decoding it, and each refusal is collected in the list yielded, even one trimesh catches and
    only logs (it then carries on without the texture)."""
    refused: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info and isinstance(record.exc_info[1], _BOMBS):
                refused.append(str(record.exc_info[1]))

    logger, handler = logging.getLogger("trimesh"), Collect()
    saved = logger.level, logger.propagate, PIL.Image.MAX_IMAGE_PIXELS
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # trimesh logs the errors it catches at debug level
    logger.propagate = False  # ... which must not reach the application's own log meanwhile
    PIL.Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)  # over the limit: refused
            yield refused
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])  # not `logger.level =`: setLevel also clears logging's cache of enabled levels
        logger.propagate, PIL.Image.MAX_IMAGE_PIXELS = saved[1:]


_BOMBS = (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning)


@cache
def load_mesh_file(path: Path, pack: str, pack_root: Path, limits: MeshLimits) -> trimesh.Trimesh:
    """The mesh of file ``path`` of pack ``pack`` (folder ``pack_root``), unprocessed until checked within
    ``limits``; ScenegenError naming the pack and the file on the first problem. Cached: once per process."""
    where = f"pack {pack!r} at {pack_root}: {path.relative_to(pack_root)}"
    size = path.stat().st_size
    if size == 0:
        raise AssetError(f"{where}: the file is empty")
    if size > limits.max_megabytes * 1e6:
        raise AssetError(f"{where}: {size / 1e6:.1f} MB is over the limit of {limits.max_megabytes} MB")
    resolver = _PackResolver(path, pack_root, limits.max_megabytes * 1e6)
    with _texture_pixel_limit(limits.max_texture_pixels) as refused:
        try:  # unprocessed: trimesh would drop faces at non-finite vertices without a word
            mesh = trimesh.load(str(path), force="mesh", resolver=resolver, process=False)
        except _BOMBS as err:
            refused.append(str(err))
        except Exception as err:  # trimesh raises many types for bad files
            if not resolver.problems:
                raise AssetError(f"{where}: cannot load as a mesh ({' '.join(str(err).split())[:160]})") from None
    if resolver.problems:
        raise AssetError(f"{where}: {resolver.problems[0]}")
    if refused:
        found = re.search(r"\((\d+) pixels\)", refused[0])  # Pillow's message: "Image size (N pixels) ..."
        size = f"a texture of {found[1]} pixels" if found else "a texture"
        raise AssetError(
            f"{where}: {size} is over the limit of {limits.max_texture_pixels} (objects.max_texture_pixels)"
        )
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise AssetError(f"{where}: the mesh has no faces")
    if len(mesh.faces) > limits.max_faces:
        raise AssetError(f"{where}: {len(mesh.faces)} faces is over the limit of {limits.max_faces}")
    used = np.unique(mesh.faces)
    if used.min() < 0 or used.max() >= len(mesh.vertices):
        raise AssetError(f"{where}: a face refers to a vertex the file does not have")
    bad = np.flatnonzero(~np.all(np.isfinite(mesh.vertices), axis=1))
    if len(bad):
        raise AssetError(f"{where}: the mesh has non-finite vertices, e.g. {mesh.vertices[bad[0]].tolist()}")
    mesh.process()  # as trimesh.load(process=True) would: merge duplicate vertices (all finite now)
    if np.max(mesh.extents) <= 0:
        raise AssetError(f"{where}: the mesh is degenerate (zero size)")
    return mesh

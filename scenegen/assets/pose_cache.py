"""Resting poses kept on disk for generated meshes: ``cache_dir/poses/KEY.npz``, KEY a hash of the mesh.

Finding a mesh's stable poses costs up to a tenth of a second (``stable.py``'s topple graph over its convex
hull); a shape family's pool is many meshes, so a run keeps their poses where it keeps collision shapes, and
every worker, and every later run with the same shapes, reads them. A file is written under a temporary name
and renamed; one read back is used only when it is a regular file of bounded size (``files.read_regular``: a
FIFO there is never waited on) holding what ``RestingPoses`` holds, of consistent sizes, finite, rigid
transforms that rest the mesh on z = 0, the radii they give it, and non-negative probabilities; anything else is
computed again (and rewritten).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import trimesh

from scenegen.files import read_regular

VERSION = 2  # bump when the poses computed for the same mesh change
KEYS = ("transforms", "probabilities", "radii")
MAX_BYTES = 16 << 20  # a pose file: 16 MB, about 100,000 poses
TOLERANCE = 1e-6  # metres (of the unscaled mesh's units) a cached pose may put the mesh off z = 0


def pose_path(cache_dir: Path, mesh: trimesh.Trimesh) -> Path:
    """Where the poses of ``mesh`` are kept: a hash of its vertices and faces, this module's and trimesh's
    versions."""
    digest = hashlib.sha256(f"poses {VERSION} trimesh {trimesh.__version__}".encode())
    digest.update(np.ascontiguousarray(mesh.vertices, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(mesh.faces, dtype="<i8").tobytes())
    return Path(cache_dir) / "poses" / f"{digest.hexdigest()[:32]}.npz"


def read_poses(path: Path, mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(transforms (n, 4, 4), probabilities (n,), radii (n,))`` of ``mesh`` from ``path``, or None when it is
    missing or not a valid pose file of the mesh."""
    try:
        with np.load(io.BytesIO(read_regular(path, MAX_BYTES, follow_links=False)), allow_pickle=False) as data:
            if sorted(data.files) != sorted(KEYS):
                return None
            transforms, probabilities, radii = (np.asarray(data[key], dtype=float) for key in KEYS)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    n = len(probabilities)
    shapes_ok = n > 0 and transforms.shape == (n, 4, 4) and probabilities.shape == (n,) and radii.shape == (n,)
    if not shapes_ok or not all(np.isfinite(a).all() for a in (transforms, probabilities, radii)):
        return None
    rotations = transforms[:, :3, :3]
    rigid = np.allclose(rotations @ rotations.transpose(0, 2, 1), np.eye(3), atol=1e-6)
    rigid &= np.allclose(transforms[:, 3], [0.0, 0.0, 0.0, 1.0])
    if not rigid or (probabilities < 0).any() or probabilities.sum() <= 0 or (radii < 0).any():
        return None
    lowest, reach = pose_reach(mesh.vertices, transforms)
    if not (np.abs(lowest) <= TOLERANCE).all() or not np.allclose(reach, radii, atol=TOLERANCE):
        return None
    return transforms, probabilities, radii


def pose_reach(vertices: np.ndarray, transforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pose of ``transforms`` (n, 4, 4) of the mesh of ``vertices`` (v, 3): its lowest z and its radius,
    the largest distance of a vertex from the vertical axis through the origin; (n,) each, one pose at a time."""
    lowest = [np.min(vertices @ t[2, :3] + t[2, 3]) for t in transforms]
    radii = [np.max(np.linalg.norm(vertices @ t[:2, :3].T + t[:2, 3], axis=1)) for t in transforms]
    return np.asarray(lowest, dtype=float), np.asarray(radii, dtype=float)


def write_poses(path: Path, transforms: np.ndarray, probabilities: np.ndarray, radii: np.ndarray) -> None:
    """Write the arrays to ``path`` atomically (a temporary file renamed)."""
    buffer = io.BytesIO()
    np.savez(buffer, transforms=transforms, probabilities=probabilities, radii=radii)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

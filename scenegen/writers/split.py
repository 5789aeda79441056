"""A seeded train/val split of frame indices, the same on every machine and every run."""

from __future__ import annotations

import numpy as np

SPLIT_STREAM = 0x5EED  # keeps the split's random stream apart from the frames' ``[seed, index]`` streams


def split_indices(frame_indices: list[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)``, each sorted: a random ``val_fraction`` of the frames, drawn by ``seed``, for validation.

    The validation set has ``round(n * val_fraction)`` frames, but at least one when
    ``val_fraction > 0``; the split depends only on the set of indices, not their order.
    """
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    indices = np.unique(np.asarray(frame_indices, dtype=np.int64))
    n_val = min(indices.size, max(round(indices.size * val_fraction), int(val_fraction > 0)))
    chosen = np.zeros(indices.size, dtype=bool)
    chosen[np.random.default_rng([seed, SPLIT_STREAM]).permutation(indices.size)[:n_val]] = True
    return indices[~chosen].tolist(), indices[chosen].tolist()

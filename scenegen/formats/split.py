"""A seeded train/val split of frame indices, the same on every machine, every run and every shard.

Each scene decides on its own, from ``default_rng([seed, SPLIT_STREAM, scene index])``, so it keeps its
side when the dataset grows or is rendered in shards, and the frames of one scene (its views, its
sequence) are never split between train and val. With one frame per scene, the scene index is the frame's.
"""

from __future__ import annotations

import numpy as np

SPLIT_STREAM = 0x5EED  # keeps the split's random stream apart from the frames' ``[seed, index]`` streams


def is_val(index: int, val_fraction: float, seed: int) -> bool:
    """Whether frame ``index`` belongs to the validation split (probability ``val_fraction``)."""
    return bool(np.random.default_rng([seed, SPLIT_STREAM, index]).random() < val_fraction)


def split_indices(frame_indices: list[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)``, each sorted: every frame lands in val with probability ``val_fraction``, by ``seed``."""
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    indices = sorted(set(frame_indices))
    val = [i for i in indices if is_val(i, val_fraction, seed)]
    return [i for i in indices if i not in set(val)], val


def split_records(records: list[dict], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)`` frame indices of frame ``records``, each sorted: a frame goes where
    :func:`split_indices` sends its scene (``scene_index``)."""
    _, val_scenes = split_indices([r["scene_index"] for r in records], val_fraction, seed)
    chosen = set(val_scenes)
    indices = sorted((r["index"], r["scene_index"] in chosen) for r in records)
    return [i for i, val in indices if not val], [i for i, val in indices if val]

"""A seeded train/val split, the same on every machine, every run and every shard.

Each scene decides on its own, from ``default_rng([seed, SPLIT_STREAM, scene index])``, so it keeps its
side when the dataset grows or is rendered in shards, and the frames of one scene (its views, its
sequence) are never split between train and val. With one frame per scene, the scene index is the frame's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from scenegen.dataset import atomic

Entry = TypeVar("Entry")

SPLIT_STREAM = 0x5EED  # keeps the split's random stream apart from the frames' ``[seed, index]`` streams


def is_val(scene_index: int, val_fraction: float, seed: int) -> bool:
    """Whether scene ``scene_index`` belongs to the validation split (probability ``val_fraction``)."""
    return bool(np.random.default_rng([seed, SPLIT_STREAM, scene_index]).random() < val_fraction)


def in_val(record: dict[str, Any], val_fraction: float, seed: int) -> bool:
    """Whether a frame record belongs to the validation split: where its scene goes."""
    return is_val(record["scene_index"], val_fraction, seed)


def split_indices(scene_indices: list[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)``, each sorted: every scene lands in val with probability ``val_fraction``, by ``seed``."""
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    indices = sorted(set(scene_indices))
    val = [i for i in indices if is_val(i, val_fraction, seed)]
    return [i for i in indices if i not in set(val)], val


def write_split_files(
    folder: Path, name: str, entries: list[Entry], val: list[bool], build: Callable[[list[Entry]], Any]
) -> Path:
    """Write ``name.json`` (``build`` of every entry), ``name_train.json`` and ``name_val.json`` (of those
    whose ``val`` flag says so) in ``folder``; return the whole file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, chosen in (
        ("", entries),
        ("_train", [e for e, v in zip(entries, val, strict=True) if not v]),
        ("_val", [e for e, v in zip(entries, val, strict=True) if v]),
    ):
        atomic.write_json(folder / f"{name}{suffix}.json", build(chosen))
    return folder / f"{name}.json"

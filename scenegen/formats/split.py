"""A seeded train/val split, the same on every machine, every run and every shard.

Each scene draws once, from ``default_rng([seed, SPLIT_STREAM, scene index])``, and is in val when its draw is
below ``val_fraction``; the frames of one scene (its views, its sequence) are never split between train and
val. So a scene keeps its side when the dataset grows or is rendered in shards, with one exception: a dataset
of several scenes none of which drew val (a small one) puts the scene with the lowest draw in val, so that
val is never empty; that scene goes back to train when the dataset grows and another scene draws val. With
one frame per scene, the scene index is the frame's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from scenegen.dataset import atomic
from scenegen.dataset.record import FrameRecord

Entry = TypeVar("Entry")

SPLIT_STREAM = 0x5EED  # keeps the split's random stream apart from the frames' ``[seed, index]`` streams


def _draw(scene_index: int, seed: int) -> float:
    """Scene ``scene_index``'s uniform draw in [0, 1)."""
    return float(np.random.default_rng([seed, SPLIT_STREAM, scene_index]).random())


@functools.lru_cache(maxsize=16)
def _forced_val(scenes: Sequence[int], val_fraction: float, seed: int) -> int | None:
    """The scene of ``scenes`` (a range or tuple) put in val because none drew val: the one with the lowest
    draw; None when a scene drew val, when there are fewer than two scenes, or when ``val_fraction`` is 0."""
    if len(scenes) < 2 or val_fraction <= 0:
        return None
    lowest, chosen = 1.0, None
    for scene in scenes:
        draw = _draw(scene, seed)
        if draw < val_fraction:
            return None
        if chosen is None or draw < lowest:
            lowest, chosen = draw, scene
    return chosen


@dataclass(frozen=True)
class Split:
    """The train/val split of a dataset of ``num_scenes`` scenes (see the module)."""

    val_fraction: float
    seed: int
    num_scenes: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction <= 1.0:
            raise ValueError(f"val_fraction must be in [0, 1], got {self.val_fraction}")

    def is_val(self, scene_index: int) -> bool:
        """Whether scene ``scene_index`` belongs to the validation split."""
        if _draw(scene_index, self.seed) < self.val_fraction:
            return True
        return scene_index == _forced_val(range(self.num_scenes), self.val_fraction, self.seed)

    def in_val(self, record: FrameRecord) -> bool:
        """Whether a frame record belongs to the validation split: where its scene goes."""
        return self.is_val(record["scene_index"])


def split_indices(scene_indices: list[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)``, each sorted, of a dataset whose scenes are ``scene_indices`` (see the module)."""
    if not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1], got {val_fraction}")
    indices = sorted(set(scene_indices))
    forced = _forced_val(tuple(indices), val_fraction, seed)
    val = {i for i in indices if _draw(i, seed) < val_fraction or i == forced}
    return [i for i in indices if i not in val], sorted(val)


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

"""The elementary random draws every sampler uses: one Generator passed in, never a global one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def uniform(rng: np.random.Generator, span: list[float]) -> float:
    return float(rng.uniform(span[0], span[1]))


def integer(rng: np.random.Generator, span: list[int]) -> int:
    """A uniform integer in ``[span[0], span[1]]``, both ends included."""
    return int(rng.integers(span[0], span[1] + 1))


def pick(rng: np.random.Generator, choices: Sequence[T]) -> T:
    """A uniformly random element of ``choices``."""
    return choices[int(rng.integers(len(choices)))]


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A (4, 4) uniformly random rotation (a normalised gaussian quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    m = np.eye(4)
    m[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return m

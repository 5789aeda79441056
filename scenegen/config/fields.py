"""Field constructors for the config schemas: bounds are field metadata that ``config.validate`` checks.

``span`` marks a ``[min, max]`` pair, ``bounded`` a scalar. They live apart from ``config`` so that
schemas defined in other modules (``postfx``) can use them without importing ``config``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from omegaconf import MISSING

INF = float("inf")


def span(lo: float = -INF, hi: float = INF) -> Any:
    """A ``[min, max]`` field whose values must lie in ``[lo, hi]``."""
    return field(default=MISSING, metadata={"span": (lo, hi)})


def bounded(lo: float = -INF, hi: float = INF) -> Any:
    """A scalar field that must lie in ``[lo, hi]``."""
    return field(default=MISSING, metadata={"bounds": (lo, hi)})

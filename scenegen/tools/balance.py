"""``scenegen balance``: class weights that make a real dataset plus the synthetic one balanced.

Only the real dataset's class counts are read. With real count ``c_k`` per class and ``S`` synthetic
instances to come, the weights fill every class up to one level ``T`` (water filling):
``w_k = max(0, T - c_k) / S`` with ``sum_k max(0, T - c_k) = S``; a class that already has more
than ``T`` real instances gets weight 0.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from scenegen.errors import ConfigError
from scenegen.formats.coco_reader import read_coco


def real_class_counts(coco_file: Path) -> dict[str, int]:
    """Instances per category name of a COCO instances file (crowd regions left out)."""
    data = read_coco(coco_file).data
    names = {c["id"]: c["name"] for c in data["categories"]}
    return dict(Counter(names[a["category_id"]] for a in data["annotations"] if not a["iscrowd"]))


def balance_weights(real: dict[str, int], classes: list[str], synthetic: float) -> dict[str, float]:
    """Weights (summing to 1) over ``classes`` so that ``real`` plus ``synthetic`` instances drawn with
    them is as balanced as it can be (see the module docstring)."""
    if synthetic <= 0:
        raise ConfigError("balance: the synthetic dataset must have instances to place (> 0)")
    counts = np.array([real.get(c, 0) for c in classes], dtype=float)
    low, high = counts.min(), counts.max() + synthetic
    for _ in range(100):  # bisection on the level T
        level = (low + high) / 2
        low, high = (level, high) if np.maximum(level - counts, 0).sum() < synthetic else (low, level)
    fill = np.maximum(high - counts, 0)
    return {c: float(w) for c, w in zip(classes, fill / fill.sum(), strict=True)}


def override_lines(weights: dict[str, float], real: dict[str, int], synthetic: float, source: Path) -> list[str]:
    """The override file: comments on what it balances, then one Hydra override."""
    level = {c: real.get(c, 0) + synthetic * w for c, w in weights.items()}
    weight_map = ",".join(f"{c}:{w:.6f}" for c, w in weights.items())
    lines = [
        f"# Written by scenegen balance from {source}: class weights for about {synthetic:.0f} synthetic",
        "# instances, so that real + synthetic is balanced. Use it with:",
        "#   scenegen render --overrides-file THIS_FILE [more overrides]",
        "# expected instances per class, real + synthetic:",
        *(f"#   {c}: {real.get(c, 0)} + {synthetic * weights[c]:.0f} = {level[c]:.0f}" for c in weights),
    ]
    missing = sorted(set(real) - set(weights))
    if missing:
        lines.append(f"# real classes with no assets here, left as they are: {', '.join(missing)}")
    return [*lines, f"+objects.class_weights={{{weight_map}}}"]

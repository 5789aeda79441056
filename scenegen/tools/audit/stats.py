"""Summary statistics of the audit: class balance, circular statistics of hue, quantiles."""

from __future__ import annotations

import numpy as np


def class_balance(counts: np.ndarray) -> dict[str, float]:
    """Balance of the (classes,) instance ``counts``, over the classes that have any.

    ``imbalance_ratio``: most / least frequent class (1 is balanced); ``normalized_entropy``: the entropy
    of the class distribution over its maximum, log(classes present) (1 is balanced, 1 for a single class).
    """
    present = counts[counts > 0].astype(float)
    p = present / present.sum()
    entropy = float(-(p * np.log(p)).sum() / np.log(len(p))) if len(p) > 1 else 1.0
    return {"imbalance_ratio": float(present.max() / present.min()), "normalized_entropy": entropy}


def circular_hue(vectors: np.ndarray) -> dict[str, float]:
    """Circular statistics of (n, 2) hue vectors (cos, sin) of n instances, NaN rows ignored.

    ``mean_deg``: the circular mean hue in [0, 360); ``resultant_length``: the length of the mean unit
    vector, 1 when every instance has the same hue, near 0 when hues spread round the circle;
    ``circular_std_deg``: sqrt(-2 ln R) in degrees.
    """
    v = vectors[~np.isnan(vectors).any(axis=1)]
    norms = np.linalg.norm(v, axis=1)
    units = v[norms > 0] / norms[norms > 0, None]
    if not len(units):
        return {"mean_deg": float("nan"), "resultant_length": float("nan"), "circular_std_deg": float("nan")}
    mean = units.mean(axis=0)
    length = float(np.linalg.norm(mean))
    return {
        "mean_deg": float(np.rad2deg(np.arctan2(mean[1], mean[0])) % 360.0),
        "resultant_length": length,
        "circular_std_deg": float(np.rad2deg(np.sqrt(-2.0 * np.log(max(length, 1e-12))))),
    }


def quantiles(values: np.ndarray) -> dict[str, float]:
    """Mean and 10th, 50th, 90th percentiles of (n,) ``values``, NaNs ignored; NaN when none are left."""
    v = values[~np.isnan(values)]
    if not len(v):
        return {"mean": float("nan"), "p10": float("nan"), "median": float("nan"), "p90": float("nan")}
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {"mean": float(v.mean()), "p10": float(p10), "median": float(p50), "p90": float(p90)}

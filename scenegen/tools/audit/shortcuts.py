"""Shortcut detection: how well one nuisance feature alone predicts the class.

The classifier is k-nearest-neighbours (numpy only) on features standardised with the training fold's
mean and standard deviation, scored by k-fold cross-validation over images: the images are shuffled with
the seed and dealt round the folds, so two instances of one image (same lighting, same backdrop) are
never one in training and one in test, which would reward features that only identify the image. kNN
rather than nearest class centroid because a class may hold several clusters of one feature (red and
cyan mugs average to grey; centroids would miss that, neighbours do not). Under no signal it predicts
mostly the majority class, so its accuracy stays at or below chance, the majority class frequency.

A feature is flagged when ``accuracy - chance >= shortcut_margin`` and ``accuracy >= shortcut_ratio *
chance``: the margin alone is too easy for two classes (chance 0.5), the ratio alone too easy for many
(chance 0.05). The sentence names the classes that stand out: at least ``min_instances`` instances and
cross-validated recall and precision that both clear the same two bars (precision too, because where
classes overlap kNN hands the whole region to one of them, whose recall then looks high), the best
separated (F1) first; when a flagged feature has none, the one with the highest F1. A feature that is
not flagged but has a class that stands out gets the sentence as a note: one class with its own colour
among many random ones barely moves the accuracy over all classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenegen.tools.audit.config import AuditConfig

# Feature key -> the words of the sentence: "predictable from <words> alone".
FEATURES = {
    "hue": "colour",
    "brightness": "brightness",
    "box_size": "box size",
    "box_center": "position",
    "background": "surrounding background",
}
MAX_NAMED = 3  # classes named in a sentence; the rest are counted


@dataclass
class ShortcutResult:
    feature: str
    instances: int  # instances with this feature (those without, e.g. an empty ring, are left out)
    accuracy: float  # cross-validated
    chance: float  # majority class frequency
    recall: dict[str, float]  # cross-validated, per class present
    precision: dict[str, float]  # cross-validated, per class present (0 when never predicted)
    flagged: bool  # accuracy over all classes far above chance: fails the audit
    message: str  # names the classes far above chance (or the worst, when flagged); "" when none is


def group_folds(groups: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) fold of each of n items with (n,) ``groups`` (image ids): the groups shuffled, then dealt round the
    folds, so the instances of one image never sit on both sides of a split."""
    unique, inverse = np.unique(groups, return_inverse=True)
    return (rng.permutation(len(unique)) % folds)[inverse]


def knn_predict(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """(m,) majority class of the k nearest (n, d) ``train_x`` of each (m, d) ``test_x``; ties go to the nearer."""
    k = min(k, len(train_x))
    classes = int(train_y.max()) + 1
    weights = 1.0 + (k - np.arange(k)) / (k * (k + 1.0))  # the extra sums to < 1: it only breaks ties of counts
    train_sq = (train_x**2).sum(axis=1)
    out = np.empty(len(test_x), dtype=np.int64)
    for start in range(0, len(test_x), chunk):
        block = test_x[start : start + chunk]
        d = train_sq[None, :] - 2.0 * block @ train_x.T  # squared distance less |block|^2, same order per row
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        nearest = np.take_along_axis(nearest, np.argsort(np.take_along_axis(d, nearest, 1), axis=1, kind="stable"), 1)
        votes = np.zeros((len(block), classes))
        np.add.at(votes, (np.arange(len(block))[:, None], train_y[nearest]), weights[None, :])
        out[start : start + chunk] = votes.argmax(axis=1)
    return out


def cross_validated_predictions(x: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: AuditConfig) -> np.ndarray:
    """(n,) out-of-fold kNN prediction for each of the (n, d) ``x`` with (n,) labels ``y`` and image ``groups``."""
    fold = group_folds(groups, cfg.folds, np.random.default_rng(cfg.seed))
    predicted = np.empty(len(y), dtype=np.int64)
    for f in range(cfg.folds):
        test, train = fold == f, fold != f
        if not test.any() or not train.any():
            predicted[test] = -1  # a fold with every image: nothing to learn from, counted as wrong
            continue
        mean, std = x[train].mean(axis=0), x[train].std(axis=0)
        std[std == 0] = 1.0
        predicted[test] = knn_predict((x[train] - mean) / std, y[train], (x[test] - mean) / std, cfg.neighbours)
    return predicted


def detect_shortcut(
    feature: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray, classes: list[str], cfg: AuditConfig
) -> ShortcutResult | None:
    """Test (n, d) feature ``x`` against (n,) class indices ``y`` of instances in (n,) images ``groups``; None
    when under ``min_instances`` instances have it or fewer than two classes are present. Rows with NaN are
    left out."""
    keep = ~np.isnan(x).any(axis=1)
    x, y, groups = x[keep], y[keep], groups[keep]
    present = np.unique(y)
    if len(y) < cfg.min_instances or len(present) < 2:
        return None
    predicted = cross_validated_predictions(x, y, groups, cfg)
    counts = np.bincount(y, minlength=len(classes))
    accuracy = float(np.mean(predicted == y))
    chance = float(counts.max() / len(y))
    recall = {classes[c]: float(np.mean(predicted[y == c] == c)) for c in present}
    precision = {classes[c]: float(np.mean(y[predicted == c] == c)) if (predicted == c).any() else 0.0 for c in present}
    f1 = {c: 2 * recall[c] * precision[c] / max(recall[c] + precision[c], 1e-12) for c in recall}
    ranked = sorted(recall, key=lambda name: (-f1[name], name))
    flagged = clears(accuracy, chance, cfg)
    standouts = [
        name
        for name in ranked
        if counts[classes.index(name)] >= cfg.min_instances
        and clears(recall[name], chance, cfg)
        and clears(precision[name], chance, cfg)
    ]
    named = standouts or (ranked[:1] if flagged else [])
    message = sentence(feature, named, recall, accuracy, chance) if named else ""
    return ShortcutResult(feature, len(y), accuracy, chance, recall, precision, flagged, message)


def clears(score: float, chance: float, cfg: AuditConfig) -> bool:
    """Whether ``score`` is far above ``chance``: by ``shortcut_margin`` and by a factor ``shortcut_ratio``."""
    return score - chance >= cfg.shortcut_margin and score >= cfg.shortcut_ratio * chance


def sentence(feature: str, named: list[str], recall: dict[str, float], accuracy: float, chance: float) -> str:
    """e.g. "class 'mug' is predictable from colour alone: recall 0.94 vs chance 0.12 (accuracy over all
    classes 0.81)"; with several classes, each one's recall and the accuracy."""
    words = FEATURES[feature]
    if len(named) == 1:
        return (
            f"class '{named[0]}' is predictable from {words} alone: recall {recall[named[0]]:.2f} vs chance "
            f"{chance:.2f} (accuracy over all classes {accuracy:.2f})"
        )
    listed = ", ".join(
        f"'{name}' ({'recall ' * (i == 0)}{recall[name]:.2f})" for i, name in enumerate(named[:MAX_NAMED])
    )
    more = f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
    return f"classes {listed}{more} are predictable from {words} alone: accuracy {accuracy:.2f} vs chance {chance:.2f}"

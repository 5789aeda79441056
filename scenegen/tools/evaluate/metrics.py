"""The numbers of an evaluation, numpy only: confusion matrix, per-class recall, balanced accuracy with a
stratified bootstrap interval, folds by image, KID (unbiased) and the Frechet distance."""

from __future__ import annotations

import numpy as np


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) int64: row = true class, column = predicted class."""
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def recalls(matrix: np.ndarray) -> np.ndarray:
    """(classes,) float: each class's share of its crops predicted right; NaN for a class with no crops."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    """The mean recall over the classes present in ``truth``: chance is 1 / (classes present), whatever the
    class frequencies."""
    return float(np.nanmean(recalls(confusion(truth, predicted, classes))))


def classification(
    truth: np.ndarray, predicted: np.ndarray, names: list[str], rounds: int, rng: np.random.Generator
) -> dict:
    """Accuracy, balanced accuracy and per-class recall of ``predicted`` against ``truth`` ((n,) labels),
    each recall and the balanced accuracy with a 95% interval: the 2.5 and 97.5 percentiles over ``rounds``
    stratified bootstrap resamples (each class's crops resampled with replacement, its count kept)."""
    matrix = confusion(truth, predicted, len(names))
    present = [c for c in range(len(names)) if (truth == c).any()]
    resampled = np.empty((rounds, len(names)))
    resampled[:] = np.nan
    for c in present:
        right = (predicted[truth == c] == c).astype(float)
        resampled[:, c] = right[rng.integers(0, len(right), (rounds, len(right)))].mean(axis=1)
    balanced = np.nanmean(resampled, axis=1)
    per_class = {}
    for c, name in enumerate(names):
        if c in present:
            low, high = np.percentile(resampled[:, c], [2.5, 97.5])
            per_class[name] = {"recall": float(recalls(matrix)[c]), "interval": [float(low), float(high)]}
        else:
            per_class[name] = {"recall": None, "interval": None}
        per_class[name]["crops"] = int(matrix[c].sum())
    return {
        "crops": len(truth),
        "accuracy": float((truth == predicted).mean()),
        "balanced_accuracy": balanced_accuracy(truth, predicted, len(names)),
        "balanced_accuracy_interval": [float(v) for v in np.percentile(balanced, [2.5, 97.5])],
        "chance": 1.0 / len(present),
        "per_class": per_class,
        "confusion": matrix.tolist(),
    }


def image_folds(image_ids: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) int fold of each crop: the images (``image_ids``, (n,)) are shuffled and dealt out to the folds
    in turn, so that all crops of one image share a fold and the folds hold nearly equal numbers of images."""
    images = np.unique(image_ids)
    fold_of_image = np.empty(len(images), np.int64)
    fold_of_image[rng.permutation(len(images))] = np.arange(len(images)) % folds
    return fold_of_image[np.searchsorted(images, image_ids)]


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n, m): KID's kernel ``(x . y / d + 1) ** 3`` between the rows of ``x`` (n, d) and ``y`` (m, d)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimate of the squared maximum mean discrepancy between the samples ``x`` (n, d) and
    ``y`` (m, d) under ``polynomial_kernel`` (Binkowski et al. 2018): the within-sample sums leave out each
    point paired with itself, so its expectation is the population value, 0 for equal distributions."""
    n, m = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def kid(x: np.ndarray, y: np.ndarray, subsets: int, subset_size: int, rng: np.random.Generator) -> dict:
    """Kernel Inception Distance between features ``x`` (n, d) and ``y`` (m, d): ``mmd2_unbiased`` on
    ``subsets`` random subsets of ``min(subset_size, n, m)`` rows a side (drawn without replacement within a
    subset); its mean, standard deviation and 95% interval (2.5 and 97.5 percentiles over the subsets)."""
    size = min(subset_size, len(x), len(y))
    x, y = x.astype(np.float64), y.astype(np.float64)
    values = np.array(
        [
            mmd2_unbiased(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
            for _ in range(subsets)
        ]
    )
    low, high = np.percentile(values, [2.5, 97.5])
    return {
        "kid": float(values.mean()),
        "std": float(values.std()),
        "interval": [float(low), float(high)],
        "subsets": subsets,
        "subset_size": size,
    }


def frechet_distance(mean_x: np.ndarray, cov_x: np.ndarray, mean_y: np.ndarray, cov_y: np.ndarray) -> float:
    """The Frechet distance between the Gaussians N(mean_x, cov_x) and N(mean_y, cov_y) ((d,) and (d, d)):
    ``|mean_x - mean_y|^2 + tr(cov_x + cov_y - 2 (cov_x cov_y)^(1/2))``. The trace of the square root is
    taken as that of ``(A cov_y A)^(1/2)`` with ``A = cov_x^(1/2)``: the same eigenvalues, but symmetric."""
    root_x = _psd_sqrt(cov_x)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_x @ cov_y @ root_x), 0.0, None)).sum()
    return float(((mean_x - mean_y) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2.0 * cross)


def frechet_of(x: np.ndarray, y: np.ndarray) -> float:
    """The Frechet distance between the Gaussians fitted to the features ``x`` (n, d) and ``y`` (m, d) (FID
    when they are Inception pool features); biased upwards for small samples, unlike KID."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    return frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T

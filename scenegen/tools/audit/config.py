"""The audit's schema (types and bounds) and its loader; the values live in ``conf/audit.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from scenegen.config.fields import bounded
from scenegen.config.load import compose_config


@dataclass
class AuditConfig:
    seed: int = MISSING  # sampling and cross-validation folds
    max_instances: int = bounded(1)  # instances measured (pixels, shortcuts), sampled uniformly
    max_images: int = bounded(1)  # images measured for background and near-duplicates, sampled uniformly
    folds: int = bounded(2, 100)  # k of the k-fold cross-validation
    neighbours: int = bounded(1, 1000)  # k of the k-nearest-neighbours classifier
    min_instances: int = bounded(2)  # fewer: a feature's shortcut test is skipped, a class is not named in a note
    shortcut_margin: float = bounded(0.0, 1.0)  # flag when accuracy - chance >= margin ...
    shortcut_ratio: float = bounded(1.0)  # ... and accuracy >= ratio * chance
    max_imbalance_ratio: float = bounded(1.0)  # most / least frequent class count; above it the check fails
    duplicate_distance: int = bounded(0, 256)  # pHash (256 bits) Hamming distance of near-duplicates, at most
    max_duplicate_fraction: float = bounded(0.0, 1.0)  # share of images with a near-duplicate; above it the check fails
    ring_fraction: float = bounded(0.0, 10.0)  # background ring width around a box, times sqrt(box area)
    min_saturation: float = bounded(0.0, 1.0)  # pixels below it have no hue in the hue histograms


def load_audit_config(overrides: list[str]) -> AuditConfig:
    """Compose ``conf/audit.yaml`` with Hydra ``overrides``, validate it, return it as an AuditConfig.

    Raises ScenegenError with a one-line message naming the key, as ``scenegen.config.load.load_config`` does.
    """
    ConfigStore.instance().store(name="audit_schema", node=AuditConfig)
    return compose_config("audit", AuditConfig, overrides)

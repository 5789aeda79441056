"""The audit's schema (types and bounds) and its loader; the values live in ``conf/audit.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.errors import HydraException
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from scenegen.config import _describe, validate
from scenegen.errors import ScenegenError
from scenegen.paths import conf_dir
from scenegen.schema_fields import bounded


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

    Raises ScenegenError with a one-line message naming the key, as ``scenegen.config.load_config`` does.
    """
    ConfigStore.instance().store(name="audit_schema", node=AuditConfig)
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="audit", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise ScenegenError(f"config: {_describe(err)}") from None
    validate(cfg, AuditConfig)
    return OmegaConf.to_object(cfg)  # type: ignore[return-value]

"""The evaluation's schema (types and bounds) and its loader; the values live in ``conf/evaluate.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from scenegen.config.fields import bounded
from scenegen.config.load import compose_config


@dataclass
class EvaluateConfig:
    seed: int = MISSING  # crop sampling, probe initialisation and batches, folds, bootstrap, KID subsets
    crop_size: int = bounded(16, 512)  # pixels of the square crops
    crop_margin: float = bounded(0.0, 2.0)  # box grown by this times its width and height on each side
    min_box_pixels: int = bounded(1, 10_000)  # shorter box sides are skipped
    min_visible: float = bounded(0.0, 1.0)  # synthetic instances with a lower visib_fract are skipped
    max_per_class: int = bounded(1, 1_000_000)  # synthetic training crops per class
    min_crops: int = bounded(1, 1_000_000)  # per synthetic class, and target crops in all
    epochs: int = bounded(1, 1000)
    batch_size: int = bounded(2, 4096)
    learning_rate: float = bounded(1e-6, 10.0)
    weight_decay: float = bounded(0.0, 1.0)
    threads: int = bounded(1, 256)  # torch CPU threads of each probe's training
    workers: int = bounded(1, 64)  # probes trained at once (the numbers do not depend on it)
    min_real_per_class: int = bounded(2, 1_000_000)  # target crops per class for real-only and real + synthetic
    folds: int = bounded(2, 20)
    real_epochs: int = bounded(1, 1000)
    bootstrap: int = bounded(10, 100_000)
    kid_subsets: int = bounded(1, 10_000)
    kid_subset_size: int = bounded(2, 100_000)
    mistakes: int = bounded(0, 100)


def load_evaluate_config(overrides: list[str]) -> EvaluateConfig:
    """Compose ``conf/evaluate.yaml`` with Hydra ``overrides``, validate it, return it as an EvaluateConfig;
    a bad key or value is a ScenegenError naming it."""
    ConfigStore.instance().store(name="evaluate_schema", node=EvaluateConfig)
    return compose_config("evaluate", EvaluateConfig, overrides)

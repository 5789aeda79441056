"""``scenegen evaluate``: crops of both sets, the probe trained on the synthetic ones and tested on the
target's (CAS), real-only and real + synthetic by k-fold over the target's images, the domain gap, the report.

torch is imported only here and below, when the command runs, so that ``scenegen --help`` and every other
command never load it.
"""

from __future__ import annotations

import copy
import importlib.metadata
import platform
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from scenegen import __version__
from scenegen.errors import DatasetError, ScenegenError
from scenegen.formats.coco_reader import CocoDataset, load_dataset
from scenegen.tools.evaluate import crops as crop_tools
from scenegen.tools.evaluate.classes import ClassMatch, match_classes, parse_map
from scenegen.tools.evaluate.config import EvaluateConfig, load_evaluate_config
from scenegen.tools.evaluate.crops import Crops
from scenegen.tools.evaluate.metrics import classification, image_folds, kid

FORMAT = "scenegen.evaluate/1"
EXTRA = "pip install 'scenegen[evaluate]'"


def require_torch() -> None:
    """ScenegenError naming the extra when torch is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ScenegenError(f"scenegen evaluate needs torch, an optional dependency: {EXTRA}") from None


def default_out(synthetic: Path) -> Path:
    """``<folder>/evaluate`` for a dataset folder (beside ``audit/``), ``<json stem>_evaluate`` beside a JSON."""
    return synthetic / "evaluate" if synthetic.is_dir() else synthetic.with_name(f"{synthetic.stem}_evaluate")


def evaluate(
    synthetic: Path,
    target: Path,
    cfg: EvaluateConfig,
    images: Path | None = None,
    mapping: tuple[str, ...] | list[str] = (),
    device: str = "cpu",
    features: str = "probe",
    progress: bool = True,
    log=print,
) -> dict[str, Any]:
    """Evaluate ``synthetic`` (a scenegen folder or COCO JSON) against ``target`` (a COCO JSON or scenegen
    folder, images from ``images``); return every number (``evaluate.json``'s content) and the report's
    inputs under ``"_report"``. Bad input is a ScenegenError before any training."""
    require_torch()
    from scenegen.tools.evaluate import probe

    torch_device = probe.setup(device, cfg.threads)
    inception = None
    if features == "inception":  # before any work: the weights and torchvision are checked first
        from scenegen.tools.evaluate.inception import cached_weights, inception_model

        inception = inception_model(cached_weights())
    synth_ds, target_ds = load_dataset(synthetic), load_dataset(target, images)
    match = match_classes(target_ds.classes, synth_ds.classes, parse_map(list(mapping)))
    rng = np.random.default_rng(cfg.seed)
    train, test = _crops(synth_ds, target_ds, match, cfg, rng, log)

    with ThreadPoolExecutor(cfg.workers) as pool:  # probes train at once, each on one thread of its own

        def fit(pixels: np.ndarray, labels: np.ndarray, epochs: int, seed: int, what: str, start=None) -> Future:
            """The future of a probe trained on ``pixels``: a new one from ``seed``, or a copy of the future
            probe ``start``. New probes are drawn here, on this thread, in the order asked for."""
            model = None if start is not None else probe.new_probe(len(match.classes), seed)

            def job():
                return probe.train(
                    copy.deepcopy(start.result()) if model is None else model, pixels, labels, epochs, cfg.batch_size,
                    cfg.learning_rate, cfg.weight_decay, seed, torch_device, what, progress,
                )  # fmt: skip

            return pool.submit(job)

        per_class = np.bincount(test.labels, minlength=len(match.classes))
        present = per_class[per_class > 0]
        training = fit(train.pixels, train.labels, cfg.epochs, cfg.seed, "synthetic probe")  # the first job
        folds = _kfold_jobs(train, test, cfg, rng, fit, training) if present.min() >= cfg.min_real_per_class else None
        synthetic_probe = training.result()
        probabilities, target_features = probe.predict(synthetic_probe, test.pixels, torch_device)
        _, synth_features = probe.predict(synthetic_probe, train.pixels, torch_device)
        predicted = probabilities.argmax(1)
        cas = classification(test.labels, predicted, match.classes, cfg.bootstrap, rng)
        result: dict[str, Any] = {"synthetic_only": cas}

        if folds is not None:

            def labels_of(model, pixels: np.ndarray) -> np.ndarray:
                return probe.predict(model, pixels, torch_device)[0].argmax(1)

            real, mixed = _kfold_scores(test, match.classes, cfg, rng, folds, labels_of)
            result["real_only"], result["real_plus_synthetic"] = real, mixed
            real_ba = real["balanced_accuracy"]
            result["cas_over_real"] = cas["balanced_accuracy"] / real_ba if real_ba > 0 else None
        else:
            low = [match.classes[c] for c in np.flatnonzero((per_class > 0) & (per_class < cfg.min_real_per_class))]
            result["real_only"] = result["real_plus_synthetic"] = result["cas_over_real"] = None
            result["real_note"] = (
                f"not run: the target has fewer than min_real_per_class={cfg.min_real_per_class} crops of {low}"
            )

    gap = {"probe": kid(synth_features, target_features, cfg.kid_subsets, cfg.kid_subset_size, rng)}
    if features == "inception":
        gap["inception"] = _inception_gap(inception, train.pixels, test.pixels, cfg, rng, torch_device)
    result["domain_gap"] = gap

    mistakes = _mistakes(probabilities, test, cfg.mistakes)
    summary = {
        "format": FORMAT,
        "synthetic": str(synthetic),
        "target": str(target_ds.annotations_file),
        "target_images": str(target_ds.images_dir),
        "classes": match.classes,
        "class_map": match.mapping,
        "unmatched_target_classes": match.unmatched,
        "synthetic_only_classes": match.synthetic_only,
        "crops": {
            "synthetic": _count(train.labels, match.classes),
            "target": _count(test.labels, match.classes),
            "skipped_synthetic": train.skipped,
            "skipped_target": test.skipped,
        },
        "config": asdict(cfg),
        "probe": {**probe.describe(len(match.classes), cfg.crop_size), "device": device},
        **result,
        "mistakes": [
            {
                "image_id": int(test.image_ids[i]),
                "annotation": int(target_ds.annotations[int(test.annotations[i])]["number"]),
                "true": match.classes[test.labels[i]],
                "predicted": match.classes[predicted[i]],
                "confidence": float(probabilities[i].max()),
            }
            for i in mistakes
        ],
        "versions": _versions(),
    }
    examples = {c: train.pixels[np.flatnonzero(train.labels == c)[:4]] for c in range(len(match.classes))}
    summary["_report"] = {"mistake_pixels": test.pixels[mistakes], "examples": examples}
    return summary


def _crops(synth: CocoDataset, target: CocoDataset, match: ClassMatch, cfg: EvaluateConfig, rng, log):
    """The synthetic training crops and the target's test crops; ScenegenError when too few."""
    chosen, skipped = crop_tools.select(
        synth, match.synthetic_to_probe, cfg.min_box_pixels, cfg.min_visible, cfg.max_per_class, rng
    )
    labels = [match.synthetic_to_probe[synth.annotations[i]["label"]] for i in chosen]
    counts = np.bincount(np.array(labels, dtype=np.int64), minlength=len(match.classes))
    few = {name: int(n) for name, n in zip(match.classes, counts, strict=True) if n < cfg.min_crops}
    if few:
        raise DatasetError(
            f"{synth.source}: too few synthetic crops to train: {few} (min_crops={cfg.min_crops}; boxes under "
            f"min_box_pixels={cfg.min_box_pixels} or less visible than min_visible={cfg.min_visible} are skipped)"
        )
    test_chosen, test_skipped = crop_tools.select(target, match.target_to_probe, cfg.min_box_pixels)
    if len(test_chosen) < cfg.min_crops:
        raise DatasetError(
            f"{target.annotations_file}: too few target crops to test: {len(test_chosen)} of the classes "
            f"{match.classes} with boxes of min_box_pixels={cfg.min_box_pixels} or more (min_crops={cfg.min_crops})"
        )
    log(f"cropping {len(chosen)} synthetic and {len(test_chosen)} target boxes")
    train = crop_tools.crops_of(synth, chosen, skipped, match.synthetic_to_probe, cfg.crop_size, cfg.crop_margin)
    test = crop_tools.crops_of(target, test_chosen, test_skipped, match.target_to_probe, cfg.crop_size, cfg.crop_margin)
    return train, test


def _kfold_jobs(train: Crops, test: Crops, cfg: EvaluateConfig, rng, fit, start: Future) -> list[tuple]:
    """The k-fold's probes, as futures: for each fold, its held-out target crops (a mask), a probe trained on
    the other folds' crops from scratch (real-only) and the synthetic probe ``start`` trained further on them
    plus as many synthetic crops (real + synthetic); both for ``real_epochs`` over the fold's real crops.
    ``fit`` trains. The real-only probes are asked for first: they need not wait for ``start``."""
    fold = image_folds(test.image_ids, cfg.folds, rng)
    held = [fold == k for k in range(cfg.folds)]
    real = {}
    for k in range(cfg.folds):
        if held[k].any():
            pixels, labels = test.pixels[~held[k]], test.labels[~held[k]]
            real[k] = fit(pixels, labels, cfg.real_epochs, cfg.seed + 1 + k, f"fold {k + 1}/{cfg.folds} real-only")
    jobs = []
    for k in real:
        pixels, labels = test.pixels[~held[k]], test.labels[~held[k]]
        extra = rng.choice(len(train.labels), min(len(labels), len(train.labels)), replace=False)
        mixed_pixels = np.concatenate([pixels, train.pixels[extra]])
        mixed_labels = np.concatenate([labels, train.labels[extra]])
        what = f"fold {k + 1}/{cfg.folds} real+synthetic"
        mixed = fit(mixed_pixels, mixed_labels, cfg.real_epochs, cfg.seed + 1 + k, what, start=start)
        jobs.append((held[k], real[k], mixed))
    return jobs


def _kfold_scores(
    test: Crops, classes: list[str], cfg: EvaluateConfig, rng, jobs: list[tuple], labels_of
) -> tuple[dict, dict]:
    """The real-only and real + synthetic scores of the out-of-fold predictions of every target crop by the
    probes of ``_kfold_jobs``; ``labels_of`` predicts."""
    real_pred = np.empty(len(test.labels), np.int64)
    mixed_pred = np.empty(len(test.labels), np.int64)
    for held, real, mixed in jobs:
        real_pred[held] = labels_of(real.result(), test.pixels[held])
        mixed_pred[held] = labels_of(mixed.result(), test.pixels[held])
    folds = {"folds": cfg.folds, "split": "by target image"}
    real_result = {**classification(test.labels, real_pred, classes, cfg.bootstrap, rng), **folds}
    mixed_result = {**classification(test.labels, mixed_pred, classes, cfg.bootstrap, rng), **folds}
    return real_result, mixed_result


def _inception_gap(model, synth: np.ndarray, target: np.ndarray, cfg, rng, device) -> dict:
    """FID and KID between the crops in Inception-v3 pool features (at most ``kid_subset_size`` * 5 a side)."""
    from scenegen.tools.evaluate.inception import inception_features
    from scenegen.tools.evaluate.metrics import frechet_of

    cap = cfg.kid_subset_size * 5
    synth = synth[np.sort(rng.choice(len(synth), min(cap, len(synth)), replace=False))]
    target = target[np.sort(rng.choice(len(target), min(cap, len(target)), replace=False))]
    a, b = inception_features(model, synth, device), inception_features(model, target, device)
    return {"fid": frechet_of(a, b), **kid(a, b, cfg.kid_subsets, cfg.kid_subset_size, rng), "crops": [len(a), len(b)]}


def _mistakes(probabilities: np.ndarray, test, count: int) -> np.ndarray:
    """Indices of the ``count`` misclassified target crops predicted with the highest probability."""
    wrong = np.flatnonzero(probabilities.argmax(1) != test.labels)
    order = np.argsort(-probabilities[wrong].max(1), kind="stable")
    return wrong[order[:count]]


def _count(labels: np.ndarray, classes: list[str]) -> dict[str, int]:
    return dict(zip(classes, np.bincount(labels, minlength=len(classes)).tolist(), strict=True))


def _versions() -> dict[str, str]:
    versions = {"scenegen": __version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "opencv-python"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def evaluate_command(
    synthetic: Path,
    target: Path,
    images: Path | None,
    mapping: list[str],
    device: str,
    features: str,
    out: Path | None,
    overrides: list[str],
    progress: bool,
) -> int:
    """Run the evaluation as the CLI does: write ``evaluate.json`` and ``evaluate.html``, print the numbers."""
    from scenegen.tools.evaluate.report import terminal_summary, write_report

    cfg = load_evaluate_config(overrides)
    summary = evaluate(synthetic, target, cfg, images, mapping, device, features, progress, log=_stderr)
    report = write_report(out or default_out(synthetic), summary)
    print(terminal_summary(summary, report))
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)

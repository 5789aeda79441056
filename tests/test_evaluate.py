"""scenegen evaluate end to end: two tiny datasets rendered through the CLI (module fixture), evaluated
against each other and against hostile variants of one made here. Training tests are slow tier."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import render_small, run_cli, run_main

# torch is imported where a test needs it: importing it costs every collecting worker seconds
NO_TORCH = importlib.util.find_spec("torch") is None
pytestmark = pytest.mark.skipif(NO_TORCH, reason="needs torch: pip install '.[evaluate]'")

CLASSES = ["ball", "box", "torus"]
FAST = ["crop_size=32", "bootstrap=200", "kid_subsets=10", "kid_subset_size=100", "threads=1"]
NO_KFOLD = ["min_real_per_class=1000000"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two datasets of one config (3 classes, 30 scenes at 160x120), different seeds; the built-in single
    meshes (shape families draw another pool of shapes per seed: that is a harder, different question)."""
    root = tmp_path_factory.mktemp("evaluate")
    for name, seed in (("a", 1), ("b", 2)):
        result = render_small(
            root / name,
            "objects.classes=[ball,box,torus]",
            "objects.shape_variation=0",
            f"seed={seed}",
            scenes=30,
            width=160,
            height=120,
        )
        assert result.returncode == 0, result.stderr
    return root / "a", root / "b"


def target_copy(source: Path, folder: Path, change) -> Path:
    """A copy of ``source``'s COCO file, changed by ``change(data)``, in ``folder`` (images stay in ``source``)."""
    data = json.loads((source / "annotations" / "coco.json").read_text())
    change(data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "target.json"
    path.write_text(json.dumps(data))
    return path


def evaluate(*args: str) -> tuple[int, str, str]:
    return run_main("evaluate", *args, "--no-progress")


def read_summary(out: Path) -> dict:
    return json.loads((out / "evaluate.json").read_text())


@pytest.fixture(scope="module")
def full_run(datasets, tmp_path_factory) -> tuple[dict, Path]:
    """SYNTH a against target b with the k-fold comparison."""
    a, b = datasets
    out = tmp_path_factory.mktemp("full") / "report"
    args = [str(a), "--target", str(b / "annotations" / "coco.json"), "--out", str(out), *FAST]
    code, stdout, stderr = evaluate(*args, "epochs=15", "real_epochs=8", "folds=2")
    assert code == 0, stderr
    return read_summary(out), out


@pytest.mark.slow
def test_a_domain_can_be_learned(full_run, datasets):
    summary, out = full_run
    cas = summary["synthetic_only"]
    assert summary["classes"] == CLASSES and summary["unmatched_target_classes"] == []
    assert cas["chance"] == pytest.approx(1 / 3)
    assert cas["balanced_accuracy_interval"][0] > 0.55  # well above chance, the whole interval
    # the crops counted: every target box of the classes with both sides >= min_box_pixels (8), from the file
    coco = json.loads((datasets[1] / "annotations" / "coco.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    expected = {name: 0 for name in CLASSES}
    for ann in coco["annotations"]:
        if min(ann["bbox"][2:]) >= 8:
            expected[names[ann["category_id"]]] += 1
    assert summary["crops"]["target"] == expected
    assert sum(cas["per_class"][c]["crops"] for c in CLASSES) == sum(expected.values()) == cas["crops"]
    assert np.array(cas["confusion"]).sum(axis=1).tolist() == [expected[c] for c in CLASSES]
    for name in CLASSES:
        assert summary["crops"]["synthetic"][name] >= 10
    for path in ("evaluate.html", "recall.png", "confusion.png"):
        assert (out / path).stat().st_size > 0
    assert "Does the data teach anything?" in (out / "evaluate.html").read_text()


@pytest.mark.slow
def test_real_only_and_real_plus_synthetic_by_folds(full_run):
    summary, _ = full_run
    real, mixed = summary["real_only"], summary["real_plus_synthetic"]
    assert real["folds"] == mixed["folds"] == 2 and real["split"] == "by target image"
    assert real["crops"] == mixed["crops"] == summary["synthetic_only"]["crops"]  # each crop predicted once
    assert summary["cas_over_real"] == pytest.approx(
        summary["synthetic_only"]["balanced_accuracy"] / real["balanced_accuracy"]
    )
    assert mixed["balanced_accuracy"] > 0.5


@pytest.mark.slow
def test_shuffled_target_labels_score_chance_within_the_interval(datasets, tmp_path):
    a, b = datasets
    rng = np.random.default_rng(0)

    def shuffle(data):
        categories = [ann["category_id"] for ann in data["annotations"]]
        for ann, category in zip(data["annotations"], rng.permutation(categories), strict=True):
            ann["category_id"] = int(category)

    target = target_copy(b, tmp_path / "shuffled", shuffle)
    out = tmp_path / "report"
    code, _, stderr = evaluate(str(a), "--target", str(target), "--images", str(b / "images"), "--out", str(out),
                               *FAST, *NO_KFOLD, "epochs=15")  # fmt: skip
    assert code == 0, stderr
    cas = read_summary(out)["synthetic_only"]
    low, high = cas["balanced_accuracy_interval"]
    # At chance within the interval's sampling error: the bootstrap interval covers the resampling of the target's
    # crops only, and one permutation of the labels adds a spread of its own of the same size, so the distance
    # to chance is held to the interval's width (about 2.8 standard deviations of the two together), not its half.
    assert abs(cas["balanced_accuracy"] - 1 / 3) <= high - low and cas["balanced_accuracy"] < 0.5


@pytest.mark.slow
def test_a_target_class_missing_from_synth_is_reported_unmatched(datasets, tmp_path):
    a, b = datasets

    def rename(data):
        for category in data["categories"]:
            if category["name"] == "torus":
                category["name"] = "donut"

    target = target_copy(b, tmp_path / "renamed", rename)
    out = tmp_path / "unmatched"
    common = [str(a), "--target", str(target), "--images", str(b / "images"), *FAST, *NO_KFOLD, "epochs=1"]
    code, stdout, stderr = evaluate(*common, "--out", str(out))
    assert code == 0, stderr
    summary = read_summary(out)
    assert summary["unmatched_target_classes"] == ["donut"] and "unmatched target classes" in stdout
    assert summary["classes"] == ["ball", "box"] and summary["synthetic_only_classes"] == ["torus"]
    assert set(summary["crops"]["target"]) == {"ball", "box"}
    assert summary["crops"]["skipped_target"]["unmatched_class"] > 0
    mapped = tmp_path / "mapped"
    code, _, stderr = evaluate(*common, "--map", "donut=torus", "--out", str(mapped))
    assert code == 0, stderr
    assert read_summary(mapped)["classes"] == CLASSES and read_summary(mapped)["class_map"]["donut"] == "torus"


@pytest.mark.slow
def test_same_seed_same_json(datasets, tmp_path):
    a, b = datasets
    args = [str(a), "--target", str(b / "annotations" / "coco.json"), *FAST, "epochs=3", "real_epochs=1"]
    outputs = []
    for name in ("one", "two"):
        code, _, stderr = evaluate(*args, "--out", str(tmp_path / name))
        assert code == 0, stderr
        outputs.append((tmp_path / name / "evaluate.json").read_bytes())
    assert outputs[0] == outputs[1]
    code, _, stderr = evaluate(*args, "seed=1", "--out", str(tmp_path / "other"))
    assert code == 0, stderr
    assert (tmp_path / "other" / "evaluate.json").read_bytes() != outputs[0]


@pytest.mark.slow
def test_the_numbers_do_not_depend_on_how_many_probes_train_at_once(datasets, tmp_path):
    a, b = datasets
    args = [str(a), "--target", str(b / "annotations" / "coco.json"), *FAST, "epochs=3", "real_epochs=1"]
    summaries = []
    for workers in (1, 3):
        out = tmp_path / f"workers_{workers}"
        code, _, stderr = evaluate(*args, "min_real_per_class=5", f"workers={workers}", "--out", str(out))
        assert code == 0, stderr
        summary = read_summary(out)
        assert summary["config"].pop("workers") == workers
        summaries.append(summary)
    assert summaries[0]["real_only"] is not None  # the k-fold probes too
    assert summaries[0] == summaries[1]


def bad_inputs(a: Path, b: Path, tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    coco = str(b / "annotations" / "coco.json")
    not_json = tmp_path / "broken.json"
    not_json.write_text("{ not json")

    def rename_all(data):
        for category in data["categories"]:
            category["name"] = f"other_{category['id']}"

    renamed = target_copy(b, tmp_path / "disjoint", rename_all)
    empty = tmp_path / "no_images"
    empty.mkdir()
    return {
        "target not COCO": ([str(a), "--target", str(not_json)], "is not a JSON file"),
        "target missing": ([str(a), "--target", str(tmp_path / "absent.json")], "no such file"),
        "images missing": ([str(a), "--target", coco, "--images", str(empty)], "cannot read image"),
        "no class in common": ([str(a), "--target", str(renamed), "--images", str(b / "images")], "no class in common"),
        "too few crops": ([str(a), "--target", coco, "min_crops=100000"], "too few synthetic crops"),
        "bad map": ([str(a), "--target", coco, "--map", "ball"], "expected TARGET_CLASS=SYNTHETIC_CLASS"),
        "bad config": ([str(a), "--target", coco, "epochs=0"], "epochs"),
        **({} if cuda_available() else {"no GPU": ([str(a), "--target", coco, "--device", "cuda"], "no GPU")}),
    }


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(datasets, tmp_path):
    a, b = datasets
    for case, (args, message) in bad_inputs(a, b, tmp_path).items():
        out = tmp_path / f"out_{case.replace(' ', '_')}"
        code, stdout, stderr = evaluate(*args, "--out", str(out))
        lines = [line for line in stderr.splitlines() if line.startswith("scenegen: error")]
        assert code == 2, (case, stderr)
        assert len(lines) == 1 and message in lines[0], (case, stderr)
        assert not out.exists(), case


@pytest.mark.slow
def test_inception_without_weights_exit_2(datasets, tmp_path, monkeypatch):
    a, b = datasets
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    code, _, stderr = evaluate(str(a), "--target", str(b / "annotations" / "coco.json"), "--features", "inception")
    assert code == 2 and stderr.count("\n") == 1 and "Inception-v3 weights are not on this machine" in stderr


@pytest.mark.slow
def test_without_torch_one_line_names_the_extra(tmp_path):
    """A torch that fails to import (a package of that name shadowing it, made here) is reported as missing."""
    blocked = tmp_path / "blocked" / "torch"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('torch blocked by the test')\n")
    result = run_cli_with_path(tmp_path / "blocked", "evaluate", str(tmp_path), "--target", str(tmp_path / "x.json"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "scenegen: error: scenegen evaluate needs torch, an optional dependency: pip install 'scenegen[evaluate]'"
    )


def run_cli_with_path(first: Path, *args: str) -> subprocess.CompletedProcess:
    """``scenegen ARGS`` in a fresh interpreter with ``first`` at the front of the import path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(first), *sys.path])}
    return subprocess.run([sys.executable, "-m", "scenegen.cli", *args], capture_output=True, text=True, env=env)


def test_help_does_not_load_torch():
    code = "import sys; from scenegen.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert run_cli("evaluate", "--help").returncode == 0

"""Throughput features that must not change the dataset: workers, Ray, shards (interruption and resume:
test_interrupt.py)."""

import subprocess
import sys

import pytest

from conftest import dataset_files, render_small, run_cli

SIZE = ["render.width=96", "render.height=72"]
FRAMES = 9


EXPORTS = ("output.formats=[coco,yolo,bop]", "output.depth_png=true")  # BOP needs the run's depth


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """An uninterrupted single-process run, all exports on."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = render_small(out, *EXPORTS, scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    return dataset_files(out)


@pytest.mark.slow
def test_two_workers_give_the_same_dataset(tmp_path, reference):
    out = tmp_path / "out"
    result = render_small(out, *EXPORTS, "executor.workers=2", scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    assert dataset_files(out) == reference


@pytest.mark.slow
def test_ray_executor_gives_the_same_dataset(tmp_path, reference):
    out = tmp_path / "out"
    result = render_small(out, *EXPORTS, "executor=ray", "executor.workers=2", scenes=FRAMES)
    assert result.returncode == 0, result.stderr
    assert dataset_files(out) == reference


@pytest.mark.slow
def test_shards_merged_equal_the_single_run(tmp_path, reference):
    shards = []
    for index in range(3):
        shards.append(tmp_path / f"shard{index}")
        result = render_small(shards[-1], *EXPORTS, f"shard.index={index}", "shard.count=3", scenes=FRAMES)
        assert result.returncode == 0, result.stderr
    assert sorted(p.stem for p in (shards[1] / "labels").iterdir()) == ["000001", "000004", "000007"]
    merged = tmp_path / "merged"
    result = run_cli("merge", str(merged), *map(str, shards))
    assert result.returncode == 0, result.stderr
    assert dataset_files(merged) == reference
    missing = run_cli("merge", str(tmp_path / "partial"), str(shards[0]), str(shards[2]))
    assert missing.returncode == 2 and "frames missing" in missing.stderr and "1, 4, 7" in missing.stderr
    twice = run_cli("merge", str(tmp_path / "twice"), str(shards[0]), str(shards[0]), str(shards[1]), str(shards[2]))
    assert twice.returncode == 2 and "is in both" in twice.stderr


@pytest.mark.slow
def test_hydra_multirun_of_shards_merges_to_the_single_run(tmp_path, reference):
    """The way Slurm or other Hydra launchers run shards: one Hydra multirun job per shard."""
    command = [sys.executable, "-m", "scenegen.hydra_app", "-m", *SIZE, f"num_scenes={FRAMES}", "shard.count=3"]
    command += [
        "shard.index=range(3)",
        f"output_dir={tmp_path}/shard_${{shard.index}}",
        *EXPORTS,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    merged = tmp_path / "merged"
    result = run_cli("merge", str(merged), *(str(tmp_path / f"shard_{i}") for i in range(3)))
    assert result.returncode == 0, result.stderr
    assert dataset_files(merged) == reference

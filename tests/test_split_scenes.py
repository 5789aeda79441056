"""Views, sequences and thrown objects: the same bytes however the scenes are split (workers, shards merged,
resume)."""

import pytest
from test_video import EXPORTS, SEQUENCE

from conftest import dataset_files, render_small, run_cli


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["views", "sequences", "thrown"])
def test_same_bytes_whatever_the_split(tmp_path, kind):
    """Workers, shards merged, and a resumed run all give the single run's dataset, byte for byte (thrown:
    PyBullet follows the objects in each worker process)."""
    overrides = {
        "views": ["scene.views_per_scene=2"],
        "sequences": [*SEQUENCE, "sequence.frames=3"],
        "thrown": ["scene.layout=drop", "objects.classes=[box,can,ball]", "sequence.frames=3", "output.flow=true"],
    }[kind]
    overrides.append(EXPORTS)
    size = {"scenes": 3, "width": 64, "height": 48}
    reference = tmp_path / "reference"
    assert render_small(reference, *overrides, **size).returncode == 0
    expected = dataset_files(reference)
    workers = tmp_path / "workers"
    assert render_small(workers, *overrides, "executor.workers=2", **size).returncode == 0
    assert dataset_files(workers) == expected
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert render_small(shard, *overrides, f"shard.index={i}", "shard.count=2", **size).returncode == 0
    merged = tmp_path / "merged"
    result = run_cli("merge", str(merged), *map(str, shards))
    assert result.returncode == 0, result.stderr
    assert dataset_files(merged) == expected
    for frame in (1, 4):  # as if the run had died inside scene 0 and scene 2 (or 1): rerun, same dataset
        (reference / "labels" / f"{frame:06d}.json").unlink()
    assert render_small(reference, *overrides, **size).returncode == 0
    assert dataset_files(reference) == expected

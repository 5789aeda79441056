"""A dataset's last step reads its frame records once and hands each to the counts and to every export,
one record at a time; an error reading them reaches every export before it writes anything."""

import json
import shutil

import pytest

from scenegen.dataset import record
from scenegen.dataset.dataset_file import read_dataset_file
from scenegen.errors import ScenegenError
from scenegen.pipeline.finish import finish_dataset, read_once


def numbers(count, fail_at=None):
    for k in range(count):
        if k == fail_at:
            raise ScenegenError(f"record {k}: damaged")
        yield k


def test_every_consumer_sees_every_record_once_in_order():
    seen = []

    def first_two(records):
        it = iter(records)
        return [next(it), next(it)]  # stops early: the others still get the rest

    assert read_once(numbers(5), [sum, list, first_two, lambda r: seen.extend(r)]) == [
        10,
        [0, 1, 2, 3, 4],
        [0, 1],
        None,
    ]
    assert seen == [0, 1, 2, 3, 4]
    assert read_once(numbers(0), [sum, list]) == [0, []]


def test_a_reading_error_stops_every_consumer_and_is_raised():
    written = []

    def export(records):
        items = list(records)  # raises here, as a real export's loop would, before writing
        written.append(items)

    with pytest.raises(ScenegenError, match="record 3: damaged"):
        read_once(numbers(6, fail_at=3), [export, export])
    assert written == []


def test_the_first_consumers_error_is_raised_after_the_others_finish():
    done = []

    def fails(records):
        for k in records:
            if k == 1:
                raise ValueError("export a failed")

    with pytest.raises(ValueError, match="export a failed"):
        read_once(numbers(4), [lambda r: done.append(sum(r)), fails, lambda r: 1 / 0])
    assert done == [6]


def test_finish_reads_each_record_once_and_writes_the_same_exports(tmp_path, rendered_dataset, monkeypatch):
    out = tmp_path / "copy"
    shutil.copytree(rendered_dataset, out)
    before = {p: (out / p).read_bytes() for p in ("annotations/coco.json", "dataset.json")}
    dataset = read_dataset_file(out)
    frames = record.record_indices(out)
    reads = []
    original = record.read_record
    monkeypatch.setattr(record, "read_record", lambda path, *a: reads.append(path.name) or original(path, *a))
    finish_dataset(dataset, frames)
    assert sorted(reads) == sorted(f"{i:06d}.json" for i in frames) and len(reads) == len(set(reads))
    assert (out / "annotations/coco.json").read_bytes() == before["annotations/coco.json"]
    assert json.loads((out / "dataset.json").read_text())["counts"] == json.loads(before["dataset.json"])["counts"]

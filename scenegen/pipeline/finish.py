"""A dataset's last step, shared by a render and a merge: its exports, then ``dataset.json`` saying complete."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from scenegen.config.load import to_container
from scenegen.dataset import atomic
from scenegen.dataset.dataset_file import DatasetFile, record_counts, write_dataset_file
from scenegen.dataset.record import FrameRecord, iter_records
from scenegen.formats.registry import export

_END = object()  # after the last record


def finish_dataset(
    dataset: DatasetFile, frames: list[int], stats: list[dict[str, Any]] | None = None, seconds: float = 0.0
) -> Path:
    """Write the exports of ``dataset.config.output.formats`` from the records of ``frames`` of ``dataset``
    (read once, one at a time, handed to every export), sync, then write ``dataset.json`` as complete with
    the counts (and this run's ``stats`` and ``seconds``); return the folder."""
    out, config, categories = dataset.folder, dataset.config, dataset.categories

    def exporter(name: str) -> Callable[[Iterable[FrameRecord]], Any]:
        return lambda records: export(out, name, records, categories, config)

    consumers = [record_counts, *(exporter(name) for name in config.output.formats)]
    counts = read_once(iter_records(out, frames, dataset), consumers)[0]
    atomic.sync_all()  # exports and links on disk before dataset.json says complete
    write_dataset_file(out, to_container(config), categories, "complete", counts, stats, seconds)
    return out


def read_once(records: Iterable[FrameRecord], consumers: list[Callable[[Iterable[FrameRecord]], Any]]) -> list[Any]:
    """What each of ``consumers`` returns for the same ``records``, read once: each consumer runs in a thread
    of its own and is handed one record at a time (memory stays flat). An error reading the records is
    raised in every consumer, then here; else the first consumer's error, in their order."""
    boxes: list[queue.Queue[Any]] = [queue.Queue(maxsize=1) for _ in consumers]
    results: list[Any] = [None] * len(consumers)
    errors: list[BaseException | None] = [None] * len(consumers)

    def run(k: int) -> None:
        ended = False

        def items() -> Iterator[FrameRecord]:
            nonlocal ended
            while (item := boxes[k].get()) is not _END:
                if isinstance(item, BaseException):
                    ended = True
                    raise item
                yield item
            ended = True

        try:
            results[k] = consumers[k](items())
        except BaseException as err:
            errors[k] = err
        while not ended:  # a consumer that stopped early: take the rest, so the reader never waits on it
            item = boxes[k].get()
            ended = item is _END or isinstance(item, BaseException)

    threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(len(consumers))]
    for thread in threads:
        thread.start()
    failed: BaseException | None = None
    try:
        for record in records:
            for box in boxes:
                box.put(record)
    except BaseException as err:
        failed = err
    for box in boxes:
        box.put(_END if failed is None else failed)
    for thread in threads:
        thread.join()
    if failed is not None:
        raise failed
    for error in errors:
        if error is not None:
            raise error
    return results

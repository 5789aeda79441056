"""How an output module declares a kind of frame file (``FileOutput``), and what it is made from
(``FrameData``).

A module of ``scenegen/outputs/`` that defines ``OUTPUTS``, a tuple of ``FileOutput``, adds kinds of file: the
registry finds it, and the frame record's kinds, paths and checks, the worker's writes, the run's checks,
resume, merge and ``scenegen verify`` all follow from the declaration. A file's suffix names its encoding
(``dataset.record.encode_file``: ``.png``, ``.npy``, ``.npz``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenegen.config.schema import Config
from scenegen.scene.frames import FramePlace
from scenegen.scene.spec import SceneSpec


@dataclass(frozen=True)
class FrameData:
    """One rendered, labelled frame as its files are made from it: ``image`` (h, w, 3) uint8 after the
    sensor effects, ``ids`` (h, w) uint16 instance ids (0: none), ``depth`` (h, w) float32 metres (0: no
    surface), and the labels of each object of ``spec.objects`` (the frame record's ``annotations``)."""

    spec: SceneSpec
    image: np.ndarray
    ids: np.ndarray
    depth: np.ndarray
    annotations: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class FileOutput:
    """One kind of frame file: its ``kind`` (the record's ``files`` key), written to ``folder/NNNNNN{suffix}``
    (the frame's number, or the scene's with ``per_scene``) when ``output.{flag}`` asks for it (a bool, or a
    count above 0; None: every frame has one). ``make(frame)`` is its content, encoded as its suffix says;
    None for the files the worker makes from a whole sequence (flow, tracks). ``sequences``: only in
    sequences (``sequence.frames`` > 1; the flag is refused without them), and ``in_sequence(frame, frames)``
    says which frames of a sequence of ``frames`` have one (None: all). A flag that ``OutputConfig`` has not
    is the output's own: the declaration gives its ``default`` (False, or a count) and the registry adds the
    key to the config (``CONFIG_SCHEMA``); the defaults of ``OutputConfig``'s keys are in
    ``conf/output/default.yaml``."""

    kind: str
    folder: str
    suffix: str
    flag: str | None = None
    make: Callable[[FrameData], np.ndarray] | None = None
    sequences: bool = False
    in_sequence: Callable[[int, int], bool] | None = None
    per_scene: bool = False
    default: bool | int | None = None

    def wanted(self, cfg: Config, place: FramePlace) -> bool:
        """Whether the frame of ``cfg`` at ``place`` has a file of this kind."""
        frames = cfg.sequence.frames
        if self.flag is not None and not getattr(cfg.output, self.flag):
            return False
        if self.sequences and frames == 1:
            return False
        return self.in_sequence is None or self.in_sequence(place.frame_in_sequence, frames)

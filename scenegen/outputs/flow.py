"""Exact optical flow of sequences (``output.flow``): ``flow/NNNNNN_fw.npy`` to the next frame (not on the
last), ``_bw.npy`` to the previous one (not on the first), float32, and the same in KITTI's 16-bit PNG
encoding (``_fw.png``, ``_bw.png``), occlusion included. The worker makes them from two frames."""

from __future__ import annotations

from scenegen.outputs.output import FileOutput


def _forward(frame: int, frames: int) -> bool:
    return frame < frames - 1


def _backward(frame: int, frames: int) -> bool:
    return frame > 0


OUTPUTS = (
    FileOutput("flow_fw", "flow", "_fw.npy", flag="flow", sequences=True, in_sequence=_forward),
    FileOutput("flow_bw", "flow", "_bw.npy", flag="flow", sequences=True, in_sequence=_backward),
    FileOutput("flow_fw_png", "flow", "_fw.png", flag="flow", sequences=True, in_sequence=_forward),
    FileOutput("flow_bw_png", "flow", "_bw.png", flag="flow", sequences=True, in_sequence=_backward),
)

"""Depth images: ``depth/NNNNNN.png`` in 16-bit millimetres, ``depth/NNNNNN.npy`` in float32 metres; 0 where
there is no surface."""

from __future__ import annotations

from scenegen.labels.masks import depth_millimetres
from scenegen.outputs.output import FileOutput

OUTPUTS = (
    FileOutput("depth_png", "depth", ".png", flag="depth_png", make=lambda frame: depth_millimetres(frame.depth)),
    FileOutput("depth_npy", "depth", ".npy", flag="depth_npy", make=lambda frame: frame.depth),
)

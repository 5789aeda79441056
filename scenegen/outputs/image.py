"""The frame's image: ``images/NNNNNN.png``, RGB after the sensor effects; every frame has one."""

from __future__ import annotations

from scenegen.outputs.output import FileOutput

OUTPUTS = (FileOutput("image", "images", ".png", make=lambda frame: frame.image),)

"""Surface normals: ``normals/NNNNNN.png``, camera-frame normals from the depth image, 8-bit."""

from __future__ import annotations

import numpy as np

from scenegen.labels.normals import encode_normals, normals_from_depth
from scenegen.outputs.output import FileOutput, FrameData


def normals_image(frame: FrameData) -> np.ndarray:
    """(h, w, 3) uint8 normals of the frame's surfaces (``labels.normals.encode_normals``)."""
    return encode_normals(normals_from_depth(frame.depth, np.asarray(frame.spec.camera.K), frame.ids))


OUTPUTS = (FileOutput("normals", "normals", ".png", flag="normals", make=normals_image),)

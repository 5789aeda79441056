"""Masks of the whole frame: instance ids (``masks/NNNNNN.png``) and category ids (``semantic/NNNNNN.png``),
16-bit, 0 where no object is."""

from __future__ import annotations

import numpy as np

from scenegen.labels.masks import semantic_image
from scenegen.outputs.output import FileOutput, FrameData


def semantic_mask(frame: FrameData) -> np.ndarray:
    """(h, w) uint16 category ids of the frame's pixels (0: no object)."""
    categories = np.array([0] + [a["category_id"] for a in frame.annotations])
    return semantic_image(frame.ids, categories)


OUTPUTS = (
    FileOutput("instance_mask", "masks", ".png", flag="instance_masks", make=lambda frame: frame.ids),
    FileOutput("semantic_mask", "semantic", ".png", flag="semantic_masks", make=semantic_mask),
)

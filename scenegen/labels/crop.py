"""A mask cut to its bounding box, and the crops of every instance of an id image in one pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Crop:
    """A mask cut to its bounding box: ``mask`` (mh, mw) bool with its top-left pixel at ``row``, ``col``
    of an image of ``shape`` (h, w) that is False elsewhere."""

    mask: np.ndarray
    row: int
    col: int
    shape: tuple[int, int]

    @classmethod
    def of(cls, mask: np.ndarray) -> Crop:
        """The whole (h, w) mask as a crop."""
        return cls(np.asarray(mask, dtype=bool), 0, 0, mask.shape)

    def box(self) -> list[int]:
        """Tight COCO box ``[x, y, w, h]`` (the crop must be non-empty)."""
        rows, cols = np.flatnonzero(self.mask.any(axis=1)), np.flatnonzero(self.mask.any(axis=0))
        x, y = self.col + int(cols[0]), self.row + int(rows[0])
        return [x, y, int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def instance_crops(ids: np.ndarray, count: int) -> list[Crop | None]:
    """The crop of every instance 1..count of the (h, w) id image (None: no pixel), in one pass."""
    slices = ndimage.find_objects(ids.astype(np.int32, copy=False), max_label=count)
    return [
        None if s is None else Crop(ids[s] == k, s[0].start, s[1].start, ids.shape)
        for k, s in enumerate(slices, start=1)
    ]

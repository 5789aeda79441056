"""Reading a region of a pass back, colour only: pyrender reads the whole colour and depth of every pass.

An amodal pass draws a few objects alone and needs only their pixels' ids; reading back (and converting)
the whole image and its depth costs more than drawing them on llvmpipe. ``read_region`` stands in for
pyrender's read of its framebuffer during one ``render`` call and reads the region's colour from the
framebuffer pyrender drew into: the same pixels, values and all, as the whole read would give there. It needs
single-sample framebuffers (no anti-aliasing, or inside ``SingleSamplePasses.single_sample``) and framebuffer
objects (EGL; OSMesa has none).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyrender
from OpenGL import GL


@contextmanager
def read_region(offscreen: pyrender.OffscreenRenderer, region: Sequence[int]) -> Iterator[list[np.ndarray]]:
    """Within the block, ``offscreen.render`` reads back only the box ``region`` [x0, y0, x1, y1] (inclusive,
    image rows from the top) of its colour, as (y1 - y0 + 1, x1 - x0 + 1, 3) uint8 RGB, and returns no image;
    the list yielded holds it after the render."""
    renderer = offscreen._renderer
    x0, y0, x1, y1 = (int(v) for v in region)
    width, height = x1 - x0 + 1, y1 - y0 + 1
    out: list[np.ndarray] = []

    def read(scene: Any, flags: Any) -> tuple[None, None]:
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb_ms)  # single-sample: what was drawn
        data = GL.glReadPixels(x0, renderer._main_fb_dims[1] - 1 - y1, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        out.append(np.frombuffer(data, np.uint8).reshape(height, width, 4)[::-1, :, :3])
        return None, None

    renderer._read_main_framebuffer = read  # an instance attribute hides the method for this render only
    try:
        yield out
    finally:
        del renderer._read_main_framebuffer

"""Reading a pass back, only what it is for: pyrender reads the whole colour and depth of every pass.

The colour pass needs no depth, an amodal pass only the ids of a few objects' pixels, and pyrender's
conversion of depth to metres goes through boolean indexing that costs more than the arithmetic.
``lean_read`` stands in for pyrender's read of its framebuffer during ``render`` calls: it reads the
colour (of a region only, when given) and, when asked, the depth, converted with pyrender's own float32
formula, so every value is the one pyrender would return. It needs framebuffer objects (EGL; OSMesa has
none: there pyrender reads as usual).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyrender
from OpenGL import GL


@contextmanager
def lean_read(
    offscreen: pyrender.OffscreenRenderer,
    depth: bool = True,
    region: Sequence[int] | None = None,
    resolve: bool = False,
) -> Iterator[None]:
    """Within the block, ``offscreen.render`` returns ``(colour, depth)``: colour (h, w, 4) uint8 with
    ``RenderFlags.RGBA``, else (h, w, 3), of the box ``region`` [x0, y0, x1, y1] (inclusive, image rows from
    the top; None: the whole image); depth (h, w) float32 metres, 0 where nothing was drawn, or None
    without ``depth``. ``resolve``: the framebuffer is multisampled, resolve it first (colour only)."""
    renderer = offscreen._renderer

    def read(scene: Any, flags: int) -> tuple[np.ndarray, np.ndarray | None]:
        width, height = renderer._main_fb_dims
        x0, y0, x1, y1 = (int(v) for v in (region if region is not None else (0, 0, width - 1, height - 1)))
        if resolve:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb_ms)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, renderer._main_fb)
            GL.glBlitFramebuffer(0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, renderer._main_fb if resolve else renderer._main_fb_ms)
        box = (x0, height - 1 - y1, x1 - x0 + 1, y1 - y0 + 1)  # GL's rows count from the bottom
        data = GL.glReadPixels(*box, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)  # 4 bytes a pixel: rows never padded
        colour = np.frombuffer(data, np.uint8).reshape(box[3], box[2], 4)[::-1]
        if not flags & pyrender.RenderFlags.RGBA:
            colour = colour[..., :3]
        if not depth:
            return np.ascontiguousarray(colour), None
        raw = np.frombuffer(GL.glReadPixels(*box, GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT), np.float32)
        raw = raw.reshape(box[3], box[2])[::-1]
        ndc = 2.0 * raw - 1.0
        camera = scene.main_camera_node.camera
        z_near, z_far = camera.znear, camera.zfar
        if z_far is None:
            metres = 2 * z_near / (1.0 - ndc)
        else:
            metres = (2.0 * z_near * z_far) / (z_far + z_near - ndc * (z_far - z_near))
        metres[raw == 1.0] = 0.0
        return np.ascontiguousarray(colour), metres

    renderer._read_main_framebuffer = read  # an instance attribute hides pyrender's method within the block
    try:
        yield
    finally:
        del renderer._read_main_framebuffer

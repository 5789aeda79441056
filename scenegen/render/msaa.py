"""The pyrender workarounds for MSAA: a configurable sample count, and exact passes beside it.

pyrender hard-codes 4 samples for its colour and depth renderbuffers
(``Renderer._configure_main_framebuffer`` calls ``glRenderbufferStorageMultisample``
with 4). On llvmpipe that multiplies the colour pass time by about three. We
replace the name that ``pyrender.renderer`` looks up with a wrapper that asks
for ``samples`` instead; 0 samples gives plain single-sample buffers, which the
existing blit copies unchanged.

pyrender draws every pass into that one multisampled framebuffer. Its flat (SEG)
pass turns ``GL_MULTISAMPLE`` off, which keeps the ids exact, but the depth read
back from a multisampled buffer is not the pixel centre's (on llvmpipe it is off
by up to a few hundredths of a millimetre even then). ``SingleSamplePasses``
gives chosen passes a second set of framebuffers, single-sample, so they are
exactly the passes of a render without anti-aliasing. Tested in
``tests/test_render.py`` and ``tests/test_exactness.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyrender
import pyrender.renderer
from OpenGL import GL

_samples = 0

# The attributes of pyrender.Renderer that hold its offscreen framebuffers (pyrender2 0.2).
_FRAMEBUFFER = ("_main_fb", "_main_cb", "_main_db", "_main_fb_ms", "_main_cb_ms", "_main_db_ms", "_main_fb_dims")


def _storage_multisample(target: int, _samples_asked: int, internal_format: int, width: int, height: int) -> None:
    GL.glRenderbufferStorageMultisample(target, _samples, internal_format, width, height)


def set_msaa_samples(samples: int) -> None:
    """Use ``samples`` (0 = no anti-aliasing) for framebuffers created from now on in this process."""
    global _samples
    _samples = samples
    pyrender.renderer.glRenderbufferStorageMultisample = _storage_multisample


class SingleSamplePasses:
    """Passes of ``offscreen`` drawn inside ``single_sample()`` use single-sample framebuffers.

    Outside, the renderer keeps its own framebuffers (multisampled when ``set_msaa_samples`` asked for
    samples). Inside, it sees a second set, created, resized and drawn by pyrender itself while the
    sample count is 0. Without anti-aliasing there is nothing to swap. Both sets belong to the GL
    context and are freed with it.
    """

    def __init__(self, offscreen: pyrender.OffscreenRenderer) -> None:
        self._renderer = offscreen._renderer
        self._other: dict[str, Any] = {name: None for name in _FRAMEBUFFER}
        self._other["_main_fb_dims"] = (None, None)  # as pyrender.Renderer starts: nothing allocated

    @contextmanager
    def single_sample(self) -> Iterator[None]:
        global _samples
        if _samples == 0:
            yield
            return
        samples, _samples = _samples, 0
        self._swap()
        try:
            yield
        finally:
            self._swap()
            _samples = samples

    def _swap(self) -> None:
        current = {name: getattr(self._renderer, name) for name in _FRAMEBUFFER}
        for name, value in self._other.items():
            setattr(self._renderer, name, value)
        self._other = current

"""The one workaround pyrender needs: a configurable MSAA sample count.

pyrender hard-codes 4 samples for its colour and depth renderbuffers
(``Renderer._update_main_framebuffer`` calls ``glRenderbufferStorageMultisample``
with 4). On llvmpipe that multiplies the colour pass time by about three. We
replace the name that ``pyrender.renderer`` looks up with a wrapper that asks
for ``samples`` instead; 0 samples gives plain single-sample buffers, which the
existing blit copies unchanged. Tested in ``tests/test_render.py``.
"""

from __future__ import annotations

import pyrender.renderer
from OpenGL import GL

_samples = 0


def _storage_multisample(target: int, _samples_asked: int, internal_format: int, width: int, height: int) -> None:
    GL.glRenderbufferStorageMultisample(target, _samples, internal_format, width, height)


def set_msaa_samples(samples: int) -> None:
    """Use ``samples`` (0 = no anti-aliasing) for framebuffers created from now on in this process."""
    global _samples
    _samples = samples
    pyrender.renderer.glRenderbufferStorageMultisample = _storage_multisample

"""Printed surfaces: label artwork (lines of text, a barcode, logo-like blobs, a photo patch) on one texture tile.

The tile is laid out for the wrapped UVs of ``textures.wrapped_uv``: its top row is the top of the object,
and a band across the middle (a can's or bottle's label, a box face's artwork) holds the print, on the paper
colour that also covers the rest (caps, shoulders). Drawn with Pillow (text in the DejaVu fonts matplotlib
ships) and numpy, fully determined by the Generator passed in.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scenegen.scene.images import crop_resized

FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf",
)
LETTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits


def printed_texture(rng: np.random.Generator, size: int, colors: np.ndarray, photo: np.ndarray | None) -> np.ndarray:
    """(size, size, 3) uint8 RGB label artwork in paper ``colors[0]`` and ink ``colors[1]`` ((2, 3) floats in
    [0, 1]), with a patch of ``photo`` ((h, w, 3) uint8) when one is given."""
    paper, ink = (np.asarray(colors, dtype=float) * 255 + 0.5).astype(int)
    if abs(_luma(paper) - _luma(ink)) < 80:  # print must read: fall back to black or white ink
        ink = np.array([0, 0, 0] if _luma(paper) > 127 else [255, 255, 255])
    image = Image.new("RGB", (size, size), tuple(paper))
    draw = ImageDraw.Draw(image)
    top, bottom = int(size * rng.uniform(0.05, 0.3)), int(size * rng.uniform(0.7, 0.95))
    band = tuple(paper) if rng.uniform() < 0.5 else _random_color(rng)
    draw.rectangle([0, top, size - 1, bottom - 1], fill=band)
    for y in (top, bottom - 1):  # printed rules along the band's edges
        draw.line([0, y, size - 1, y], fill=tuple(ink), width=max(1, int(rng.integers(1, 4))))
    height = bottom - top
    for _ in range(int(rng.integers(1, 4))):
        _blob(draw, rng, size, top, height)
    if photo is not None:
        w, h = int(size * rng.uniform(0.2, 0.5)), int(height * rng.uniform(0.3, 0.7))
        crop = [float(rng.uniform()), float(rng.uniform()), float(rng.uniform(0.3, 1.0))]
        x, y = int(rng.integers(0, size - w + 1)), top + int(rng.integers(0, height - h + 1))
        image.paste(Image.fromarray(crop_resized(photo, crop, w, h)), (x, y))
    _text(draw, rng, size, top, height, tuple(ink))
    if rng.uniform() < 0.6:
        _barcode(image, rng, size, top, height)
    return np.asarray(image, dtype=np.uint8)


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _random_color(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))  # type: ignore[return-value]


@cache
def _font(name: str, pixels: int) -> ImageFont.FreeTypeFont:
    import matplotlib  # here, not at the top: a run without print never pays for importing it

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), pixels)


def _text(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, top: int, height: int, ink: tuple) -> None:
    """One to four lines of random words down the band, each in a random DejaVu face and size."""
    y = top + int(rng.uniform(0.05, 0.3) * height)
    for _ in range(int(rng.integers(1, 5))):
        pixels = max(6, int(height * rng.uniform(0.08, 0.3)))
        if y + pixels > top + height:
            break
        words = [
            "".join(LETTERS[int(i)] for i in rng.integers(0, len(LETTERS), int(rng.integers(2, 9))))
            for _ in range(int(rng.integers(1, 4)))
        ]
        color = ink if rng.uniform() < 0.7 else _random_color(rng)
        x = int(rng.uniform(0.0, 0.5) * size)
        draw.text((x, y), " ".join(words), fill=color, font=_font(FONTS[int(rng.integers(len(FONTS)))], pixels))
        y += int(pixels * rng.uniform(1.1, 1.6))


def _barcode(image: Image.Image, rng: np.random.Generator, size: int, top: int, height: int) -> None:
    """Black bars of 1 to 4 modules on a white field with a quiet zone, somewhere in the band."""
    widths = rng.integers(1, 5, int(rng.integers(20, 40)))
    module = max(1, int(size * rng.uniform(0.2, 0.45)) // int(widths.sum() + 10))
    row = np.repeat(np.arange(len(widths)) % 2 == 0, widths * module)  # True: a bar
    row = np.pad(row, 5 * module)  # the quiet zone
    h = max(4, int(height * rng.uniform(0.15, 0.35)))
    if len(row) > size:
        return
    bars = np.where(np.broadcast_to(row, (h, len(row)))[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
    x, y = int(rng.integers(0, size - len(row) + 1)), top + int(rng.integers(0, max(1, height - h + 1)))
    image.paste(Image.fromarray(bars), (x, y))


def _blob(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, top: int, height: int) -> None:
    """A logo-like filled shape: a wobbly star r(a) = R (1 + s sin(k a + p)) or an ellipse, in a random colour."""
    radius = height * rng.uniform(0.1, 0.35)
    cx, cy = rng.uniform(0, size), top + rng.uniform(radius, max(radius, height - radius))
    angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    k, s, phase = int(rng.integers(0, 8)), rng.uniform(0.0, 0.5), rng.uniform(0.0, 2 * np.pi)
    r = radius * (1 + s * np.sin(k * angles + phase))
    stretch = rng.uniform(0.5, 2.0)
    points = np.column_stack([cx + stretch * r * np.cos(angles), cy + r * np.sin(angles)])
    draw.polygon([tuple(p) for p in points.round(2)], fill=_random_color(rng))

"""scenegen: procedural 3D scenes rendered into training images with exact labels."""

__version__ = "0.1.0"

"""Point tracks of sequences (``output.tracks`` points): one ``tracks/SSSSSS.npz`` per sequence, named by its
scene, that each of its frames lists. The worker makes it as the sequence's frames arrive."""

from __future__ import annotations

from scenegen.outputs.output import FileOutput

OUTPUTS = (FileOutput("tracks", "tracks", ".npz", flag="tracks", sequences=True, per_scene=True),)

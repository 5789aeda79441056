"""The kinds of frame file, each declared by a module of ``scenegen.outputs`` (its ``OUTPUTS``), and what
follows from them: their folders and suffixes (``FILE_KINDS``), a frame's kinds (``frame_kinds``), the
flags that need sequences."""

from __future__ import annotations

from dataclasses import fields

from scenegen.config.schema import Config, OutputConfig
from scenegen.declarations import declared
from scenegen.errors import ScenegenError
from scenegen.outputs.output import FileOutput
from scenegen.scene.frames import FramePlace


def discover_outputs() -> dict[str, FileOutput]:
    """Every kind of file declared by a module of ``scenegen.outputs`` (its ``OUTPUTS``), by kind: the
    built-in ones in a fixed order, then any other module's (found on the package's path) by module name.
    ScenegenError naming the module of a kind declared twice, of two kinds with one path, or of a flag that
    is no key of ``output``."""
    keys = {f.name for f in fields(OutputConfig)}
    found: dict[str, FileOutput] = {}
    for module, entry in declared("scenegen.outputs", BUILT_IN, "OUTPUTS"):
        where = f"{module}: {entry.kind!r}"
        if entry.kind in found:
            raise ScenegenError(f"{where} is declared twice")
        clash = next((o.kind for o in found.values() if (o.folder, o.suffix) == (entry.folder, entry.suffix)), None)
        if clash:
            raise ScenegenError(f"{where} writes {entry.folder}/NNNNNN{entry.suffix}, as {clash!r} does")
        if entry.flag is not None and entry.flag not in keys:
            raise ScenegenError(f"{where} is asked for by output.{entry.flag}, which the config has not")
        found[entry.kind] = entry
    return found


BUILT_IN = ("image", "masks", "depth", "normals", "flow", "tracks")  # their order: the records' and messages'

DECLARED: dict[str, FileOutput] = discover_outputs()  # kind -> its declaration

# kind -> (folder, suffix) of a frame's files: FOLDER/NNNNNN{suffix}
FILE_KINDS: dict[str, tuple[str, str]] = {kind: (o.folder, o.suffix) for kind, o in DECLARED.items()}

# the output.* keys of the kinds only sequences have (sequence.frames > 1)
SEQUENCE_FLAGS: list[str] = list(dict.fromkeys(o.flag for o in DECLARED.values() if o.sequences and o.flag))


def frame_kinds(cfg: Config, place: FramePlace) -> set[str]:
    """The kinds of file (``FILE_KINDS``) a frame of ``cfg`` at ``place`` has, as ``pipeline.worker`` writes
    them: the image, what ``output.*`` asks, flow to the next and previous frames, the sequence's tracks."""
    return {kind for kind, output in DECLARED.items() if output.wanted(cfg, place)}

"""The kinds of frame file, each declared by a module of ``scenegen.outputs`` (its ``OUTPUTS``), and what
follows from them: their folders and suffixes (``FILE_KINDS``), a frame's kinds (``frame_kinds``), the
flags that need sequences, and the config with the outputs' own flags (``CONFIG_SCHEMA``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field, fields, make_dataclass
from typing import Any

from omegaconf import MISSING

from scenegen.config.schema import Config, OutputConfig
from scenegen.declarations import declared
from scenegen.errors import ScenegenError
from scenegen.outputs.output import FileOutput
from scenegen.scene.frames import FramePlace


def discover_outputs() -> dict[str, FileOutput]:
    """Every kind of file declared by a module of ``scenegen.outputs`` (its ``OUTPUTS``), by kind: the
    built-in ones in a fixed order, then any other module's (found on the package's path) by module name.
    ScenegenError naming the module of a kind declared twice, of two kinds with one path, or of a bad flag
    (``check_flag``)."""
    keys = {f.name for f in fields(OutputConfig)}
    found: dict[str, FileOutput] = {}
    for module, entry in declared("scenegen.outputs", BUILT_IN, "OUTPUTS"):
        where = f"{module}: {entry.kind!r}"
        if entry.kind in found:
            raise ScenegenError(f"{where} is declared twice")
        clash = next((o.kind for o in found.values() if (o.folder, o.suffix) == (entry.folder, entry.suffix)), None)
        if clash:
            raise ScenegenError(f"{where} writes {entry.folder}/NNNNNN{entry.suffix}, as {clash!r} does")
        check_flag(where, entry, keys, found.values())
        found[entry.kind] = entry
    return found


MAX_COUNT = 1_000_000_000  # the most an output's own count flag may ask for


def check_flag(where: str, entry: FileOutput, keys: set[str], before: Iterable[FileOutput]) -> None:
    """An output's flag is a key of ``OutputConfig`` (``keys``: its default is the YAML's, so none is given) or
    the output's own: a name with a default, False or a count up to ``MAX_COUNT``, the same as the outputs
    ``before`` give it. ScenegenError starting with ``where`` otherwise."""
    flag, default = entry.flag, entry.default
    if flag is None or flag in keys:
        if default is not None:
            raise ScenegenError(f"{where} gives a default to {f'output.{flag}' if flag else 'no flag'}; remove it")
        return
    if default is None:
        raise ScenegenError(f"{where} is asked for by output.{flag}, which the config has not; give its default")
    if not flag.isidentifier() or type(default) not in (bool, int) or not 0 <= default <= MAX_COUNT:
        raise ScenegenError(f"{where}: output.{flag}={default!r} must be a name with a bool or 0 to {MAX_COUNT}")
    same = (type(default), default)
    other = next((o for o in before if o.flag == flag and (type(o.default), o.default) != same), None)
    if other is not None:
        raise ScenegenError(f"{where} gives output.{flag} the default {default!r}, {other.kind!r} {other.default!r}")


def config_schema(outputs: Iterable[FileOutput]) -> tuple[type[OutputConfig], type[Config]]:
    """``OutputConfig`` and ``Config`` with a key ``output.FLAG`` for each flag that ``outputs`` declare with a
    default (their own); the two themselves when none does. A bool flag takes true or false, a count 0 to
    ``MAX_COUNT``."""
    own = {o.flag: o.default for o in outputs if o.flag is not None and o.default is not None}
    if not own:
        return OutputConfig, Config
    keys: list[Any] = [
        (flag, type(value), field(default=value, metadata={} if type(value) is bool else {"bounds": (0, MAX_COUNT)}))
        for flag, value in own.items()
    ]
    output = make_dataclass("DeclaredOutputConfig", keys, bases=(OutputConfig,))
    config = make_dataclass("DeclaredConfig", [("output", output, field(default=MISSING))], bases=(Config,))
    output.__module__ = config.__module__ = __name__  # where pickle finds them
    return output, config


BUILT_IN = ("image", "masks", "depth", "normals", "flow", "tracks")  # their order: the records' and messages'

DECLARED: dict[str, FileOutput] = discover_outputs()  # kind -> its declaration

# the config of a run, with the outputs' own flags: ``config.load``'s ``schema`` for every command that
# renders or reads a dataset (the two classes are the module's, so that a worker process unpickles them)
DeclaredOutputConfig, DeclaredConfig = config_schema(DECLARED.values())
CONFIG_SCHEMA: type[Config] = DeclaredConfig

# kind -> (folder, suffix) of a frame's files: FOLDER/NNNNNN{suffix}
FILE_KINDS: dict[str, tuple[str, str]] = {kind: (o.folder, o.suffix) for kind, o in DECLARED.items()}

# the output.* keys of the kinds only sequences have (sequence.frames > 1)
SEQUENCE_FLAGS: list[str] = list(dict.fromkeys(o.flag for o in DECLARED.values() if o.sequences and o.flag))


def frame_kinds(cfg: Config, place: FramePlace) -> set[str]:
    """The kinds of file (``FILE_KINDS``) a frame of ``cfg`` at ``place`` has, as ``pipeline.worker`` writes
    them: the image, what ``output.*`` asks, flow to the next and previous frames, the sequence's tracks."""
    return {kind for kind, output in DECLARED.items() if output.wanted(cfg, place)}

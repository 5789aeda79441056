"""The exceptions whose message is shown to the user as is (one line, exit code 2), by what is wrong, and how a
value is shown in one."""

import reprlib


class ScenegenError(Exception):
    """Bad input (config, asset, manifest, mesh): one line naming the culprit, exit code 2. Raised as one of the
    subclasses below where a caller may need to tell the cases apart; as itself where none fits (a missing
    optional library)."""


class ConfigError(ScenegenError):
    """A config key, Hydra override or command-line option has a value that cannot be used."""


class AssetError(ScenegenError):
    """An asset pack, mesh, image or cached shape (what scenes are made of) is bad or cannot be used."""


class DatasetError(ScenegenError):
    """A dataset on disk (a scenegen folder, its records, a shard, a COCO file) is not what it must be."""


class RenderError(ScenegenError):
    """A render run failed part way (a worker died, a file could not be written); finished frames are kept."""


class ExportError(ScenegenError):
    """An export, report or combined file cannot be made from what there is, or cannot be written."""


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 100, 60


def shown(value: object) -> str:
    """``repr(value)`` for a message: one line, a few elements of a few levels at most, so that a value
    read from a hostile file (a YAML alias bomb, a huge list) is never expanded."""
    return " ".join(_SHORT.repr(value).split())

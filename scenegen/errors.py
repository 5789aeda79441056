"""The one exception type whose message is shown to the user as is, and how a value is shown in one."""

import reprlib


class ScenegenError(Exception):
    """Bad input (config, asset, manifest, mesh): one line naming the culprit, exit code 2."""


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 100, 60


def shown(value: object) -> str:
    """``repr(value)`` for a message: one line, a few elements of a few levels at most, so that a value
    read from a hostile file (a YAML alias bomb, a huge list) is never expanded."""
    return " ".join(_SHORT.repr(value).split())

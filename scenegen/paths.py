"""Where scenegen's data folders live, for source checkouts and wheels alike.

A wheel carries ``conf/`` and ``assets/`` inside the package
(``scenegen/data/conf``, ``scenegen/data/assets``); a source checkout or
editable install keeps them at the repository root beside ``scenegen/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"scenegen's {name}/ folder is missing from {_PACKAGE}; reinstall scenegen")


def conf_dir() -> Path:
    """The folder of default Hydra configs."""
    return _data_dir("conf")


def assets_dir() -> Path:
    """The folder of built-in asset packs."""
    return _data_dir("assets")

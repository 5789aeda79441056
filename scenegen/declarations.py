"""What the modules of a package declare (each export module's ``EXPORTS``, each output module's
``OUTPUTS``), found by walking the package: the one discovery every registry uses."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Sequence
from typing import Any


def declared(package: str, built_in: Sequence[str], attribute: str) -> Iterator[tuple[str, Any]]:
    """(module name, entry) for each entry of ``attribute`` in each module of ``package``: the ``built_in``
    modules in their order, then any other module on the package's path, by name."""
    path = importlib.import_module(package).__path__
    names = [*built_in, *sorted({m.name for m in pkgutil.iter_modules(path)} - set(built_in))]
    for name in names:
        for entry in getattr(importlib.import_module(f"{package}.{name}"), attribute, ()):
            yield f"{package}.{name}", entry

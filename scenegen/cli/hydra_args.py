"""``scenegen render`` with Hydra's flags: the arguments rewritten for the Hydra app, and the override file."""

from __future__ import annotations

import sys
from pathlib import Path

from scenegen.errors import ConfigError


def hydra_render(args: list[str]) -> int:
    """``scenegen render ARGS`` as the Hydra app, ``--overrides-file`` read here; return the exit code."""
    from scenegen.hydra_app import main as hydra_main

    hydra_args = []
    try:
        rest = iter(args)
        for arg in rest:
            if arg == "--show-config":
                raise ConfigError("--show-config: with Hydra's flags, use --cfg job to print the config")
            if arg == "--overrides-file" or arg.startswith("--overrides-file="):
                path = arg.split("=", 1)[1] if "=" in arg else next(rest, None)
                if path is None:
                    raise ConfigError("--overrides-file: expected a file")
                hydra_args += read_override_file(Path(path))
            elif arg != "--no-progress":  # the Hydra app shows no progress bar
                hydra_args.append(arg)
    except ConfigError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        return 2
    return hydra_main(hydra_args, prog="scenegen render")


def read_override_file(path: Path) -> list[str]:
    """The Hydra overrides of a file: one per line; blank lines and ``#`` comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"--overrides-file {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--overrides-file {path}: not UTF-8 text") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]

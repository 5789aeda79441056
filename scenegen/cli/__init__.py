"""The ``scenegen`` command: ``main`` parses the command line and runs the command's handler; a ScenegenError
or a failed file access is one line, exit code 2. ``parser.py`` declares the commands and their options,
each with its handler in ``commands.py``; ``hydra_args.py`` hands ``scenegen render`` with Hydra's flags to
the Hydra app.

Importing it loads no heavy library (opencv, trimesh, scipy, PIL, Hydra, GL): each command imports what it
needs when it runs, so ``scenegen --help`` is quick."""

from __future__ import annotations

import sys

from scenegen.cli.parser import build_parser
from scenegen.errors import ScenegenError

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``scenegen ARGV`` (default: the command line); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["render"]:
        from scenegen.hydra_app import wants_hydra

        if wants_hydra(argv[1:]):
            from scenegen.cli.hydra_args import hydra_render

            return hydra_render(argv[1:])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command == "evaluate" and not any(r.startswith("-") for r in rest):
        args.overrides += rest  # overrides may follow --target: argparse takes positionals in one run only
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file the command reads or writes: missing, read-only, disk full
        print(f"scenegen: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2

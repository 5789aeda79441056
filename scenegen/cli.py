"""The ``scenegen`` command: ``render`` a dataset from Hydra configs, ``doctor`` the GL set-up."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scenegen.errors import ScenegenError
from scenegen.paths import conf_dir
from scenegen.writers.exports import FORMATS, export_dataset

EXAMPLES = """\
examples:
  scenegen render                                  the default dataset into ./out
  scenegen render num_scenes=200 seed=7 output_dir=/data/run1 camera.fov_deg=[40,70]
  scenegen render render.width=320 render.height=240 +objects.class_weights.mug=3
  scenegen render --show-config                    print the composed config, render nothing
  scenegen export out --format yolo --format bop   add formats to a rendered dataset
  scenegen doctor                                  check headless rendering on this machine
"""


def config_groups_help() -> str:
    """The config groups of ``conf/`` and their options, for ``--help``."""
    lines = ["config groups (choose with GROUP=OPTION, set values with GROUP.KEY=VALUE):"]
    for group in sorted(p for p in conf_dir().iterdir() if p.is_dir()):
        options = ", ".join(sorted(f.stem for f in group.glob("*.yaml")))
        lines.append(f"  {group.name:<12} {options}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scenegen",
        description="Render procedural 3D scenes into training images with exact labels (COCO).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"{config_groups_help()}\n\n{EXAMPLES}",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    render = commands.add_parser(
        "render",
        help="render a dataset: images, masks, frame records and annotations/coco.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"{config_groups_help()}\n\n{EXAMPLES}",
    )
    render.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides, e.g. num_scenes=10 seed=3")
    render.add_argument("--show-config", action="store_true", help="print the composed config and exit")
    render.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    exporter = commands.add_parser(
        "export",
        help="write more formats of an existing dataset from its frame records, without re-rendering",
        description="Build annotation formats of a rendered dataset from its frame records (labels/*.json).",
    )
    exporter.add_argument("dataset", type=Path, help="a folder written by scenegen render")
    exporter.add_argument(
        "--format",
        dest="formats",
        action="append",
        required=True,
        choices=list(FORMATS),
        help="format to write (repeat for several): coco, coco_keypoints (annotations/), yolo (yolo/), "
        "yolo_seg (yolo_seg/), bop (bop/)",
    )
    exporter.add_argument("--val-fraction", type=float, help="validation share (default: the dataset's own)")
    commands.add_parser("doctor", help="report which GL backends work here and how to fix common failures")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            return _render(args)
        if args.command == "export":
            for written in export_dataset(args.dataset, args.formats, args.val_fraction):
                print(f"wrote {written}")
            return 0
        if args.command == "doctor":
            from scenegen.doctor import run_doctor

            return run_doctor()
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


def _render(args: argparse.Namespace) -> int:
    from scenegen.config import load_config, to_yaml
    from scenegen.pipeline import render_dataset

    cfg = load_config(args.overrides)
    if args.show_config:
        print(to_yaml(cfg), end="")
        return 0
    try:
        out = render_dataset(cfg, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(
            "\nscenegen: interrupted; finished frames are kept. Run the same command again to resume.", file=sys.stderr
        )
        return 130
    print(f"dataset written to {out}  (COCO: {out / 'annotations' / 'coco.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

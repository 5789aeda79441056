"""The command line of ``scenegen``: every command and its options, each declared with its handler (the
``run`` default, a function of ``commands.py``); ``--help`` lists the config groups and examples."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scenegen.cli import commands
from scenegen.paths import conf_dir

EXAMPLES = """\
examples:
  scenegen render                                  the default dataset into ./out
  scenegen render num_scenes=200 seed=7 output_dir=/data/run1 camera.fov_deg=[40,70]
  scenegen render render.width=320 render.height=240 +objects.class_weights.mug=3
  scenegen render scene.views_per_scene=8          8 camera poses of each scene
  scenegen render +experiment=video                MOVi-like videos with optical flow and point tracks
  scenegen render --show-config                    print the composed config, render nothing
  scenegen render -m seed=1,2 'output_dir=run_${seed}'  Hydra's flags: -m, --cfg job, --info, hydra.*
  scenegen export out --format yolo --copy         add formats to a rendered dataset (copies, not links)
  scenegen audit out --strict                      check a dataset for bias before training on it
  scenegen evaluate out --target real/coco.json    train on synthetic, test on real: does the data teach?
  scenegen preview out                             masks, boxes and class names over a few images
  scenegen balance --against real.json             class weights that balance real + synthetic
  scenegen pack new my_pack --from ~/meshes        start an asset pack; then pack validate my_pack
  scenegen render objects.packs=[builtin,my_pack]  render with it
  scenegen verify out                              check every file against its frame record
  scenegen doctor                                  check headless rendering on this machine
"""


def config_groups_help() -> str:
    """The config groups of ``conf/`` and their options, for ``--help``."""
    lines = ["config groups (choose with GROUP=OPTION, set values with GROUP.KEY=VALUE;"]
    lines.append("presets are added: +experiment=NAME; `scenegen render --show-config` shows every key):")
    for group in sorted(p for p in conf_dir().iterdir() if p.is_dir()):
        options = ", ".join(sorted(f.stem for f in group.glob("*.yaml")))
        lines.append(f"  {group.name:<12} {options}")
    return "\n".join(lines)


class ExportNames:
    """The names of the exports (``formats.registry.FORMATS``), as ``--format``'s choices: the registry (and
    the libraries of the exports) is imported only when they are first checked or listed."""

    def _names(self) -> list[str]:
        from scenegen.formats.registry import FORMATS

        return list(FORMATS)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()


class CommandParser(argparse.ArgumentParser):
    """A command's parser that takes its options and positionals in any order, e.g. ``scenegen pack validate
    P --collision cache_dir=...`` (argparse's intermixed parsing; a parser of sub-commands parses as usual)."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]  # argparse's overloads, one plain signature here
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls parse_known_args itself
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


if TYPE_CHECKING:
    from collections.abc import Callable

    Subparsers = argparse._SubParsersAction[CommandParser]
    Handler = Callable[[argparse.Namespace], int]
    Commands = tuple[tuple[Callable[[Subparsers], argparse.ArgumentParser], Handler | None], ...]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``scenegen``: its commands, from ``COMMANDS``; a parsed command's handler is ``args.run``."""
    parser = argparse.ArgumentParser(
        prog="scenegen",
        description="Render procedural 3D scenes into training images with exact labels (COCO).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"{config_groups_help()}\n\n{EXAMPLES}",
    )
    _declare(parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser), COMMANDS)
    return parser


def _declare(subparsers: Subparsers, table: Commands) -> None:
    """Add the commands of ``table`` to ``subparsers``, each with its handler as the ``run`` default."""
    for declare, handler in table:
        command = declare(subparsers)
        if handler is not None:
            command.set_defaults(run=handler)


def _render(subparsers: Subparsers) -> argparse.ArgumentParser:
    render = subparsers.add_parser(
        "render",
        help="render a dataset: images, masks, frame records and annotations/coco.json",
        description="Render a dataset from the configs in conf/ and Hydra overrides. Hydra's own flags work too: "
        "--cfg job|hydra|all, --info, --hydra-help, -m/--multirun (sweeps, launchers) and hydra.* overrides; with "
        "any of them, scenegen render runs as the Hydra app scenegen (the same as scenegen-hydra).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"{config_groups_help()}\n\n{EXAMPLES}",
    )
    render.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides, e.g. num_scenes=10 seed=3")
    render.add_argument("--show-config", action="store_true", help="print the composed config and exit")
    render.add_argument(
        "--overrides-file", type=Path, metavar="FILE", help="more overrides, one per line (e.g. from scenegen balance)"
    )
    render.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return render


def _export(subparsers: Subparsers) -> argparse.ArgumentParser:
    exporter = subparsers.add_parser(
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
        choices=ExportNames(),
        metavar="FORMAT",
        help="format to write (repeat for several): %(choices)s",
    )
    exporter.add_argument("--val-fraction", type=float, help="validation share (default: the dataset's own)")
    exporter.add_argument(
        "--partial",
        action="store_true",
        help="export an incomplete dataset (a run not finished, frames missing): the scenes whose frames are all "
        "there; says which are left out. Without it an incomplete dataset is refused",
    )
    exporter.add_argument(
        "--copy",
        action="store_true",
        help="copy images into yolo/, yolo_seg/ and bop/ instead of hard-linking them (links take no space, but "
        "cp -r, zip and rsync without -H store them twice)",
    )
    return exporter


def _preview(subparsers: Subparsers) -> argparse.ArgumentParser:
    previewer = subparsers.add_parser("preview", help="a contact sheet of a dataset with masks, boxes and class names")
    previewer.add_argument("dataset", type=Path, metavar="DATASET", help="a scenegen dataset folder, or a COCO JSON")
    previewer.add_argument("--out", type=Path, help="the PNG to write (default: DATASET/preview.png)")
    previewer.add_argument("--count", type=int, default=12, help="images to show (12)")
    previewer.add_argument("--images", type=Path, metavar="DIR", help="folder the images' file_name is relative to")
    return previewer


def _merge(subparsers: Subparsers) -> argparse.ArgumentParser:
    merge = subparsers.add_parser(
        "merge",
        help="assemble the folders of shard jobs (shard.index=i shard.count=n) into one dataset",
        description="Link (or copy) the frames of shard folders into one dataset, check that every frame is "
        "there exactly once, and write its exports: the same dataset a single run gives.",
    )
    merge.add_argument("out", type=Path, help="the merged dataset's folder (new, or empty); with --coco, a JSON file")
    merge.add_argument(
        "shards", type=Path, nargs="+", metavar="SOURCE", help="the shard folders (with --coco: datasets)"
    )
    merge.add_argument(
        "--coco",
        action="store_true",
        help="instead, combine datasets (scenegen folders or any COCO JSON, e.g. real data) into the one COCO "
        "file OUT, categories matched by name",
    )
    return merge


def _balance(subparsers: Subparsers) -> argparse.ArgumentParser:
    balancer = subparsers.add_parser(
        "balance",
        help="class weights that balance an existing (e.g. real) COCO dataset plus the synthetic one",
        description="Read the class counts of a COCO file and write a Hydra override file whose class weights "
        "make real + synthetic balanced. Render with: scenegen render --overrides-file FILE",
    )
    balancer.add_argument("--against", type=Path, required=True, metavar="COCO_JSON", help="the existing dataset")
    balancer.add_argument("--out", type=Path, default=Path("balance.txt"), help="override file to write (balance.txt)")
    balancer.add_argument("--instances", type=float, help="synthetic instances planned (default: from the config)")
    balancer.add_argument(
        "overrides", nargs="*", metavar="OVERRIDE", help="the render's overrides (classes, num_scenes)"
    )
    return balancer


def _pack(subparsers: Subparsers) -> argparse.ArgumentParser:
    pack = subparsers.add_parser("pack", help="asset packs: start one from meshes, validate one, list them")
    pack_commands = pack.add_subparsers(
        dest="pack_command", metavar="PACK_COMMAND", required=True, parser_class=CommandParser
    )
    _declare(pack_commands, PACK_COMMANDS)
    return pack


def _pack_new(subparsers: Subparsers) -> argparse.ArgumentParser:
    new = subparsers.add_parser("new", help="write a pack (manifest.yaml + meshes/) from a folder of meshes")
    new.add_argument("dir", type=Path, help="the new pack's folder (must not exist, or be empty)")
    new.add_argument(
        "--from", dest="source", type=Path, required=True, help="folder of meshes; sub-folders name classes"
    )
    new.add_argument("--target-size", type=float, default=0.1, help="metres of each mesh's largest extent (0.1)")
    return new


def _pack_validate(subparsers: Subparsers) -> argparse.ArgumentParser:
    check = subparsers.add_parser("validate", help="check a pack and report every problem at once")
    check.add_argument("path", type=Path, help="a pack folder, or the name of a built-in or installed pack")
    check.add_argument(
        "--collision", action="store_true", help="also compute and cache the collision shapes scene.layout=drop uses"
    )
    check.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="Hydra overrides of the limits (e.g. objects.max_mesh_faces=1e6) or of cache_dir and physics.collision.*",
    )
    return check


def _pack_list(subparsers: Subparsers) -> argparse.ArgumentParser:
    listing = subparsers.add_parser("list", help="show the packs and classes visible to the config")
    listing.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides, e.g. objects.packs=[...]")
    return listing


def _verify(subparsers: Subparsers) -> argparse.ArgumentParser:
    verifier = subparsers.add_parser(
        "verify",
        help="check every file of a dataset against its frame record (size and SHA-256): one line per problem",
        description="Check a dataset folder (e.g. copied from another machine): every frame has a readable "
        "record and every file matches the size and SHA-256 its record lists. Exit 1 when anything is wrong.",
    )
    verifier.add_argument("dataset", type=Path, help="a folder written by scenegen render or scenegen merge")
    return verifier


def _doctor(subparsers: Subparsers) -> argparse.ArgumentParser:
    return subparsers.add_parser("doctor", help="report which GL backends work here and how to fix common failures")


def _audit(subparsers: Subparsers) -> argparse.ArgumentParser:
    auditor = subparsers.add_parser(
        "audit",
        help="check a COCO dataset for bias (shortcuts, class imbalance, near-duplicates); writes a report",
        description="Audit a COCO instances dataset before training: class balance, boxes, colour, backgrounds, "
        "near-duplicates, and shortcuts (the class predictable from one nuisance feature alone).",
    )
    auditor.add_argument(
        "dataset", type=Path, metavar="DATASET", help="a folder written by scenegen render, or a COCO instances JSON"
    )
    auditor.add_argument(
        "overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides of conf/audit.yaml, e.g. shortcut_margin=0.3"
    )
    auditor.add_argument("--images", type=Path, metavar="DIR", help="folder of the images' file_name (default: beside)")
    auditor.add_argument(
        "--out", type=Path, metavar="DIR", help="report folder (default: DATASET/audit, or <json stem>_audit beside it)"
    )
    auditor.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    return auditor


def _evaluate(subparsers: Subparsers) -> argparse.ArgumentParser:
    evaluator = subparsers.add_parser(
        "evaluate",
        help="train a probe on the synthetic data, test it on real data: per-class scores, domain gap, a report",
        description="Train a small classifier from scratch on crops of SYNTH's boxes and test it on the target's "
        "(CAS); with enough target crops, also real-only and real + synthetic by k-fold over the target's images; "
        "KID between the two. Writes evaluate.json and evaluate.html. Needs: pip install 'scenegen[evaluate]'.",
    )
    evaluator.add_argument("synthetic", type=Path, metavar="SYNTH", help="a scenegen dataset folder (or a COCO JSON)")
    evaluator.add_argument("--target", type=Path, required=True, metavar="COCO_JSON", help="the real dataset")
    evaluator.add_argument("--images", type=Path, metavar="DIR", help="the target's images (default: ../images)")
    evaluator.add_argument(
        "--map", dest="mapping", action="append", default=[], metavar="TARGET=SYNTH", help="match class names"
    )
    evaluator.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the probe trains (cpu)")
    evaluator.add_argument(
        "--features", choices=["probe", "inception"], default="probe", help="domain-gap features (probe)"
    )
    evaluator.add_argument("--out", type=Path, metavar="DIR", help="report folder (default: SYNTH/evaluate)")
    evaluator.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    evaluator.add_argument(
        "overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides of conf/evaluate.yaml, e.g. epochs=20"
    )
    return evaluator


# Every command with its handler, in the order --help lists them (pack's handlers are its sub-commands').
COMMANDS: Commands = (
    (_render, commands.render),
    (_export, commands.export),
    (_preview, commands.preview),
    (_merge, commands.merge),  # with --coco, commands.combine
    (_balance, commands.balance),
    (_pack, None),
    (_verify, commands.verify),
    (_doctor, commands.doctor),
    (_audit, commands.audit),
    (_evaluate, commands.evaluate),
)
PACK_COMMANDS: Commands = (
    (_pack_new, commands.pack_new),
    (_pack_validate, commands.pack_validate),
    (_pack_list, commands.pack_list),
)

"""The ``scenegen`` command: ``render`` a dataset from Hydra configs, ``doctor`` the GL set-up.

Importing it loads no heavy library (opencv, trimesh, scipy, PIL, Hydra, GL): each command imports what it
needs when it runs, so ``scenegen --help`` is quick."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from scenegen.errors import ConfigError, ScenegenError
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scenegen",
        description="Render procedural 3D scenes into training images with exact labels (COCO).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"{config_groups_help()}\n\n{EXAMPLES}",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    render = commands.add_parser(
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
    previewer = commands.add_parser("preview", help="a contact sheet of a dataset with masks, boxes and class names")
    previewer.add_argument("dataset", type=Path, metavar="DATASET", help="a scenegen dataset folder, or a COCO JSON")
    previewer.add_argument("--out", type=Path, help="the PNG to write (default: DATASET/preview.png)")
    previewer.add_argument("--count", type=int, default=12, help="images to show (12)")
    previewer.add_argument("--images", type=Path, metavar="DIR", help="folder the images' file_name is relative to")
    merge = commands.add_parser(
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
    balancer = commands.add_parser(
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
    pack = commands.add_parser("pack", help="asset packs: start one from meshes, validate one, list them")
    pack_commands = pack.add_subparsers(
        dest="pack_command", metavar="PACK_COMMAND", required=True, parser_class=CommandParser
    )
    new = pack_commands.add_parser("new", help="write a pack (manifest.yaml + meshes/) from a folder of meshes")
    new.add_argument("dir", type=Path, help="the new pack's folder (must not exist, or be empty)")
    new.add_argument(
        "--from", dest="source", type=Path, required=True, help="folder of meshes; sub-folders name classes"
    )
    new.add_argument("--target-size", type=float, default=0.1, help="metres of each mesh's largest extent (0.1)")
    check = pack_commands.add_parser("validate", help="check a pack and report every problem at once")
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
    listing = pack_commands.add_parser("list", help="show the packs and classes visible to the config")
    listing.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides, e.g. objects.packs=[...]")
    verifier = commands.add_parser(
        "verify",
        help="check every file of a dataset against its frame record (size and SHA-256): one line per problem",
        description="Check a dataset folder (e.g. copied from another machine): every frame has a readable "
        "record and every file matches the size and SHA-256 its record lists. Exit 1 when anything is wrong.",
    )
    verifier.add_argument("dataset", type=Path, help="a folder written by scenegen render or scenegen merge")
    commands.add_parser("doctor", help="report which GL backends work here and how to fix common failures")
    auditor = commands.add_parser(
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
    _add_evaluate(commands)
    return parser


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluator = commands.add_parser(
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["render"]:
        from scenegen.hydra_app import wants_hydra

        if wants_hydra(argv[1:]):
            return _hydra_render(argv[1:])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command == "evaluate" and not any(r.startswith("-") for r in rest):
        args.overrides += rest  # overrides may follow --target: argparse takes positionals in one run only
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "render":
            return _render(args)
        if args.command == "export":
            return _export(args)
        if args.command == "preview":
            from scenegen.tools.preview import preview

            print(f"wrote {preview(args.dataset, args.out, args.count, images=args.images)}")
            return 0
        if args.command == "merge":
            return _merge(args)
        if args.command == "balance":
            return _balance(args)
        if args.command == "pack":
            return _pack(args)
        if args.command == "audit":
            from scenegen.tools.audit.run import audit_command

            return audit_command(args.dataset, args.images, args.out, args.strict, args.overrides)
        if args.command == "evaluate":
            from scenegen.tools.evaluate.run import evaluate_command

            return evaluate_command(
                args.synthetic, args.target, args.images, args.mapping, args.device, args.features, args.out,
                args.overrides, not args.no_progress,
            )  # fmt: skip
        if args.command == "verify":
            return _verify(args.dataset)
        if args.command == "doctor":
            from scenegen.tools.doctor import run_doctor

            return run_doctor()
    except ScenegenError as err:
        print(f"scenegen: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file the command reads or writes: missing, read-only, disk full
        print(f"scenegen: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


def _export(args: argparse.Namespace) -> int:
    from scenegen.formats.registry import LINKS_IMAGES, export_dataset

    written, left_out = export_dataset(args.dataset, args.formats, args.val_fraction, args.copy, args.partial)
    if left_out:
        print(f"scenegen: {left_out}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    if "bop" in args.formats:
        _print_bop_note(args.dataset / "bop")
    linked = [f"{name}/" for name in args.formats if name in LINKS_IMAGES]
    if linked and not args.copy:
        print(f"images in {', '.join(linked)} are hard links to images/ (--copy writes copies)")
    return 0


def _merge(args: argparse.Namespace) -> int:
    if args.coco:
        from scenegen.tools.combine import combine_coco

        for source, count in combine_coco(args.out, args.shards).items():
            n = count["renumbered"]
            renumbered = f" ({n} renumbered: an earlier source had their ids)" if n else ""
            print(f"{source}: {count['images']} images, {count['annotations']} annotations{renumbered}")
        print(f"wrote {args.out}")
        return 0
    from scenegen.pipeline.merge import merge_shards

    print(f"merged dataset written to {merge_shards(args.out, args.shards)}")
    return 0


def _verify(dataset: Path) -> int:
    from scenegen.pipeline.verify import verify_dataset

    problems, summary = verify_dataset(dataset, lambda line: print(line, file=sys.stderr))
    print(summary)
    return 1 if problems else 0


def _balance(args: argparse.Namespace) -> int:
    from scenegen.assets.catalog import MeshLimits, build_catalog
    from scenegen.config.load import load_config
    from scenegen.tools.balance import balance_weights, override_lines, real_class_counts

    real = real_class_counts(args.against)
    cfg = load_config(args.overrides)
    catalog = build_catalog(list(cfg.objects.packs), list(cfg.objects.classes), MeshLimits.of(cfg.objects))
    low, high = cfg.scene.objects_per_scene
    synthetic = args.instances if args.instances is not None else cfg.num_scenes * (low + high) / 2
    weights = balance_weights(real, list(catalog.classes), synthetic)
    lines = override_lines(weights, real, synthetic, args.against)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(line for line in lines if line.startswith("#   ")))
    print(f"wrote {args.out}; render with: scenegen render --overrides-file {args.out}")
    return 0


def _pack(args: argparse.Namespace) -> int:
    from scenegen.assets.catalog import MeshLimits
    from scenegen.config.load import load_config
    from scenegen.tools.packs import describe_packs, new_pack, validate_pack

    if args.pack_command == "new":
        manifest, count = new_pack(args.dir, args.source, args.target_size)
        print(f"wrote {manifest} with {count} assets; edit it, then: scenegen pack validate {args.dir}")
        return 0
    cfg = load_config(getattr(args, "overrides", []))
    limits = MeshLimits.of(cfg.objects)
    if args.pack_command == "validate":
        if args.collision:
            from scenegen.scene.drop import cache_dir

            problems = validate_pack(args.path, limits, cfg.physics.collision, cache_dir(cfg))
            if not problems:
                print(f"collision shapes cached in {cache_dir(cfg) / 'collision'}")
        else:
            problems = validate_pack(args.path, limits)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{args.path}: {len(problems)} problem{'s' * (len(problems) != 1)}" if problems else f"{args.path}: ok")
        return 2 if problems else 0
    print("\n".join(describe_packs(list(cfg.objects.packs), limits)))
    return 0


def _render(args: argparse.Namespace) -> int:
    from scenegen.config.load import load_config, to_yaml
    from scenegen.pipeline.run import render_dataset

    from_file = read_override_file(args.overrides_file) if args.overrides_file else []
    cfg = load_config([*from_file, *args.overrides])
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
    if "bop" in cfg.output.formats:
        _print_bop_note(out / "bop")
    return 0


def _print_bop_note(folder: Path) -> None:
    from scenegen.formats.bop import models_note

    note = models_note(folder)
    if note:
        print(note)


def _hydra_render(args: list[str]) -> int:
    """``scenegen render`` with Hydra's flags: the Hydra app, with ``--overrides-file`` read here."""
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
    except ScenegenError as err:
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


if __name__ == "__main__":
    sys.exit(main())

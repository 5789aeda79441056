"""The commands' handlers: each runs one command from its parsed arguments and returns the exit code. Each
imports what it needs when it runs (``import scenegen.cli`` stays light)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def render(args: argparse.Namespace) -> int:
    """``scenegen render``: the dataset of the composed config, or the config with ``--show-config``."""
    from scenegen.cli.hydra_args import read_override_file
    from scenegen.config.load import load_config, to_yaml
    from scenegen.outputs.registry import CONFIG_SCHEMA
    from scenegen.pipeline.run import render_dataset

    from_file = read_override_file(args.overrides_file) if args.overrides_file else []
    cfg = load_config([*from_file, *args.overrides], CONFIG_SCHEMA)
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


def export(args: argparse.Namespace) -> int:
    """``scenegen export``: more formats of a rendered dataset, from its frame records."""
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


def _print_bop_note(folder: Path) -> None:
    from scenegen.formats.bop_models import models_note

    note = models_note(folder)
    if note:
        print(note)


def merge(args: argparse.Namespace) -> int:
    """``scenegen merge``: shard folders into one dataset; with ``--coco``, ``combine`` instead."""
    if args.coco:
        return combine(args)
    from scenegen.pipeline.merge import merge_shards

    print(f"merged dataset written to {merge_shards(args.out, args.shards)}")
    return 0


def combine(args: argparse.Namespace) -> int:
    """``scenegen merge --coco``: datasets (scenegen folders or COCO files) into the one COCO file ``args.out``."""
    from scenegen.tools.combine import combine_coco

    for source, count in combine_coco(args.out, args.shards).items():
        n = count["renumbered"]
        renumbered = f" ({n} renumbered: an earlier source had their ids)" if n else ""
        print(f"{source}: {count['images']} images, {count['annotations']} annotations{renumbered}")
    print(f"wrote {args.out}")
    return 0


def verify(args: argparse.Namespace) -> int:
    """``scenegen verify``: one line per problem on stderr, a summary; exit 1 when anything is wrong."""
    from scenegen.pipeline.verify import verify_dataset

    problems, summary = verify_dataset(args.dataset, lambda line: print(line, file=sys.stderr))
    print(summary)
    return 1 if problems else 0


def preview(args: argparse.Namespace) -> int:
    """``scenegen preview``: a contact sheet of a dataset."""
    from scenegen.tools.preview import preview as contact_sheet

    print(f"wrote {contact_sheet(args.dataset, args.out, args.count, images=args.images)}")
    return 0


def balance(args: argparse.Namespace) -> int:
    """``scenegen balance``: an override file of class weights that balance real + synthetic."""
    from scenegen.assets.catalog import build_catalog
    from scenegen.assets.limits import MeshLimits
    from scenegen.config.load import load_config
    from scenegen.outputs.registry import CONFIG_SCHEMA
    from scenegen.tools.balance import balance_weights, override_lines, real_class_counts

    real = real_class_counts(args.against)
    cfg = load_config(args.overrides, CONFIG_SCHEMA)
    catalog = build_catalog(list(cfg.objects.packs), list(cfg.objects.classes), MeshLimits.of(cfg.objects))
    low, high = cfg.scene.objects_per_scene
    synthetic = args.instances if args.instances is not None else cfg.num_scenes * (low + high) / 2
    weights = balance_weights(real, list(catalog.classes), synthetic)
    lines = override_lines(weights, real, synthetic, args.against)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(line for line in lines if line.startswith("#   ")))
    print(f"wrote {args.out}; render with: scenegen render --overrides-file {args.out}")
    return 0


def pack_new(args: argparse.Namespace) -> int:
    """``scenegen pack new``: a pack's manifest and meshes from a folder of meshes."""
    from scenegen.tools.packs import new_pack

    manifest, count = new_pack(args.dir, args.source, args.target_size)
    print(f"wrote {manifest} with {count} assets; edit it, then: scenegen pack validate {args.dir}")
    return 0


def pack_validate(args: argparse.Namespace) -> int:
    """``scenegen pack validate``: every problem of a pack, one line each on stderr; exit 2 when any."""
    from scenegen.assets.limits import MeshLimits
    from scenegen.config.load import load_config
    from scenegen.outputs.registry import CONFIG_SCHEMA
    from scenegen.tools.packs import validate_pack

    cfg = load_config(args.overrides, CONFIG_SCHEMA)
    limits = MeshLimits.of(cfg.objects)
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


def pack_list(args: argparse.Namespace) -> int:
    """``scenegen pack list``: the packs and classes the config sees."""
    from scenegen.assets.limits import MeshLimits
    from scenegen.config.load import load_config
    from scenegen.outputs.registry import CONFIG_SCHEMA
    from scenegen.tools.packs import describe_packs

    cfg = load_config(args.overrides, CONFIG_SCHEMA)
    print("\n".join(describe_packs(list(cfg.objects.packs), MeshLimits.of(cfg.objects))))
    return 0


def audit(args: argparse.Namespace) -> int:
    """``scenegen audit``: a dataset's bias report."""
    from scenegen.tools.audit.run import audit_command

    return audit_command(args.dataset, args.images, args.out, args.strict, args.overrides)


def evaluate(args: argparse.Namespace) -> int:
    """``scenegen evaluate``: train on synthetic, test on real."""
    from scenegen.tools.evaluate.run import evaluate_command

    return evaluate_command(
        args.synthetic, args.target, args.images, args.mapping, args.device, args.features, args.out,
        args.overrides, not args.no_progress,
    )  # fmt: skip


def doctor(args: argparse.Namespace) -> int:
    """``scenegen doctor``: which GL backends work here."""
    from scenegen.tools.doctor import run_doctor

    return run_doctor()

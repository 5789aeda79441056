"""Transfer benchmark: which randomization matters? Render the five classes the target shares with the
built-in assets under the default config and under ablations, evaluate each on a target scenegen never
renders from, print one table.

    .venv/bin/python scripts/transfer_bench.py                          # the issue's scale: 1500 scenes a row
    .venv/bin/python scripts/transfer_bench.py --scenes 250 --out /tmp/transfer   # a reduced scale

The target is ``../shared/targets/ycbv_pbr_dev`` (photoreal renders of YCB-Video objects made by another
renderer; see its README): evaluation only, never trained on (the synthetic-only probe never sees it; the
default row's real-only and real + synthetic scores train on its images by k-fold, as ``scenegen evaluate``
documents). Without it the script says so and exits 0. Each row renders ``--scenes`` scenes at 320x240 with
``executor.workers=1`` (a rerun skips finished renders) and runs ``scenegen evaluate`` with its defaults; the
k-fold scores are computed for the default row only (they are the same real data every row; ``--no-kfold``
skips them).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO.parent / "shared" / "targets" / "ycbv_pbr_dev"
YCB_PACK = REPO.parent / "shared" / "targets" / "ycb_pack"  # six YCB objects with their photo textures
CLASSES = "objects.classes=[can,box,bottle,bowl,mug]"
ROWS = {
    "default": [],
    "no object textures": ["materials.texture_probability=0"],
    "no background textures or images": ["background.texture_probability=0", "background.image_probability=0"],
    "no sensor effects": ["postfx=none"],
    "narrow lighting": [
        "lighting.count=[1,1]",
        "lighting.types=[directional]",
        "lighting.directional_intensity=[2.5,2.5]",
        "lighting.color_temperature=[6500,6500]",
        "lighting.elevation_deg=[60,60]",
        "lighting.ambient=[0.2,0.2]",
        "lighting.shadow_probability=0",
    ],
    "flying layout": ["+experiment=flying"],
    "drop layout with shadows": ["scene.layout=drop", "lighting.shadow_probability=1"],
    "single meshes (no shape families)": ["objects.shape_variation=0"],
    "no printed surfaces": ["materials.print_probability=0"],
    "built-ins plus the YCB pack": [f"objects.packs=[builtin,{YCB_PACK}]", "materials.keep_asset_material=0.5"],
    "photo textures": ["materials.image_dir=PHOTOS", "materials.image_probability=0.5"],  # PHOTOS: below
}
# Photographs the install already brings (none of the target's): a portrait and the photographic textures
# of pybullet's example models (grass, wood, a tray, dominoes, motor and robot skins). "PHOTOS" in a row's
# overrides becomes a folder of copies of them.
PHOTO_FILES = {
    "matplotlib": ["mpl-data/sample_data/grace_hopper.jpg"],
    "pybullet_data": [
        "roboschool/models_outdoor/stadium/stadium_grass.jpg",
        "table/table.png",
        "tray/tray.jpg",
        "domino/domino.jpg",
        "jenga/jenga.png",
        "laikago/laikago_tex.jpg",
        "quadruped/t-motor.jpg",
        "racecar/meshes/wheel.jpg",
    ],
}


def photo_folder(folder: Path) -> Path:
    """``folder`` holding copies of ``PHOTO_FILES`` of the installed packages (those that are installed)."""
    import importlib.util
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for package, files in PHOTO_FILES.items():
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        for relative in files:
            source, link = Path(spec.origin).parent / relative, folder / f"{package}_{Path(relative).name}"
            if source.is_file() and not link.exists():
                shutil.copyfile(source, link)
    if not any(folder.iterdir()):
        sys.exit(f"no photographs found for the photo-texture row (looked for {PHOTO_FILES})")
    return folder


def scenegen(*args: str) -> float:
    """Run ``scenegen ARGS`` in a fresh process; its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "scenegen.cli", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"scenegen {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=1500, help="scenes rendered per row (1500)")
    parser.add_argument("--out", type=Path, default=Path("transfer_bench"), help="folder of the renders")
    parser.add_argument("--target", type=Path, default=TARGET, help="the target dataset folder")
    parser.add_argument("--rows", nargs="*", choices=list(ROWS), default=list(ROWS), help="rows to run")
    parser.add_argument(
        "--kfold", action=argparse.BooleanOptionalAction, default=True, help="real-only and real + synthetic"
    )
    args = parser.parse_args()
    coco = args.target / "annotations" / "coco.json"
    if not coco.is_file():
        print(f"skipped: no target at {args.target} (see the README's transfer benchmark)")
        return
    table = []
    for index, name in enumerate(args.rows):
        folder = args.out / re.sub(r"[^a-z0-9]+", "_", name).strip("_")  # a Hydra override value: no brackets
        size = ["render.width=320", "render.height=240", f"num_scenes={args.scenes}", "executor.workers=1"]
        overrides = [o.replace("PHOTOS", str(photo_folder(args.out / "photos"))) for o in ROWS[name]]
        render_s = scenegen("render", CLASSES, *size, *overrides, f"output_dir={folder}", "--no-progress")
        kfold = [] if name == "default" and args.kfold else ["min_real_per_class=1000000"]  # same real data every row
        evaluate_s = scenegen("evaluate", str(folder), "--target", str(coco), "--no-progress", *kfold)
        summary = json.loads((folder / "evaluate" / "evaluate.json").read_text())
        table.append((name, summary, render_s, evaluate_s))
        done = f"[{index + 1}/{len(args.rows)}] {name}"
        print(f"{done}: render {render_s:.0f} s, evaluate {evaluate_s:.0f} s", flush=True)
    print(f"\n{args.scenes} scenes a row at 320x240; target {coco}\n")
    print(
        "| config | CAS balanced accuracy [95%] | CAS accuracy | KID (probe) [95%] | scenes | render s | evaluate s |"
    )  # noqa: E501
    print("|---|---|---|---|---|---|---|")
    for name, summary, render_s, evaluate_s in table:
        cas, gap = summary["synthetic_only"], summary["domain_gap"]["probe"]
        low, high = cas["balanced_accuracy_interval"]
        print(
            f"| {name} | {cas['balanced_accuracy']:.3f} [{low:.3f}, {high:.3f}] | {cas['accuracy']:.3f} | "
            f"{gap['kid']:.3f} [{gap['interval'][0]:.3f}, {gap['interval'][1]:.3f}] | {args.scenes} | "
            f"{render_s:.0f} | {evaluate_s:.0f} |"
        )
    for name, summary, _, _ in table:
        if summary.get("real_only"):
            parts = []
            for key in ("real_only", "real_plus_synthetic"):
                low, high = summary[key]["balanced_accuracy_interval"]
                parts.append(f"{key.replace('_', ' ')} {summary[key]['balanced_accuracy']:.3f} [{low:.3f}, {high:.3f}]")
            print(f"\n{name}: {', '.join(parts)}; CAS / real-only {summary['cas_over_real']:.3f}")
        recalls = summary["synthetic_only"]["per_class"].items()
        per_class = ", ".join(f"{c} {v['recall']:.2f}" for c, v in recalls if v["recall"] is not None)
        print(f"{name}: CAS recall per class: {per_class}")


if __name__ == "__main__":
    main()

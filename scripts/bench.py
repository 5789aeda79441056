"""Benchmark: the full scenegen pipeline against a bare pyrender loop that only renders colour; physics
(scene.layout=drop) and shadows against the same pipeline without them.

    .venv/bin/python scripts/bench.py                 # everything (about 15 minutes on 2 cores)
    .venv/bin/python scripts/bench.py --frames 160 --no-scaling       # the main comparison only, longer
    .venv/bin/python scripts/bench.py --no-main --no-scaling --memory-frames 0 --no-video   # physics, shadows
    .venv/bin/python scripts/bench.py --no-main --no-scaling --memory-frames 0 --no-physics --no-shadows  # video
    .venv/bin/python scripts/bench.py --no-main --no-scaling --memory-frames 0 --no-physics --no-shadows \
        --no-video --evaluate syn     # scenegen evaluate of a rendered dataset against ycbv_pbr_dev

Both sides render the same scenes (scenegen's sampler, one seed). The bare loop is what a careful
pyrender user writes: meshes uploaded once, one colour render per frame, nothing labelled or written.
It runs without MSAA, like scenegen's default; pyrender's own default (4x MSAA) is shown for reference.
The full pipeline writes images, instance masks, frame records, COCO and YOLO (default config, amodal
labels and sensor effects on, shadows off: they have their own section). Ratios compare runs made in
this one invocation, one after another.

Physics: the time PyBullet takes to settle one scene (``settle``), on one core (the process is pinned
to one), for 10 and 40 objects on a table and for the pile preset, as percentiles over many scenes;
then the whole pipeline with ``scene.layout=drop`` against ``tabletop`` at 10 objects. Shadows: the
pipeline with every frame shadowed against none.

Views and sequences: the throughput of ``scene.views_per_scene=8`` against as many separate scenes (the
same config otherwise), and ``scenegen render +experiment=video num_scenes=1`` (a 24-frame 256x256
sequence, about 10 objects, flow both ways, 256 point tracks, COCO, YouTube-VIS and MOT) timed end to end
as a user runs it, a fresh process, start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EVALUATE_TARGET = REPO.parent / "shared" / "targets" / "ycbv_pbr_dev" / "annotations" / "coco.json"


def overrides(width: int, height: int, objects: int, workers: int = 1) -> list[str]:
    """Config for ``objects`` objects in view: tabletop up to 10, flying beyond (a table that holds 40
    objects needs a camera too far away to see them)."""
    layout = ["scene.layout=tabletop", "scene.placement_radius=0.45"] if objects <= 10 else ["+experiment=flying"]
    return [
        *layout,
        f"scene.objects_per_scene=[{objects},{objects}]",
        f"render.width={width}",
        f"render.height={height}",
        "output.formats=[coco,yolo]",
        f"executor.workers={workers}",
        "lighting.shadow_probability=0",
    ]


def run_child(mode: str, frames: int, args: list[str], scratch: Path) -> dict:
    """Run one measurement in a fresh process (one GL context each), writing under a new folder of
    ``scratch``, and return its JSON result."""
    out = scratch / f"run{len(list(scratch.iterdir()))}"
    command = [sys.executable, __file__, "--child", mode, str(frames), *args, f"output_dir={out}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def throughput(mode: str, frames: int, args: list[str], scratch: Path) -> tuple[float, dict]:
    """Frames per second at the margin: (frames - frames/4) / (time(frames) - time(frames/4)), each run
    in its own process, so fixed costs (imports, GL context, first mesh uploads, stable poses) cancel.
    Also returns the larger run's result."""
    few = max(frames // 4, 2)
    small, large = run_child(mode, few, args, scratch), run_child(mode, frames, args, scratch)
    return (frames - few) / (large["seconds"] - small["seconds"]), large


def child_bare(args: list[str], msaa: int, frames: int) -> dict:
    """The bare loop over the first ``frames`` scenes: the same scene graph as scenegen's (support plane,
    objects, distractors, lights, materials and textures), meshes uploaded once, colour only."""
    from scenegen.config.load import load_config
    from scenegen.render import backend

    cfg = load_config(args)
    backend.activate("egl")
    import numpy as np
    import pyrender
    import trimesh

    from scenegen.assets.primitives import unit_primitive
    from scenegen.assets.shapes import run_catalog
    from scenegen.render.msaa import set_msaa_samples
    from scenegen.render.renderer import camera_for
    from scenegen.scene.sampler import sample_scene
    from scenegen.scene.textures import texture_image, with_uv

    catalog = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
    specs = [sample_scene(cfg, catalog, i) for i in range(frames)]
    set_msaa_samples(msaa)
    renderer = pyrender.OffscreenRenderer(cfg.render.width, cfg.render.height)
    uploaded: dict[tuple[str, int], pyrender.Mesh] = {}

    def mesh(key: str, k: int, shape: trimesh.Trimesh, material) -> pyrender.Mesh:
        """The k-th uploaded copy of a mesh, repainted (one copy per use in a frame, as materials differ)."""
        if (key, k) not in uploaded:
            uploaded[key, k] = pyrender.Mesh.from_trimesh(
                with_uv(shape, 0.08), material=pyrender.MetallicRoughnessMaterial()
            )
        m = uploaded[key, k]
        texture = None
        if material.texture is not None:
            texture = pyrender.Texture(source=texture_image(material.texture), source_channels="RGB")
        for p in m.primitives:
            p.material.baseColorFactor, p.material.metallicFactor = material.base_color, material.metallic
            p.material.roughnessFactor, p.material.baseColorTexture = material.roughness, texture
        return m

    plane = trimesh.creation.box([1.0, 1.0, 1e-3])
    lights = {"directional": pyrender.DirectionalLight, "point": pyrender.PointLight, "spot": pyrender.SpotLight}
    start = time.perf_counter()
    for spec in specs:
        scene = pyrender.Scene(bg_color=[*spec.backdrop.color, 1.0], ambient_light=spec.ambient_light)
        if spec.plane is not None:
            pose = np.diag([spec.plane.size, spec.plane.size, 1.0, 1.0])
            scene.add(mesh("plane", 0, plane, spec.plane.material), pose=pose)
        used: dict[str, int] = {}
        for obj in spec.objects:
            k = used[obj.asset_id] = used.get(obj.asset_id, -1) + 1
            m = mesh(obj.asset_id, k, catalog.asset(obj.asset_id).load_mesh(), obj.material)
            scene.add(m, pose=np.asarray(obj.pose) @ np.diag([obj.scale] * 3 + [1.0]))
        for d in spec.distractors:
            k = used[d.shape] = used.get(d.shape, -1) + 1
            scene.add(
                mesh(d.shape, k, unit_primitive(d.shape), d.material), pose=np.asarray(d.pose) @ np.diag([*d.size, 1.0])
            )
        for light in spec.lights:
            scene.add(lights[light.kind](color=light.color, intensity=light.intensity), pose=np.asarray(light.pose))
        scene.add(
            camera_for(np.asarray(spec.camera.K), spec.camera.znear, spec.camera.zfar),
            pose=np.asarray(spec.camera.pose),
        )
        renderer.render(scene)
    return {"seconds": time.perf_counter() - start}


def child_pipeline(args: list[str], frames: int, views: int = 1) -> dict:
    """The full pipeline for ``frames`` frames (``frames / views`` scenes of ``views`` views), as ``scenegen
    render`` runs it (start-up included); returns its seconds, stage timings and peak memory."""
    from scenegen.config.load import load_config
    from scenegen.pipeline.run import render_dataset

    cfg = load_config([*args, f"num_scenes={frames // views}", f"scene.views_per_scene={views}"])
    start = time.perf_counter()
    out = render_dataset(cfg, progress=False)
    seconds = time.perf_counter() - start
    timings = json.loads((out / "dataset.json").read_text())["timings"]
    peak_mb = _rss_mb("VmHWM")
    return {"seconds": seconds, "stages": timings["ms_per_frame_by_stage"], "peak_mb": peak_mb}


def child_settle(args: list[str], frames: int) -> dict:
    """Seconds PyBullet took to settle each of ``frames`` dropped scenes (wall clock, this process pinned to
    one core; every ``settle`` call of a scene summed, re-drops included), the simulated seconds per call,
    how many calls hit the time limit, and how many objects were dropped again."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from scenegen.assets.collision import collision_shape
    from scenegen.assets.shapes import run_catalog
    from scenegen.config.load import load_config
    from scenegen.scene import drop
    from scenegen.scene.sampler import sample_scene

    cfg = load_config(args)
    catalog = run_catalog(cfg.objects, cfg.seed, cfg.cache_dir)
    for assets in [*catalog.assets_by_class.values(), *catalog.variants.values()]:
        for asset in assets:
            collision_shape(asset, cfg.physics.collision, drop.cache_dir(cfg))  # cached: not part of the timing
    calls = []
    settle = drop.settle

    def timed(*a, **k):
        start = time.perf_counter()
        result = settle(*a, **k)
        calls.append((time.perf_counter() - start, result.seconds, result.at_rest))
        return result

    drop.settle = timed
    sample_scene(cfg, catalog, 0)  # imports, first client
    calls.clear()
    per_scene, redropped = [], 0
    for index in range(1, frames + 1):
        first = len(calls)
        redropped += sample_scene(cfg, catalog, index).redropped
        per_scene.append(sum(c[0] for c in calls[first:]))
    return {
        "seconds": per_scene,
        "simulated": [c[1] for c in calls],
        "calls": len(calls),
        "limit": sum(not c[2] for c in calls),
        "redropped": redropped,
    }


def child_gl(args: list[str], frames: int) -> dict:
    """The full pipeline (workers=1, so it renders in this process) with its GL work counted: the device
    (GL_RENDERER, GL_VENDOR, GL_VERSION) and the EGL devices here; bytes read back per frame, by pass (colour:
    the colour pass, ids: the id and amodal passes) and kind (colour, depth); id passes per frame; the
    shadow-map passes per frame and their ms (timed between glFinish calls, so a GPU's are its own)."""
    import pyrender
    import pyrender.renderer
    from OpenGL import GL

    device: dict = {}
    read = {f"{p} {k}": 0 for p in ("colour", "ids") for k in ("colour", "depth")}
    passes = {"colour": 0, "ids": 0, "shadow_map": 0}
    shadow_seconds = [0.0]
    kind = ["colour"]
    render, read_pixels = pyrender.OffscreenRenderer.render, pyrender.renderer.glReadPixels
    shadow_pass = pyrender.renderer.Renderer._shadow_mapping_pass

    def counted_render(self, scene, flags, *rest):
        kind[0] = "ids" if flags & pyrender.RenderFlags.SEG else "colour"
        passes[kind[0]] += 1
        return render(self, scene, flags, *rest)

    def counted_read(x, y, width, height, fmt, data_type):
        if not device:
            names = {"renderer": GL.GL_RENDERER, "vendor": GL.GL_VENDOR, "version": GL.GL_VERSION}
            device.update({k: GL.glGetString(v).decode() for k, v in names.items()})
        pixels = read_pixels(x, y, width, height, fmt, data_type)
        read[f"{kind[0]} {'depth' if fmt == GL.GL_DEPTH_COMPONENT else 'colour'}"] += memoryview(pixels).nbytes
        return pixels

    def timed_shadow_pass(self, *rest):
        GL.glFinish()
        start = time.perf_counter()
        shadow_pass(self, *rest)
        GL.glFinish()
        shadow_seconds[0] += time.perf_counter() - start
        passes["shadow_map"] += 1

    pyrender.OffscreenRenderer.render = counted_render
    pyrender.renderer.glReadPixels = counted_read
    GL.glReadPixels = counted_read  # scenegen/render/readback.py reads through the module
    pyrender.renderer.Renderer._shadow_mapping_pass = timed_shadow_pass
    result = child_pipeline(args, frames)
    if os.environ.get("PYOPENGL_PLATFORM") == "egl":
        from pyrender.platforms import egl

        device["egl_devices"] = [d.name or "(no DRM device file)" for d in egl.query_devices()]
    per_frame = {k: v / frames for k, v in {**read, **passes}.items()}
    return {**result, "device": device, "per_frame": per_frame, "shadow_map_ms": 1000 * shadow_seconds[0] / frames}


def child_memory(args: list[str], frames: int) -> dict:
    """Resident memory of one FrameWorker after 200 frames and after ``frames``."""
    from scenegen.config.load import load_config
    from scenegen.pipeline.worker import FrameWorker

    cfg = load_config([*args, f"num_scenes={frames}"])
    worker = FrameWorker(cfg, Path(cfg.output_dir), 0)
    rss = {}
    for index in range(frames):
        worker.render(index)
        if index + 1 in (200, frames):
            rss[index + 1] = _rss_mb()
    worker.finish()
    return {"rss_mb": rss}


def bench_video(frames: int, scratch: Path, repeats: int = 3) -> None:
    """Views against separate scenes, and one MOVi-like sequence end to end. Each measurement is the best
    of ``repeats`` runs, the two sides alternating, so a busy neighbour on a shared machine skews less."""
    frames = max(frames // 8 * 8, 32)
    few = frames // 4 // 8 * 8
    print("\nviews: labelled images/s at the margin (best of runs), views_per_scene=8 against separate scenes")
    for width, height, layout in ((640, 480, "tabletop"), (320, 240, "tabletop"), (640, 480, "drop")):
        args = [*overrides(width, height, 10), f"scene.layout={layout}"]
        best: dict[tuple[str, int], float] = {}
        stages: dict = {}
        for _ in range(repeats):
            for mode in ("pipeline", "views8"):
                for count in (few, frames):
                    result = run_child(mode, count, args, scratch)
                    best[mode, count] = min(best.get((mode, count), float("inf")), result["seconds"])
                    stages[mode] = result["stages"]
        rate = {m: (frames - few) / (best[m, frames] - best[m, few]) for m in ("pipeline", "views8")}
        print(
            f"  {width}x{height}, 10 objects, {layout}: separate scenes {rate['pipeline']:6.1f}, "
            f"views {rate['views8']:6.1f}: {rate['views8'] / rate['pipeline']:.2f}x"
        )
        for mode, name in (("pipeline", "separate scenes"), ("views8", "views")):
            print(f"    ms per frame by stage, {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in stages[mode].items()))
    print("\nsequence: scenegen render +experiment=video num_scenes=N, wall seconds of the whole command (best)")
    for count in (1, 3):
        seconds = float("inf")
        for run in range(repeats):
            out = scratch / f"video{count}_{run}"
            command = [sys.executable, "-m", "scenegen.cli", "render", "+experiment=video", f"num_scenes={count}"]
            start = time.perf_counter()
            subprocess.run([*command, f"output_dir={out}", "--no-progress"], check=True, capture_output=True, cwd=REPO)
            seconds = min(seconds, time.perf_counter() - start)
        timings = json.loads((out / "dataset.json").read_text())["timings"]
        print(f"  {count} sequence(s) of 24 frames 256x256: {seconds:.2f} s")
    print(
        "    ms per frame by stage: " + ", ".join(f"{k} {v:.1f}" for k, v in timings["ms_per_frame_by_stage"].items())
    )


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MB. Not ``getrusage``'s
    ``ru_maxrss``: a child keeps its parent's peak there, through fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=80, help="frames per measurement (80)")
    parser.add_argument("--memory-frames", type=int, default=2000, help="frames of the memory run, 0 to skip (2000)")
    parser.add_argument("--main", action=argparse.BooleanOptionalAction, default=True, help="the main comparison")
    parser.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True, help="the scaling table")
    parser.add_argument("--video", action=argparse.BooleanOptionalAction, default=True, help="views, sequences")
    parser.add_argument("--physics", action=argparse.BooleanOptionalAction, default=True, help="settle times, drop")
    parser.add_argument("--shadows", action=argparse.BooleanOptionalAction, default=True, help="the cost of shadows")
    parser.add_argument("--gl", action=argparse.BooleanOptionalAction, default=True, help="GL device, passes, reads")
    parser.add_argument("--settle-scenes", type=int, default=100, help="scenes per settle-time measurement (100)")
    parser.add_argument(
        "--evaluate",
        type=Path,
        metavar="SYNTH",
        help="also time scenegen evaluate of this rendered dataset against --evaluate-target (defaults)",
    )
    parser.add_argument(
        "--evaluate-target", type=Path, default=EVALUATE_TARGET, metavar="COCO_JSON", help="(ycbv_pbr_dev)"
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, frames, rest = args.child[0], int(args.child[1]), args.child[2:]
        child = {
            "bare0": lambda: child_bare(rest, 0, frames),
            "bare4": lambda: child_bare(rest, 4, frames),
            "pipeline": lambda: child_pipeline(rest, frames),
            "views8": lambda: child_pipeline(rest, frames, views=8),
            "memory": lambda: child_memory(rest, frames),
            "settle": lambda: child_settle(rest, frames),
            "gl": lambda: child_gl(rest, frames),
        }[mode]
        print(json.dumps(child()))
        return
    print(f"scenegen benchmark: {os.cpu_count()} cores, {args.frames} frames per measurement")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        if args.main:
            main_comparison(args, scratch)
        if args.scaling:
            scaling(args, scratch)
        if args.memory_frames:
            memory(args, scratch)
        if args.physics:
            physics(args, scratch)
        if args.shadows:
            shadows(args, scratch)
        if args.gl:
            gl_figures(args, scratch)
        if args.video:
            bench_video(args.frames, scratch)
        if args.evaluate:
            bench_evaluate(args.evaluate, args.evaluate_target, scratch)


def bench_evaluate(synthetic: Path, target: Path, scratch: Path) -> None:
    """``scenegen evaluate SYNTH --target TARGET`` with its defaults, end to end in a fresh process (start-up,
    reading, cropping, the probe, k-fold, KID, the report): wall time and the crops it used."""
    out = scratch / "evaluate"
    start = time.perf_counter()
    command = ["evaluate", str(synthetic), "--target", str(target), "--out", str(out), "--no-progress"]
    subprocess.run([sys.executable, "-m", "scenegen.cli", *command], check=True, capture_output=True)
    wall = time.perf_counter() - start
    summary = json.loads((out / "evaluate.json").read_text())
    synthetic_crops, target_crops = (sum(summary["crops"][k].values()) for k in ("synthetic", "target"))
    kfold = "with" if summary["real_only"] else "without"
    print(f"\nevaluate: {synthetic_crops} synthetic and {target_crops} target crops, {kfold} k-fold: {wall:.0f} s")


def main_comparison(args: argparse.Namespace, scratch: Path) -> None:
    main_args = overrides(640, 480, 10)
    bare, _ = throughput("bare0", args.frames, main_args, scratch)
    bare_msaa, _ = throughput("bare4", args.frames, main_args, scratch)
    full = {w: throughput("pipeline", args.frames, overrides(640, 480, 10, w), scratch) for w in (1, 2)}
    print("\n640x480, 10 objects: frames per second at the margin (start-up costs cancelled)")
    print(f"  bare pyrender loop, colour only:         {bare:6.1f}")
    print(f"  bare pyrender loop, pyrender's 4x MSAA:  {bare_msaa:6.1f}")
    for workers, (fps, result) in full.items():
        print(
            f"  full pipeline, workers={workers}:               {fps:6.1f} labelled images/s, "
            f"{fps / bare:.2f}x the bare loop, peak memory {result['peak_mb']:.0f} MB"
        )
    print("  ms per frame by stage, workers=1 (postfx, encode and write run in a thread, beside rendering):")
    print("    " + ", ".join(f"{k} {v:.1f}" for k, v in full[1][1]["stages"].items()))


def scaling(args: argparse.Namespace, scratch: Path) -> None:
    print("\nscaling, workers=1: labelled images/s, and in brackets the ratio to the bare loop")
    print("  " + " " * 11 + "".join(f"{n:>3} objects      " for n in (5, 10, 40)))
    for width, height in ((320, 240), (640, 480), (1280, 720)):
        cells = []
        for n in (5, 10, 40):
            scaled = overrides(width, height, n)
            b, _ = throughput("bare0", args.frames // 2, scaled, scratch)
            p, _ = throughput("pipeline", args.frames // 2, scaled, scratch)
            cells.append(f"{p:6.1f} ({p / b:.2f})    ")
        print(f"  {f'{width}x{height}':<11}" + "".join(cells))


def memory(args: argparse.Namespace, scratch: Path) -> None:
    rss = run_child("memory", args.memory_frames, overrides(320, 240, 10), scratch)["rss_mb"]
    first, last = rss["200"], rss[str(args.memory_frames)]
    print(
        f"\nmemory, one worker, 320x240: {first:.0f} MB after 200 frames, {last:.0f} MB after "
        f"{args.memory_frames} ({100 * (last / first - 1):+.1f}%)"
    )


def physics(args: argparse.Namespace, scratch: Path) -> None:
    print(f"\nphysics: ms to settle one scene, one core, {args.settle_scenes} scenes each (targets: median <= 100 ms")
    print("  at 10 objects, <= 1000 ms at 40)")
    cases = {
        "10 objects on a table": ["scene.layout=drop", "scene.objects_per_scene=[10,10]"],
        "40 objects on a table": ["scene.layout=drop", "scene.objects_per_scene=[40,40]"],
        "+experiment=pile (15-30 in a bin)": ["+experiment=pile"],
    }
    for name, case in cases.items():
        result = run_child("settle", args.settle_scenes, case, scratch)
        ms = 1000 * np.array(result["seconds"])
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        print(
            f"  {name:<36} median {p50:6.1f}, p90 {p90:6.1f}, p99 {p99:6.1f}, max {ms.max():6.1f}; "
            f"{result['calls']} drops ({result['redropped']} objects dropped again), simulated "
            f"{np.median(result['simulated']):.2f} s (median), {result['limit']} at the time limit"
        )
    table = overrides(640, 480, 10)
    tabletop, _ = throughput("pipeline", args.frames, table, scratch)
    dropped, result = throughput("pipeline", args.frames, [*table, "scene.layout=drop"], scratch)
    print(
        f"  full pipeline, 640x480, 10 objects, workers=1: tabletop {tabletop:.1f}, drop {dropped:.1f} labelled "
        f"images/s: {dropped / tabletop:.2f}x (target >= 0.7x); sampling {result['stages']['sample']:.1f} ms per frame"
    )


def shadows(args: argparse.Namespace, scratch: Path) -> None:
    """The pipeline without shadows, then with every frame shadowed at three shadow-map sizes (pyrender's own
    is 2048), then with the default share of shadowed frames (``lighting.shadow_probability``)."""
    base = overrides(640, 480, 10)
    configured = [a for a in base if not a.startswith("lighting.shadow_probability")]
    none, plain = throughput("pipeline", args.frames, base, scratch)
    print("\nshadows, 640x480, 10 objects, workers=1: labelled images/s (ratio to none), colour pass ms per frame")
    print(f"  no shadows:                                   {none:5.1f} (1.00), {plain['stages']['render']:6.1f} ms")
    for size in (512, 1024, 2048):
        every, shaded = throughput(
            "pipeline",
            args.frames,
            [*configured, "lighting.shadow_probability=1", f"render.shadow_map_size={size}"],
            scratch,
        )
        print(
            f"  every frame, render.shadow_map_size={size:<5}        {every:5.1f} ({every / none:.2f}), "
            f"{shaded['stages']['render']:6.1f} ms"
        )
    default, mixed = throughput("pipeline", args.frames, configured, scratch)
    print(
        f"  the default config (shadow_probability, shadow_map_size): {default:5.1f} ({default / none:.2f}), "
        f"{mixed['stages']['render']:6.1f} ms"
    )


def gl_figures(args: argparse.Namespace, scratch: Path) -> None:
    """The figures of the README's GPU table: the GL device, each pass's ms per frame, read-back bytes per frame
    (the full pipeline, workers=1, unshadowed and every frame shadowed)."""
    runs = {}
    for name, probability in (("unshadowed", 0), ("every frame shadowed", 1)):
        configured = [a for a in overrides(640, 480, 10) if not a.startswith("lighting.shadow_probability")]
        runs[name] = run_child("gl", args.frames, [*configured, f"lighting.shadow_probability={probability}"], scratch)
    device = runs["unshadowed"]["device"]
    print(f"\nGL: {device.get('renderer')} ({device.get('vendor')}; OpenGL {device.get('version')})")
    print(f"  EGL devices here: {len(device.get('egl_devices', []))} {device.get('egl_devices', [])}")
    print(f"  640x480, 10 objects, workers=1, {args.frames} frames, ms per frame (a pass includes its read-back):")
    for name, result in runs.items():
        stages, frame = result["stages"], result["per_frame"]
        print(
            f"    {name}: colour pass {stages['render']:.1f} (shadow maps {result['shadow_map_ms']:.1f}, "
            f"{frame['shadow_map']:.2f} a frame), id pass {stages['id_pass']:.1f}, amodal passes "
            f"{stages['amodal']:.1f} ({frame['ids'] - 1:.2f} a frame), backdrop {stages['backdrop']:.1f}"
        )
    frame = runs["unshadowed"]["per_frame"]
    print(
        "  read back per frame, MB: colour pass {:.2f} colour + {:.2f} depth; id and amodal passes {:.2f} ids + "
        "{:.2f} depth".format(*(frame[k] / 1e6 for k in ("colour colour", "colour depth", "ids colour", "ids depth")))
    )


if __name__ == "__main__":
    main()

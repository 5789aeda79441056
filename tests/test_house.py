"""The house rules of the code: the package import graph has no cycle; the command imports no heavy library."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import scenegen

ROOT = Path(scenegen.__file__).parent


def _room(module: str) -> str | None:
    """The sub-package or top-level module (``scenegen.X``) that ``module`` belongs to; None outside scenegen."""
    parts = module.split(".")
    return parts[1] if parts[0] == "scenegen" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions, as absolute names."""
    package = ["scenegen", *path.relative_to(ROOT).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from scenegen import x`
    return found


def package_graph() -> dict[tuple[str, str], set[str]]:
    """Edges (room, room) between scenegen's sub-packages and top-level modules, with the files making each."""
    edges: dict[tuple[str, str], set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        source = _room("scenegen." + ".".join(path.relative_to(ROOT).with_suffix("").parts))
        for module in _imports(path):
            target = _room(module)
            known = target and ((ROOT / target).is_dir() or (ROOT / f"{target}.py").is_file())
            if source and known and target != source:
                edges.setdefault((source, target), set()).add(str(path.relative_to(ROOT.parent)))
    return edges


def find_cycle(edges: dict[tuple[str, str], set[str]]) -> list[tuple[str, str]] | None:
    """The edges of one cycle of the graph, in order; None when it has none (depth-first search)."""
    successors: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        successors.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[tuple[str, str]] | None:
        state[node] = 1
        path.append(node)
        for nxt in successors.get(node, []):
            if state.get(nxt) == 1:
                loop = [*path[path.index(nxt) :], nxt]
                return list(zip(loop, loop[1:], strict=False))
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(successors):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_none_in_a_chain():
    chain = {("a", "b"): {"a.py"}, ("b", "c"): {"b.py"}, ("a", "c"): {"a.py"}}
    assert find_cycle(chain) is None
    assert find_cycle({**chain, ("c", "a"): {"c.py"}}) == [("a", "b"), ("b", "c"), ("c", "a")]


def test_package_graph_sees_module_and_function_level_imports():
    edges = package_graph()
    assert "scenegen/pipeline/run.py" in edges[("pipeline", "formats")]  # module level
    assert "scenegen/cli/commands.py" in edges[("cli", "pipeline")]  # inside the command functions


def test_package_graph_has_no_cycle():
    edges = package_graph()
    cycle = find_cycle(edges)
    shown = "\n".join(f"{a} -> {b}: {', '.join(sorted(edges[(a, b)]))}" for a, b in cycle or [])
    assert cycle is None, f"package import cycle:\n{shown}"


# The rooms in the README's order: each imports only rooms before it (the leaves first, then the data path).
LEAVES = ["errors", "paths", "files", "geometry", "declarations"]
LAYERS = [*LEAVES, "config", "assets", "scene", "labels", "render", "outputs"]
LAYERS += ["dataset", "formats", "pipeline", "tools", "hydra_app", "cli"]


def test_packages_import_only_downwards_in_the_readme_order():
    rooms = {p.stem for p in ROOT.iterdir() if p.suffix == ".py" or p.is_dir()} - {"__init__", "__pycache__"}
    assert rooms == set(LAYERS), sorted(rooms ^ set(LAYERS))  # every room has its place
    upwards = {edge: files for edge, files in package_graph().items() if LAYERS.index(edge[1]) > LAYERS.index(edge[0])}
    assert not upwards, upwards
    readme = (ROOT.parent / "README.md").read_text()
    assert " -> ".join(LAYERS[len(LEAVES) :]) in " ".join(readme.split()), "the README's order is not the test's"


HEAVY = {"cv2", "trimesh", "scipy", "PIL", "hydra", "omegaconf", "pyrender", "OpenGL", "torch", "pybullet", "coacd"}
HEAVY |= {"matplotlib", "yaml", "ray"}


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_the_command_and_its_help_load_no_heavy_library():
    listing = "import sys; print(*sorted({m.split('.')[0] for m in sys.modules}))"
    imported = _python(f"import scenegen.cli; {listing}")
    assert imported.returncode == 0, imported.stderr
    modules = set(imported.stdout.split())
    assert "scenegen" in modules and "argparse" in modules  # the listing works
    assert not HEAVY & modules, sorted(HEAVY & modules)
    help_then_list = (
        "import contextlib, io, scenegen.cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    scenegen.cli.main(['--help'])\n"
        "print(out.getvalue())\n"
    )
    helped = _python(help_then_list + listing)
    assert helped.returncode == 0 and "render" in helped.stdout, helped.stderr
    loaded = set(helped.stdout.splitlines()[-1].split())  # the last line: the modules
    assert not HEAVY & loaded, sorted(HEAVY & loaded)


GL = {"pyrender", "OpenGL"}


@pytest.mark.slow
def test_exports_hold_no_gl_code():
    """GL code lives in render/: no module of formats/ imports a GL library, the GL platform's choice
    (``render/backend.py``) or a render module that imports GL itself (inside functions included), and
    importing every export loads no GL library."""
    render = sorted((ROOT / "render").glob("*.py"))
    drawing = {f"scenegen.render.{p.stem}" for p in render if any(m.split(".")[0] in GL for m in _imports(p))}
    assert {"scenegen.render.renderer", "scenegen.render.silhouette"} <= drawing  # the listing works
    gl = drawing | {"scenegen.render.backend"}
    for path in sorted((ROOT / "formats").rglob("*.py")):
        found = sorted(m for m in _imports(path) if m.split(".")[0] in GL or m in gl or m.rsplit(".", 1)[0] in gl)
        assert not found, f"{path.relative_to(ROOT.parent)} imports {found}"
    imported = _python("import sys, scenegen.formats.registry; print(*sorted({m.split('.')[0] for m in sys.modules}))")
    assert imported.returncode == 0, imported.stderr
    modules = set(imported.stdout.split())
    assert {"scenegen", "cv2"} <= modules and not GL & modules, sorted(GL & modules)


@pytest.mark.slow
def test_help_works_and_export_help_lists_every_export():
    from scenegen.formats.registry import FORMATS

    top = subprocess.run([sys.executable, "-m", "scenegen.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert top.returncode == 0 and "export" in top.stdout and "verify" in top.stdout, top.stderr
    export = subprocess.run(
        [sys.executable, "-m", "scenegen.cli", "export", "--help"], capture_output=True, text=True, timeout=120
    )
    listed = " ".join(export.stdout.split())  # argparse wraps the list
    assert export.returncode == 0 and all(name in listed for name in FORMATS), export.stdout


TOY_EXPORT = '''"""A toy export: a line per frame, its index and its annotated objects; a second one needing depth."""
from pathlib import Path

from scenegen.dataset.record import is_annotated
from scenegen.formats.job import Export, ExportJob


def write_toy(job: ExportJob) -> Path:
    folder = job.dataset_dir / "toy"
    folder.mkdir(exist_ok=True)
    lines = [f"{r['index']} {sum(map(is_annotated, r['annotations']))}" for r in job.records]
    (folder / "frames.txt").write_text("\\n".join(lines) + "\\n")
    return folder / "frames.txt"


def depth_problem(output):
    return None if output.depth_png else "toy_depth needs output.depth_png=true"


EXPORTS = (Export("toy", write_toy), Export("toy_depth", write_toy, needs=depth_problem))
'''


def _scenegen_with(extra: Path, *args: str, package: str = "scenegen.formats") -> subprocess.CompletedProcess[str]:
    """``scenegen ARGS`` in a fresh interpreter whose ``package`` also holds the modules of ``extra``."""
    code = (
        f"import sys, {package}\n"
        f"{package}.__path__.append({str(extra)!r})\n"
        "from scenegen.cli import main\n"
        f"sys.exit(main({list(args)!r}))\n"
    )
    return _python(code)


@pytest.mark.slow
def test_a_new_export_is_one_module(rendered_dataset, tmp_path):
    extra = tmp_path / "more_formats"
    extra.mkdir()
    (extra / "toy.py").write_text(TOY_EXPORT)
    helped = _scenegen_with(extra, "export", "--help")
    assert helped.returncode == 0 and "toy_depth" in " ".join(helped.stdout.split()), helped.stdout + helped.stderr
    dataset = tmp_path / "dataset"
    shutil.copytree(rendered_dataset, dataset)
    done = _scenegen_with(extra, "export", str(dataset), "--format", "toy")
    assert done.returncode == 0, done.stderr
    assert f"wrote {dataset.resolve() / 'toy' / 'frames.txt'}" in done.stdout
    lines = (dataset / "toy" / "frames.txt").read_text().split("\n")[:-1]
    indices = sorted(int(p.stem) for p in (dataset / "labels").glob("*.json"))  # every frame, by its record file
    assert [int(line.split()[0]) for line in lines] == indices
    coco = json.loads((dataset / "annotations" / "coco.json").read_text())  # the COCO export counts the same
    per_image = {image["id"]: 0 for image in coco["images"]}
    for annotation in coco["annotations"]:
        per_image[annotation["image_id"]] += 1
    assert sorted(int(line.split()[1]) for line in lines) == sorted(per_image.values())
    refused = _scenegen_with(extra, "export", str(dataset), "--format", "toy_depth")
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "scenegen: error: --format: toy_depth needs output.depth_png=true"
    ]


def test_an_unknown_export_in_the_config_is_one_line_naming_it(tmp_path):
    from conftest import run_main

    code, _, err = run_main("render", f"output_dir={tmp_path / 'out'}", "num_scenes=1", "output.formats=[coco,nope]")
    assert code == 2 and err.strip().splitlines() == [
        "scenegen: error: config: output.formats: unknown format 'nope'; known: "
        "['coco', 'coco_keypoints', 'yolo', 'yolo_seg', 'bop', 'youtube_vis', 'mot']"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_type_checker_passes():
    """mypy, configured in pyproject.toml: strict on the frame record and the config, lenient elsewhere."""
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT.parent, capture_output=True, text=True, timeout=900
    )
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "Success: no issues found" in checked.stdout

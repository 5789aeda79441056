"""The house rules of the code: the package import graph has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

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
    assert "scenegen/cli.py" in edges[("cli", "pipeline")]  # inside the command functions


def test_package_graph_has_no_cycle():
    edges = package_graph()
    cycle = find_cycle(edges)
    shown = "\n".join(f"{a} -> {b}: {', '.join(sorted(edges[(a, b)]))}" for a, b in cycle or [])
    assert cycle is None, f"package import cycle:\n{shown}"

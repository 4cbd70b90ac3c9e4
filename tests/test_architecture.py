"""The shape of the package: module, class and function sizes, no import cycle between modules
(imports inside functions included), and every import inside a function explained by a comment.

Run ``python tests/test_architecture.py [PATH_PREFIX]`` for a report of what breaks the rules.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "p2pstore"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """The p2pstore modules an import statement loads (a package's ``__init__`` counts as one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        if candidate in MODULES:
            targets.append(candidate)
        elif base in MODULES:
            targets.append(base)
    return targets


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        edges = graph.setdefault(module, set())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in _resolve(module, node, path.name == "__init__.py") if t != module)
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def size_problems() -> list[str]:
    problems = []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            problems.append(f"{path}: module of {len(lines)} lines (> {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse("\n".join(lines))):
            length = (getattr(node, "end_lineno", 0) or 0) - getattr(node, "lineno", 0) + 1
            if isinstance(node, ast.ClassDef) and length > MAX_CLASS_LINES:
                problems.append(f"{path}:{node.lineno}: class {node.name} of {length} lines")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and length > MAX_FUNCTION_LINES:
                problems.append(f"{path}:{node.lineno}: function {node.name} of {length} lines")
    return problems


def inner_import_problems() -> list[str]:
    """Imports inside functions without a comment on their line or above their block of imports."""
    problems = []
    for path in MODULES.values():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    here = lines[node.lineno - 1]
                    above = node.lineno - 2
                    # one comment may explain a block of lazy imports right under it
                    while above >= 0 and lines[above].strip().startswith(("import ", "from ")):
                        above -= 1
                    comment = lines[above].strip().startswith("#") if above >= 0 else False
                    if "#" not in here and not comment:
                        problems.append(f"{path}:{node.lineno}: import inside {func.name} without a comment")
    return sorted(set(problems))


def test_sizes():
    assert size_problems() == []


def test_no_import_cycle():
    assert _strongly_connected(_import_graph()) == []


def test_imports_inside_functions_are_explained():
    assert inner_import_problems() == []


def test_pyproject_lists_every_package():
    """A non-editable install ships only the packages pyproject names: a new sub-package must be
    listed there, or `pip install .` leaves it out."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    assert on_disk - listed == set()


#: The layers in import order (docs/architecture.md): a module imports only its own layer, layers
#: to its left, and the shared leaf modules. The battery keys, parameters and rules are read by the
#: scenario to validate its keys, so they count with it; the battery stage comes after profiles.
LAYERS = ["scenario", "profiles", "batteries", "settlement", "simulate", "store", "jobs", "reports", "cli"]
SHARED = {"errors", "status", "kpis", "registry", "display", "limits", "memory_plan", "disk_plan",
          "progress", "provenance", "csv_cells", "scenario_standard"}
SCENARIO_SIDE = {"p2pstore.batteries.keys", "p2pstore.batteries.params", "p2pstore.batteries.rules",
                 "p2pstore.batteries.builtin_rules", "p2pstore.batteries.dispatch"}


def _layer(module: str) -> str | None:
    if module in SCENARIO_SIDE:
        return "scenario"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_problems() -> list[str]:
    problems = []
    for module, targets in _import_graph().items():
        here = _layer(module)
        if here in SHARED:
            bad = [t for t in targets if _layer(t) not in SHARED]
        elif here in LAYERS:
            rank = LAYERS.index(here)
            bad = [t for t in targets if _layer(t) in LAYERS and LAYERS.index(_layer(t)) > rank]
        else:
            continue
        problems += [f"{module} imports {t} (a layer to its right)" for t in sorted(bad)]
    return problems


def test_layers_import_only_to_their_left():
    assert layer_problems() == []


if __name__ == "__main__":
    prefix = sys.argv[1] if len(sys.argv) > 1 else ""
    for line in size_problems() + inner_import_problems() + layer_problems():
        if prefix in line:
            print(line)
    for cycle in _strongly_connected(_import_graph()):
        if any(prefix.replace("/", ".").removesuffix(".py") in m for m in cycle) or not prefix:
            print("cycle:", " <-> ".join(cycle))

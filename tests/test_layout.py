"""The package's import rule, read from the code: no import cycle (function-level imports included) and no private
name (a leading underscore) taken from another module of the package."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lth_utils"
MODULES = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module of the package, names taken) for every `from . import x` / `from .x import y` in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.append((node.module.split(".")[0], [a.name for a in node.names]))
            else:
                found += [(a.name, []) for a in node.names]
    return [(m, names) for m, names in found if m in MODULES]


def test_the_package_has_no_import_cycle():
    graph = {name: {m for m, _ in _imports(path)} - {name} for name, path in MODULES.items()}
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != "open", f"import cycle: {' -> '.join(trail + [node, nxt])}"
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_module_takes_a_private_name_from_another():
    taken = [(path.name, module, name) for path in MODULES.values() for module, names in _imports(path)
             for name in names if name.startswith("_")]
    assert taken == []
    attributes = []
    for path in MODULES.values():
        aliases = {a.asname or a.name for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module for a in node.names}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                attributes.append((path.name, f"{node.value.id}.{node.attr}"))
    assert attributes == []


# The README's "How the code is organised", bottom to top: a module imports only from its own layer or below.
LAYERS = [
    ("foundations", {"config", "files", "store", "progress", "children", "forkserver_guard"}),
    ("data and models", {"data", "models", "kernels"}),
    ("pruning", {"masks", "pruning", "scorers"}),
    ("training", {"training", "workers"}),
    ("the lottery core", {"imp", "tickets"}),
    ("planning and profiles", {"plan", "profiles"}),
    ("execution", {"costs", "engine", "cluster"}),
    ("results", {"analysis", "comparison", "protocol", "portable", "verdicts", "plots"}),
    ("experiments", {"instability", "double_descent", "init_pruning", "supermask", "landscape"}),
    ("course and command line", {"notebook", "sweep", "__main__"}),
]


def test_every_module_sits_in_one_layer_and_imports_only_from_its_own_or_lower_ones():
    layer_of = {m: i for i, (_, modules) in enumerate(LAYERS) for m in modules}
    assert sorted(layer_of) == sorted(MODULES), "a module missing from LAYERS (and the README's list), or gone"
    upward = [(name, module, LAYERS[layer_of[module]][0]) for name, path in MODULES.items()
              for module, _ in _imports(path) if layer_of[module] > layer_of[name]]
    assert upward == []

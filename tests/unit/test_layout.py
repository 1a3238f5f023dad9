"""The package's import rule, read from the code: no import cycle (function-level imports included) and no private
name (a leading underscore) taken from another module of the package."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lth_utils"
# A unit of the layering: a top-level module, or a subpackage (its folder) taken whole.
MODULES = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | \
    {p.name: p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
FILES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def _dotted(path: Path) -> str:
    """'experiments.signs' for lth_utils/experiments/signs.py, 'experiments' for its __init__.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _file_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(dotted module of the package, names taken) for every relative import in the file: `from . import x`,
    `from .x import y`, and from a subpackage `from ..x import y`."""
    own = _dotted(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            base = [b for b in base if b]
            if node.module:
                found.append((".".join(base + node.module.split(".")), [a.name for a in node.names]))
            else:
                found += [(".".join(base + [a.name]), []) for a in node.names]
    return found


def _unit(dotted: str) -> str:
    return dotted.split(".")[0]


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(unit, names taken) for every import of another unit in the file or, for a subpackage, in any of its files."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [(_unit(m), names) for f in files for m, names in _file_imports(f) if _unit(m) in MODULES]


def test_the_package_has_no_import_cycle():
    """Between files (a subpackage's too), not only between units."""
    graph = {_dotted(f): set() for f in FILES}
    for f in FILES:
        graph[_dotted(f)] |= {m for m, _ in _file_imports(f) if m in graph} - {_dotted(f)}
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
    taken = [(path.name, module, name) for path in FILES for module, names in _file_imports(path)
             for name in names if name.startswith("_")]
    assert taken == []
    attributes = []
    for path in FILES:
        aliases = {a.asname or a.name for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and node.level and not node.module for a in node.names}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                    and node.attr.startswith("_") and not node.attr.startswith("__"):
                attributes.append((path.name, f"{node.value.id}.{node.attr}"))
    assert attributes == []


# The README's "How the code is organised", bottom to top: a module imports only from its own layer or below.
LAYERS = [
    ("foundations", {"foundations"}),
    ("data and models", {"data", "models"}),
    ("pruning", {"pruning"}),
    ("training", {"training"}),
    ("the lottery core", {"lottery"}),
    ("execution and results", {"execution", "results"}),
    ("experiments", {"experiments"}),
    ("course", {"course"}),
    ("command line", {"__main__"}),
]


def test_every_module_sits_in_one_layer_and_imports_only_from_its_own_or_lower_ones():
    layer_of = {m: i for i, (_, modules) in enumerate(LAYERS) for m in modules}
    assert sorted(layer_of) == sorted(MODULES), "a module missing from LAYERS (and the README's list), or gone"
    upward = [(name, module, LAYERS[layer_of[module]][0]) for name, path in MODULES.items()
              for module, _ in _imports(path) if layer_of[module] > layer_of[name]]
    assert upward == []


def test_the_layout_test_reads_a_subpackage_s_imports():
    """The experiments package's planners import the lottery core from two dots up, and its registry its modules."""
    imports = dict(_file_imports(PACKAGE / "experiments" / "signs.py"))
    assert "lottery.imp" in imports and "experiments.imp_runs" in imports
    assert {"lottery", "pruning", "foundations"} <= {m for m, _ in _imports(MODULES["experiments"])}
    assert "experiments.signs" in {m for m, _ in _file_imports(PACKAGE / "experiments" / "__init__.py")}


def test_execution_and_results_share_a_floor_and_never_import_each_other():
    """How a run executes and how its results are read are siblings: either can change without the other."""
    assert "results" not in {m for m, _ in _imports(MODULES["execution"])}
    assert "execution" not in {m for m, _ in _imports(MODULES["results"])}


def test_every_flat_name_of_earlier_releases_imports_the_module_it_names_now():
    """Notebooks and scripts written against `lth_utils.imp` or `from lth_utils import analysis` get the very module
    object the package holds now (one module: monkeypatching and isinstance see the same one)."""
    import importlib

    import lth_utils
    for old, new in lth_utils.MOVED.items():
        module = importlib.import_module(f"lth_utils.{new}")
        assert importlib.import_module(f"lth_utils.{old}") is module, old
        assert getattr(lth_utils, old) is module and module.__spec__.name == f"lth_utils.{new}", old
    assert (PACKAGE / "__init__.py").is_file() and not (PACKAGE / "imp.py").exists()  # no copies left behind

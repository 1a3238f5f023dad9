"""lth_utils: the library behind the Lottery Ticket Hypothesis notebooks, in packages by concern. From the bottom,
each importing only from its own floor or lower ones (tests/unit/test_layout.py reads the imports and checks it):

    foundations   config, seeds, files, store, progress, children, forkserver_guard
    data, models  exact offline datasets as tensors; the paper's networks
    pruning       masks, magnitude (the paper's rates, re-exported as `pruning`), scorers (pruning at initialisation)
    training      loop (train, evaluate; re-exported as `training`), masking, kernels, workers
    lottery       rewind, imp (IMPConfig, the arms, the IMP driver), tickets (your own model)
    execution     engine (local workers, resumable), cluster (Dask), costs
    results       analysis, portable (compact stores), verdicts, plots
    experiments   one module per experiment and the registry; instability, supermask, landscape
    course        profiles, protocol, comparison, readme, notebook, sweep
    __main__      the command line

The modules' flat names of earlier releases (`lth_utils.imp`, `from lth_utils import analysis`, ...) still import
the same module objects (MOVED below), so notebooks and scripts written against them keep working.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

# Flat module name of earlier releases -> where the module lives now (pruning and training are packages that
# re-export their main module, so their old names need no entry).
MOVED = {
    "config": "foundations.config", "files": "foundations.files", "seeds": "foundations.seeds",
    "store": "foundations.store", "progress": "foundations.progress", "children": "foundations.children",
    "forkserver_guard": "foundations.forkserver_guard", "masks": "pruning.masks", "scorers": "pruning.scorers",
    "kernels": "training.kernels", "masking": "training.masking", "workers": "training.workers",
    "imp": "lottery.imp", "rewind": "lottery.rewind", "tickets": "lottery.tickets", "costs": "execution.costs",
    "engine": "execution.engine", "cluster": "execution.cluster", "analysis": "results.analysis",
    "portable": "results.portable", "verdicts": "results.verdicts", "plots": "results.plots",
    "instability": "experiments.instability", "supermask": "experiments.supermask",
    "landscape": "experiments.landscape", "profiles": "course.profiles", "protocol": "course.protocol",
    "comparison": "course.comparison", "readme": "course.readme", "notebook": "course.notebook",
    "sweep": "course.sweep",
}


class _FlatNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `lth_utils.<old name>` as the module it names now: the same object, not a copy (monkeypatching and
    isinstance see one module)."""

    def find_spec(self, fullname, path, target=None):
        package, _, name = fullname.partition(".")
        if package == __name__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def __init__(self):
        self.specs = {}

    def create_module(self, spec):
        module = importlib.import_module(f"{__name__}.{MOVED[spec.name.partition('.')[2]]}")
        self.specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.specs.pop(module.__spec__.name)  # the import system gave it the alias's spec


if not any(isinstance(finder, _FlatNames) for finder in sys.meta_path):
    sys.meta_path.append(_FlatNames())


def __getattr__(name: str):
    """`from lth_utils import analysis` and `lth_utils.engine` for a module not imported yet."""
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

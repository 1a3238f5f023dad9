"""The experiments, one module each, and the registry that everything else derives from: which notebooks plan IMP
runs and which runs (the notebooks and `python -m lth_utils train` share them, so a run trained ahead of time is
exactly the run a notebook then reads), the order `train` takes them in, the trained weights a notebook loads (a
compact store keeps them), and the typed settings each experiment adds to a profile.

    settings = NotebookSettings("paper")     # what notebook.setup returns beside the IMPConfig
    settings.late_rewinding.fractions        # an experiment's knobs in that profile (late_rewinding.SETTINGS["paper"])
    notebook_runs("04", cfg, settings)       # every IMPConfig notebook 04 trains or reads
    train_order()                            # ["02", "03", "01", ...]: what readers need first

Adding an experiment: a module here holding its frozen settings dataclass with one instance per profile, and its
planner; one entry in REGISTRY; its notebook. Nothing else names it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..lottery.imp import IMPConfig
from . import conv, double_descent, imp_runs, init_pruning, late_rewinding, loss_landscapes, quickstart, signs, transfer

Planner = Callable[[IMPConfig, "NotebookSettings"], "list[IMPConfig] | dict[Any, IMPConfig]"]


@dataclass(frozen=True)
class Experiment:
    """A notebook's experiment: the name its settings are read by (`settings.<name>`) and those settings per profile,
    its planner of IMP runs (None: it trains none through the driver), its place in `train`'s order (lower first),
    and which of its runs' trained weights it loads."""
    notebook: str
    title: str
    name: str | None = None
    settings: Mapping[str, Any] | None = None
    runs: Planner | None = None
    train_priority: int | None = None
    weights_read: Callable[[IMPConfig, "NotebookSettings"], set] | None = None


def _landscape_runs(cfg: IMPConfig, settings: NotebookSettings, densities=None) -> dict[str, IMPConfig]:
    return loss_landscapes.runs(cfg, settings, densities)[0]


REGISTRY: dict[str, Experiment] = {e.notebook: e for e in (
    Experiment("00", "quickstart: tickets in your own model", "quickstart", quickstart.SETTINGS),
    Experiment("01", "one-shot pruning", "one_shot", imp_runs.ONE_SHOT, imp_runs.one_shot_runs, train_priority=2),
    Experiment("02", "iterative magnitude pruning", runs=imp_runs.ticket_runs, train_priority=0),
    Experiment("03", "controls: reinitialisation and random pruning", "controls", imp_runs.CONTROLS,
               imp_runs.control_runs, train_priority=1),
    Experiment("04", "late rewinding", "late_rewinding", late_rewinding.SETTINGS, late_rewinding.runs,
               train_priority=4),
    Experiment("05", "mask visualisation", runs=imp_runs.mask_runs, train_priority=3),
    Experiment("06", "double descent", "double_descent", double_descent.SETTINGS),
    Experiment("07", "pruning at initialisation", "init_pruning", init_pruning.SETTINGS, init_pruning.runs,
               train_priority=5),
    Experiment("08", "supermasks and signs", "signs", signs.SETTINGS, signs.runs, train_priority=6),
    Experiment("09", "convolutional tickets", "conv", conv.SETTINGS, conv.runs, train_priority=9),
    Experiment("10", "ticket transfer", "transfer", transfer.SETTINGS, transfer.runs, train_priority=7),
    Experiment("11", "loss landscapes", "landscape", loss_landscapes.SETTINGS, _landscape_runs, train_priority=8,
               weights_read=loss_landscapes.weights_read),
)}

# The notebooks that plan IMP runs.
PLANNED = tuple(n for n, e in REGISTRY.items() if e.runs is not None)
_BY_NAME = {e.name: e for e in REGISTRY.values() if e.name}


@dataclass(frozen=True)
class NotebookSettings:
    """A profile's settings of every experiment, read by name (`settings.late_rewinding` is the registered
    experiment's settings in this profile), and the folder a notebook saves its figures to."""
    profile: str
    figures: str = "../figures"

    def __post_init__(self):
        missing = [e.name for e in _BY_NAME.values() if self.profile not in e.settings]
        if missing:
            raise ValueError(f"profile={self.profile!r} has no settings for experiment(s) {', '.join(missing)}: "
                             f"add one to each module's SETTINGS")

    def __getattr__(self, name: str):
        if name.startswith("__") or name not in _BY_NAME:
            raise AttributeError(f"NotebookSettings has no {name!r}; the experiments' settings: "
                                 f"{', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[name].settings[self.profile]


def notebook_runs(notebook: str, cfg: IMPConfig, settings: NotebookSettings, **knobs) -> list[IMPConfig]:
    """Every IMP config notebook `notebook` (one of PLANNED) trains or reads; `knobs`: the notebook's own parameters
    its planner takes (e.g. 07's methods and densities)."""
    if notebook not in PLANNED:
        raise ValueError(f"notebook={notebook!r} has no IMP runs to plan; allowed: {', '.join(PLANNED)}")
    runs = REGISTRY[notebook].runs(cfg, settings, **knobs)
    return list(runs.values()) if isinstance(runs, dict) else list(runs)


def train_order() -> list[str]:
    """The planned notebooks in the order `train` takes them: what readers need first."""
    return sorted(PLANNED, key=lambda n: REGISTRY[n].train_priority)


def weights_read(profiles) -> frozenset[tuple[str, int, int]]:
    """(run hash, trial, level) whose trained weights some notebook loads, over `profiles` ((IMPConfig,
    NotebookSettings) pairs), besides what a compact store always keeps (portable.keeps_weights)."""
    return frozenset(key for e in REGISTRY.values() if e.weights_read for cfg, settings in profiles
                     for key in e.weights_read(cfg, settings))

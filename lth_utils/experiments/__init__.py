"""The experiments, one module each, and the registry that everything else derives from: which notebooks plan IMP
runs and which runs (the notebooks and `python -m lth_utils train` share them, so a run trained ahead of time is
exactly the run a notebook then reads), the order `train` takes them in, the trained weights a notebook loads (a
compact store keeps them), and the typed settings each experiment adds to a profile.

    cfg, settings = profiles.imp_config("paper"), profiles.NOTEBOOK_SETTINGS["paper"]
    notebook_runs("04", cfg, settings)   # every IMPConfig notebook 04 trains or reads
    train_order()                        # ["02", "03", "01", ...]: what readers need first
    settings.late_rewinding.fractions    # the knobs an experiment adds, typed (profiles.py has one per profile)

Adding an experiment: a module here with its frozen settings dataclass and its planner, a field in
NotebookSettings, an entry in REGISTRY, one settings line per profile in profiles.py, and its notebook.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..imp import IMPConfig
from . import conv, imp_runs, init_pruning, late_rewinding, loss_landscapes, signs, transfer
from .conv import Conv
from .double_descent import DoubleDescent
from .imp_runs import Controls, OneShot
from .init_pruning import InitPruning
from .loss_landscapes import Landscape
from .late_rewinding import LateRewinding
from .quickstart import Quickstart
from .signs import Signs
from .transfer import Transfer


@dataclass(frozen=True)
class NotebookSettings:
    """What each experiment adds on top of a profile's IMPConfig (one instance per profile, profiles.py), and where
    the notebook that reads them saves its figures."""
    profile: str
    controls: Controls
    one_shot: OneShot
    late_rewinding: LateRewinding
    double_descent: DoubleDescent
    init_pruning: InitPruning
    signs: Signs
    quickstart: Quickstart
    transfer: Transfer
    landscape: Landscape
    conv: Conv
    figures: str = "../figures"


Planner = Callable[[IMPConfig, NotebookSettings], "list[IMPConfig] | dict"]


@dataclass(frozen=True)
class Experiment:
    """A notebook's experiment: its planner of IMP runs (None: it trains none through the driver), its place in
    `train`'s order (lower first), and which of its runs' trained weights it loads."""
    notebook: str
    title: str
    runs: Planner | None = None
    train_priority: int | None = None
    weights_read: Callable[[IMPConfig, NotebookSettings], set] | None = None


def _landscape_runs(cfg: IMPConfig, settings: NotebookSettings) -> dict[str, IMPConfig]:
    return loss_landscapes.runs(cfg, settings)[0]


REGISTRY: dict[str, Experiment] = {e.notebook: e for e in (
    Experiment("00", "quickstart: tickets in your own model"),
    Experiment("01", "one-shot pruning", imp_runs.one_shot_runs, train_priority=2),
    Experiment("02", "iterative magnitude pruning", imp_runs.ticket_runs, train_priority=0),
    Experiment("03", "controls: reinitialisation and random pruning", imp_runs.control_runs, train_priority=1),
    Experiment("04", "late rewinding", late_rewinding.runs, train_priority=4),
    Experiment("05", "mask visualisation", imp_runs.mask_runs, train_priority=3),
    Experiment("06", "double descent"),
    Experiment("07", "pruning at initialisation", init_pruning.runs, train_priority=5),
    Experiment("08", "supermasks and signs", signs.runs, train_priority=6),
    Experiment("09", "convolutional tickets", conv.runs, train_priority=9),
    Experiment("10", "ticket transfer", transfer.runs, train_priority=7),
    Experiment("11", "loss landscapes", _landscape_runs, train_priority=8, weights_read=loss_landscapes.weights_read),
)}

# The notebooks that plan IMP runs.
PLANNED = tuple(n for n, e in REGISTRY.items() if e.runs is not None)


def notebook_runs(notebook: str, cfg: IMPConfig, settings: NotebookSettings) -> list[IMPConfig]:
    """Every IMP config notebook `notebook` (one of PLANNED) trains or reads."""
    if notebook not in PLANNED:
        raise ValueError(f"notebook={notebook!r} has no IMP runs to plan; allowed: {', '.join(PLANNED)}")
    runs = REGISTRY[notebook].runs(cfg, settings)
    return list(runs.values()) if isinstance(runs, dict) else list(runs)


def train_order() -> list[str]:
    """The planned notebooks in the order `train` takes them: what readers need first."""
    return sorted(PLANNED, key=lambda n: REGISTRY[n].train_priority)


def weights_read(profiles) -> frozenset[tuple[str, int, int]]:
    """(run hash, trial, level) whose trained weights some notebook loads, over `profiles` ((IMPConfig,
    NotebookSettings) pairs), besides what a compact store always keeps (portable.keeps_weights)."""
    return frozenset(key for e in REGISTRY.values() if e.weights_read for cfg, settings in profiles
                     for key in e.weights_read(cfg, settings))

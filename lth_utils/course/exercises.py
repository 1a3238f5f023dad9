"""The notebooks' exercises as settings, and what running each one costs.

Each notebook ends with exercises; those that rerun the notebook with other parameters are listed here with the
parameters they set (the notebook's text names them as `name=value`, a test holds the two together). What an exercise
trains is planned exactly as the notebook plans it (experiments.REGISTRY's planner with the exercise's knobs), the
levels already in the run store are not counted, and the rest is projected at the time per iteration of the committed
runs (costs.per_iteration over results/*/store):

    table("02", "paper", "../results/paper/runs")   # one row per exercise: what it sets, levels to train, about how long

Only IMP levels are projected. Notebooks 00 and 06 train their own small models as they run, 08 its supermasks and
11 its landscapes: an exercise there costs about what the notebook's own execution took (its provenance cell).
"""
from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import experiments
from ..execution.costs import compact_records, per_iteration, task_iterations
from ..foundations.store import level_dir
from ..lottery.imp import all_tasks, task_key
from .profiles import NOTEBOOK_SETTINGS, handout_profile, imp_config, run_store

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
# What a planned notebook computes beside its IMP levels, not projected.
OWN_WORK = {"08": "; plus its supermasks", "11": "; plus its landscapes (about this execution's time)"}


@dataclass(frozen=True)
class Exercise:
    """Exercise `number` of a notebook: the parameter settings it asks to run, each a dict of the notebook's
    parameters (`profile` among them where the exercise names one; otherwise the handout's). No settings: it reads
    the notebook's own outputs, or asks for a change of code."""
    number: int
    runs: tuple[dict[str, Any], ...] = ()
    code: bool = False  # asks for a change of code, then a rerun


EXERCISES: dict[str, tuple[Exercise, ...]] = {
    "00": (Exercise(1, ({"rewind": 100}, {"rewind": "lr"})), Exercise(2, ({"scope": "layerwise"},)),
           Exercise(3, ({"target_sparsity": 0.98, "rounds": 10},)), Exercise(4, code=True)),
    "01": (Exercise(1, ({"trials": 5},)), Exercise(2), Exercise(3)),
    "02": (Exercise(1, ({"rate": 0.5, "levels": 6},)), Exercise(2, ({"trials": 1},)),
           Exercise(3, ({"iterations": 5000},))),
    "03": (Exercise(1, ({"trials": 3},)), Exercise(2), Exercise(3)),
    "04": (Exercise(1), Exercise(2, ({"profile": "quick", "rewind_points": [100]},)), Exercise(3)),
    "05": (Exercise(1, ({"trials": 3},)), Exercise(2), Exercise(3)),
    "06": (Exercise(1, ({"seed": 1},)), Exercise(2, ({"trials": 5},)), Exercise(3),
           Exercise(4, ({"widths": [8, 10, 12, 14, 16, 18, 20, 24, 32]},))),
    "07": (Exercise(1, ({"methods": ["snip"], "densities": [0.036]},)), Exercise(2), Exercise(3)),
    "08": (Exercise(1, ({"criteria": ["movement"], "trials": 5},)), Exercise(2), Exercise(3, code=True),
           Exercise(4, ({"sign_densities": [0.019]},))),
    "09": (Exercise(1, ({"profile": "quick", "conv_rate": 0.2},)), Exercise(2), Exercise(3)),
    "10": (Exercise(1), Exercise(2, ({"densities": [0.019]},)), Exercise(3), Exercise(4)),
    "11": (Exercise(1, ({"radius": 0.1}, {"radius": 1.0})), Exercise(2), Exercise(3, code=True),
           Exercise(4, code=True)),
}


def literal(name: str, value: Any) -> str:
    """`name=value` as a notebook's text writes it (strings in double quotes)."""
    return f"{name}={json.dumps(value) if isinstance(value, (str, list)) else repr(value)}"


def committed_rates() -> dict[str, float]:
    """{model: seconds per iteration} over every committed compact store (results/*/store), evaluation included."""
    return per_iteration([r for store in sorted(RESULTS.glob("*/store")) for r in compact_records(store)])


def planned(notebook: str, parameters: dict[str, Any], out: str | None = None) -> list:
    """The IMP configs notebook `notebook` trains or reads with `parameters` (its own names; `profile` among them,
    else the handout's), planned by the registry's planner with the knobs it takes; `out`: the run store."""
    parameters = dict(parameters)
    profile = parameters.pop("profile", handout_profile(notebook))
    settings = NOTEBOOK_SETTINGS[profile]
    planner = experiments.REGISTRY[notebook].runs
    if notebook == "11":
        planner = experiments.loss_landscapes.runs
    knobs = set(inspect.signature(planner).parameters) - {"cfg", "settings"}
    imp = {k: v for k, v in parameters.items() if k in ("seed", "trials", "rate", "levels", "iterations")}
    cfg = imp_config(profile, **imp, **({"out": out} if out else {}))
    runs = planner(cfg, settings, **{k: v for k, v in parameters.items() if k in knobs})
    runs = runs[0] if isinstance(runs, tuple) else runs
    return list(runs.values()) if isinstance(runs, dict) else list(runs)


def to_train(configs: list) -> tuple[int, dict[str, int]]:
    """(levels, {model: iterations}) that `configs` and the levels they read need beyond what their run store
    holds."""
    seen, levels, iterations = set(), 0, {}
    for task in all_tasks(configs):
        cfg, trial, level = task
        if task_key(task) in seen or (level_dir(cfg.root, trial, level) / "result.json").is_file():
            continue
        seen.add(task_key(task))
        levels += 1
        iterations[cfg.model] = iterations.get(cfg.model, 0) + task_iterations(cfg, level)
    return levels, iterations


def duration(seconds: float) -> str:
    """A rounded wall time: '40 s', '12 min', '3.4 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def table(notebook: str, profile: str, out: str | None = None, cores: int | None = None) -> pd.DataFrame:
    """One row per run an exercise of `notebook` asks for: what it sets, the profile, the IMP levels it would train
    beyond those in the run store `out` (the notebook's own; another profile's exercise uses that profile's store),
    and about how long they take on `cores` (default: this machine's) at the committed runs' time per iteration."""
    cores = cores or os.cpu_count() or 1
    rates = committed_rates()
    rows = []
    for exercise in EXERCISES[notebook]:
        for parameters in exercise.runs or ({},):
            run_profile = parameters.get("profile", profile)
            sets = ", ".join(literal(k, v) for k, v in parameters.items() if k != "profile")
            row = {"exercise": exercise.number, "sets": sets or ("(a change of code)" if exercise.code else "-"),
                   "profile": run_profile}
            if not (exercise.runs or exercise.code):
                row.update(levels="-", time="none: reads this execution's outputs")
            elif notebook not in experiments.PLANNED:
                row.update(levels="-", time="about as long as this notebook's own execution (provenance below)")
            else:
                configs = planned(notebook, {**parameters, "profile": run_profile},
                                  out if run_profile == profile else str(ROOT / run_store(run_profile)))
                levels, iterations = to_train(configs)
                seconds = sum(n * rates.get(model, 0.0) for model, n in iterations.items())
                row.update(levels=levels, time=(f"about {duration(seconds)} of one core ({duration(seconds / cores)}"
                                                f" on {cores} cores in parallel)" if levels else
                                                "none: every level is in the run store") + OWN_WORK.get(notebook, ""))
            rows.append(row)
    return pd.DataFrame(rows).rename(columns={"levels": "IMP levels to train", "time": "training"})

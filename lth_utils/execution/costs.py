"""What training costs: the seconds per iteration that stored levels took by their records, and the core-hours a
profile's planned runs would take at those rates.

    rates = per_iteration(records)                 # {model: seconds per iteration}, evaluation included
    projected(notebook_runs("09", imp_config("paper"), NOTEBOOK_SETTINGS["paper"]), rates)
    # {"levels": ..., "iterations": ..., "core_hours": ..., "unmeasured": [models without a rate]}

A level's record keeps its wall time (`seconds`, evaluation included) and the iterations it ran, so a rate measured
on the short `standard` levels carries over to the `paper` profile's 50,000 iterations (the same model, batch and
evaluation rule). A projection counts every (run, trial, level) the configs train from an empty store once, with its
full `iterations` (an upper bound where a patience may stop it earlier); a level 0 copied from another run costs only
the iterations it replays to its rewind point. Scoring a pruning-at-initialisation mask and what a notebook trains
itself (supermasks, regressions, instability copies) are not IMP levels and are not counted.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, NamedTuple


from ..lottery.imp import IMPConfig, all_tasks, config_of, copied_dense_level, dense_source, task_key
from ..foundations.store import level_dir, recorded_device, trained_by_trial

MODEL_NAMES = {"lenet_300_100": "LeNet-300-100", "lenet5": "LeNet-5"}


class Record(NamedTuple):
    model: str
    seconds: float
    iterations: int
    device: str = ""  # where it ran (its provenance's device name)


def per_iteration(records: Iterable[Record]) -> dict[str, float]:
    """{model: seconds per iteration}: the records' total seconds over their total iterations, per model (pure; the
    rate that makes a projection add up to the recorded total)."""
    seconds: dict[str, float] = {}
    iterations: dict[str, int] = {}
    for r in records:
        if r.iterations > 0 and r.seconds > 0:
            seconds[r.model] = seconds.get(r.model, 0.0) + r.seconds
            iterations[r.model] = iterations.get(r.model, 0) + r.iterations
    return {model: seconds[model] / iterations[model] for model in sorted(seconds)}


def level_record(cfg: IMPConfig, level: int, row: dict, copied: bool) -> Record:
    """A stored level's cost: its recorded seconds and iterations, or nothing for a level 0 `copied` from its dense
    source (imp.copied_dense_level: its row is the source's, whose training is counted there)."""
    device = recorded_device(row)
    if copied:
        return Record(cfg.model, 0.0, 0, device)
    return Record(cfg.model, float(row.get("seconds") or 0.0), int(row.get("iterations_run") or 0), device)


def stored_level_record(cfg: IMPConfig, trial: int, level: int, row: dict) -> Record:
    """level_record of a level in a run store, where whether it was copied is told by its row."""
    return level_record(cfg, level, row, copied_dense_level(cfg, trial, level, row))


def compact_records(store: str | Path, runs: set[str] | None = None) -> list[Record]:
    """The level records of a compact store (results/<profile>/store, portable.py's layout), without importing it;
    only those of the run folders named in `runs` when given."""

    records = []
    for run in sorted(Path(store).glob("*/levels.json")):
        if (runs is not None and run.parent.name not in runs) or trained_by_trial(run.parent):
            continue  # not asked for, or a run with no IMP levels (08's supermasks)
        cfg = config_of(run.parent, Path(store))
        records += [level_record(cfg, level["level"], level["result"], "copied_from" in level)
                    for level in json.loads(run.read_text())]
    return records


def store_records(store: str | Path) -> list[Record]:
    """The level records of a run store (every run folder with a config.json, every stored level)."""
    from ..foundations.store import level_dir, read_result, stored_levels

    records = []
    for config in sorted(Path(store).glob("*/config.json")):
        cfg = config_of(config.parent, Path(store))
        for trial, level in stored_levels(config.parent):
            row = read_result(level_dir(config.parent, trial, level)) or {}
            records.append(stored_level_record(cfg, trial, level, row))
    return records


def task_iterations(cfg: IMPConfig, level: int) -> int:
    """The iterations one level trains from an empty store: a level 0 copied from its dense source replays only its
    rewind point's iterations; every other level at most `cfg.iterations`."""
    if level == 0 and dense_source(cfg) is not None:
        return cfg.rewind_iteration or 0
    return cfg.iterations


def projected(configs: list[IMPConfig], rates: dict[str, float], pending: bool = False) -> dict:
    """What training every level of `configs` (and the ticket levels their controls read) from an empty store takes
    at `rates`: {"levels", "iterations", "core_hours", "unmeasured"} (unmeasured: models with no rate, not counted).
    `pending`: only the levels their run store (cfg.out) does not hold yet."""
    seen, levels, iterations, seconds, unmeasured = set(), 0, 0, 0.0, set()
    for cfg, trial, level in all_tasks(configs):
        if task_key((cfg, trial, level)) in seen:
            continue
        seen.add(task_key((cfg, trial, level)))
        if pending and (level_dir(cfg.root, trial, level) / "result.json").is_file():
            continue
        n = task_iterations(cfg, level)
        levels, iterations = levels + 1, iterations + n
        if cfg.model in rates:
            seconds += n * rates[cfg.model]
        else:
            unmeasured.add(cfg.model)
    return {"levels": levels, "iterations": iterations, "core_hours": seconds / 3600, "unmeasured": sorted(unmeasured)}


def projection_sentence(profile: str, configs: list[IMPConfig], rates: dict[str, float], cores: int, p: dict) -> str:
    """One sentence for a notebook's provenance: what `profile`'s runs of it would cost at the measured `rates`, as
    `p` = projected(configs, rates) has it."""
    if not p["levels"]:
        return ""
    measured = ", ".join(f"{MODEL_NAMES.get(m, m)} {1000 * rates[m]:.1f} ms" for m in sorted(rates)
                         if any(c.model == m for c in configs))
    missing = (f" ({', '.join(p['unmeasured'])}: no level in this store has a record, so its levels are not counted)"
               if p["unmeasured"] else "")
    return (f"The `{profile}` profile's IMP runs of this notebook would train {p['levels']:,} levels, "
            f"{p['iterations'] / 1e6:.1f} million iterations at most; at the time per iteration of the levels "
            f"in this run store ({measured}, evaluation included) that is about {p['core_hours']:.1f} core-hours, "
            f"{p['core_hours'] / cores:.1f} hours on these {cores} cores{missing}.")

"""What training costs: the seconds per iteration that stored levels took by their records, and the core-hours a
profile's planned runs would take at those rates.

    rates = per_iteration(records)                 # {model: seconds per iteration}, evaluation included
    projected(plan.notebook_runs("09", imp_config("paper"), NOTEBOOK_SETTINGS["paper"]), rates)
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
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, NamedTuple

import pandas as pd

from .imp import IMPConfig, all_tasks, config_of, copied_dense_level, dense_source, task_key
from .store import recorded_device

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
        if runs is not None and run.parent.name not in runs:
            continue
        cfg = config_of(run.parent, Path(store))
        records += [level_record(cfg, level["level"], level["result"], "copied_from" in level)
                    for level in json.loads(run.read_text())]
    return records


def store_records(store: str | Path) -> list[Record]:
    """The level records of a run store (every run folder with a config.json, every stored level)."""
    from .store import level_dir, read_result, stored_levels

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


def projected(configs: list[IMPConfig], rates: dict[str, float]) -> dict:
    """What training every level of `configs` (and the ticket levels their controls read) from an empty store takes
    at `rates`: {"levels", "iterations", "core_hours", "unmeasured"} (unmeasured: models with no rate, not counted)."""

    seen, levels, iterations, seconds, unmeasured = set(), 0, 0, 0.0, set()
    for cfg, trial, level in all_tasks(configs):
        if task_key((cfg, trial, level)) in seen:
            continue
        seen.add(task_key((cfg, trial, level)))
        n = task_iterations(cfg, level)
        levels, iterations = levels + 1, iterations + n
        if cfg.model in rates:
            seconds += n * rates[cfg.model]
        else:
            unmeasured.add(cfg.model)
    return {"levels": levels, "iterations": iterations, "core_hours": seconds / 3600, "unmeasured": sorted(unmeasured)}


def projection_sentence(profile: str, configs: list[IMPConfig], rates: dict[str, float], cores: int) -> str:
    """One sentence for a notebook's provenance: what `profile`'s runs of it would cost at the measured `rates`."""
    p = projected(configs, rates)
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


# The README's per-notebook cost table, read from the provenance paragraphs of the executed notebooks.
COSTS_START, COSTS_END = "<!-- notebook costs: start -->", "<!-- notebook costs: end -->"
_RAN = re.compile(r"This (?:execution took|notebook ran in) ([0-9.]+) minutes")  # the second: before the ledger
_LEVELS = re.compile(r"It asked for (\d+) IMP levels: (\d+) trained in this execution, (\d+) read from the store\. "
                     r"Training all \d+ from an empty store took ([0-9.]+) core-minutes")
_PROJECTED = re.compile(r"profile's IMP runs of this notebook would train [0-9,]+ levels.* about ([0-9.]+) core-hours")


def notebook_costs(paths) -> pd.DataFrame:
    """One row per executed notebook, read from its provenance paragraph: the minutes the execution took, the IMP
    levels it trained and read, the core-minutes that training all of them from an empty store took, and the
    `paper` profile's projected core-hours (NaN where the paragraph has none)."""
    rows = []
    for path in paths:
        outputs = [o for c in json.loads(Path(path).read_text())["cells"] for o in c.get("outputs", [])
                   if "text/markdown" in o.get("data", {})]
        text = "".join(outputs[-1]["data"]["text/markdown"]) if outputs else ""
        ran, levels, paper = _RAN.search(text), _LEVELS.search(text), _PROJECTED.search(text)
        if not ran:
            raise ValueError(f"{path}: its last markdown output is not a provenance paragraph with its wall time")
        recorded = levels is not None or "trained no IMP levels" in text
        n, trained, read, core = levels.groups() if levels else (0, 0, 0, 0.0)
        rows.append({"notebook": Path(path).stem, "minutes": float(ran.group(1)), "levels": int(n),
                     "trained": int(trained), "read": int(read), "core_minutes": float(core), "recorded": recorded,
                     "paper_core_hours": float(paper.group(1)) if paper else float("nan")})
    return pd.DataFrame(rows)


def costs_markdown(table: pd.DataFrame, cores: int) -> str:
    """The README's notebook table: what each committed execution took, the cost of its IMP levels from an empty
    store (each level counted by every notebook that reads it), and the `paper` profile's projection."""
    lines = ["| notebook | this execution (min) | IMP levels trained / read | training them from an empty store "
             f"(core-min; / {cores} cores) | `paper` profile's IMP levels, projected (core-hours; / {cores} cores) |",
             "|---|---|---|---|---|"]
    for r in table.itertuples():
        paper = "" if pd.isna(r.paper_core_hours) else f"{r.paper_core_hours:.0f}; {r.paper_core_hours / cores:.0f}"
        if not r.recorded:
            lines.append(f"| `{r.notebook}` | {r.minutes:.1f} | not recorded (executed before this table existed) | | "
                         f"{paper} |")
            continue
        lines.append(f"| `{r.notebook}` | {r.minutes:.1f} | {r.trained} / {r.read} | "
                     + (f"{r.core_minutes:.0f}; {r.core_minutes / cores:.0f}" if r.levels else "none")
                     + f" | {paper} |")
    lines.append(f"| all | {table['minutes'].sum():.1f} | {table['trained'].sum()} / {table['read'].sum()} | | |")
    return "\n".join(lines)


# The notebooks whose `paper` runs were trained (results/paper/store): the projection is checked against them.
TRAINED_PAPER_NOTEBOOKS = ("01", "02", "03", "05")


def projection_check(rates_store: str | Path, trained_store: str | Path,
                     notebooks=TRAINED_PAPER_NOTEBOOKS) -> dict:
    """The `paper` runs of `notebooks` projected at the rates of `rates_store`'s records, next to what the trained
    `trained_store` recorded for them: {"rates", "projected", "recorded_levels", "recorded_devices" (levels
    per machine), "recorded_iterations", "recorded_core_hours"}."""
    from .plan import notebook_runs
    from .profiles import NOTEBOOK_SETTINGS, imp_config

    rates = per_iteration(compact_records(rates_store))
    configs = [c for n in notebooks for c in notebook_runs(n, imp_config("paper"), NOTEBOOK_SETTINGS["paper"])]
    # the levels of these notebooks' runs (and the runs they read), not those of other notebooks trained since
    recorded = compact_records(trained_store, {cfg.root.name for cfg, _, _ in all_tasks(configs)})
    devices = Counter(r.device or "unrecorded" for r in recorded)
    return {"rates": rates, "projected": projected(configs, rates), "recorded_levels": len(recorded),
            "recorded_devices": dict(devices.most_common()),
            "recorded_iterations": sum(r.iterations for r in recorded),
            "recorded_core_hours": sum(r.seconds for r in recorded) / 3600}


def store_sentence(store: str, cores: int, root: Path = Path(".")) -> str:
    """The README's line on what the compact store `root / store` took to train, each level counted once."""
    records = compact_records(root / store)
    hours = sum(r.seconds for r in records) / 3600
    return (f"Training every level in `{store}` ({len(records)} levels, each counted once) took {hours:.1f} core-hours "
            f"by their records, about {hours / cores:.1f} hours on {cores} cores in parallel: what `make run IMPORT=no` "
            f"trains before the notebooks, which then train their own networks (00's tickets, 04's instability "
            f"copies, 06's regressions, 08's supermasks) as they run.")


def check_sentence(check: dict, rates_store: str, trained_store: str) -> str:
    """The README's line under the cost table: the projection against the paper run's own records."""
    p, rates = check["projected"], check["rates"]
    devices = ", ".join(f"{n} on an {d}" for d, n in check["recorded_devices"].items())
    measured = ", ".join(f"{MODEL_NAMES.get(m, m)} {1000 * r:.2f} ms" for m, r in rates.items())
    return (f"The projection checked against the paper run that was trained: the `paper` runs of notebooks "
            f"{', '.join(TRAINED_PAPER_NOTEBOOKS)} at the time per iteration of the `standard` levels in "
            f"`{rates_store}` ({measured}) project to {p['levels']} levels, {p['iterations'] / 1e6:.2f} million "
            f"iterations and {p['core_hours']:.1f} core-hours; `{trained_store}` records {check['recorded_levels']} "
            f"levels ({devices}), {check['recorded_iterations'] / 1e6:.2f} million iterations and "
            f"{check['recorded_core_hours']:.1f} core-hours of training (a dense level copied into another run "
            f"counted once).")


def readme_block(folder: str = "notebooks", cores: int | None = None,
                 stores=("results/standard/store", "results/paper/store")) -> str:
    """The README's cost section, computed: the table from the executed notebooks in `folder`, what the standard
    store's levels took, and the projection checked against the trained paper run (paths relative to the checkout)."""
    import os

    cores = cores or os.cpu_count() or 1
    root = Path(__file__).resolve().parents[1]
    block = (f"{costs_markdown(notebook_costs(sorted(Path(folder).glob('[0-9][0-9]_*.ipynb'))), cores)}\n\n"
             f"Computed by `python -m lth_utils costs` from the provenance cells of the notebooks in `{folder}`.")
    if (root / stores[0]).is_dir():
        block += " " + store_sentence(stores[0], cores, root)
    if all((root / s).is_dir() for s in stores):
        block += " " + check_sentence(projection_check(root / stores[0], root / stores[1]), *stores)
    return block

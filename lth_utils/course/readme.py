"""The README's cost section, computed: the per-notebook table read from the provenance records of the executed
notebooks, what the committed stores' levels took to train, and the `paper` projection checked against the paper run
that was trained (costs.py has the records and the projection; this module reads the notebooks and plans).

    print(readme_block("notebooks"))    # python -m lth_utils costs --readme README.md writes it between its markers
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pandas as pd

from ..execution.costs import MODEL_NAMES, compact_records, per_iteration, projected
from ..experiments import PLANNED, notebook_runs
from ..lottery.imp import all_tasks
from .notebook import PROVENANCE_MIME
from .profiles import HANDOUT_PROFILES, NOTEBOOK_SETTINGS, imp_config

# The README's per-notebook cost table, read from the provenance records of the executed notebooks.
COSTS_START, COSTS_END = "<!-- notebook costs: start -->", "<!-- notebook costs: end -->"


def notebook_costs(paths) -> pd.DataFrame:
    """One row per executed notebook, read from its provenance record (notebook.Provenance, the last output of type
    PROVENANCE_MIME): the minutes the execution took, the IMP levels it trained and read, the core-minutes that
    training all of them from an empty store took, and the `paper` profile's projected core-hours (NaN where it
    projects none)."""
    rows = []
    for path in paths:
        records = [o["data"][PROVENANCE_MIME] for c in json.loads(Path(path).read_text())["cells"]
                   for o in c.get("outputs", []) if PROVENANCE_MIME in o.get("data", {})]
        if not records:
            raise ValueError(f"{path}: no provenance record in its outputs (executed before records existed, or its "
                             f"last cell does not show notebook.provenance): execute it again")
        r = records[-1]
        rows.append({"notebook": Path(path).stem, "minutes": r["minutes"], "levels": r["levels"],
                     "trained": r["trained"], "read": r["read"], "core_minutes": r["core_minutes"],
                     "paper_core_hours": float("nan") if r["paper_core_hours"] is None else r["paper_core_hours"]})
    return pd.DataFrame(rows)


# The engine's measured speed-ups (benchmarks/bench.py --engine-speed): its per-notebook projection at today's engine.
ENGINE_RECORD = "benchmarks/results/engine-speed-2core.json"


def engine_projection(path: str | Path) -> dict | None:
    """{"machine", "date", "core_hours": {notebook number: projected core-hours now}} from an engine-speed record, or
    None where there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return {"machine": record["machine"], "date": record["date"][:10],
            "core_hours": {p["notebook"]: p["core_hours_now"] for p in record["projections"]}}


def costs_markdown(table: pd.DataFrame, cores: int, engine: dict | None = None) -> str:
    """The README's notebook table: what each committed execution took, the cost of its IMP levels from an empty
    store (each level counted by every notebook that reads it), and the `paper` profile's projection at the rates the
    committed levels were trained at and, with an `engine_projection`, at today's engine."""
    now = engine["core_hours"] if engine else {}
    lines = ["| notebook | this execution (min) | IMP levels trained / read | training them from an empty store "
             f"(core-min; / {cores} cores) | `paper` profile's IMP levels, projected (core-hours; / {cores} cores) |"
             + (f" the same at today's engine (core-hours; / {cores} cores) |" if engine else ""),
             "|---|---|---|---|---|" + ("---|" if engine else "")]
    for r in table.itertuples():
        paper = "" if pd.isna(r.paper_core_hours) else f"{r.paper_core_hours:.0f}; {r.paper_core_hours / cores:.0f}"
        hours = None if pd.isna(r.paper_core_hours) else now.get(r.notebook[:2])
        today = "" if not engine else " |" if hours is None else f" {hours:.0f}; {hours / cores:.0f} |"
        lines.append(f"| `{r.notebook}` | {r.minutes:.1f} | {r.trained} / {r.read} | "
                     + (f"{r.core_minutes:.0f}; {r.core_minutes / cores:.0f}" if r.levels else "none")
                     + f" | {paper} |{today}")
    lines.append(f"| all | {table['minutes'].sum():.1f} | {table['trained'].sum()} / {table['read'].sum()} | | |"
                 + (" |" if engine else ""))
    return "\n".join(lines)


# The notebooks whose `paper` IMP runs were trained (results/paper/store): those whose handouts are in the paper
# profile and plan IMP runs (06's regressions are an experiment of its own). The projection is checked against them.
TRAINED_PAPER_NOTEBOOKS = tuple(sorted(n for n, profile in HANDOUT_PROFILES.items()
                                       if profile == "paper" and n in PLANNED))


def projection_check(rates_store: str | Path, trained_store: str | Path,
                     notebooks=TRAINED_PAPER_NOTEBOOKS) -> dict:
    """The `paper` runs of `notebooks` projected at the rates of `rates_store`'s records, next to what the trained
    `trained_store` recorded for them: {"rates", "projected", "recorded_levels", "recorded_devices" (levels
    per machine), "recorded_iterations", "recorded_core_hours"}."""
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
    cores = cores or os.cpu_count() or 1
    root = Path(__file__).resolve().parents[2]
    engine = engine_projection(root / ENGINE_RECORD)
    table = notebook_costs(sorted(Path(folder).glob('[0-9][0-9]_*.ipynb')))
    block = (f"{costs_markdown(table, cores, engine)}\n\n"
             f"Computed by `python -m lth_utils costs` from the provenance cells of the notebooks in `{folder}`"
             + (f"; the last column is the same projection at the engine's speed-ups measured by `benchmarks/bench.py "
                f"--engine-speed` (`{ENGINE_RECORD}`: {engine['machine']}, {engine['date']}; the README's Engine "
                f"speed section)." if engine else "."))
    if (root / stores[0]).is_dir():
        block += " " + store_sentence(stores[0], cores, root)
    if all((root / s).is_dir() for s in stores):
        block += " " + check_sentence(projection_check(root / stores[0], root / stores[1]), *stores)
    return block

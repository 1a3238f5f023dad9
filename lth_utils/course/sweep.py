"""Notebook sweeps: papermill executions of notebooks over a parameter grid, one output notebook per grid point,
fanned out to a Dask cluster when one is named (--scheduler or $DASK_SCHEDULER_ADDRESS) or to local workers.

    python -m lth_utils sweep --notebooks 02 --grid seed 0 1 2 --grid profile smoke --output-dir sweeps/seeds

Each point writes `<output-dir>/<notebook>/<name=value,...>.ipynb` (atomically, when it has finished) with its own
figures folder beside it, so a sweep never overwrites the handouts' figures; its runs go to one shared run store
(`<output-dir>/runs` unless `--set out ...`), where the per-level locks let points share levels. A point that fails
is reported with its error and the others go on; running the same sweep again skips the finished points. The tidy
tables: `points.csv` (one row per point: status, minutes, error) and `results.csv` (one row per IMP result the
points' notebooks read: point parameters, arm, criterion, trial, level, density, accuracy, early-stop iteration).
"""
from __future__ import annotations

import ast
import itertools
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from ..foundations.config import ConfigError
from .notebook import execute_one, notebook_paths


def parse_value(text: str) -> Any:
    """A grid or --set value: a Python literal where it is one (1, 0.2, None, [0.1, 0.2]), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def grid_points(grid: dict[str, list]) -> list[dict[str, Any]]:
    """The cartesian product of the grid's values, in order; an empty grid is one point with no parameters."""
    for name, values in grid.items():
        if not values:
            raise ConfigError("grid", name, f"at least one value for {name}, as in --grid {name} 0 1 2")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def point_name(point: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items()).replace("/", "_").replace(" ", "") or "default"


def _run_point(path: str, target: str, parameters: dict) -> dict:
    """One grid point, in a worker: its notebook executed into `target`; never raises for a failing notebook."""
    started = time.time()
    try:
        execute_one(Path(path), Path(target), parameters, progress=False)
        return {"status": "done", "minutes": (time.time() - started) / 60, "error": ""}
    except Exception as exc:  # a failed point is reported, the others go on
        ename = getattr(exc, "ename", type(exc).__name__)
        evalue = getattr(exc, "evalue", str(exc))
        return {"status": "failed", "minutes": (time.time() - started) / 60, "error": f"{ename}: {evalue}"[:500]}


def plan_points(notebooks: list[str], grid: dict[str, list], fixed: dict[str, Any], output_dir: Path,
                ) -> list[dict[str, Any]]:
    """Every (notebook, grid point) with its output path and full parameters."""
    output_dir = Path(output_dir).resolve()
    rows = []
    for path in notebook_paths(notebooks):
        for point in grid_points(grid):
            folder = output_dir / path.stem
            target = folder / f"{point_name(point)}.ipynb"
            parameters = {"out": str(output_dir / "runs"), "workers": 1,
                          "figures": str(folder / f"{point_name(point)}-figures"), **fixed, **point}
            rows.append({"notebook": path.stem, **{f"param_{k}": v for k, v in point.items()},
                         "path": str(path), "target": str(target), "parameters": parameters})
    return rows


def run_sweep(notebooks: list[str], grid: dict[str, list], output_dir, fixed: dict[str, Any] | None = None,
              scheduler: str | None = None, workers: int = 0, progress: bool = True) -> pd.DataFrame:
    """Execute every point not finished yet; returns (and writes) the points table. See the module docstring."""
    output_dir = Path(output_dir)
    rows = plan_points(notebooks, grid, fixed or {}, output_dir)
    todo = [r for r in rows if not Path(r["target"]).is_file()]
    for r in rows:
        if r not in todo:
            r.update(status="stored", minutes=0.0, error="")
    tasks = [(r["path"], r["target"], r["parameters"]) for r in todo]
    from ..execution.engine import cluster_address
    address = cluster_address(scheduler)
    bar = tqdm(total=len(tasks), desc=f"sweep: {len(tasks)} point(s) to run, {len(rows) - len(tasks)} stored",
               disable=not progress or not tasks)
    if address and tasks:
        from ..execution import cluster
        with cluster.connect(address) as client:
            futures = client.map(_run_point, *zip(*tasks), pure=False, retries=1)
            for row, future in zip(todo, futures):
                row.update(future.result())
                bar.update()
    elif tasks:
        from ..execution.engine import parallel_map
        n = workers or max(1, min(os.cpu_count() or 1, len(tasks)))
        for row, outcome in zip(todo, parallel_map(_run_point, tasks, workers=n, progress=False)):
            row.update(outcome)
        bar.update(len(tasks))
    bar.close()
    table = pd.DataFrame([{k: v for k, v in r.items() if k not in ("path", "parameters")} for r in rows])
    output_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(output_dir / "points.csv", index=False)
    results = results_table(rows)
    results.to_csv(output_dir / "results.csv", index=False)
    return table


def results_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per stored IMP result that each finished point's notebook reads (notebooks with planned runs)."""
    from ..experiments import PLANNED, notebook_runs
    from ..execution.engine import write_summary
    from .profiles import NOTEBOOK_SETTINGS, imp_config
    from ..lottery.imp import IMPConfig
    frames = []
    fields = {f for f in IMPConfig.__dataclass_fields__}
    for r in rows:
        number = r["notebook"][:2]
        if r.get("status") not in ("done", "stored") or number not in PLANNED:
            continue
        params = r["parameters"]
        profile = params.get("profile", "standard")
        cfg = imp_config(profile, **{k: v for k, v in params.items() if k in fields})
        for run in dict.fromkeys(notebook_runs(number, cfg, NOTEBOOK_SETTINGS[profile])):
            try:
                summary = write_summary(run)
            except RuntimeError:  # a run the notebook did not complete (it failed on the way)
                continue
            frames.append(summary.assign(notebook=r["notebook"], criterion=run.criterion, ablation=run.ablation,
                                         draw=run.draw, **{k: v for k, v in r.items() if k.startswith("param_")}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

"""Run IMP configs: every (arm, trial, level) task in dependency order, on parallel single-thread CPU workers.

    summaries = run([IMPConfig(arm="ticket"), IMPConfig(arm="reinit")])   # {config: DataFrame}
    summary = run_imp(IMPConfig(levels=3, trials=2))

Why single-thread workers: on the 2-core machines two single-thread processes train ~1.4x more models per second
than one two-thread process (small matmuls do not scale across threads). Every CPU task runs with exactly one
thread, in a worker or in this process alike, so the bits of a result never depend on `workers`.

Tasks read their inputs from the run store and write their outputs there, so a task is the unit of resumption: a
run killed at any moment and started again skips every level whose result.json exists.
"""
from __future__ import annotations

import os
import queue
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import NamedTuple

import pandas as pd

from .costs import Record, stored_level_record
from ..lottery.imp import IMPConfig, Task, all_tasks, dependencies, prepare, run_level, start_iteration, task_key, tasks_of
from ..foundations.progress import tqdm
from ..training.loop import single_thread
from ..foundations.store import (SUMMARY_COLUMNS, check_provenance, check_writable, level_dir, read_result,
                                 stored_levels, write_csv)
from ..training.workers import PROGRESS, in_worker, parallel_map, pool_context, stopping_workers_on_interrupt, worker_init


def _worker_run(task: Task) -> dict:
    cfg, trial, level = task
    progress = PROGRESS.get("queue")
    return run_level(cfg, trial, level, on_progress=(lambda n: progress.put(n)) if progress is not None else None)


def default_workers(configs: list[IMPConfig], pending: list[Task]) -> int:
    if any(c.device != "cpu" for c in configs):
        return 1  # one accelerator: run its tasks one after another in this process
    requested = max(c.workers for c in configs)
    if requested:
        return requested
    chains = len({(task_key(t)[0], t[1]) for t in pending})  # independent (config, trial) chains
    return max(1, min(os.cpu_count() or 1, chains))


# Every level this process's runs asked for: (run folder, trial, level) -> whether it was trained here rather than read,
# and its record (costs.stored_level_record: a dense level copied from another run costs nothing). Notebooks report
# it in their provenance (levels trained vs read, cost from scratch).
class LedgerEntry(NamedTuple):
    trained: bool
    record: Record


LEDGER: dict[tuple[str, int, int], LedgerEntry] = {}


def _record(tasks: list[Task], pending: list[Task]) -> None:
    trained = {(str(c.root), t, l) for c, t, l in pending}
    for cfg, trial, level in tasks:
        key = (str(cfg.root), trial, level)
        row = read_result(level_dir(cfg.root, trial, level)) or {}
        before = LEDGER.get(key)
        LEDGER[key] = LedgerEntry(key in trained or (before is not None and before.trained),
                                  stored_level_record(cfg, trial, level, row))


def ledger_summary() -> dict:
    """{"levels", "trained", "read", "core_minutes", "trials"} over LEDGER (core_minutes: the training time of all
    those levels as recorded, whether trained now or earlier)."""
    trained = sum(e.trained for e in LEDGER.values())
    return {"levels": len(LEDGER), "trained": trained, "read": len(LEDGER) - trained,
            "core_minutes": sum(e.record.seconds for e in LEDGER.values()) / 60,
            "trials": 1 + max((t for _, t, _ in LEDGER), default=-1)}


def run(configs: list[IMPConfig] | IMPConfig, progress: bool = True, workers: int | None = None,
        scheduler: str | None = None) -> dict[IMPConfig, pd.DataFrame]:
    """Run (or read back) every config; returns {config: its summary DataFrame}, also written to summary.csv.
    `scheduler` (or $DASK_SCHEDULER_ADDRESS): run the tasks on that Dask cluster instead of local workers."""
    configs = [configs] if isinstance(configs, IMPConfig) else list(configs)
    for out in {cfg.out for cfg in configs}:
        check_writable(out)
    for cfg in configs:
        prepare(cfg)
    tasks = all_tasks(configs)
    pending = []
    for cfg, trial, level in tasks:
        directory = level_dir(cfg.root, trial, level)
        row = read_result(directory)
        if row is None:
            pending.append((cfg, trial, level))
        else:  # a stored level is read as this run's own only if it was computed like one
            check_provenance(row, directory, cfg.device, cfg.foreign_ok)
    n_workers = workers or default_workers(configs, pending)
    total = sum(_budget(t) for t in pending)
    remote = cluster_address(scheduler) if pending else None
    client = None
    if remote:
        from . import cluster
        client = cluster.connect(remote)  # fails within seconds, naming the address, before any work
    desc = f"IMP {len(pending)} level(s) to train, {len(tasks) - len(pending)} stored"
    with tqdm(total=total, desc=desc, unit="it", disable=not progress or not pending, smoothing=0.05,
              mininterval=2.0) as bar:
        if client is not None:
            with client:
                cluster.run_tasks(client, pending, task_key, dependencies, bar, _budget)
        elif n_workers <= 1:
            with single_thread():
                for task in pending:
                    run_level(*task, on_progress=bar.update)
        else:
            stored = {task_key(t) for t in tasks if t not in pending}
            _run_pool(pending, stored, n_workers, bar)
        bar.total = bar.n  # the total is the budget; levels stopped by patience leave the rest of it unused
        bar.refresh()
    _record(tasks, pending)
    return {cfg: write_summary(cfg) for cfg in configs}


def _budget(task: Task) -> int:
    cfg, _, level = task
    return cfg.iterations - start_iteration(cfg, level)


def cluster_address(scheduler: str | None) -> str | None:
    """The Dask scheduler to run on: `scheduler`, else $DASK_SCHEDULER_ADDRESS (Dask's own convention), else None."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


def _run_pool(pending: list[Task], done: set, n_workers: int, bar) -> None:
    """Run `pending` tasks as their dependencies finish; `done` holds the keys of tasks already stored."""
    context = pool_context()
    done = set(done)
    remaining = {task_key(t): t for t in pending}
    messages = context.Queue()
    with ProcessPoolExecutor(n_workers, mp_context=context, initializer=worker_init, initargs=(messages,)) as pool, \
            stopping_workers_on_interrupt(pool):
        running: dict[Future, Task] = {}
        while remaining or running:
            for key, task in list(remaining.items()):
                if len(running) >= n_workers:
                    break
                if all(task_key(d) in done for d in dependencies(*task)):
                    running[pool.submit(_worker_run, task)] = task
                    del remaining[key]
            finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            _drain(messages, bar)
            for future in finished:
                task = running.pop(future)
                future.result()  # re-raise a worker's error here
                done.add(task_key(task))
        _drain(messages, bar)


def _drain(messages, bar) -> None:
    while True:
        try:
            bar.update(messages.get_nowait())
        except queue.Empty:
            return


def write_summary(cfg: IMPConfig) -> pd.DataFrame:
    """Write summary.csv with every level stored in the run (whatever was asked for), and return the DataFrame of
    the levels `cfg` asks for (one row per trial and level)."""
    root = cfg.root
    wanted = [(t, l) for (_, t, l) in tasks_of(cfg)]
    stored = {key: read_result(level_dir(root, *key)) for key in stored_levels(root)}
    missing = [key for key in wanted if key not in stored]
    if missing:
        raise RuntimeError(f"run {root} has no result for (trial, level) {missing[:5]}")
    write_csv(root / "summary.csv", list(stored.values()), ["arm"] + SUMMARY_COLUMNS)
    return pd.DataFrame([stored[key] for key in wanted], columns=["arm"] + SUMMARY_COLUMNS + ["iterations_run"])


def run_imp(cfg: IMPConfig, progress: bool = True) -> pd.DataFrame:
    return run([cfg], progress=progress)[cfg]


__all__ = ["run", "run_imp", "write_summary", "ledger_summary", "default_workers", "in_worker", "parallel_map",
           "single_thread"]  # in_worker, parallel_map and single_thread live in workers.py and training.py

"""Single-thread worker processes: the pool every parallel CPU computation of the package runs on.

    results = parallel_map(train_copy, [(cfg, 0), (cfg, 1)])   # [train_copy(cfg, 0), train_copy(cfg, 1)]
    row = in_worker(refit, cfg, trial, level)                  # one call in a fresh single-thread process

Every worker exits with its parent, leaves Ctrl-C to it and runs torch on one thread with deterministic kernels, as
this process does inside `training.single_thread`, so a result's bits never depend on where it ran. The engine
(engine.py) schedules IMP levels on the same pool; Dask workers (cluster.py) call `call` the same way.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from ..foundations.children import die_with_parent, ignore_interrupts
from ..foundations.progress import tqdm
from .loop import set_training_state, single_thread


def pool_context():
    """Workers are forked from a server process that imported torch and this package once: a spawned worker spends
    ~1.5 s importing them and ~1 s more in its first `use_deterministic_algorithms` (which imports torch._dynamo); a
    forked one starts at once. The server never runs torch ops, so forking it is safe where forking a process that
    has started torch's threads is not. Windows has no forkserver: workers are spawned there (slower to start, the
    same results)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lth_utils.foundations.forkserver_guard", "lth_utils.execution.engine",
                                     "torch._dynamo"])
    return context


PROGRESS: dict = {}  # in a worker: the queue its IMP levels report progress to (engine.py), if any


def worker_init(progress=None) -> None:
    """Every worker: exits with its parent, leaves Ctrl-C to it, trains on one thread, reports to `progress`."""
    die_with_parent()
    ignore_interrupts()
    set_training_state(1, True)
    PROGRESS["queue"] = progress


@contextmanager
def stopping_workers_on_interrupt(pool: ProcessPoolExecutor):
    """On Ctrl-C / 'interrupt kernel': kill the pool's workers at once (a level in training is lost, every stored
    level is kept), say so in one line, and let the interrupt go on."""
    try:
        yield
    except KeyboardInterrupt:
        # ProcessPoolExecutor has no public way to kill its workers; its private `_processes` ({pid: Process} on
        # CPython 3.11, the project's Python) is read defensively: without it the pool is only shut down
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        print("\ninterrupted: the workers were stopped; every finished level is stored, and running the same call "
              "again resumes from there", file=sys.stderr, flush=True)
        raise


def call(fn_and_args):
    """fn(*args) for a (fn, args) pair: what a worker runs."""
    fn, args = fn_and_args
    return fn(*args)


def in_worker(fn, *args):
    """fn(*args) in a fresh single-thread worker process, as the engine's workers train: a process that has already
    run torch ops on several threads does not give the same bits after set_num_threads(1) (measured on the rewind
    replay of a standard run), a worker that starts on one thread does."""
    with ProcessPoolExecutor(1, mp_context=pool_context(), initializer=worker_init) as pool:
        return pool.submit(call, (fn, args)).result()


def parallel_map(fn, arg_tuples: list[tuple], workers: int = 0, progress: bool = True, desc: str = "") -> list:
    """[fn(*args) for args in arg_tuples] on single-thread worker processes (in order); `fn` must be importable.

    For independent trainings outside IMP (instability copies, width sweeps). Same bits as running them here.
    """
    n_workers = workers or max(1, min(os.cpu_count() or 1, len(arg_tuples)))
    if n_workers <= 1:
        with single_thread():
            return [fn(*args) for args in tqdm(arg_tuples, desc=desc, disable=not progress)]
    with ProcessPoolExecutor(n_workers, mp_context=pool_context(), initializer=worker_init) as pool, \
            stopping_workers_on_interrupt(pool):
        results = pool.map(call, [(fn, args) for args in arg_tuples])
        return list(tqdm(results, total=len(arg_tuples), desc=desc, disable=not progress))

"""Instability analysis (Frankle et al. 2020, "Linear Mode Connectivity and the LTH").

From a network's rewind point (iteration k, under the level's mask), train two copies with different data orders,
then evaluate the test error along the straight line between the two trained copies. The error barrier is the
largest rise of that error above the mean of the two ends; a network is stable when the barrier is ~0.

    table = run_instability(cfg, levels=[0, 3, 7])   # one row per (trial, level): barriers and the error paths
    barrier(errors)                                  # max(errors) - (errors[0] + errors[-1]) / 2
    midpoint_excess(alphas, errors)                  # errors at 0.5 - (errors[0] + errors[-1]) / 2
    ticket_stability(table), random_pruning_contrast(table, "ticket, k = 0")   # Frankle et al. 2020's two claims

Copies are stored beside the level they start from (`trial_t/level_l/instability/copy_{0,1}.pt`, `path.json`), so
the analysis resumes and a second call reads them back.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from ..pruning import masks
from ..results.analysis import load_mask, mean_interval, paired_difference
from ..data import load_splits
from ..execution.engine import run
from ..training.workers import parallel_map
from ..foundations.files import atomic_torch_save, atomic_write_text, torch_load
from ..lottery.imp import IMPConfig, derive_seed
from .landscape import line
from ..models import build_model
from ..training.kernels import KERNELS
from ..foundations.store import level_dir, read_result, recorded_kernels
from ..training.loop import train

# 31 points (30 steps) along the path, as Frankle et al. (2020) evaluate it; the training error on the first
# TRAIN_EXAMPLES training images (the whole 55K would cost 31 passes per path).
ALPHAS = np.linspace(0.0, 1.0, 31)
TRAIN_EXAMPLES = 10_000
STABLE = 0.02  # Frankle et al. (2020) call a network stable when its test-error barrier is below 2 percentage points


def barrier(errors) -> float:
    """Error barrier along an interpolation path: max error minus the mean error of the two ends."""
    errors = np.asarray(errors, dtype=float)
    return float(errors.max() - (errors[0] + errors[-1]) / 2)


def midpoint_excess(alphas, errors) -> float:
    """Error at alpha = 0.5 minus the mean error of the two ends: negative when the average of the two copies'
    weights is better than either copy on average (no barrier, and more than that)."""
    errors = np.asarray(errors, dtype=float)
    return float(np.interp(0.5, alphas, errors) - (errors[0] + errors[-1]) / 2)


def _folder(cfg: IMPConfig, trial: int, level: int):
    return level_dir(cfg.root, trial, level) / "instability"


def spawn_point(cfg: IMPConfig, trial: int, level: int) -> tuple[dict[str, torch.Tensor], masks.Mask, int]:
    """(weights, mask, iteration) the two copies start from: the level's rewound weights at iteration k."""
    root = cfg.root
    k = cfg.rewind_iteration
    mask = load_mask(cfg, trial, level)
    if level == 0 and k:
        return torch_load(root / f"trial_{trial}" / "rewind.pt"), mask, k
    return torch_load(level_dir(root, trial, level) / "weights_start.pt"), mask, k


def train_copy(cfg: IMPConfig, trial: int, level: int, copy: int) -> str:
    """Train copy 0 or 1 from the spawn point with its own data order; returns the stored weights' path."""
    path = _folder(cfg, trial, level) / f"copy_{copy}.pt"
    if path.is_file():
        return str(path)
    splits = load_splits(cfg.dataset, cfg.data_root, cfg.device, cfg.train_subset)
    weights, mask, k = spawn_point(cfg, trial, level)
    model = build_model(cfg.model, splits.input_shape, splits.num_classes)
    model.load_state_dict(weights)
    model.to(cfg.device)
    row = read_result(level_dir(cfg.root, trial, level))
    version = recorded_kernels(row) if row else KERNELS  # the copies train with their chain's kernel version
    # only the final weights are used: the test split is evaluated at the end, not along the way (same weights)
    train(model, mask, splits, cfg, data_seed=derive_seed(cfg.seed, trial, level, "instability", copy),
          start_iteration=k, kernels_version=version, test_curve=False)
    atomic_torch_save(path, {name: v.cpu() for name, v in model.state_dict().items()})
    return str(path)


def error_path(cfg: IMPConfig, trial: int, level: int) -> dict[str, list[float]]:
    """{"alpha", "test_error", "train_error"} at each of ALPHAS between the two trained copies (stored as
    path.json). A stored path of another alpha grid (or without the training error) is evaluated again from the
    copies when they are here, and read as it is when they are not (a store imported from its compact form)."""
    stored = _folder(cfg, trial, level) / "path.json"
    copies = [_folder(cfg, trial, level) / f"copy_{c}.pt" for c in (0, 1)]
    if stored.is_file():
        path = json.loads(stored.read_text())
        current = "train_error" in path and np.allclose(path["alpha"], ALPHAS) and len(path["alpha"]) == len(ALPHAS)
        if current or not all(c.is_file() for c in copies):
            return path
    splits = load_splits(cfg.dataset, cfg.data_root, "cpu", cfg.train_subset)
    a, b = (torch_load(c) for c in copies)
    model = build_model(cfg.model, splits.input_shape, splits.num_classes)
    x_train, y_train = (t[:TRAIN_EXAMPLES] for t in splits.train)
    path = {"alpha": ALPHAS.tolist(), "test_error": line(model, a, b, ALPHAS, *splits.test)["error"].tolist(),
            "train_error": line(model, a, b, ALPHAS, x_train, y_train)["error"].tolist()}
    atomic_write_text(stored, json.dumps(path) + "\n")
    return path


def run_instability(cfg: IMPConfig, levels: list[int], progress: bool = True) -> pd.DataFrame:
    """Error barriers for every trial of `cfg` at `levels` (the IMP run is trained first if it is not stored)."""
    if cfg.rewind_iteration is None:
        raise ValueError(f"rewind={cfg.rewind!r}: instability needs a rewind point (init or an iteration k)")
    run([cfg], progress=progress)
    jobs = [(cfg, t, l, c) for t in range(cfg.trials) for l in levels for c in (0, 1)
            if not (_folder(cfg, t, l) / "path.json").is_file()]  # a stored path is read, not retrained
    if jobs:  # every path stored: no empty progress bar
        parallel_map(train_copy, jobs, workers=cfg.workers, progress=progress, desc="instability copies")
    rows = []
    for trial in range(cfg.trials):
        for level in levels:
            path = error_path(cfg, trial, level)
            errors, train_errors = path["test_error"], path.get("train_error")
            density = masks.density(load_mask(cfg, trial, level))
            rows.append({"rewind": cfg.rewind, "trial": trial, "level": level, "percent_remaining": 100 * density,
                         "barrier": barrier(errors), "midpoint_excess": midpoint_excess(path["alpha"], errors),
                         "train_barrier": barrier(train_errors) if train_errors else float("nan"),
                         "error_start": errors[0], "error_end": errors[-1], "alphas": path["alpha"],
                         "errors": errors, "train_errors": train_errors})
    return pd.DataFrame(rows)


def ticket_stability(barriers: pd.DataFrame) -> dict:
    """Frankle et al. (2020): IMP's tickets on LeNet-300-100 are stable. Over the pairs of copies of every probe named
    "ticket, ..." (`barriers`: run_instability's rows with a `probe` column), at its pruned levels: whether every
    barrier lies below STABLE, the pair with the largest barrier, the mean training-error barrier and the share of
    pairs whose midpoint beats the mean of the two ends, with the mean midpoint excess per trial (its pairs averaged)
    and its 95% interval over trials (`midpoint_interval`, mean_interval's dict). The dense network's own copies (level 0, 100% remaining) are
    no ticket: they are returned apart (`dense`), not counted."""
    pairs = barriers[barriers["probe"].str.startswith("ticket")]
    dense = pairs[pairs["percent_remaining"] > 99.9]
    tickets = pairs.drop(dense.index)
    return {"tickets": tickets, "dense": dense, "largest": tickets.loc[tickets["barrier"].idxmax()],
            "stable": bool((tickets["barrier"] < STABLE).all()),
            "mean_train_barrier": tickets["train_barrier"].mean(),
            "midpoint_better": (tickets["midpoint_excess"] < 0).mean(),
            "midpoint_interval": mean_interval(tickets.groupby("trial")["midpoint_excess"].mean())}


def random_pruning_contrast(barriers: pd.DataFrame, ticket_probe: str,
                            random_probe: str = "random pruning, k = 0") -> dict:
    """Frankle et al. (2020): random pruning's subnetworks are unstable where IMP's are stable. Random pruning's barrier
    minus the ticket's from the same initial weights, paired by trial at each probed level (`versus`: mean and 95%
    t-interval), the levels where that interval lies above 0 (`above`), and how many random-pruning pairs reach STABLE
    at each level (`unstable`). `rests_on_intervals`: fewer than half of the random-pruning pairs are unstable by the
    2-pp rule, so a contrast shown here rests on the paired intervals, not on that rule."""
    with_density = {name: barriers[barriers["probe"] == name].assign(density=lambda b: b["percent_remaining"] / 100)
                    for name in (random_probe, ticket_probe)}
    random_rows = with_density[random_probe]
    versus = paired_difference(random_rows, with_density[ticket_probe], "barrier")
    unstable = random_rows.groupby("level")["barrier"].apply(lambda b: int((b >= STABLE).sum()))
    return {"versus": versus, "above": versus[versus["ci_low"] > 0], "unstable": unstable, "pairs": len(random_rows),
            "rests_on_intervals": 2 * int(unstable.sum()) < len(random_rows)}

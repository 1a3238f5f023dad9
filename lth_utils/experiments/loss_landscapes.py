"""Notebook 11: loss landscapes of the ticket and its controls (landscape.py evaluates them), at the IMP levels
nearest the settings' densities. It is the one notebook that reads trained weights at every level it draws, so a
compact store keeps them (`weights_read`).

    configs, levels = runs(cfg, settings)     # ({arm: IMPConfig}, the levels it draws)
    paths = start_to_trained(configs, levels, trials, model, alphas, x_train, y_train)
    lines, barriers = to_dense_parent(configs, levels, trials, model, alphas, x_test, y_test)
    planes = slices(configs, levels, cfg.seed, model, coords, x_train, y_train)
    rises = sharpness_per_trial(configs, levels, trials, cfg.seed, directions, radius, model, x_train, y_train)

Each measure walks the stored networks (the ticket and its controls, trial by trial) and evaluates them with
landscape.py; the random directions are seeded per trial and level, so a rerun on the same thread count (the
notebook sets one) gives the same bits.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..foundations.config import ConfigError
from ..lottery.imp import IMPConfig, derive_seed
from ..foundations.store import level_dir, machine, read_result
from ..results.analysis import load_mask, load_trained, load_weights, mean_interval, stand_in
from . import landscape
from .imp_runs import controls_at, levels_for
from .instability import barrier

ARMS = ("ticket", "reinit", "random_prune")


@dataclass(frozen=True)
class Landscape:
    densities: tuple[float, ...]
    trials: int
    points: int  # along each line and each side of a plane
    examples: int  # training examples each point is evaluated on
    sharpness_directions: int


SETTINGS: dict[str, Landscape] = {  # per profile
    "smoke": Landscape(densities=(0.513,), trials=2, points=5, examples=500, sharpness_directions=3),
    "quick": Landscape(densities=(0.211,), trials=2, points=11, examples=2000, sharpness_directions=4),
    "standard": Landscape(densities=(0.211, 0.07), trials=3, points=21, examples=5000, sharpness_directions=10),
    # every trial and the three densities, on 10,000 training images: a point of a slice costs a forward pass over
    # them, and the full 55,000 at 41x41 points would take `make run` about 2 hours on one thread for a loss that
    # 10,000 images already estimate (the paper trains no landscapes: this is the notebook's own choice)
    "paper": Landscape(densities=(0.211, 0.07, 0.019), trials=5, points=31, examples=10_000, sharpness_directions=20),
}


def runs(cfg: IMPConfig, settings, densities=None) -> tuple[dict[str, IMPConfig], list[int]]:
    """({arm: config} for the ticket (notebooks 02-03's run) to the deepest, and its controls at each, of the IMP
    levels nearest the settings' densities (or `densities`), with its trials; those levels)."""
    own = settings.landscape
    levels = levels_for(cfg, own.densities if densities is None else densities)
    base = dataclasses.replace(cfg, levels=max(levels), target_density=None, trials=min(own.trials, cfg.trials))
    return controls_at(base, levels), levels


def weights_read(cfg: IMPConfig, settings) -> set[tuple[str, int, int]]:
    """(run hash, trial, level) whose trained weights the notebook loads: the ticket and its controls at its levels,
    in every trial."""
    configs, levels = runs(cfg, settings)
    return {(c.hash, t, l) for c in configs.values() for t in range(c.trials) for l in levels}


def stand_ins(configs: dict[str, IMPConfig], levels, trials: int) -> pd.DataFrame:
    """One row per trained network the notebook draws (every arm and trial at its levels, and the ticket's dense level
    0): `stand_in` where it reads weights retrained on another CPU model (`retrain-weights --here`) because the
    imported store lacks the originals, with the final test accuracy of the stored level and of the stand-in and the
    machines that trained each."""
    rows = []
    keys = {("ticket", 0)} | {(arm, level) for arm in ARMS for level in levels}
    for arm, level in sorted(keys, key=lambda k: (k[1], ARMS.index(k[0]))):
        for trial in range(trials):
            stored = read_result(level_dir(configs[arm].root, trial, level))
            retrained = stand_in(configs[arm], trial, level)
            rows.append({"arm": arm, "trial": trial, "level": level, "density": stored["density"],
                         "stand_in": retrained is not None, "final_test_acc": stored["final_test_acc"],
                         "stand_in_final_test_acc": None if retrained is None else retrained["final_test_acc"],
                         "trained_on": machine(stored),
                         "stand_in_trained_on": None if retrained is None else machine({"provenance": retrained["provenance"]})})
    return pd.DataFrame(rows)


def stand_in_sentence(table: pd.DataFrame) -> str:
    """What `stand_ins`' table means for the notebook's reader: which networks are stand-ins, where each was trained,
    and how far the stand-ins' final test accuracy is from the stored levels' (mean over them with its 95% t-interval,
    and the largest gap)."""
    n, retrained = len(table), table[table["stand_in"]]
    if retrained.empty:
        return (f"All {n} trained networks drawn here are the stored ones: the weights each level trained, read "
                f"from the run store to the bit (no stand-ins).")
    gap = 100 * (retrained["stand_in_final_test_acc"] - retrained["final_test_acc"])
    m = mean_interval(gap)
    originals = table[~table["stand_in"]]
    kept = ", ".join(f"{a} at level {l} in {len(g)} trial(s)" for (l, a), g in originals.groupby(["level", "arm"]))
    return (f"**{len(retrained)} of the {n} trained networks drawn here are stand-ins.** The compact store does not "
            f"hold the weights that {', '.join(sorted(set(retrained['trained_on'])))} trained at those levels "
            f"(they were trained before it kept them), so `lth_utils retrain-weights --here` trained them again on "
            f"{', '.join(sorted(set(retrained['stand_in_trained_on'])))}, from each level's stored mask and start "
            f"weights with the same data order and hyperparameters. Training is not bit-identical across CPU models, "
            f"so each is another network of the same protocol, not the stored one: its final test accuracy differs "
            f"from the stored level's by {m['mean']:+.3f} pp on average (95% CI {m['ci_low']:+.3f} to "
            f"{m['ci_high']:+.3f}, over the {len(retrained)}), and by at most {gap.abs().max():.2f} pp. The others "
            f"are the stored networks ({kept or 'none'}).")


def check_knobs(points: int, examples: int, span: float, radius: float) -> None:
    """The notebook's own knobs, before any training: ConfigError names the first that is out of range."""
    for name, value, least in [("points", points, 3), ("examples", examples, 100)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(name, value, f"a whole number >= {least}")
    for name, value in [("span", span), ("radius", radius)]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ConfigError(name, value, "a positive number of filter-normalised units")


def start_to_trained(configs: dict[str, IMPConfig], levels, trials: int, model, alphas, x, y) -> pd.DataFrame:
    """The loss and error along the line from each network's start weights (under its mask) to its trained weights:
    one row per level, arm, trial and alpha (landscape.line's columns)."""
    paths = []
    for level in levels:
        for arm in ARMS:
            for trial in range(trials):
                start = load_weights(configs[arm], trial, level, "start")
                final = load_trained(configs[arm], trial, level)
                mask = load_mask(configs[arm], trial, level)
                start = {k: v * mask[k] if k in mask else v for k, v in start.items()}
                paths.append(landscape.line(model, start, final, alphas, x, y).assign(level=level, arm=arm,
                                                                                      trial=trial))
    return pd.concat(paths, ignore_index=True)


def to_dense_parent(configs: dict[str, IMPConfig], levels, trials: int, model, alphas, x, y
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the lines from each trial's trained dense network, the ticket's level 0, to the trained ticket and random
    pruning at each level; one row per line: its barrier (instability.barrier) and the errors at its two ends)."""
    lines, barriers = [], []
    for level in levels:
        for arm in ("ticket", "random_prune"):
            for trial in range(trials):
                dense = load_trained(configs["ticket"], trial, 0)
                sparse = load_trained(configs[arm], trial, level)
                line = landscape.line(model, dense, sparse, alphas, x, y)
                lines.append(line.assign(level=level, arm=arm, trial=trial))
                barriers.append({"level": level, "arm": arm, "trial": trial, "barrier": barrier(line["error"]),
                                 "dense_error": line["error"].iloc[0], "sparse_error": line["error"].iloc[-1]})
    return pd.concat(lines, ignore_index=True), pd.DataFrame(barriers)


def slices(configs: dict[str, IMPConfig], levels, seed: int, model, coords, x, y) -> dict[tuple[int, str], pd.DataFrame]:
    """{(level, arm): landscape.plane} around trial 0's trained network, along two random filter-normalised
    directions on its surviving weights (seeded per level: every arm of a level draws from the same seed)."""
    planes = {}
    for level in levels:
        for arm in ARMS:
            center = load_trained(configs[arm], 0, level)
            mask = load_mask(configs[arm], 0, level)
            g = torch.Generator().manual_seed(derive_seed(seed, 0, level, "landscape"))
            d1, d2 = landscape.direction(center, mask, g), landscape.direction(center, mask, g)
            planes[(level, arm)] = landscape.plane(model, center, d1, d2, coords, x, y)
    return planes


def sharpness_per_trial(configs: dict[str, IMPConfig], levels, trials: int, seed: int, directions: int,
                        radius: float, model, x, y) -> pd.DataFrame:
    """Per level, arm and trial: the loss rise at `radius` along `directions` random filter-normalised directions
    (landscape.sharpness, mean over the directions), the loss there (`base_loss`), the rise as a multiple of it
    (`relative_rise`) and that multiple's log10 (`log_relative_rise`: the trained losses span orders of magnitude, so
    two networks' relative rises compare as a ratio, a difference of logs)."""
    rises = []
    for level in levels:
        for arm in ARMS:
            for trial in range(trials):
                center = load_trained(configs[arm], trial, level)
                mask = load_mask(configs[arm], trial, level)
                g = torch.Generator().manual_seed(derive_seed(seed, trial, level, "sharpness"))
                drawn = [landscape.direction(center, mask, g) for _ in range(directions)]
                rises.append(landscape.sharpness(model, center, drawn, radius, x, y).assign(level=level, arm=arm,
                                                                                             trial=trial))
    per_trial = pd.concat(rises, ignore_index=True).groupby(["level", "arm", "trial"], as_index=False).agg(
        rise=("rise", "mean"), base_loss=("base_loss", "first"))
    relative = per_trial["rise"] / per_trial["base_loss"]
    return per_trial.assign(relative_rise=relative, log_relative_rise=np.log10(relative))

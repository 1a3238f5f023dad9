"""Notebook 04: late rewinding (Frankle et al. 2019/2020): a ticket chain per rewind point k, rewinding each level's
surviving weights to their values at iteration k of the dense run instead of to initialisation, and fine-tuning
(no rewinding) for comparison; the instability analysis probes some of their levels (instability.py).

    configs = runs(cfg, settings)     # {"k = 0": notebook 02's ticket, "k = 500": ..., "none (fine-tune)": ...}
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from ..foundations.config import ConfigError, whole_in
from ..foundations.store import level_dir, machine, read_result
from ..lottery.imp import IMPConfig


@dataclass(frozen=True)
class LateRewinding:
    fractions: tuple[float, ...]  # rewind points, as fractions of the iterations
    levels: int  # each chain's last level
    trials: int
    instability_levels: tuple[int, ...]  # the levels the instability analysis probes


SETTINGS: dict[str, LateRewinding] = {  # per profile
    "smoke": LateRewinding(fractions=(0.1,), levels=2, trials=1, instability_levels=(0, 2)),
    "quick": LateRewinding(fractions=(0.01, 0.05), levels=7, trials=2, instability_levels=(0, 7)),
    "standard": LateRewinding(fractions=(0.01, 0.05, 0.1), levels=7, trials=2, instability_levels=(0, 3, 7)),
    "paper": LateRewinding(fractions=(0.001, 0.01, 0.03, 0.07), levels=18, trials=5,
                           instability_levels=(0, 3, 7, 12, 15)),
}


def runs(cfg: IMPConfig, settings, trials: int | None = None, rewind_points=None,
         levels: int | None = None) -> dict[str, IMPConfig]:
    """{"k = 0": notebook 02's ticket, "k = <k>": one ticket chain per rewind point, "none (fine-tune)"} to `levels`
    (None: the settings' `late_rewinding.levels`, at most the profile's), with `trials` (None: the settings'
    trials). The rewind points are k = 0 and the settings' fractions of the iterations, or `rewind_points`
    (iterations in (0, iterations)). A level count is no part of a run's identity: fewer levels read the stored
    chains' first levels, more extend them."""
    own = settings.late_rewinding
    if rewind_points is None:
        ks = sorted({max(1, round(f * cfg.iterations)) for f in own.fractions})
    elif not rewind_points or not all(isinstance(k, int) and 0 < k < cfg.iterations for k in rewind_points):
        raise ConfigError("rewind_points", rewind_points, f"a non-empty list of iterations k with 0 < k < "
                                                          f"{cfg.iterations:,} (the profile's iterations per level)")
    else:
        ks = sorted(set(rewind_points))
    least = min(l for l in own.instability_levels if l > 0)  # the instability analysis needs a sparse level
    if levels is not None and not whole_in(levels, least, math.inf):
        raise ConfigError("levels", levels, f"a whole number of pruning levels after the dense one, at least {least} "
                                            f"(the first level the instability analysis probes; None: the profile's "
                                            f"{own.levels})")
    base = dataclasses.replace(cfg, levels=min(cfg.num_levels, own.levels) if levels is None else levels,
                               target_density=None,
                               trials=cfg.trials if trials is not None else min(cfg.trials, own.trials))
    chains = {f"k = {k}": dataclasses.replace(base, rewind="init" if k == 0 else str(k)) for k in [0] + ks}
    return {**chains, "none (fine-tune)": dataclasses.replace(base, rewind="none")}


def dense_parents(configs: dict[str, IMPConfig]) -> pd.DataFrame:
    """Per chain and trial: whether its dense level 0 is k = 0's (the same early-stopping iteration and validation
    loss there, to the bit: a copy, or the same training), its test accuracy and the machine that trained it. A
    chain's level 0 is copied from k = 0's where the rewind point can be replayed on the same machine; a chain
    trained on another CPU model trains its own, another dense network from the same initial weights and data
    order."""
    key = ("early_stop_iteration", "val_loss_at_early_stop")
    first = configs["k = 0"]
    references = {trial: read_result(level_dir(first.root, trial, 0)) for trial in range(first.trials)}  # read once
    rows = []
    for name, c in configs.items():
        for trial in range(c.trials):
            own, reference = read_result(level_dir(c.root, trial, 0)), references.get(trial)
            if own is None or reference is None:
                continue
            rows.append({"chain": name, "trial": trial, "shared": all(own[k] == reference[k] for k in key),
                         "dense test acc": own["test_acc_at_early_stop"], "trained on": machine(own)})
    return pd.DataFrame(rows, columns=["chain", "trial", "shared", "dense test acc", "trained on"])


def dense_parents_sentence(parents: pd.DataFrame) -> str:
    """What dense_parents' table means for the comparisons against k = 0, in words."""
    other = parents[~parents["shared"]]
    if other.empty:
        return "Every chain prunes from k = 0's dense networks (trial by trial, the same level 0)."
    chains = "; ".join(f"{name}: trial{'s' if len(g) > 1 else ''} {', '.join(map(str, g['trial']))} (trained on "
                       f"{', '.join(sorted(set(g['trained on'])))})" for name, g in other.groupby("chain", sort=False))
    return (f"**Not every chain prunes from k = 0's dense networks.** {chains} trained their own dense level: "
            "training is not bit-identical across CPU models, and a late-rewinding chain trained on another machine "
            "cannot replay k = 0's first k iterations to the bit, so it trains a dense network of its own from the "
            "same initial weights and data order. Those trials' masks differ from level 1 on, and their paired "
            "differences against k = 0 hold the difference of dense parents as well as the rewind point's (the "
            "table's dense row, 100% remaining, shows it). Retraining those chains on k = 0's machine would remove "
            "it.")

"""Notebook 09: convolutional tickets: LeNet-5 with the paper's rates for convolutional networks (conv layers 10% per
level, fully connected 20%, output 10%), trained like LeNet-300-100 (Adam 1.2e-3, batch 60, the profile's stopping
rule), its controls and late rewinding, next to LeNet-300-100's ticket.

    configs = runs(cfg, settings)     # {"ticket", "reinit", "random_prune", "late", "mlp"}: IMPConfigs
    runs(cfg, settings, lenet5_levels=5, conv_rate=0.15, rewind_fraction=0.05)   # the notebook's own knobs
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..foundations.config import ConfigError, whole_in
from ..lottery.imp import MAX_LEVELS, IMPConfig
from .imp_runs import controls_at

MODEL = dict(model="lenet5", conv_rate=0.1, rate=0.2)


@dataclass(frozen=True)
class Conv:
    trials: int
    levels: int  # the ticket chain's last level
    control_levels: tuple[int, ...]  # where reinit and random pruning train (empty: every level)
    rewind_fraction: float  # the late-rewinding chain's k, as a fraction of the iterations
    rewind_levels: int  # the late-rewinding chain's last level


SETTINGS: dict[str, Conv] = {  # per profile
    "smoke": Conv(trials=2, levels=2, control_levels=(2,), rewind_fraction=0.25, rewind_levels=1),
    "quick": Conv(trials=2, levels=4, control_levels=(4,), rewind_fraction=0.01, rewind_levels=2),
    "standard": Conv(trials=3, levels=8, control_levels=(4, 8), rewind_fraction=0.01, rewind_levels=4),
    "paper": Conv(trials=5, levels=15, control_levels=(), rewind_fraction=0.01, rewind_levels=15),
}


def runs(cfg: IMPConfig, settings, lenet5_levels: int | None = None, conv_rate: float | None = None,
         rewind_fraction: float | None = None) -> dict[str, IMPConfig]:
    """{name: config}: the LeNet-5 ticket chain to the settings' levels (or `lenet5_levels`) with its trials, its
    reinitialisation and random pruning at `control_levels` (empty: every level; those past `lenet5_levels` dropped),
    a late-rewinding chain (k = `rewind_fraction` of the iterations) to `rewind_levels`, and `mlp`: LeNet-300-100's
    ticket (notebook 02's run) to compare with. `conv_rate`: the conv layers' rate per level (default the paper's
    10%). Each knob is checked here, before any training: an error names it, its value and what is allowed."""
    own = settings.conv
    levels = own.levels if lenet5_levels is None else check_levels(lenet5_levels)
    fraction = own.rewind_fraction if rewind_fraction is None else check_rewind_fraction(rewind_fraction)
    model = {**MODEL, **({} if conv_rate is None else {"conv_rate": conv_rate})}  # IMPConfig checks the rate
    base = dataclasses.replace(cfg, **model, levels=levels, target_density=None, trials=min(own.trials, cfg.trials))
    controls = tuple(level for level in own.control_levels if level <= levels)
    if own.control_levels and not controls:
        controls = (levels,)
    k = max(1, round(fraction * cfg.iterations))
    chains = {**controls_at(base, controls),
              "late": dataclasses.replace(base, rewind=str(k), levels=min(own.rewind_levels, levels))}
    return {**chains, "mlp": cfg}


def check_levels(levels) -> int:
    if not whole_in(levels, 1, MAX_LEVELS):
        raise ConfigError("lenet5_levels", levels, f"an integer from 1 to {MAX_LEVELS} (LeNet-5's last IMP level; "
                                                   "None: the profile's)")
    return levels


def check_rewind_fraction(fraction) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError("rewind_fraction", fraction, "a fraction of the training in (0, 1), such as 0.01 (the "
                                                        "late-rewinding point k; None: the profile's)")
    return float(fraction)

"""Notebook 09: convolutional tickets: LeNet-5 with the paper's rates for convolutional networks (conv layers 10% per
level, fully connected 20%, output 10%), trained like LeNet-300-100 (Adam 1.2e-3, batch 60, the profile's stopping
rule), its controls and late rewinding, next to LeNet-300-100's ticket.

    configs = runs(cfg, settings)     # {"ticket", "reinit", "random_prune", "late", "mlp"}: IMPConfigs
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..lottery.imp import IMPConfig
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


def runs(cfg: IMPConfig, settings) -> dict[str, IMPConfig]:
    """{name: config}: the LeNet-5 ticket chain to the settings' levels with its trials, its reinitialisation and
    random pruning at `control_levels` (empty: every level), a late-rewinding chain (k = `rewind_fraction` of the
    iterations) to `rewind_levels`, and `mlp`: LeNet-300-100's ticket (notebook 02's run) to compare with."""
    own = settings.conv
    base = dataclasses.replace(cfg, **MODEL, levels=own.levels, target_density=None,
                               trials=min(own.trials, cfg.trials))
    k = max(1, round(own.rewind_fraction * cfg.iterations))
    chains = {**controls_at(base, own.control_levels),
              "late": dataclasses.replace(base, rewind=str(k), levels=min(own.rewind_levels, base.levels))}
    return {**chains, "mlp": cfg}

"""Notebook 11: loss landscapes of the ticket and its controls (landscape.py evaluates them), at the IMP levels
nearest the settings' densities. It is the one notebook that reads trained weights at every level it draws, so a
compact store keeps them (`weights_read`).

    configs, levels = runs(cfg, settings)     # ({arm: IMPConfig}, the levels it draws)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..lottery.imp import IMPConfig
from .imp_runs import controls_at, levels_for


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
    "paper": Landscape(densities=(0.211, 0.07, 0.019), trials=5, points=41, examples=55_000, sharpness_directions=20),
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

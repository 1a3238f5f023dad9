"""Notebook 08 (Zhou et al. 2019, "Deconstructing lottery tickets"): other mask criteria than large final weights,
the ticket's masks with their signs kept or redrawn, and supermasks (supermask.py).

    configs = runs(cfg, settings)     # {name: IMPConfig}: the ticket and its controls, a chain per criterion, signs
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from ..pruning import masks
from ..foundations.config import ConfigError
from ..data import Splits
from ..lottery.imp import Arm, IMPConfig, LevelInputs, derive_seed, ticket_mask_at, ticket_rewind_weights
from ..models import build_model, glorot_std
from ..pruning.magnitude import CRITERIA
from .imp_runs import PAPER_DENSITIES, controls, levels_for


@dataclass(frozen=True)
class Signs:
    criteria_levels: int  # each other criterion's chain: its last level
    criteria_trials: int
    densities: tuple[float, ...]  # where the sign ablations train
    trials: int  # of the sign ablations
    supermask_iterations: int
    supermask_eval_every: int
    supermask_trials: int


SETTINGS: dict[str, Signs] = {  # per profile
    "smoke": Signs(criteria_levels=3, criteria_trials=2, densities=(0.8, 0.513), trials=2, supermask_iterations=40,
                   supermask_eval_every=20, supermask_trials=2),
    "quick": Signs(criteria_levels=12, criteria_trials=2, densities=(0.211, 0.036), trials=2,
                   supermask_iterations=2000, supermask_eval_every=500, supermask_trials=2),
    "standard": Signs(criteria_levels=15, criteria_trials=3, densities=(0.211, 0.07, 0.036), trials=3,
                      supermask_iterations=5000, supermask_eval_every=500, supermask_trials=3),
    "paper": Signs(criteria_levels=18, criteria_trials=5, densities=PAPER_DENSITIES, trials=5,
                   supermask_iterations=20_000, supermask_eval_every=1000, supermask_trials=5),
}


def signed_start(cfg: IMPConfig, trial: int, level: int, splits: Splits, rewind: dict, mask: masks.Mask) -> dict:
    """The rewind weights' signs with new magnitudes: the layer's initialisation std (signs_constant) or the
    magnitudes of a fresh initialisation, the reinit arm's (signs_reinit). Biases and unmasked tensors as rewound."""
    fresh = build_model(cfg.model, splits.input_shape, splits.num_classes,
                        seed=derive_seed(cfg.seed, trial, level, "reinit")).state_dict()
    start = dict(rewind)
    for name in mask:
        sign = torch.sign(rewind[name])
        if cfg.arm == "signs_constant":
            start[name] = sign * glorot_std(rewind[name])
        else:
            start[name] = sign * fresh[name].abs()
    return start


def _sign_inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits, model, given_mask) -> LevelInputs:
    """The ticket's mask, from its rewind weights' signs with new magnitudes (signed_start): a control like reinit,
    level for level."""
    mask = ticket_mask_at(cfg, trial, level)
    return LevelInputs(model, mask, signed_start(cfg, trial, level, splits, ticket_rewind_weights(cfg, trial), mask))


# The arms of the sign ablations (imp.ARMS names them).
SIGNS_CONSTANT = Arm("signs_constant", _sign_inputs)
SIGNS_REINIT = Arm("signs_reinit", _sign_inputs)
ARMS = (SIGNS_CONSTANT.name, SIGNS_REINIT.name)


def check_criteria(criteria) -> list[str]:
    criteria = list(criteria)
    allowed = [c for c in CRITERIA if c != "magnitude"]  # magnitude ("large final") is the IMP ticket itself
    unknown = [c for c in criteria if c not in allowed]
    if unknown or not criteria:
        raise ConfigError("criteria", criteria, f"a non-empty list drawn from {', '.join(allowed)} (magnitude, "
                                                f"'large final', is the IMP ticket and always included)")
    return criteria


def runs(cfg: IMPConfig, settings, criteria=None, sign_densities=None) -> dict[str, IMPConfig]:
    """{name: config}: the ticket with its two controls (the runs of notebooks 02-03); an IMP chain per other mask
    criterion (default: all) to the settings' `criteria_levels` with its `criteria_trials`; and both sign ablations
    (signs_constant, signs_reinit) of the ticket's masks at the IMP levels nearest the settings' densities (or
    `sign_densities`, notebook 08's knob) with its trials."""
    own = settings.signs
    criteria = check_criteria([c for c in CRITERIA if c != "magnitude"] if criteria is None else criteria)
    levels = ",".join(map(str, levels_for(cfg, own.densities if sign_densities is None else sign_densities)))
    out = controls(cfg, settings.controls)
    for criterion in criteria:
        out[criterion] = dataclasses.replace(cfg, criterion=criterion, levels=min(own.criteria_levels,
                                             cfg.num_levels), target_density=None,
                                             trials=min(own.criteria_trials, cfg.trials))
    for arm in ARMS:
        out[arm] = dataclasses.replace(cfg, arm=arm, only_levels=levels, trials=min(own.trials, cfg.trials))
    return out

"""Notebook 10 (Morcos et al. 2019, "One ticket to win them all"): a ticket found on one dataset, trained on another
of the same input shape, next to the target's own ticket and its controls.

    configs = runs(cfg, settings)     # {(target dataset, arm): IMPConfig} for both directions of PAIRS
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from ..data import DATASETS, Splits
from ..lottery.imp import Arm, IMPConfig, LevelInputs, input_shape, require, ticket_mask_at, ticket_rewind_weights
from .imp_runs import PAPER_DENSITIES, controls_at, levels_for
from ..results.analysis import bonferroni_interval

# A ticket found on the first of a pair is trained on the second (same input shape).
PAIRS = (("mnist", "fashion_mnist"), ("fashion_mnist", "mnist"))


def _inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits, model, given_mask) -> LevelInputs:
    """The source ticket's mask and rewind weights (cfg.ticket() is the ticket found on `transfer_from`), trained on
    this dataset."""
    return LevelInputs(model, ticket_mask_at(cfg, trial, level), ticket_rewind_weights(cfg, trial))


def _check(cfg: IMPConfig) -> None:
    """Another dataset, of this one's input shape (the list names what is allowed)."""
    same_shape = [d for d in DATASETS if d != cfg.dataset and input_shape(d) == input_shape(cfg.dataset)]
    require(cfg.transfer_from in same_shape, "transfer_from", cfg.transfer_from,
            f"a dataset other than {cfg.dataset} with its input shape {input_shape(cfg.dataset)} (the same "
            f"architecture must take both): {', '.join(same_shape) or 'none'}")


# The transfer arm (imp.ARMS names it): paired by seed with the target dataset's own ticket and controls.
ARM = Arm("transfer", _inputs, fields=("transfer_from",), check=_check)


@dataclass(frozen=True)
class Transfer:
    densities: tuple[float, ...]
    trials: int


SETTINGS: dict[str, Transfer] = {  # per profile
    "smoke": Transfer(densities=(0.8, 0.513), trials=2),
    "quick": Transfer(densities=(0.211, 0.036), trials=2),
    "standard": Transfer(densities=(0.513, 0.211, 0.07, 0.036), trials=3),
    "paper": Transfer(densities=PAPER_DENSITIES, trials=5),
}


def runs(cfg: IMPConfig, settings, densities=None) -> dict[tuple[str, str], IMPConfig]:
    """{(target dataset, arm): config} for both directions of PAIRS. On each target: its own ticket (an IMP chain
    to the deepest compared level), random pruning, reinitialisation and the other dataset's ticket (`transfer` arm)
    at the IMP levels nearest the settings' densities (or `densities`); all with the settings' trials, paired by
    seed. On MNIST these are notebook 02-03's runs (levels and trials do not change a run's identity, so the stored
    runs are read)."""
    own = settings.transfer
    levels = levels_for(cfg, own.densities if densities is None else densities)
    only = ",".join(map(str, levels))
    out = {}
    for source, target in PAIRS:
        chain = dataclasses.replace(cfg, dataset=target, levels=max(levels), target_density=None,
                                    trials=min(own.trials, cfg.trials))
        arms = controls_at(chain, levels)
        out[(target, "ticket")] = chain
        out[(target, "random_prune")], out[(target, "reinit")] = arms["random_prune"], arms["reinit"]
        out[(target, "transfer")] = dataclasses.replace(chain, arm="transfer", transfer_from=source, only_levels=only)
    return out


def random_mask_claim(vs_random: pd.DataFrame) -> dict:
    """Morcos et al. 2019's main claim: a transferred ticket beats a random mask. `vs_random`: the transferred ticket
    minus random pruning with the same per-layer counts, paired by trial, one row per (target, density) case (mean_diff,
    ci_low, ci_high, trials). The cases whose 95% interval lies above 0 (`above`, each with its interval widened to a
    family-wise 95% over all the cases looked at, Bonferroni, and whether it `survives` that) and how many lie
    below."""
    above = vs_random[vs_random["ci_low"] > 0].copy()
    widened = [bonferroni_interval(r["mean_diff"], r["ci_low"], r["ci_high"], int(r["trials"]), len(vs_random))
               for _, r in above.iterrows()]
    above["bonferroni_low"] = [low for low, _ in widened]
    above["bonferroni_high"] = [high for _, high in widened]
    above["survives"] = above["bonferroni_low"] > 0
    return {"cases": len(vs_random), "above": above, "below": int((vs_random["ci_high"] < 0).sum()),
            "trials": int(vs_random["trials"].max())}

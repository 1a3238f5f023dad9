"""Notebook 07: pruning at initialisation (SNIP, GraSP, SynFlow, magnitude) next to the IMP ticket and random pruning,
Frankle et al. 2021's sanity checks, and the gradient-flow diagnostic.

    configs = runs(cfg, settings)     # {(arm, ablation): IMPConfig}, at the paper's densities
    results = engine.run(list(configs.values()))
    sanity = sanity_checks({k: results[c] for k, c in configs.items()})
    flow = gradient_flow_table(configs, levels, splits)

Every method is an arm of the IMP driver (METHODS): level l of a method prunes the ticket's initial weights
once, to exactly the ticket's count at level l, and trains them with the ticket's data order, so method and ticket
differ only in the mask and every difference is paired by trial.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

import torch

from ..pruning import masks, magnitude as pruning, scorers
from ..results.analysis import at_levels, load_mask, mean_interval
from ..foundations.config import ConfigError
from ..data import Splits
from ..lottery.imp import ABLATIONS, Arm, IMPConfig, LevelInputs, derive_seed, level_inputs, require
from ..models import build_model
from ..training.loop import single_thread
from .imp_runs import PAPER_DENSITIES, levels_for

# Each arm prunes the level-0 initial weights once, by its method's scores (scorers.py), to the ticket's count at
# level l, and the network trains from there, paired with the ticket by seed and data order.
METHODS = {"magnitude_init": "magnitude", "snip": "snip", "grasp": "grasp", "synflow": "synflow"}


def scoring_batch(cfg: IMPConfig, trial: int, splits: Splits, purpose: str = "score",
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples SNIP and GraSP score on: GraSP's reference protocol, 10 random training examples per class
    (seeded per trial, so a trial's methods see the same batch). Another `purpose` draws another batch."""
    x, y = splits.train
    idx = scorers.balanced_sample(y, scorers.GRASP_SAMPLES_PER_CLASS,
                                  torch.Generator().manual_seed(derive_seed(cfg.seed, trial, purpose)))
    return x[idx.to(x.device)].cpu(), y[idx.to(y.device)].cpu()


def _inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits, model, given_mask) -> LevelInputs:
    """A pruning-at-initialisation level: the method's mask of the level-0 initial weights at the ticket's count,
    with the arm's ablation; the network starts from those initial weights (or a fresh draw for 'reinit')."""
    method = METHODS[cfg.arm]
    mask = given_mask
    if mask is None:
        data = scoring_batch(cfg, trial, splits) if method in scorers.NEEDS_DATA else None
        with single_thread():  # the scores' bits, and so the ranking, depend on the thread count
            mask = scorers.prune_at_init(method, model, masks.ones_like(model), cfg.remaining_at(level), data,
                                         invert=cfg.ablation == "invert", input_shape=tuple(splits.input_shape))
        if cfg.ablation == "shuffle":  # the same count per layer at random positions: which weights vs how many
            generator = torch.Generator().manual_seed(derive_seed(cfg.seed, trial, level, "shuffle"))
            mask = pruning.random_prune_like(masks.ones_like(model), masks.layer_counts(mask), generator)
    start = model.state_dict()
    if cfg.ablation == "reinit":  # the reinit arm's seed: the same fresh weights as the IMP ticket's control
        start = build_model(cfg.model, splits.input_shape, splits.num_classes,
                            seed=derive_seed(cfg.seed, trial, level, "reinit")).state_dict()
    return LevelInputs(model, mask, start)


def _check(cfg: IMPConfig) -> None:
    require(cfg.criterion == "magnitude", "criterion", cfg.criterion,
            f"magnitude for the {cfg.arm} arm (its method scores the weights)")
    require(cfg.rewind == "init", "rewind", cfg.rewind, f"init for the {cfg.arm} arm (it prunes and trains the "
                                                         f"initial weights)")


def _arm(name: str) -> Arm:
    return Arm(name, _inputs, reads_ticket=False, fields=("ablation",), check=_check, scores_mask=True)


# The arms (imp.ARMS names them).
MAGNITUDE_INIT, SNIP, GRASP, SYNFLOW = (_arm(name) for name in METHODS)


@dataclass(frozen=True)
class InitPruning:
    densities: tuple[float, ...]  # where the methods train
    trials: int
    ablation_densities: tuple[float, ...]  # where the sanity checks train
    ablation_trials: int


SETTINGS: dict[str, InitPruning] = {  # per profile
    "smoke": InitPruning(densities=(0.8, 0.513), trials=2, ablation_densities=(0.513,), ablation_trials=2),
    "quick": InitPruning(densities=(0.211, 0.036), trials=2, ablation_densities=(0.036,), ablation_trials=2),
    "standard": InitPruning(densities=PAPER_DENSITIES, trials=3, ablation_densities=(0.036,), ablation_trials=3),
    "paper": InitPruning(densities=PAPER_DENSITIES, trials=5, ablation_densities=PAPER_DENSITIES, ablation_trials=5),
}


def check_methods(methods) -> list[str]:
    methods = list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ConfigError("methods", methods, f"a non-empty list drawn from {', '.join(METHODS)}")
    return methods


def runs(cfg: IMPConfig, settings, methods=None, densities=None) -> dict[tuple[str, str], IMPConfig]:
    """{(arm, ablation): config}: the ticket (notebooks 02-03's run), random pruning and each
    pruning-at-initialisation method (default: all) at the IMP levels nearest the settings' densities (or
    `densities`), and each method's sanity checks (shuffle, reinit, invert) at the settings' ablation densities with
    its ablation trials (fewer, to fit the profile's budget)."""
    own = settings.init_pruning
    methods = check_methods(list(METHODS) if methods is None else methods)
    levels = ",".join(map(str, levels_for(cfg, own.densities if densities is None else densities)))
    ablation_levels = ",".join(map(str, levels_for(cfg, own.ablation_densities)))
    out = {("ticket", "none"): cfg, ("random_prune", "none"): dataclasses.replace(cfg, arm="random_prune",
                                                                                  only_levels=levels)}
    for method in methods:
        out[(method, "none")] = dataclasses.replace(cfg, arm=method, only_levels=levels,
                                                    trials=min(own.trials, cfg.trials))
        for ablation in ABLATIONS[1:]:  # all but "none"
            out[(method, ablation)] = dataclasses.replace(cfg, arm=method, ablation=ablation,
                                                          only_levels=ablation_levels,
                                                          trials=min(own.ablation_trials, cfg.trials))
    return out

LABELS = {"ticket": "IMP ticket", "random_prune": "random pruning", "magnitude_init": "magnitude at init",
          "snip": "SNIP", "grasp": "GraSP", "synflow": "SynFlow"}
COLORS = {"magnitude_init": "#8c564b", "snip": "#d62728", "grasp": "#9467bd", "synflow": "#e377c2"}


def overview(summaries: dict[str, pd.DataFrame], levels) -> pd.DataFrame:
    """Mean test accuracy at early stop (%) and early-stop iteration of each arm at each level (rows: arms)."""
    rows = []
    for arm, summary in summaries.items():
        part = at_levels(summary, levels).groupby("level")
        for level, group in part:
            rows.append({"arm": LABELS.get(arm, arm), "level": level,
                         "% remaining": round(100 * group["density"].mean(), 2),
                         "test acc (%)": 100 * group["test_acc_at_early_stop"].mean(),
                         "early stop": group["early_stop_iteration"].mean(), "trials": len(group)})
    return pd.DataFrame(rows)


HURTS = "the ablation hurts"  # sanity_verdict's word where the 95% interval shows the ablation hurt
EQUIVALENCE_PP = 0.3  # an ablation "changes nothing" only when a 90% interval of the paired difference lies within this


def sanity_verdict(diffs_pp: pd.Series, margin: float = EQUIVALENCE_PP) -> str:
    """What a method's paired differences to its ablation (pp, one per trial) show, with the power they have:
    - the 95% t-interval excludes 0: "the ablation hurts" / "the ablation helps";
    - else the 90% t-interval lies within +-margin (two one-sided tests at 5%): "equivalent within +-margin pp
      (90% CI low, high)", the interval that decides (the 95% one may reach past the margin);
    - else, where every trial moves the same way: "worse (or better) in every trial, not resolved at n=k";
    - else "not distinguishable at this power (95% CI half-width x pp)". Non-rejection is not equivalence."""
    n = len(diffs_pp)
    wide, narrow = mean_interval(diffs_pp, 0.95), mean_interval(diffs_pp, 0.90)
    if n >= 2 and (wide["ci_low"] > 0 or wide["ci_high"] < 0):
        return HURTS if wide["ci_low"] > 0 else "the ablation helps"
    if n >= 2 and -margin <= narrow["ci_low"] and narrow["ci_high"] <= margin:
        return f"equivalent within ±{margin:g} pp (90% CI {narrow['ci_low']:+.2f}, {narrow['ci_high']:+.2f})"
    if n >= 2 and ((diffs_pp > 0).all() or (diffs_pp < 0).all()):
        return f"{'worse' if (diffs_pp > 0).all() else 'better'} with the ablation in every trial, not resolved at n={n}"
    half = (wide["ci_high"] - wide["ci_low"]) / 2 if n >= 2 else float("nan")
    return f"not distinguishable at this power (95% CI ±{half:.2f} pp)"


def sanity_differences(results: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """For every method and ablation, per level and trial: method minus ablated method (`diff`, pp of test accuracy
    at early stop), paired by trial at the ablation's levels, with the method's density (`density_m`)."""
    frames = []
    for (method, ablation), summary in results.items():
        if ablation == "none" or (method, "none") not in results:
            continue
        merged = at_levels(results[(method, "none")], summary["level"].unique()).merge(
            summary, on=["trial", "level"], suffixes=("_m", "_a"))
        merged["diff"] = 100 * (merged["test_acc_at_early_stop_m"] - merged["test_acc_at_early_stop_a"])
        frames.append(merged.sort_values("level", kind="stable").assign(method=method, ablation=ablation)[
            ["method", "ablation", "level", "trial", "density_m", "diff"]])
    columns = ["method", "ablation", "level", "trial", "density_m", "diff"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def sanity_checks(results: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """For every method and ablation: method minus ablated method, paired by trial at the ablation's levels (test
    accuracy at early stop; sanity_differences), how many trials favour the method, and `sanity_verdict`'s
    verdict."""
    rows = []
    for (method, ablation, level), group in sanity_differences(results).groupby(["method", "ablation", "level"],
                                                                                 sort=False):
        m = mean_interval(group["diff"])
        rows.append({"method": method, "ablation": ablation, "level": int(level),
                     "% remaining": 100 * group["density_m"].mean(), "method - ablation (pp)": m["mean"],
                     "ci_low": m["ci_low"], "ci_high": m["ci_high"], "trials": int(m["n"]),
                     "method better in": f"{int((group['diff'] > 0).sum())} of {len(group)}",
                     "verdict": sanity_verdict(group["diff"])})
    return pd.DataFrame(rows)


def which_weights_claim(sanity: pd.DataFrame) -> dict:
    """Frankle et al. 2021: these methods choose *how many* weights each layer keeps, not *which*, so shuffling a
    mask within each layer or reinitialising its weights does not hurt. Over `sanity` (sanity_checks' rows) for those
    two ablations: the (method, ablation, density) cases where the ablation hurt (95% interval), those shown
    equivalent within +-EQUIVALENCE_PP, the rest (`unresolved`) and their 95% half-widths (pp)."""
    cases = sanity[sanity["ablation"].isin(["shuffle", "reinit"])]
    hurt = cases[cases["verdict"] == HURTS]
    equivalent = cases[cases["verdict"].str.startswith("equivalent")]
    unresolved = cases.drop(hurt.index.union(equivalent.index))
    return {"cases": cases, "hurt": hurt, "equivalent": equivalent, "unresolved": unresolved,
            "half_widths": (unresolved["ci_high"] - unresolved["ci_low"]) / 2}


def inversion_tally(sanity: pd.DataFrame) -> pd.DataFrame:
    """Per method, inverting its scores (keeping the weights it would prune): `densities` checked, `hurts` where the
    95% interval shows it hurt, and `every_trial` where it was worse in every trial while the t-interval holds 0 (a
    few trials losing far more than the others; a one-sided sign test would call 5 of 5 significant, p = 1/32):
    counted apart, never as "not shown to hurt"."""
    inverted = sanity[sanity["ablation"] == "invert"]
    return inverted.groupby("method")["verdict"].agg(
        densities="size", hurts=lambda v: int((v == HURTS).sum()),
        every_trial=lambda v: int(v.str.startswith("worse with the ablation").sum()))


def layer_densities(configs: dict[tuple[str, str], IMPConfig], level: int, trial: int = 0) -> pd.DataFrame:
    """Per-layer density (%) each arm's mask keeps at `level` (rows: layers; columns: arms)."""
    table = {}
    for (arm, ablation), cfg in configs.items():
        if ablation == "none":
            table[LABELS.get(arm, arm)] = {r["layer"]: 100 * r["density"] for r in masks.report(load_mask(cfg, trial,
                                                                                                        level))}
    return pd.DataFrame(table)


def gradient_flow_table(configs: dict[tuple[str, str], IMPConfig], levels, trials: int, splits: Splits,
                        ) -> pd.DataFrame:
    """At initialisation (the ticket's initial weights, which every arm here starts from), for each arm's stored
    mask: the masked gradient's norm and its cosine with the dense gradient, per level and trial."""
    ticket = configs[("ticket", "none")]
    rows = []
    for trial in range(trials):
        model, _, start, _ = level_inputs(ticket, trial, 0, splits)
        model.load_state_dict(start)
        x, y = scoring_batch(ticket, trial, splits, "flow")  # not the batch SNIP and GraSP scored on
        for (arm, ablation), cfg in configs.items():
            if ablation != "none" or trial >= cfg.trials:
                continue
            for level in levels:
                flow = scorers.gradient_flow(model, load_mask(cfg, trial, level), x, y)
                rows.append({"arm": arm, "level": level, "trial": trial, **flow})
    return pd.DataFrame(rows)

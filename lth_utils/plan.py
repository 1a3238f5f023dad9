"""The IMP runs each notebook reads, per profile: one list that the notebooks and `python -m lth_utils train` share,
so a run trained ahead of time (in the background, on another machine) is exactly the run a notebook then reads.

    cfg, settings = imp_config("paper"), NOTEBOOK_SETTINGS["paper"]
    controls(cfg, settings)            # {"ticket": cfg, "reinit": ..., "random_prune": ...} at the control levels
    reinit_draws(cfg, settings)        # the extra reinitialisations (draws 1, 2, ...) at the paper's densities
    notebook_runs("03", cfg, settings) # every config notebook 03 runs
    late_rewind_runs(cfg, settings)    # notebook 04: a ticket chain per rewind point, and fine-tuning
    init_pruning_runs(cfg, settings)   # notebook 07: {(arm, ablation): config}
    signs_runs(cfg, settings)          # notebook 08: {name: config} (mask criteria, sign ablations, controls)
    transfer_runs(cfg, settings)       # notebook 10: {(target dataset, arm): config} for MNIST <-> Fashion-MNIST
    conv_runs(cfg, settings)           # notebook 09: LeNet-5's ticket, controls and late rewinding, and LeNet-300-100's
    landscape_runs(cfg, settings)      # notebook 11: the ticket and its controls to the deepest landscape level
    python -m lth_utils train --profile paper --only 02 03 01 05
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

from .config import ConfigError
from .imp import ABLATIONS, INIT_ARMS, SIGN_ARMS, IMPConfig
from .pruning import CRITERIA

# The IMP levels at the paper's plotted densities 51.3, 21.1, 7.0 and 3.6% remaining (20/20/10 rates), where
# notebooks 03 and 05 compare one-shot with iterative pruning.
MATCHED_LEVELS = (3, 7, 12, 15)


def controls(cfg: IMPConfig, settings: dict[str, Any] | None = None) -> dict[str, IMPConfig]:
    """The ticket run and its two controls on the same masks, seeds and data order; the controls at the profile's
    `control_levels` that the config reaches (empty or no settings: every level)."""
    levels = [l for l in (settings or {}).get("control_levels", []) if 1 <= l <= cfg.num_levels]
    only = ",".join(map(str, levels))
    return {"ticket": cfg, **{arm: dataclasses.replace(cfg, arm=arm, only_levels=only)
                              for arm in ("reinit", "random_prune")}}


def reinit_draws(cfg: IMPConfig, settings: dict[str, Any]) -> list[IMPConfig]:
    """Reinitialisations 1 .. reinit_draws-1 of the ticket's masks (draw 0 is the reinit arm of `controls`), at the
    profile's `reinit_draw_levels` that this config reaches."""
    levels = [l for l in settings["reinit_draw_levels"] if 1 <= l <= cfg.num_levels]
    if not levels:
        return []
    return [dataclasses.replace(cfg, arm="reinit", draw=j, only_levels=",".join(map(str, levels)))
            for j in range(1, settings["reinit_draws"])]


def one_shot_sweep(cfg: IMPConfig, settings: dict[str, Any]) -> list[IMPConfig]:
    """Notebook 01: one pruning step at each of the profile's one-shot rates (ticket arm; reinit via controls)."""
    trials = min(cfg.trials, settings["one_shot_trials"])
    return [dataclasses.replace(cfg, rate=p, levels=1, trials=trials) for p in settings["one_shot_rates"]]


def one_shot_like(cfg: IMPConfig, level: int) -> IMPConfig:
    """A one-shot config that reaches the per-layer densities of IMP level `level` in a single pruning step."""
    output_rate = cfg.rate / 2 if cfg.output_rate is None else cfg.output_rate
    return dataclasses.replace(cfg, rate=1 - (1 - cfg.rate) ** level, output_rate=1 - (1 - output_rate) ** level,
                               levels=1)


def one_shot_matched(cfg: IMPConfig) -> dict[int, IMPConfig]:
    """One-shot configs that reach the per-layer densities of IMP levels MATCHED_LEVELS (those the config reaches)."""
    levels = [l for l in MATCHED_LEVELS if l <= cfg.num_levels] or [cfg.num_levels]
    return {l: one_shot_like(cfg, l) for l in levels}


def notebook_runs(notebook: str, cfg: IMPConfig, settings: dict[str, Any]) -> list[IMPConfig]:
    """Every IMP config notebook `notebook` (one of PLANNED) trains or reads."""
    if notebook == "01":
        sweep = one_shot_sweep(cfg, settings)
        return [dataclasses.replace(cfg, levels=0)] + sweep + [dataclasses.replace(c, arm="reinit") for c in sweep]
    if notebook == "02":
        return [cfg]
    if notebook == "03":
        return [*controls(cfg, settings).values(), *reinit_draws(cfg, settings), *one_shot_matched(cfg).values()]
    if notebook == "04":
        return list(late_rewind_runs(cfg, settings).values())
    if notebook == "05":
        return [cfg] + list(one_shot_matched(cfg).values())
    if notebook == "07":
        return list(init_pruning_runs(cfg, settings).values())
    if notebook == "08":
        return list(signs_runs(cfg, settings).values())
    if notebook == "09":
        return list(conv_runs(cfg, settings).values())
    if notebook == "10":
        return list(transfer_runs(cfg, settings).values())
    if notebook == "11":
        return list(landscape_runs(cfg, settings)[0].values())
    raise ValueError(f"notebook={notebook!r} has no IMP runs to plan; allowed: {', '.join(PLANNED)}")


def late_rewind_runs(cfg: IMPConfig, settings: dict[str, Any], trials: int | None = None,
                     rewind_points=None) -> dict[str, IMPConfig]:
    """Notebook 04: {"k = 0": notebook 02's ticket, "k = <k>": one ticket chain per rewind point, "none (fine-tune)"}
    to the profile's `late_rewind_levels`, with `trials` (None: the profile's `late_rewind_trials`). The rewind points
    are k = 0 and the profile's `late_rewind_fractions` of the iterations, or `rewind_points` (iterations in
    (0, iterations))."""
    if rewind_points is None:
        ks = sorted({max(1, round(f * cfg.iterations)) for f in settings["late_rewind_fractions"]})
    elif not rewind_points or not all(isinstance(k, int) and 0 < k < cfg.iterations for k in rewind_points):
        raise ConfigError("rewind_points", rewind_points, f"a non-empty list of iterations k with 0 < k < "
                                                          f"{cfg.iterations:,} (the profile's iterations per level)")
    else:
        ks = sorted(set(rewind_points))
    base = dataclasses.replace(cfg, levels=min(cfg.num_levels, settings["late_rewind_levels"]), target_density=None,
                               trials=cfg.trials if trials is not None else min(cfg.trials,
                                                                                 settings["late_rewind_trials"]))
    runs = {f"k = {k}": dataclasses.replace(base, rewind="init" if k == 0 else str(k)) for k in [0] + ks}
    return {**runs, "none (fine-tune)": dataclasses.replace(base, rewind="none")}


def check_methods(methods) -> list[str]:
    methods = list(methods)
    unknown = [m for m in methods if m not in INIT_ARMS]
    if unknown or not methods:
        raise ConfigError("methods", methods, f"a non-empty list drawn from {', '.join(INIT_ARMS)}")
    return methods


def levels_for(cfg: IMPConfig, densities) -> list[int]:
    """The IMP level whose exact density is nearest (in ratio) to each of `densities` (fractions in (0, 1)); an
    error names a density outside (0, 1) or one that the config's levels do not come within 10% of."""
    total = cfg.remaining_at(0)
    exact = {level: cfg.remaining_at(level) / total for level in range(1, cfg.num_levels + 1)}
    if not list(densities):
        raise ConfigError("densities", densities, "a non-empty list of fractions of weights remaining in (0, 1)")
    levels = []
    for d in densities:
        if not isinstance(d, (int, float)) or not 0 < d < 1:
            raise ConfigError("densities", d, "fractions of weights remaining in (0, 1), such as 0.211")
        level = min(exact, key=lambda l: abs(exact[l] / d - 1))
        if abs(exact[level] / d - 1) > 0.1:
            raise ConfigError("densities", d, f"a density within 10% of one this run's levels reach (level "
                                              f"{cfg.num_levels} keeps {100 * exact[cfg.num_levels]:.2f}%)")
        levels.append(level)
    return sorted(set(levels))


def init_pruning_runs(cfg: IMPConfig, settings: dict[str, Any], methods=None, densities=None,
                      ) -> dict[tuple[str, str], IMPConfig]:
    """Notebook 07: {(arm, ablation): config}: the ticket (notebooks 02-03's run), random pruning and each
    pruning-at-initialisation method (default: all) at the IMP levels nearest the profile's densities (or
    `densities`), and each method's sanity checks (shuffle, reinit, invert) at the profile's ablation densities with
    its ablation trials (fewer, to fit the profile's budget)."""
    methods = check_methods(list(INIT_ARMS) if methods is None else methods)
    levels = ",".join(map(str, levels_for(cfg, settings["init_densities"] if densities is None else densities)))
    ablation_levels = ",".join(map(str, levels_for(cfg, settings["ablation_densities"])))
    out = {("ticket", "none"): cfg, ("random_prune", "none"): dataclasses.replace(cfg, arm="random_prune",
                                                                                  only_levels=levels)}
    for method in methods:
        out[(method, "none")] = dataclasses.replace(cfg, arm=method, only_levels=levels,
                                                    trials=min(settings["init_trials"], cfg.trials))
        for ablation in ABLATIONS[1:]:  # all but "none"
            out[(method, ablation)] = dataclasses.replace(cfg, arm=method, ablation=ablation,
                                                          only_levels=ablation_levels,
                                                          trials=min(settings["ablation_trials"], cfg.trials))
    return out


def check_criteria(criteria) -> list[str]:
    criteria = list(criteria)
    allowed = [c for c in CRITERIA if c != "magnitude"]  # magnitude ("large final") is the IMP ticket itself
    unknown = [c for c in criteria if c not in allowed]
    if unknown or not criteria:
        raise ConfigError("criteria", criteria, f"a non-empty list drawn from {', '.join(allowed)} (magnitude, "
                                                f"'large final', is the IMP ticket and always included)")
    return criteria


def signs_runs(cfg: IMPConfig, settings: dict[str, Any], criteria=None, densities=None) -> dict[str, IMPConfig]:
    """Notebook 08 (Zhou et al. 2019): {name: config}: the ticket with its two controls (the runs of notebooks 02-03);
    an IMP chain per other mask criterion (default: all) to the profile's `criteria_levels` with its
    `criteria_trials`; and both sign ablations (signs_constant, signs_reinit) of the ticket's masks at the IMP levels
    nearest the profile's `sign_densities` (or `densities`) with its `sign_trials`."""
    criteria = check_criteria([c for c in CRITERIA if c != "magnitude"] if criteria is None else criteria)
    levels = ",".join(map(str, levels_for(cfg, settings["sign_densities"] if densities is None else densities)))
    out = controls(cfg, settings)
    for criterion in criteria:
        out[criterion] = dataclasses.replace(cfg, criterion=criterion, levels=min(settings["criteria_levels"],
                                             cfg.num_levels), target_density=None,
                                             trials=min(settings["criteria_trials"], cfg.trials))
    for arm in SIGN_ARMS:
        out[arm] = dataclasses.replace(cfg, arm=arm, only_levels=levels, trials=min(settings["sign_trials"],
                                                                                     cfg.trials))
    return out


# Notebook 10's datasets: a ticket found on the first of a pair is trained on the second (same input shape).
TRANSFER_PAIRS = (("mnist", "fashion_mnist"), ("fashion_mnist", "mnist"))


def transfer_runs(cfg: IMPConfig, settings: dict[str, Any], densities=None) -> dict[tuple[str, str], IMPConfig]:
    """Notebook 10 (Morcos et al. 2019): {(target dataset, arm): config} for both directions of TRANSFER_PAIRS. On
    each target: its own ticket (an IMP chain to the deepest compared level), random pruning, reinitialisation and
    the other dataset's ticket (`transfer` arm) at the IMP levels nearest the profile's `transfer_densities`
    (or `densities`); all with the profile's `transfer_trials`, paired by seed. On MNIST these are notebook 02-03's
    runs (levels and trials do not change a run's identity, so the stored runs are read)."""
    levels = levels_for(cfg, settings["transfer_densities"] if densities is None else densities)
    only = ",".join(map(str, levels))
    out = {}
    for source, target in TRANSFER_PAIRS:
        chain = dataclasses.replace(cfg, dataset=target, levels=max(levels), target_density=None,
                                    trials=min(settings["transfer_trials"], cfg.trials))
        arms = controls(chain, {"control_levels": levels})
        out[(target, "ticket")] = chain
        out[(target, "random_prune")], out[(target, "reinit")] = arms["random_prune"], arms["reinit"]
        out[(target, "transfer")] = dataclasses.replace(chain, arm="transfer", transfer_from=source, only_levels=only)
    return out


def landscape_runs(cfg: IMPConfig, settings: dict[str, Any], densities=None) -> tuple[dict[str, IMPConfig], list[int]]:
    """Notebook 11: ({arm: config} for the ticket (notebooks 02-03's run) to the deepest, and its controls at each, of
    the IMP levels nearest the profile's `landscape_densities` (or `densities`), with its `landscape_trials`;
    those levels)."""
    levels = levels_for(cfg, settings["landscape_densities"] if densities is None else densities)
    base = dataclasses.replace(cfg, levels=max(levels), target_density=None,
                               trials=min(settings["landscape_trials"], cfg.trials))
    return controls(base, {"control_levels": levels}), levels


@functools.lru_cache(maxsize=1)
def weights_read() -> frozenset[tuple[str, int, int]]:
    """(run hash, trial, level) whose trained weights a notebook loads, besides a ticket's level 0 and trial 0 (which
    portable.keeps_weights always keeps): notebook 11's landscapes, the ticket and its controls at its levels in every
    trial, for each profile's default settings. A compact store keeps these weights, so the notebook reads them."""
    from .profiles import NOTEBOOK_SETTINGS, PROFILES, imp_config

    out = set()
    for profile in PROFILES:
        runs, levels = landscape_runs(imp_config(profile), NOTEBOOK_SETTINGS[profile])
        out |= {(c.hash, t, l) for c in runs.values() for t in range(c.trials) for l in levels}
    return frozenset(out)


# Notebook 09: LeNet-5 with the paper's rates for convolutional networks (conv layers 10% per level, fully connected
# 20%, output 10%), trained like LeNet-300-100 (Adam 1.2e-3, batch 60, the profile's stopping rule).
CONV_MODEL = dict(model="lenet5", conv_rate=0.1, rate=0.2)


def conv_runs(cfg: IMPConfig, settings: dict[str, Any]) -> dict[str, IMPConfig]:
    """Notebook 09: {name: config}: the LeNet-5 ticket chain to the profile's `conv_levels` with `conv_trials`, its
    reinitialisation and random pruning at `conv_control_levels` (empty: every level), a late-rewinding chain
    (k = `conv_rewind_fraction` of the iterations) to `conv_rewind_levels`, and `mlp`: LeNet-300-100's ticket
    (notebook 02's run) to compare with."""
    base = dataclasses.replace(cfg, **CONV_MODEL, levels=settings["conv_levels"], target_density=None,
                               trials=min(settings["conv_trials"], cfg.trials))
    k = max(1, round(settings["conv_rewind_fraction"] * cfg.iterations))
    runs = {**controls(base, {"control_levels": settings["conv_control_levels"]}),
            "late": dataclasses.replace(base, rewind=str(k), levels=min(settings["conv_rewind_levels"], base.levels))}
    return {**runs, "mlp": cfg}


PLANNED = ("01", "02", "03", "04", "05", "07", "08", "09", "10", "11")

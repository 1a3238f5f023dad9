"""The paper's own IMP runs (notebooks 01, 02, 03 and 05) and the planning helpers the other experiments pair with:
the ticket's controls, the extra reinitialisations, one-shot configs matched to IMP levels, and the IMP level nearest
a density.

    controls(cfg, settings.controls)      # {"ticket": cfg, "reinit": ..., "random_prune": ...} at the control levels
    reinit_draws(cfg, settings.controls)  # the extra reinitialisations (draws 1, 2, ...) at the paper's densities
    one_shot_runs(cfg, settings)          # notebook 01: the dense network and one pruning step at each rate
    levels_for(cfg, [0.211, 0.07])        # the IMP levels nearest those densities
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..foundations.config import ConfigError
from ..lottery.imp import IMPConfig

# The IMP levels at the paper's plotted densities 51.3, 21.1, 7.0 and 3.6% remaining (20/20/10 rates), where
# notebooks 03 and 05 compare one-shot with iterative pruning.
MATCHED_LEVELS = (3, 7, 12, 15)

# The densities the paper plots (fraction of weights remaining): the other experiments compare there.
PAPER_DENSITIES = (0.513, 0.211, 0.07, 0.036, 0.019)

# The levels where `standard` trains the controls (reinit, random pruning) of the ticket runs: every density the paper
# plots (51.3, 21.1, 7.0, 3.6, 1.9% remaining) and the ones between where the controls start to fall behind (80, 64,
# 32.8, 13.4%): half the levels, about 40% less training than all 18 (the controls stop later than tickets).
# `paper` trains them at every level (an empty list) and draws 3 reinitialisations per trial, the extra ones at the
# densities it plots; `smoke` skips a level, to exercise the path in CI.
CONTROL_LEVELS = (1, 2, 3, 5, 7, 9, 12, 15, 18)


@dataclass(frozen=True)
class Controls:
    """Notebook 03: where the ticket's controls train, and the paper's extra reinitialisations."""
    levels: tuple[int, ...]  # the levels where reinit and random pruning train (empty: every level)
    reinit_draws: int  # reinitialisations per trial (draw 0 is the reinit arm; the paper draws 3)
    reinit_draw_levels: tuple[int, ...]  # the levels of draws 1, 2, ...


CONTROLS: dict[str, Controls] = {  # per profile
    "smoke": Controls(levels=(1, 3), reinit_draws=2, reinit_draw_levels=(3,)),
    "quick": Controls(levels=(3, 7, 12, 15, 18), reinit_draws=1, reinit_draw_levels=()),
    "standard": Controls(levels=CONTROL_LEVELS, reinit_draws=1, reinit_draw_levels=()),
    "paper": Controls(levels=(), reinit_draws=3, reinit_draw_levels=(3, 7, 12, 15, 18)),
}


@dataclass(frozen=True)
class OneShot:
    """Notebook 01: one pruning step at each rate."""
    rates: tuple[float, ...]
    trials: int


ONE_SHOT: dict[str, OneShot] = {  # per profile
    "smoke": OneShot(rates=(0.2, 0.75), trials=1),
    "quick": OneShot(rates=(0.2, 0.5, 0.75, 0.9, 0.95), trials=2),
    "standard": OneShot(rates=(0.2, 0.5, 0.75, 0.9, 0.95, 0.98), trials=3),
    "paper": OneShot(rates=(0.2, 0.5, 0.75, 0.9, 0.95, 0.98), trials=5),
}


def controls(cfg: IMPConfig, settings: Controls | None = None) -> dict[str, IMPConfig]:
    """The ticket run and its two controls on the same masks, seeds and data order; the controls at the settings'
    levels that the config reaches (no settings or no levels: every level)."""
    return controls_at(cfg, settings.levels if settings else ())


def controls_at(cfg: IMPConfig, levels) -> dict[str, IMPConfig]:
    """`controls` at `levels` (those the config reaches; none: every level): how the other experiments pair their
    chains with controls."""
    only = ",".join(str(l) for l in levels if 1 <= l <= cfg.num_levels)
    return {"ticket": cfg, **{arm: dataclasses.replace(cfg, arm=arm, only_levels=only)
                              for arm in ("reinit", "random_prune")}}


def reinit_draws(cfg: IMPConfig, settings: Controls) -> list[IMPConfig]:
    """Reinitialisations 1 .. reinit_draws-1 of the ticket's masks (draw 0 is the reinit arm of `controls`), at the
    settings' `reinit_draw_levels` that this config reaches."""
    levels = [l for l in settings.reinit_draw_levels if 1 <= l <= cfg.num_levels]
    if not levels:
        return []
    return [dataclasses.replace(cfg, arm="reinit", draw=j, only_levels=",".join(map(str, levels)))
            for j in range(1, settings.reinit_draws)]


def one_shot_sweep(cfg: IMPConfig, settings: OneShot) -> list[IMPConfig]:
    """Notebook 01: one pruning step at each of the settings' rates (ticket arm; reinit via controls)."""
    trials = min(cfg.trials, settings.trials)
    return [dataclasses.replace(cfg, rate=p, levels=1, trials=trials) for p in settings.rates]


def one_shot_like(cfg: IMPConfig, level: int) -> IMPConfig:
    """A one-shot config that reaches the per-layer densities of IMP level `level` in a single pruning step."""
    output_rate = cfg.rate / 2 if cfg.output_rate is None else cfg.output_rate
    return dataclasses.replace(cfg, rate=1 - (1 - cfg.rate) ** level, output_rate=1 - (1 - output_rate) ** level,
                               levels=1)


def one_shot_matched(cfg: IMPConfig) -> dict[int, IMPConfig]:
    """One-shot configs that reach the per-layer densities of IMP levels MATCHED_LEVELS (those the config reaches)."""
    levels = [l for l in MATCHED_LEVELS if l <= cfg.num_levels] or [cfg.num_levels]
    return {l: one_shot_like(cfg, l) for l in levels}


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


# The planners of the registry's entries (experiments/__init__.py): every IMP config the notebook trains or reads,
# from the profile's IMP config and its NotebookSettings.

def one_shot_runs(cfg: IMPConfig, settings, rates=None, trials: int | None = None) -> list[IMPConfig]:
    """Notebook 01: the dense network, one pruning step at each rate (notebook 01's knob `rates`, None: the
    settings'), and each step's reinitialisation, with the settings' trials or, where `trials` is given, cfg's."""
    own = dataclasses.replace(settings.one_shot, **({"rates": tuple(rates)} if rates is not None else {}),
                              **({"trials": cfg.trials} if trials is not None else {}))
    sweep = one_shot_sweep(cfg, own)
    return [dataclasses.replace(cfg, levels=0)] + sweep + [dataclasses.replace(c, arm="reinit") for c in sweep]


def ticket_runs(cfg: IMPConfig, settings) -> list[IMPConfig]:
    """Notebook 02: the IMP ticket chain."""
    return [cfg]


def control_runs(cfg: IMPConfig, settings) -> list[IMPConfig]:
    """Notebook 03: the ticket, its controls, the extra reinitialisations and one-shot pruning at matched levels."""
    return [*controls(cfg, settings.controls).values(), *reinit_draws(cfg, settings.controls),
            *one_shot_matched(cfg).values()]


def mask_runs(cfg: IMPConfig, settings) -> list[IMPConfig]:
    """Notebook 05: the ticket chain and one-shot pruning at matched levels, whose masks it draws."""
    return [cfg] + list(one_shot_matched(cfg).values())

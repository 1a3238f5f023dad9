"""Run profiles for the notebooks: `smoke` (seconds, for CI), `quick` (a miniature to retrain in minutes: 2 trials of
2,000 iterations), `standard` (the paper's protocol with early stopping by patience: the handouts of the notebooks
whose paper-scale runs are not all committed yet; trained from scratch they take hours on 2 cores, see the README's
cost section) and `paper` (the paper's exact hyperparameters, shared/docs/paper.md: the handouts of 01, 02, 03 and
05). HANDOUT_PROFILES says which profile each handout is rendered in; `handouts` (make run's default) means that.

    cfg = imp_config("standard", seed=0)                 # an IMPConfig
    NOTEBOOK_SETTINGS["standard"]["one_shot_rates"]      # the knobs each notebook adds, per profile

Why `standard` looks like it does: it is the paper's protocol (full data, Adam 1.2e-3, batch 60, evaluation every
100 iterations, 5 trials, 18 levels) with early stopping by patience: a run stops 12 evaluations (1,200 iterations)
after its minimum validation loss, and at 15,000 iterations at the latest. Chosen with benchmarks/patience_replay.py,
which replays rules on the validation curves of the committed paper runs (50,000 iterations) per arm: with a
10,000-iteration cap a third of the sparse random-pruning runs still improve at the cap (the first standard handouts
measured 59/90 uncensored); with 15,000 and patience 12 the replay censors none of 173 curves (tickets, reinit,
random pruning), and training costs ~14% less than 10,000/20, at the price of an early-stopping iteration a few hundred
iterations earlier on average than the full run's (the script prints the shift). The notebooks count the runs that
still hit the cap (censored) and mark the cap in every early-stopping plot.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .config import ConfigError, coerce
from .imp import IMPConfig

# The levels whose test accuracy is recorded at every evaluation: those the notebooks plot as learning curves (02:
# 100, 51.3, 21.1, 7.0, 3.6, 1.9% remaining; 01: level 1 of one-shot runs). Every other level evaluates the test set
# only at new validation minima and at the end, which gives the same early-stop results for a third of the cost.
CURVE_LEVELS = "0,1,3,7,12,15,18"

PROFILES: dict[str, dict[str, Any]] = {
    # seconds: 1,000 training images, 40 iterations, 2 trials, 3 levels
    "smoke": dict(train_subset=1000, iterations=40, eval_every=20, trials=2, levels=3,
                  test_curve_levels=CURVE_LEVELS),
    # minutes per notebook on 2 cores, to rerun from scratch: 2 trials of 2,000 iterations, every level trained to the
    # end (no patience, so nothing is cut at a noisy minimum); a miniature whose conclusions say so (protocol.py)
    "quick": dict(iterations=2_000, eval_every=100, trials=2, levels=18, test_curve_levels=CURVE_LEVELS),
    # the paper's protocol, stopped 12 evaluations after the minimum validation loss (at most 15,000 iterations)
    "standard": dict(iterations=15_000, eval_every=100, patience=12, trials=5, levels=18,
                     test_curve_levels=CURVE_LEVELS),
    # the paper: Adam 1.2e-3, batch 60, 50K iterations, eval every 100, 5 trials, 18 levels (1.9% remaining)
    "paper": dict(iterations=50_000, eval_every=100, trials=5, levels=18, test_curve_levels=CURVE_LEVELS),
}


# The densities the paper plots (fraction of weights remaining): notebook 07 compares methods there.
PAPER_DENSITIES = [0.513, 0.211, 0.07, 0.036, 0.019]

# The levels where `standard` trains the controls (reinit, random pruning) of the ticket runs: every density the paper
# plots (51.3, 21.1, 7.0, 3.6, 1.9% remaining) and the ones between where the controls start to fall behind (80, 64,
# 32.8, 13.4%): half the levels, about 40% less training than all 18 (the controls stop later than tickets).
# `paper` trains them at every level (an empty list); `smoke` skips one, to exercise the path in CI.
CONTROL_LEVELS = [1, 2, 3, 5, 7, 9, 12, 15, 18]

# What each notebook adds on top of the IMP config, per profile (all the knobs in one visible place).
NOTEBOOK_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": dict(control_levels=[1, 3], reinit_draws=2, reinit_draw_levels=[3], one_shot_rates=[0.2, 0.75],
                  one_shot_trials=1,
                  late_rewind_fractions=[0.1], late_rewind_levels=2, late_rewind_trials=1, instability_levels=[0, 2],
                  widths=[1, 8, 64], width_seeds=[0], width_steps=200, regression_rounds=2,
                  init_densities=[0.8, 0.513], init_trials=2, ablation_densities=[0.513], ablation_trials=2,
                  criteria_levels=3, criteria_trials=2, sign_densities=[0.8, 0.513], sign_trials=2,
                  supermask_iterations=40, supermask_eval_every=20, supermask_trials=2,
                  quickstart_steps=20, quickstart_rounds=2, quickstart_trials=2, quickstart_subset=1000,
                  transfer_densities=[0.8, 0.513], transfer_trials=2,
                  landscape_densities=[0.513], landscape_trials=2, landscape_points=5, landscape_examples=500,
                  sharpness_directions=3, conv_trials=2, conv_levels=2, conv_control_levels=[2],
                  conv_rewind_fraction=0.25, conv_rewind_levels=1),
    "quick": dict(control_levels=[3, 7, 12, 15, 18], reinit_draws=1, reinit_draw_levels=[],
                  one_shot_rates=[0.2, 0.5, 0.75, 0.9, 0.95], one_shot_trials=2,
                  late_rewind_fractions=[0.01, 0.05], late_rewind_levels=7, late_rewind_trials=2,
                  instability_levels=[0, 7], widths=[1, 2, 4, 8, 16, 32, 64, 128, 256], width_seeds=[0, 1],
                  width_steps=1000, regression_rounds=6,
                  init_densities=[0.211, 0.036], init_trials=2, ablation_densities=[0.036], ablation_trials=2,
                  criteria_levels=12, criteria_trials=2, sign_densities=[0.211, 0.036], sign_trials=2,
                  supermask_iterations=2000, supermask_eval_every=500, supermask_trials=2,
                  quickstart_steps=400, quickstart_rounds=4, quickstart_trials=2, quickstart_subset=0,
                  transfer_densities=[0.211, 0.036], transfer_trials=2,
                  landscape_densities=[0.211], landscape_trials=2, landscape_points=11, landscape_examples=2000,
                  sharpness_directions=4, conv_trials=2, conv_levels=4, conv_control_levels=[4],
                  conv_rewind_fraction=0.01, conv_rewind_levels=2),
    "standard": dict(control_levels=CONTROL_LEVELS, reinit_draws=1, reinit_draw_levels=[],
                     one_shot_rates=[0.2, 0.5, 0.75, 0.9, 0.95, 0.98],
                     one_shot_trials=3, late_rewind_fractions=[0.01, 0.05, 0.1], late_rewind_levels=7,
                     late_rewind_trials=2,
                     instability_levels=[0, 3, 7], widths=[1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512],
                     width_seeds=[0, 1, 2], width_steps=2000, regression_rounds=10,
                     init_densities=PAPER_DENSITIES, init_trials=3, ablation_densities=[0.036],
                     ablation_trials=3, criteria_levels=15, criteria_trials=3, sign_densities=[0.211, 0.07, 0.036],
                     sign_trials=3, supermask_iterations=5000, supermask_eval_every=500, supermask_trials=3,
                     quickstart_steps=800, quickstart_rounds=5, quickstart_trials=3, quickstart_subset=0,
                     transfer_densities=[0.513, 0.211, 0.07, 0.036], transfer_trials=3,
                     landscape_densities=[0.211, 0.07], landscape_trials=3, landscape_points=21,
                     landscape_examples=5000, sharpness_directions=10, conv_trials=3, conv_levels=8,
                     conv_control_levels=[4, 8], conv_rewind_fraction=0.01, conv_rewind_levels=4),
    # the paper draws 3 reinitialisations per trial; extra draws at the densities it plots (51.3-1.9%)
    "paper": dict(control_levels=[], reinit_draws=3, reinit_draw_levels=[3, 7, 12, 15, 18],
                  one_shot_rates=[0.2, 0.5, 0.75, 0.9, 0.95, 0.98], one_shot_trials=5,
                  late_rewind_fractions=[0.001, 0.01, 0.03, 0.07], late_rewind_levels=18, late_rewind_trials=5,
                  instability_levels=[0, 3, 7, 12, 15], widths=[1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512, 1024],
                  width_seeds=[0, 1, 2, 3, 4], width_steps=4000, regression_rounds=10,
                  init_densities=PAPER_DENSITIES, init_trials=5, ablation_densities=PAPER_DENSITIES, ablation_trials=5,
                  criteria_levels=18, criteria_trials=5, sign_densities=PAPER_DENSITIES, sign_trials=5,
                  supermask_iterations=20_000, supermask_eval_every=1000, supermask_trials=5,
                  quickstart_steps=3000, quickstart_rounds=8, quickstart_trials=5, quickstart_subset=0,
                  transfer_densities=PAPER_DENSITIES, transfer_trials=5,
                  landscape_densities=[0.211, 0.07, 0.019], landscape_trials=5, landscape_points=41,
                  landscape_examples=55_000, sharpness_directions=20, conv_trials=5, conv_levels=15,
                  conv_control_levels=[], conv_rewind_fraction=0.01, conv_rewind_levels=15),
}


# The paper's per-model settings (shared/docs/paper.md): `imp_config(profile, model=...)` applies them under the
# notebook's own overrides. Every profile takes the dataset, learning rate and per-layer-type rates; `paper` also the
# iterations (the other profiles keep their shorter training). The output layer is at rate / 2 = 10% by default.
# Conv-2/4/6 need CIFAR-10 from the user (data.py).
PAPER_MODELS: dict[str, dict[str, Any]] = {
    "lenet_300_100": dict(dataset="mnist", lr=1.2e-3, iterations=50_000, rate=0.2),
    "conv2": dict(dataset="cifar10", lr=2e-4, iterations=20_000, rate=0.2, conv_rate=0.1),
    "conv4": dict(dataset="cifar10", lr=3e-4, iterations=25_000, rate=0.2, conv_rate=0.1),
    "conv6": dict(dataset="cifar10", lr=3e-4, iterations=30_000, rate=0.2, conv_rate=0.15),
}


# The profile each notebook's handout (the committed notebook that `make run` renders) is computed in: the paper's
# protocol where all of the notebook's paper-scale runs are committed (results/paper/store), `standard` until then,
# which the handout's protocol cell says, with what it biases (protocol.py). A notebook's parameters cell defaults
# to this profile (tested).
HANDOUT_PROFILES: dict[str, str] = {"01": "paper", "02": "paper", "03": "paper", "05": "paper"}

# Where each profile's runs are stored, relative to the repository: `paper` keeps its own store beside its committed
# compact results (results/paper/store), which `make export PROFILE=paper` writes from it alone.
RUN_STORES: dict[str, str] = {"paper": "results/paper/runs"}


# Not a profile but the handouts' choice: every notebook in its own HANDOUT_PROFILES profile (`make run`'s default).
HANDOUTS = "handouts"


def profiles_of(choice: str) -> list[str]:
    """The profiles a command's --profile means: itself, or for `handouts` those the handouts are rendered in."""
    if choice == HANDOUTS:
        return ["standard", *sorted(set(HANDOUT_PROFILES.values()) - {"standard"})]
    check_profile(choice)
    return [choice]


def handout_profile(notebook: str) -> str:
    """The profile notebook `notebook` ('02' or '02_iterative_magnitude_pruning') is rendered in for the handouts."""
    return HANDOUT_PROFILES.get(notebook[:2], "standard")


def run_store(profile: str) -> str:
    """The run store of `profile`, relative to the repository root."""
    return RUN_STORES.get(profile, "runs")


def model_settings(profile: str, model: str | None) -> dict[str, Any]:
    """The paper's settings for `model` that apply in `profile` (none for a model the paper did not train)."""
    settings = dict(PAPER_MODELS.get(model, {}))
    if profile != "paper":
        settings.pop("iterations", None)
    return settings


def check_profile(profile: str, handouts: bool = False) -> None:
    """A known profile (or, where `handouts`, also the handouts' choice); a ConfigError saying which otherwise."""
    if profile not in PROFILES and not (handouts and profile == HANDOUTS):
        allowed = ", ".join([*PROFILES, *([HANDOUTS] if handouts else [])])
        raise ConfigError("profile", profile, f"one of {allowed}")


def imp_config(profile: str = "standard", **overrides) -> IMPConfig:
    """The profile's IMPConfig; an override of None keeps the profile's value."""
    check_profile(profile)
    given = {k: v for k, v in overrides.items() if v is not None}
    values = {**PROFILES[profile], **model_settings(profile, given.get("model")), **given}
    fields = {f.name for f in dataclasses.fields(IMPConfig)}
    for name in values:
        if name not in fields:
            raise ConfigError(name, values[name], f"unknown IMPConfig field; known: {', '.join(sorted(fields))}")
    return IMPConfig(**{k: coerce(IMPConfig, k, v) for k, v in values.items()})

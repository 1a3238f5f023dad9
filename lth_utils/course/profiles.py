"""Run profiles for the notebooks: `smoke` (seconds, for CI), `quick` (a miniature to retrain in minutes: 2 trials of
2,000 iterations), `standard` (the paper's protocol with early stopping by patience: the handouts of the notebooks
whose paper-scale runs are not all committed yet; trained from scratch they take hours on 2 cores, see the README's
cost section) and `paper` (the paper's exact hyperparameters, shared/docs/paper.md: the handouts of 01 to 08, 10 and 11;
for 06's own regression experiment, its longest sweep: 5 seeds, 4,000 steps, widths up to 1,024).
HANDOUT_PROFILES says which profile each handout is rendered in; `handouts` (make run's default) means that.

    cfg = imp_config("standard", seed=0)                 # an IMPConfig
    NOTEBOOK_SETTINGS["standard"].one_shot.rates         # the knobs each experiment adds (experiments.REGISTRY)

Why `standard` looks like it does: it is the paper's protocol (full data, Adam 1.2e-3, batch 60, evaluation every
100 iterations, 5 trials, 18 levels) with early stopping by patience: a run stops 12 evaluations (1,200 iterations)
after its minimum validation loss, and at 15,000 iterations at the latest. Chosen with benchmarks/patience_replay.py,
which replays rules on the validation curves of the committed paper runs (50,000 iterations) per arm: with a
10,000-iteration cap a third of the sparse random-pruning runs still improve at the cap (the first standard handouts
measured 59/90 uncensored); with 15,000 and patience 12 the replay censors none of 173 curves (tickets, reinit,
random pruning), and training costs ~14% less than 10,000/20. The replay judged censoring and cost, not where the rule
puts the early stop, and that is its price: on every arm it stops at an earlier, noisier minimum than the full run's,
by hundreds (the sign ablations) to thousands of iterations (dense, the controls, pruning at initialisation); the
script prints the shift per arm, and protocol.py what it does to the dense reference. The notebooks count the runs
that still hit the cap (censored) and mark the cap in every early-stopping plot.
"""
from __future__ import annotations

import functools
from typing import Any

from .. import experiments
from ..foundations.config import ConfigError, from_values
from ..experiments import NotebookSettings
from ..lottery.imp import IMPConfig

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


# What each experiment adds on top of the IMP config, per profile: `NOTEBOOK_SETTINGS["paper"].late_rewinding` is
# late_rewinding.SETTINGS["paper"] (each experiment's module in lth_utils/experiments holds its knobs per profile and
# says what they mean). Every registered experiment must have settings for every profile (checked here, at import).
NOTEBOOK_SETTINGS: dict[str, NotebookSettings] = {profile: NotebookSettings(profile) for profile in PROFILES}


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
HANDOUT_PROFILES: dict[str, str] = {"01": "paper", "02": "paper", "03": "paper", "04": "paper", "05": "paper",
                                    "06": "paper", "07": "paper", "08": "paper", "10": "paper", "11": "paper"}

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
    return from_values(IMPConfig, **{**PROFILES[profile], **model_settings(profile, given.get("model")), **given})


@functools.lru_cache(maxsize=1)
def weights_read() -> frozenset[tuple[str, int, int]]:
    """(run hash, trial, level) whose trained weights a notebook loads in any profile (experiments.weights_read,
    notebook 11's landscapes): what `export` keeps beside a ticket's level 0 and trial 0, so the notebook reads them."""
    return experiments.weights_read([(imp_config(p), NOTEBOOK_SETTINGS[p]) for p in PROFILES])

"""Supermasks (Zhou et al. 2019, "Deconstructing lottery tickets", arXiv:1905.01067): learn only a mask over frozen
initial weights. How accurate is a network whose weights are never trained?

    cfg = SupermaskConfig(iterations=5000, weights="signed_constant")
    row = train_supermask(cfg, trial=0)     # {"test_acc", "density", ...}; stored in the run store, read back next time
    table = supermask_runs(cfg, trials=3)   # one row per trial, trained on parallel workers
    untrained_accuracy(configs, levels, trials, splits)  # stored IMP masks on never-trained weights

Every prunable weight w has a score s; each forward pass samples its mask bit m ~ Bernoulli(sigmoid(s)) and uses
w * m, and the gradient reaches s through the straight-through estimator (dm/ds := sigmoid'(s)). The weights never
change: they are the IMP ticket's initial weights of the same seed and trial (`weights="init"`), or their signs times
the layer's initialisation std (`"signed_constant"`, Zhou et al.'s best variant). Evaluation uses the deterministic
mask sigmoid(s) > 0.5, whose density is learned too (nothing fixes it).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..pruning import masks
from ..foundations.config import ConfigError, config_hash
from ..data import DATASETS, batch_stream, load_splits
from ..training.workers import parallel_map
from ..foundations.files import atomic_torch_save
from ..lottery.imp import IMPConfig, derive_seed, level_inputs
from ..models import MODELS, build_model, glorot_std, prunable_names
from ..foundations.store import METRIC_COLUMNS, level_dir, provenance, read_result, run_dir, task_lock, write_config, write_csv, write_result
from ..training.loop import evaluate
from ..results.analysis import interval_verdict, mean_interval

WEIGHTS = ("init", "signed_constant")
# Zhou et al. 2019's headline for MNIST (their abstract): masks applied to an untrained, randomly initialised fully
# connected network reach 86% test accuracy. A single published number with no interval, quoted to compare with.
ZHOU_UNTRAINED_MNIST = 0.86


@dataclass(frozen=True)
class SupermaskConfig:
    model: str = field(default="lenet_300_100", metadata={"help": f"one of {', '.join(MODELS)}"})
    dataset: str = field(default="mnist", metadata={"help": f"one of {', '.join(DATASETS)}"})
    train_subset: int = field(default=0, metadata={"help": "train on the first N training images (0: all)"})
    weights: str = field(default="init", metadata={"help": f"frozen weights: {', '.join(WEIGHTS)}"})
    lr: float = field(default=0.1, metadata={"help": "Adam learning rate of the mask scores"})
    batch_size: int = field(default=60, metadata={"help": "examples per iteration"})
    iterations: int = field(default=5000, metadata={"help": "optimiser steps on the scores"})
    eval_every: int = field(default=500, metadata={"help": "iterations between test evaluations"})
    seed: int = field(default=0, metadata={"help": "base seed: the same initial weights as the IMP ticket's"})
    data_root: str = field(default="data", metadata={"help": "folder holding the datasets", "hash": False})
    out: str = field(default="runs", metadata={"help": "run-store folder", "hash": False})

    def __post_init__(self):
        checks = [("model", self.model in MODELS, f"one of {', '.join(MODELS)}"),
                  ("dataset", self.dataset in DATASETS, f"one of {', '.join(DATASETS)}"),
                  ("weights", self.weights in WEIGHTS, f"one of {', '.join(WEIGHTS)}"),
                  ("lr", self.lr > 0, "> 0"), ("batch_size", self.batch_size >= 1, ">= 1"),
                  ("iterations", self.iterations >= 1, ">= 1"), ("eval_every", self.eval_every >= 1, ">= 1"),
                  ("train_subset", self.train_subset >= 0, ">= 0"), ("seed", self.seed >= 0, ">= 0")]
        for name, ok, allowed in checks:
            if not ok:
                raise ConfigError(name, getattr(self, name), allowed)

    @property
    def root(self):
        return run_dir(self, f"supermask_{self.model}_{self.dataset}")

    @property
    def hash(self) -> str:
        return config_hash(self)


def frozen_weights(cfg: SupermaskConfig, trial: int, input_shape, num_classes) -> torch.nn.Module:
    """The IMP ticket's initial network of this seed and trial, or its signed-constant version."""
    model = build_model(cfg.model, input_shape, num_classes, seed=derive_seed(cfg.seed, trial, "init"))
    if cfg.weights == "signed_constant":
        with torch.no_grad():
            for name in prunable_names(model):
                w = model.get_parameter(name)
                w.copy_(torch.sign(w) * glorot_std(w))
    return model.requires_grad_(False)


def masked_weights(model, scores: dict[str, torch.Tensor], generator: torch.Generator | None) -> dict:
    """The parameters with each scored weight times its mask: sampled with the straight-through gradient when a
    generator is given (training), sigmoid(s) > 0.5 otherwise (evaluation)."""
    params = dict(model.named_parameters())
    for name, s in scores.items():
        p = torch.sigmoid(s)
        if generator is None:
            mask = (p > 0.5).to(p.dtype)
        else:
            mask = torch.bernoulli(p.detach(), generator=generator) + p - p.detach()
        params[name] = params[name] * mask
    return params


def _evaluate(model, scores, x, y) -> tuple[float, float]:
    """training.evaluate on a copy of the frozen network under the deterministic mask."""
    masked = copy.deepcopy(model)
    with torch.no_grad():
        masked.load_state_dict(masked_weights(model, scores, None), strict=False)
    return evaluate(masked, x, y)


def train_supermask(cfg: SupermaskConfig, trial: int = 0) -> dict:
    """Learn the supermask of one trial (or read it back); returns its result row."""
    directory = cfg.root / f"trial_{trial}"
    done = read_result(directory)
    if done is not None:
        return done
    with task_lock(directory):
        done = read_result(directory)
        if done is not None:
            return done
        write_config(cfg.root, cfg)
        splits = load_splits(cfg.dataset, cfg.data_root, "cpu", cfg.train_subset)
        model = frozen_weights(cfg, trial, splits.input_shape, splits.num_classes)
        scores = {n: torch.zeros_like(model.get_parameter(n), requires_grad=True) for n in prunable_names(model)}
        opt = torch.optim.Adam(scores.values(), lr=cfg.lr)
        x_train, y_train = splits.train
        batches = batch_stream(len(y_train), cfg.batch_size,
                               torch.Generator().manual_seed(derive_seed(cfg.seed, trial, "supermask-data")))
        sampler = torch.Generator().manual_seed(derive_seed(cfg.seed, trial, "supermask-bernoulli"))
        metrics = []
        for it in range(cfg.iterations + 1):
            if it % cfg.eval_every == 0 or it == cfg.iterations:
                loss, acc = _evaluate(model, scores, *splits.test)
                metrics.append({"iteration": it, "split": "test", "loss": loss, "accuracy": acc})
            if it == cfg.iterations:
                break
            idx = next(batches)
            logits = functional_call(model, masked_weights(model, scores, sampler), (x_train[idx],))
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(logits, y_train[idx]).backward()
            opt.step()
        kept = {n: torch.sigmoid(s.detach()) > 0.5 for n, s in scores.items()}
        atomic_torch_save(directory / "scores.pt", {n: s.detach() for n, s in scores.items()})
        write_csv(directory / "metrics.csv", metrics, METRIC_COLUMNS)
        row = {"trial": trial, "weights": cfg.weights, "test_acc": metrics[-1]["accuracy"],
               "test_loss": metrics[-1]["loss"],
               "density": sum(int(k.sum()) for k in kept.values()) / sum(k.numel() for k in kept.values()),
               **{f"density_{n.split('.')[0]}": float(k.float().mean()) for n, k in kept.items()},
               "iterations": cfg.iterations, "provenance": provenance("cpu", 1)}
        write_result(directory, row)
        return row


def configs_for(cfg: IMPConfig, iterations: int, eval_every: int) -> dict[str, SupermaskConfig]:
    """{weights: SupermaskConfig} for both kinds of frozen weights, on the IMP config's model, data and seed (so
    trial t's frozen weights are the IMP ticket's initial weights of trial t)."""
    shared = dict(model=cfg.model, dataset=cfg.dataset, train_subset=cfg.train_subset, seed=cfg.seed,
                  batch_size=cfg.batch_size, iterations=iterations, eval_every=min(eval_every, iterations),
                  data_root=cfg.data_root, out=cfg.out)
    return {weights: SupermaskConfig(weights=weights, **shared) for weights in WEIGHTS}


def supermask_runs(cfgs, trials: int, workers: int = 0, progress: bool = True) -> pd.DataFrame:
    """One row per config (one SupermaskConfig or several) and trial, each supermask learned on a single-thread
    worker (or read back)."""
    cfgs = [cfgs] if isinstance(cfgs, SupermaskConfig) else list(cfgs)
    rows = parallel_map(train_supermask, [(c, t) for c in cfgs for t in range(trials)], workers=workers,
                        progress=progress, desc="supermasks")
    return pd.DataFrame(rows).drop(columns=["provenance"])


def untrained_accuracy(configs: dict[str, IMPConfig], levels, trials: int, splits) -> pd.DataFrame:
    """Test accuracy of stored IMP masks on weights that are never trained (Zhou et al.'s "masking is training"),
    per config name, level and trial: each config's mask at the level on its own start weights, so `ticket` is the
    ticket's mask on the initial weights, `signs_constant` the same mask on their signed-constant version and
    `random_prune` a random mask with the ticket's per-layer counts on the initial weights. Needs the ticket's masks
    stored at the levels (every other mask is derived from them, whether or not its arm trained the level)."""
    rows = []
    for name, cfg in configs.items():
        for trial in range(trials):
            for level in levels:
                known = masks.load(level_dir(cfg.root, trial, level) / "mask.pt") if cfg.arm == "ticket" else None
                model, mask, start, _ = level_inputs(cfg, trial, level, splits, given_mask=known)
                model.load_state_dict(start)
                loss, acc = evaluate(masks.apply_mask_(model, mask), *splits.test)
                rows.append({"name": name, "level": level, "trial": trial, "density": masks.density(mask),
                             "test_loss": loss, "test_acc": acc})
    return pd.DataFrame(rows)


def untrained_claim(untrained: pd.DataFrame, published: float = ZHOU_UNTRAINED_MNIST) -> dict:
    """Zhou et al. 2019: their masks give an untrained network `published` test accuracy on MNIST (one value, no
    interval). Ours (`untrained`: untrained_accuracy's rows): the never-trained (mask, level) cell with the highest
    mean over trials, that mean's 95% t-interval, and a verdict on the interval: "above theirs" or "below theirs" where
    it excludes their value, "consistent with theirs" where it holds it ("not resolved" with one trial). The cell is
    the best of `cells`, picked by its mean, so its interval leans in its favour."""
    means = untrained.groupby(["name", "level"], sort=False)["test_acc"].mean()
    name, level = means.idxmax()
    cell = untrained[(untrained["name"] == name) & (untrained["level"] == level)]
    ci = mean_interval(cell["test_acc"])
    verdict = "not resolved" if ci["n"] < 2 else interval_verdict(
        ci["ci_low"], ci["ci_high"], "above theirs", "below theirs", "consistent with theirs", reference=published)
    return {"name": name, "level": level, "density": cell["density"].mean(), "cells": len(means), **ci,
            "verdict": verdict}

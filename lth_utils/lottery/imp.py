"""Iterative magnitude pruning (IMP) with rewinding, and its control arms, one level at a time.

    cfg = IMPConfig(iterations=2000, levels=5, trials=2)
    summary = run_imp(cfg)                       # pandas DataFrame, one row per (trial, level); see engine.run
    python -m lth_utils imp --iterations 2000 --levels 5 --trials 2

One level of one trial is one task (`run_level`): it reads what it needs from the run store, trains, and writes its
files. Level l of the ticket arm prunes the final weights of level l-1 and rewinds the survivors:

| rewind | start weights of level l >= 1                                            |
|--------|--------------------------------------------------------------------------|
| init   | the level-0 initial weights x mask (the paper)                           |
| k      | the level-0 weights after k iterations x mask, trained the remaining     |
|        | iterations - k steps (late rewinding)                                    |
| none   | the level l-1 final weights x mask, trained at the schedule's final lr   |
| lr     | the level l-1 final weights x mask, the learning-rate schedule replayed  |

Level 0 (the dense network) does not depend on how a run prunes or rewinds: configs that differ only in `rate`,
`output_rate`, `scope`, `pool_output` or `rewind` train it once, in the config with those fields at their defaults,
and copy it (`dense_source`); a late-rewinding run replays the first k iterations for its rewind point.

Control arms use the ticket's masks and the same seeds and data order, level for level (from level 1 on):
`reinit` trains the ticket's mask from a fresh initialisation; `random_prune` trains a random mask with the ticket's
per-layer counts (each level a random subset of the previous level's, replayed from the ticket's masks, so any
level trains on its own) from the ticket's rewind weights.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, NamedTuple

import torch
from torch import nn

from ..pruning import masks, magnitude as pruning
from ..foundations.config import ConfigError, config_hash
from ..data import DATASETS, FACTS, VALIDATION_SIZE, Splits, load_splits
from ..foundations.files import atomic_torch_save, atomic_write_bytes, torch_load
from ..training.kernels import KERNELS, same_in_every_version
from ..models import MODELS, build_model, check_model_name, conv_names, prunable_names
from .rewind import parse_rewind, rewind_iteration
from ..foundations.seeds import derive_seed  # noqa: F401 (re-exported: imp.derive_seed is what notebooks and experiments import)
from ..foundations.store import (METRIC_COLUMNS, check_provenance, device_type, level_dir,
                    pause_point, provenance, read_result, machine_row, same_machine, recorded_kernels, run_dir, task_lock,
                    trace, write_config, write_csv, write_result)
from ..training.loop import LR_SCHEDULES, OPTIMIZERS, TrainConfig, single_thread, train

# The arms, each an Arm (below): the ticket and its two controls here; the others declared by the experiment that
# trains them, named here as "module:ARM" and resolved when first used (a registration, never an import). A new arm
# is an Arm in its experiment's module and one line in this table.
ARMS: dict[str, "Arm | str"] = {
    "ticket": "lth_utils.lottery.imp:TICKET",
    "reinit": "lth_utils.lottery.imp:REINIT",
    "random_prune": "lth_utils.lottery.imp:RANDOM_PRUNE",
    # Morcos et al. 2019: the ticket found on another dataset, trained on this one
    "transfer": "lth_utils.experiments.transfer:ARM",
    # Zhou et al. 2019: the ticket's mask with the rewind weights' signs and new magnitudes
    "signs_constant": "lth_utils.experiments.signs:SIGNS_CONSTANT",
    "signs_reinit": "lth_utils.experiments.signs:SIGNS_REINIT",
    # pruning at initialisation: a method prunes the initial weights once, to the ticket's count at each level
    "magnitude_init": "lth_utils.experiments.init_pruning:MAGNITUDE_INIT",
    "snip": "lth_utils.experiments.init_pruning:SNIP",
    "grasp": "lth_utils.experiments.init_pruning:GRASP",
    "synflow": "lth_utils.experiments.init_pruning:SYNFLOW",
}
# Frankle et al. 2021's sanity checks of a pruning-at-initialisation arm: shuffle its mask within each layer,
# reinitialise the weights it keeps, or invert its scores (keep the lowest-scoring weights).
ABLATIONS = ("none", "shuffle", "reinit", "invert")
MAX_LEVELS = 200


def _no_hash(default, help):
    return field(default=default, metadata={"help": help, "hash": False})


@dataclass(frozen=True)
class IMPConfig(TrainConfig):
    """Every hyperparameter of an IMP run. Defaults are the paper's LeNet-300-100 / MNIST setting."""
    # The meaning of stored results. Bump it whenever code changes what a level computes (pruning, training,
    # evaluation, seeding): every folder of an older schema then stops matching and is trained again. 2: identity
    # over all fields and the device type, test evaluated at validation minima (see README, "The run store").
    SCHEMA: ClassVar[int] = 2
    model: str = field(default="lenet_300_100", metadata={"help": f"one of {', '.join(MODELS)}"})
    dataset: str = field(default="mnist", metadata={"help": f"one of {', '.join(DATASETS)}"})
    train_subset: int = field(default=0, metadata={
        "help": "train on the first N of the 55K training images (0: all); validation and test stay whole"})
    rate: float = field(default=0.2, metadata={"help": "fraction of surviving weights pruned per level (paper: 0.2)"})
    output_rate: float | None = field(default=None, metadata={
        "help": "rate for the output layer (default: rate / 2, as in the paper)"})
    conv_rate: float | None = field(default=None, metadata={
        "help": "rate for the convolutional layers (default: rate; the paper: 0.1 for Conv-2/4, 0.15 for Conv-6, with "
                "rate 0.2 for the fully connected layers and output_rate 0.1)", "hash": "if_changed"})
    scope: str = field(default="layerwise", metadata={"help": "layerwise or global magnitude ranking"})
    pool_output: bool = field(default=False, metadata={
        "help": "with scope=global: rank the output layer together with the others at `rate` (True), or prune it on "
                "its own at output_rate (False, as the paper's half-rate output layer)"})
    rewind: str = field(default="init", metadata={
        "help": "init (iteration 0), an iteration k (late rewinding), none (fine-tune), lr (learning-rate rewinding)"})
    arm: str = field(default="ticket", metadata={"help": f"one of {', '.join(ARMS)}"})
    transfer_from: str = field(default="", metadata={
        "help": "transfer arm only: the dataset whose ticket (masks and rewind weights) is trained on `dataset`",
        "hash": "if_changed"})
    draw: int = field(default=0, metadata={
        "help": "reinit arm only: which random reinitialisation of the ticket's mask (the paper draws 3 per trial)"})
    ablation: str = field(default="none", metadata={
        "help": f"pruning-at-initialisation arms only: {', '.join(ABLATIONS)} (shuffle the mask within each layer, "
                f"reinitialise the kept weights, or keep the lowest-scoring weights)", "hash": "if_changed"})
    criterion: str = field(default="magnitude", metadata={
        "help": f"what the ticket keeps the highest of: {', '.join(pruning.CRITERIA)} (Zhou et al. 2019: abs(w_final), "
                f"abs(w_final) - abs(w_initial), abs(w_final - w_initial))", "hash": "if_changed"})
    seed: int = field(default=0, metadata={"help": "base seed: inits, data orders and random masks derive from it"})
    levels: int = _no_hash(18, "pruning levels after the dense level 0 (paper: 18 reaches 1.9%%)")
    target_density: float | None = _no_hash(None, "if set, run as many levels as reach this density (overrides levels)")
    trials: int = _no_hash(5, "independent trials (paper: 5)")
    device: str = field(default="cpu", metadata={
        "help": "cpu, cuda or cuda:N (its type is part of the run's identity: CPU and GPU chains never mix)",
        "hash": device_type})
    test_curve_levels: str = _no_hash("all", "levels whose test accuracy is recorded at every evaluation, for learning "
                                             "curves: all, none or a list such as 0,3,7 (other levels record it at "
                                             "each new validation minimum and at the end: same results, cheaper)")
    only_levels: str = _no_hash("", "all arms but the ticket (their levels are independent of each other): "
                                    "run just these levels, as a list such as 3,7,12; empty: all levels")
    foreign_ok: bool = _no_hash(False, "read stored levels recorded under another torch version (never extend them)")
    workers: int = _no_hash(0, "parallel single-thread CPU workers (0: as many as cores and ready tasks allow)")
    data_root: str = _no_hash("data", "folder holding the datasets")
    out: str = _no_hash("runs", "run-store folder")

    def __post_init__(self):
        # '0' is 'init' and '007' is '7': one computation, one folder (a string, as the run hash has always read it)
        object.__setattr__(self, "rewind", str(parse_rewind(self.rewind)))
        validate(self)

    # ------------------------------------------------------------------ derived values
    @property
    def rewind_iteration(self) -> int | None:
        """0 for 'init', k for a number, None for 'none' / 'lr' (no rewinding of weights)."""
        return rewind_iteration(self.rewind)

    @property
    def num_levels(self) -> int:
        """Pruning levels to run (after level 0), from `target_density` when it is set."""
        if self.target_density is None:
            return self.levels
        return pruning.rounds_to_reach(self.target_density, *self._layer_sizes_and_rates(), max_rounds=MAX_LEVELS)

    def _layer_sizes_and_rates(self):
        sizes = dict(layer_sizes(self.model, self.dataset))
        return sizes, self.layer_rates(list(sizes))

    def scoped_rates(self, names: list[str]) -> tuple[dict[str, float], tuple[str, ...]]:
        """(the rate of each prunable layer, the layers ranked outside a global pool): pruning.scoped_rates, with
        conv layers at `conv_rate` if set."""
        convs = _conv_names(self.model, self.dataset) if self.conv_rate is not None else ()
        return pruning.scoped_rates(names, self.rate, self.output_rate, self.scope, self.pool_output,
                                    self.conv_rate, convs)

    def layer_rates(self, names: list[str]) -> dict[str, float]:
        return self.scoped_rates(names)[0]

    def remaining_at(self, level: int) -> int:
        """The number of weights the ticket keeps at `level` (exact: every level prunes round(rate * survivors)),
        which the pruning-at-initialisation arms match."""
        sizes = dict(layer_sizes(self.model, self.dataset))
        rates, exclude = self.scoped_rates(list(sizes))
        return pruning.remaining_after(sizes, rates, level, self.scope, exclude)

    def records_test_curve(self, level: int) -> bool:
        if self.test_curve_levels in ("all", "none"):
            return self.test_curve_levels == "all"
        return level in _level_list(self.test_curve_levels)

    def ticket(self) -> "IMPConfig":
        """The ticket run whose masks a control arm reuses (for `transfer`: the ticket found on `transfer_from`)."""
        dataset = self.transfer_from or self.dataset
        return dataclasses.replace(self, arm="ticket", draw=0, ablation="none", only_levels="", dataset=dataset,
                                   transfer_from="")

    @property
    def prefix(self) -> str:
        return f"{self.arm}_{self.model}_{self.dataset}"

    @property
    def hash(self) -> str:
        return config_hash(self)

    @property
    def root(self):
        """This run's folder in the run store: `<out>/<prefix>-<hash>`."""
        return run_dir(self, self.prefix)


def _level_list(text: str) -> set[int]:
    return {int(part) for part in text.split(",") if part.strip()}


def _is_level_list(text: str) -> bool:
    """'3,7,12': whole numbers separated by commas."""
    return bool(re.fullmatch(r"\d+(,\d+)*", text))


def input_shape(dataset: str) -> tuple[int, int, int]:
    return FACTS[dataset].input_shape


@functools.lru_cache(maxsize=None)
def _layers(model: str, dataset: str) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]]:
    """((name, number of weights) of each prunable layer in model order, names of the conv layers' weights): the
    model is built once per model and dataset."""
    net = build_model(model, input_shape(dataset), FACTS[dataset].num_classes)
    return tuple((n, net.get_parameter(n).numel()) for n in prunable_names(net)), tuple(conv_names(net))


def layer_sizes(model: str, dataset: str) -> tuple[tuple[str, int], ...]:
    """(name, number of weights) of each prunable layer of `model` on `dataset`, in model order."""
    check_model_name(model)
    require(dataset in DATASETS, "dataset", dataset, f"one of {', '.join(DATASETS)}")
    return _layers(model, dataset)[0]


def _conv_names(model: str, dataset: str) -> tuple[str, ...]:
    return _layers(model, dataset)[1]


def require(ok: bool, parameter: str, value, allowed: str) -> None:
    """A ConfigError naming `parameter`, its `value` and what is `allowed`, unless `ok`."""
    if not ok:
        raise ConfigError(parameter, value, allowed)


def validate(cfg: IMPConfig) -> None:
    """Reject an invalid config before any work starts, naming the parameter, its value and what is allowed: its
    training, its pruning, its arm and the run around them, in that order."""
    _validate_training(cfg)
    _validate_pruning(cfg)
    _validate_arm(cfg)
    _validate_run(cfg)


def _validate_training(cfg: IMPConfig) -> None:
    """The model, the data and how one level trains."""
    require(cfg.model in MODELS, "model", cfg.model, f"one of {', '.join(MODELS)}")
    require(cfg.dataset in DATASETS, "dataset", cfg.dataset, f"one of {', '.join(DATASETS)}")
    require(cfg.optimizer in OPTIMIZERS, "optimizer", cfg.optimizer, f"one of {', '.join(OPTIMIZERS)}")
    require(cfg.lr > 0, "lr", cfg.lr, "a learning rate > 0")
    require(0 <= cfg.momentum < 1, "momentum", cfg.momentum, "in [0, 1)")
    require(cfg.weight_decay >= 0, "weight_decay", cfg.weight_decay, ">= 0")
    require(cfg.lr_schedule in LR_SCHEDULES, "lr_schedule", cfg.lr_schedule, f"one of {', '.join(LR_SCHEDULES)}")
    require(cfg.iterations >= 1, "iterations", cfg.iterations, ">= 1")
    require(cfg.eval_every >= 1, "eval_every", cfg.eval_every, ">= 1")
    require(cfg.patience >= 0, "patience", cfg.patience, ">= 0 (0 disables it)")
    require(0 <= cfg.sparse_train_density <= 1, "sparse_train_density", cfg.sparse_train_density,
             "a density in [0, 1] (0: dense training)")
    require(cfg.train_subset >= 0, "train_subset", cfg.train_subset, ">= 0 (0: the whole training split)")
    train_size = FACTS[cfg.dataset].train_size - VALIDATION_SIZE  # the dataset is checked above
    if cfg.train_subset:
        train_size = min(train_size, cfg.train_subset)
    require(1 <= cfg.batch_size <= train_size, "batch_size", cfg.batch_size, f"in [1, {train_size}] (training size)")


def _validate_pruning(cfg: IMPConfig) -> None:
    """The pruning rates and their scope, and the rewind point."""
    require(0 < cfg.rate < 1, "rate", cfg.rate, "a fraction in (0, 1)")
    require(cfg.output_rate is None or 0 <= cfg.output_rate < 1, "output_rate", cfg.output_rate,
             "a fraction in [0, 1), or None for rate / 2")
    require(cfg.scope in pruning.SCOPES, "scope", cfg.scope, f"one of {', '.join(pruning.SCOPES)}")
    if cfg.conv_rate is not None:
        require(0 < cfg.conv_rate < 1, "conv_rate", cfg.conv_rate, "a fraction in (0, 1), or None for rate")
        require(cfg.scope == "layerwise", "conv_rate", cfg.conv_rate,
                 "None with scope=global (the pool is ranked at one rate)")
        require(cfg.model not in MODELS or bool(_conv_names(cfg.model, cfg.dataset)), "conv_rate", cfg.conv_rate,
                 f"None for {cfg.model}, which has no convolutional layers")
    if cfg.rewind_iteration is not None:
        require(cfg.rewind_iteration < cfg.iterations, "rewind", cfg.rewind,
                 f"a rewind iteration before the end of training, 0..{cfg.iterations - 1} (iterations - 1)")
    if cfg.scope == "global" and cfg.model in MODELS:
        pooled = len(prunable_names(build_model(cfg.model, input_shape(cfg.dataset), FACTS[cfg.dataset].num_classes)))
        pooled -= 0 if cfg.pool_output else 1
        require(pooled >= 2, "scope", cfg.scope, f"layerwise for {cfg.model}: global scope would pool {pooled} "
                 f"layer(s); with pool_output=True the output layer joins the pool")


def _validate_arm(cfg: IMPConfig) -> None:
    """The arm, and the fields only some arms use."""
    require(cfg.arm in ARMS, "arm", cfg.arm, f"one of {', '.join(ARMS)}")
    arm = arm_of(cfg.arm)
    require(cfg.draw >= 0, "draw", cfg.draw, ">= 0")
    require(cfg.ablation in ABLATIONS, "ablation", cfg.ablation, f"one of {', '.join(ABLATIONS)}")
    for name in ARM_FIELDS:  # a field one arm uses keeps its default in every other arm
        users = [a for a in ARMS if name in arm_of(a).fields]
        default = IMPConfig.__dataclass_fields__[name].default
        require(name in arm.fields or getattr(cfg, name) == default, name, getattr(cfg, name),
                 f"{default!r} for the {cfg.arm} arm (only the {', '.join(users)} arm(s) use it)")
    require(cfg.only_levels == "" or (not arm.chain and _is_level_list(cfg.only_levels)), "only_levels",
             cfg.only_levels, "empty, or (every arm but the ticket, whose levels form a chain) levels separated by "
                              "commas such as 3,7,12")
    require(cfg.criterion in pruning.CRITERIA, "criterion", cfg.criterion, f"one of {', '.join(pruning.CRITERIA)}")
    require(cfg.criterion == "magnitude" or cfg.rewind_iteration is not None, "criterion", cfg.criterion,
             "magnitude when the ticket does not rewind (the other criteria compare with the rewound weights)")
    if arm.check is not None:
        arm.check(cfg)
    if not arm.chain:
        require(cfg.rewind_iteration is not None, "rewind", cfg.rewind,
                 f"init or an iteration k for the {cfg.arm} arm (it needs the ticket's rewind weights)")


def _validate_run(cfg: IMPConfig) -> None:
    """What the run records and how it runs: test curves, seed, levels, trials, workers, device, target density."""
    require(cfg.test_curve_levels in ("all", "none") or _is_level_list(cfg.test_curve_levels),
             "test_curve_levels", cfg.test_curve_levels, "all, none, or levels separated by commas such as 0,3,7")
    require(cfg.seed >= 0, "seed", cfg.seed, ">= 0")
    require(0 <= cfg.levels <= MAX_LEVELS, "levels", cfg.levels, f"in [0, {MAX_LEVELS}]")
    require(cfg.trials >= 1, "trials", cfg.trials, ">= 1")
    require(cfg.workers >= 0, "workers", cfg.workers, ">= 0 (0: automatic)")
    require(cfg.device == "cpu" or bool(re.fullmatch(r"cuda(:\d+)?", cfg.device)), "device", cfg.device,
             "cpu, cuda or cuda:N")
    if cfg.device.startswith("cuda"):
        require(torch.cuda.is_available(), "device", cfg.device, "cpu here: torch sees no CUDA device")
    if cfg.target_density is not None:
        require(0 < cfg.target_density < 1, "target_density", cfg.target_density, "a density in (0, 1), or None")
        try:
            cfg.num_levels
        except ValueError as exc:
            raise ConfigError("target_density", cfg.target_density, str(exc)) from None


# ------------------------------------------------------------------------------------------------------ one level
PRUNING_FIELDS = ("rate", "output_rate", "conv_rate", "scope", "pool_output", "criterion")


def dense_source(cfg: IMPConfig) -> IMPConfig | None:
    """The config whose level 0 this ticket run copies instead of training it again (None: it trains its own).
    Level 0 is the same dense training whatever the pruning fields and the rewind point: the source has them at
    their defaults (rewinding to init); a late-rewinding run replays its first k iterations for its rewind point."""
    if cfg.arm != "ticket":
        return None
    defaults = {f.name: f.default for f in dataclasses.fields(cfg) if f.name in PRUNING_FIELDS}
    canonical = dataclasses.replace(cfg, **defaults, rewind="init")
    return None if canonical.hash == cfg.hash else canonical


def copied_dense_level(cfg: IMPConfig, trial: int, level: int, row: dict) -> bool:
    """Whether a stored level's `row` is a copy of its dense source's level 0 (_copy_dense_level writes the source's
    row as it is); a late-rewinding run whose source was trained on another device model trains its own."""
    source = dense_source(cfg) if level == 0 else None
    return source is not None and bool(row) and read_result(level_dir(source.root, trial, 0)) == row


def replay_rewind_point(cfg: IMPConfig, trial: int, splits=None, kernels_version: int = KERNELS,
                        ) -> dict[str, torch.Tensor]:
    """The dense network's weights after `cfg.rewind_iteration` steps of level 0, recomputed by training those steps
    again from the seeds with the kernel version level 0 was trained with (bit-identical to the snapshot a full
    level-0 run saves)."""
    k = cfg.rewind_iteration
    splits = splits or load_splits(cfg.dataset, cfg.data_root, cfg.device, cfg.train_subset)
    model, mask, start, _ = level_inputs(cfg, trial, 0, splits)
    model.load_state_dict(start)
    model.to(cfg.device)
    # one thread, as the engine's workers train; a process that already ran torch on several threads can still give
    # other bits after switching to one, so import calls this in a fresh worker (workers.in_worker)
    with single_thread():
        result = train(model, mask, splits, cfg, data_seed=derive_seed(cfg.seed, trial, 0, "data"),
                       save_weights_at=k, stop_at=k, test_curve=False, kernels_version=kernels_version)
    return result.saved_weights


def _copy_dense_level(source: IMPConfig, cfg: IMPConfig, trial: int, on_progress=None) -> dict | None:
    """Copy level 0 of `source` into `cfg`'s run, with the rewind point replayed for late rewinding; result.json
    last. None when the source stopped (patience) before this run's rewind point, or when a late-rewinding run's
    source was trained on another device model, or one its provenance does not pin down (its replayed rewind point
    would not lie on the copied trajectory: training is not bit-identical across CPUs): then this run trains its
    own. The source's level 0 is a dependency of this task (`dependencies`), so the engine has run it: it is read
    here, never trained (a task does not run another task)."""
    directory = level_dir(source.root, trial, 0)
    row = read_result(directory)
    if row is None:
        raise RuntimeError(f"level 0 of {cfg.root} trial {trial} copies its dense source's level 0, which is not stored "
                           f"({directory}): run both through the engine (engine.run orders a task after the ones it "
                           f"reads), or train the source first")
    check_provenance(row, directory, source.device, source.foreign_ok)
    if on_progress:
        on_progress(row["iterations_run"])
    k = cfg.rewind_iteration
    if k and row["iterations_run"] < k:
        return None
    if k and same_machine(row, machine_row(cfg.device)) is not True:  # unknown (no instruction set recorded) too
        return None
    if k:
        atomic_torch_save(cfg.root / f"trial_{trial}" / "rewind.pt",
                          replay_rewind_point(cfg, trial, kernels_version=recorded_kernels(row)))
    src, dst = source.root, cfg.root
    for name in ("mask.pt", "weights_start.pt", "weights_final.pt", "metrics.csv"):
        atomic_write_bytes(dst / f"trial_{trial}/level_0/{name}", (src / f"trial_{trial}/level_0/{name}").read_bytes())
    write_result(level_dir(dst, trial, 0), row)
    return row


def _levels_of(cfg: IMPConfig) -> list[int]:
    levels = range(0 if arm_of(cfg.arm).chain else 1, cfg.num_levels + 1)
    return [l for l in levels if l in _level_list(cfg.only_levels)] if cfg.only_levels else list(levels)


def _rewind_weights(ticket_root, trial: int, k: int) -> dict[str, torch.Tensor]:
    path = level_dir(ticket_root, trial, 0) / "weights_start.pt" if k == 0 else ticket_root / f"trial_{trial}/rewind.pt"
    return torch_load(path)


class LevelInputs(NamedTuple):
    """What one level trains: the model (its initial weights seeded by trial), the mask, the start weights, and
    "final" where the learning rate stays at the schedule's final value (fine-tuning) rather than replaying it."""
    model: nn.Module
    mask: masks.Mask
    start: dict[str, torch.Tensor]
    lr_schedule: str | None = None


@dataclass(frozen=True)
class Arm:
    """One arm of the driver. `inputs(cfg, trial, level, splits, model, given_mask)` makes a level's LevelInputs
    (level >= 1; level 0 is the dense network in every arm) from the store's files of earlier tasks; `given_mask` is
    the level's mask when it is known already (an import reads it from a compact store), for an arm that would
    otherwise compute it. `chain`: its levels read each other (the ticket), so it trains from level 0 and cannot skip
    levels; `reads_ticket`: its level l reads the ticket's level l (mask, rewind weights); `fields`: the config fields
    only this arm uses (every other arm keeps their defaults); `check(cfg)`: its own config rules; `scores_mask`: its
    mask is scored from weights on this machine, so a compact store keeps the mask rather than recomputing it."""
    name: str
    inputs: Callable[..., LevelInputs]
    chain: bool = False
    reads_ticket: bool = True
    fields: tuple[str, ...] = ()
    check: Callable[[IMPConfig], None] | None = None
    scores_mask: bool = False


# The config fields that belong to one arm or a few (Arm.fields): elsewhere they keep their defaults.
ARM_FIELDS = ("draw", "transfer_from", "ablation")


@functools.lru_cache(maxsize=None)
def arm_of(name: str) -> Arm:
    """The Arm called `name` (one of ARMS), importing the experiment module that declares it on first use."""
    entry = ARMS[name]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    if entry.name != name:
        raise ValueError(f"ARMS[{name!r}] names an Arm called {entry.name!r}")
    return entry


def level_inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits,
                 given_mask: masks.Mask | None = None) -> LevelInputs:
    """A level's LevelInputs, derived from files of earlier levels only (the arm's `inputs`; level 0 is the dense
    network). `given_mask`: the level's mask when it is known already (an import reads it from the compact store),
    so it is not computed again from trained weights or scores."""
    model = build_model(cfg.model, splits.input_shape, splits.num_classes, seed=derive_seed(cfg.seed, trial, "init"))
    if level == 0:
        return LevelInputs(model, masks.ones_like(model), model.state_dict())
    return arm_of(cfg.arm).inputs(cfg, trial, level, splits, model, given_mask)


def ticket_mask_at(cfg: IMPConfig, trial: int, level: int) -> masks.Mask:
    """The mask of the ticket this arm pairs with (cfg.ticket()) at `level`."""
    return masks.load(level_dir(cfg.ticket().root, trial, level) / "mask.pt")


def ticket_rewind_weights(cfg: IMPConfig, trial: int) -> dict[str, torch.Tensor]:
    """The weights the ticket this arm pairs with rewinds to (its iteration-0 or iteration-k weights)."""
    return _rewind_weights(cfg.ticket().root, trial, cfg.rewind_iteration)


def _ticket_inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits, model, given_mask) -> LevelInputs:
    """Prune the previous level's trained weights (by the criterion, at the layers' rates) and rewind the survivors."""
    names = prunable_names(model)
    previous = level_dir(cfg.root, trial, level - 1)
    trained = None
    if given_mask is None or cfg.rewind_iteration is None:
        if not (previous / "weights_final.pt").is_file():
            raise FileNotFoundError(f"{previous}/weights_final.pt: level {level} prunes these trained weights, which "
                                    f"the compact store this run was imported from left out (a trial it holds "
                                    f"complete); train more levels in a new run store")
        trained = torch_load(previous / "weights_final.pt")
    mask = given_mask
    if mask is None:
        initial = torch_load(previous / "weights_start.pt") if cfg.criterion != "magnitude" else None
        rates, exclude = cfg.scoped_rates(names)
        mask = pruning.score_prune(pruning.criterion_scores(cfg.criterion, trained, initial, names),
                                   masks.load(previous / "mask.pt"), rates, cfg.scope, exclude)
    if cfg.rewind_iteration is None:
        return LevelInputs(model, mask, trained, "final" if cfg.rewind == "none" else None)
    return LevelInputs(model, mask, _rewind_weights(cfg.root, trial, cfg.rewind_iteration))


def _reinit_inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits, model, given_mask) -> LevelInputs:
    """The ticket's mask on a fresh initialisation (draw j: another one)."""
    draw = () if cfg.draw == 0 else (cfg.draw,)  # draw 0's seed has no draw index: the plain reinit arm's
    fresh = build_model(cfg.model, splits.input_shape, splits.num_classes,
                        seed=derive_seed(cfg.seed, trial, level, "reinit", *draw))
    return LevelInputs(model, ticket_mask_at(cfg, trial, level), fresh.state_dict())


def _random_prune_inputs(cfg: IMPConfig, trial: int, level: int, splits: Splits, model, given_mask) -> LevelInputs:
    """A random mask with the ticket's per-layer counts (random_chain), from the ticket's rewind weights."""
    mask = random_chain(cfg, trial, level, masks.ones_like(model), ticket_mask_at(cfg, trial, level))
    return LevelInputs(model, mask, ticket_rewind_weights(cfg, trial))


TICKET = Arm("ticket", _ticket_inputs, chain=True, reads_ticket=False)
REINIT = Arm("reinit", _reinit_inputs, fields=("draw",))
RANDOM_PRUNE = Arm("random_prune", _random_prune_inputs)


def random_chain(cfg: IMPConfig, trial: int, level: int, dense: masks.Mask, ticket_mask: masks.Mask) -> masks.Mask:
    """The random_prune arm's mask at `level`: level j's mask is a random subset of level j-1's with the ticket's
    per-layer counts at j (seeded by trial and j). Masks need no training, so the chain is replayed from the ticket's
    masks alone and a level can be trained without the random levels before it (the same bits as training them)."""
    mask = dense
    for j in range(1, level + 1):
        counts = masks.layer_counts(ticket_mask if j == level else
                                    masks.load(level_dir(cfg.ticket().root, trial, j) / "mask.pt"))
        generator = torch.Generator().manual_seed(derive_seed(cfg.seed, trial, j, "random_prune"))
        mask = pruning.random_prune_like(mask, counts, generator)
    return mask


def start_iteration(cfg: IMPConfig, level: int) -> int:
    """A network rewound to iteration k resumes there; every other level trains from iteration 0."""
    return cfg.rewind_iteration if (level > 0 and cfg.rewind_iteration) else 0


def run_level(cfg: IMPConfig, trial: int, level: int, on_progress=None) -> dict:
    """Train one level of one trial and write its files; returns its summary row. Idempotent: a level whose
    result.json exists is read, not retrained. Safe beside other processes on the same store: the level's lock is
    held while it trains, so a second process waits for the first and then reads its result."""
    directory = level_dir(cfg.root, trial, level)
    done = read_result(directory)
    if done is None:
        with task_lock(directory):
            done = read_result(directory)  # another process may have finished it while we waited
            if done is None:
                return _train_level(cfg, trial, level, on_progress)
    check_provenance(done, directory, cfg.device, cfg.foreign_ok)
    if on_progress:
        on_progress(done["iterations_run"])
    return done


def chain_kernels(cfg: IMPConfig, trial: int, level: int) -> int:
    """The kernel version a level trains with: that of the stored level it reads (the previous level, the ticket's
    level for a control, the dense source's level 0), so a chain never mixes versions; the current KERNELS for a
    level that reads none, or whose stored input trains the same bits in every version (kernels.same_in_every_version:
    then its chain is as much the current version's as the one it recorded)."""
    for dep_cfg, dep_trial, dep_level in dependencies(cfg, trial, level):
        directory = level_dir(dep_cfg.root, dep_trial, dep_level)
        row = read_result(directory)
        if row is None:
            continue
        version = recorded_kernels(row)
        if version != KERNELS and (directory / "mask.pt").is_file() and \
                same_in_every_version(masks.load(directory / "mask.pt"), cfg.sparse_train_density):
            return KERNELS
        return version
    return KERNELS


def _check_inputs(cfg: IMPConfig, trial: int, level: int) -> None:
    """Refuse to extend a chain whose stored inputs were recorded under another device type or torch version."""
    for dep_cfg, dep_trial, dep_level in dependencies(cfg, trial, level):
        dep_dir = level_dir(dep_cfg.root, dep_trial, dep_level)
        row = read_result(dep_dir)
        if row is not None:
            check_provenance(row, dep_dir, cfg.device, foreign_ok=False)


def _train_level(cfg: IMPConfig, trial: int, level: int, on_progress=None) -> dict:
    root = cfg.root
    directory = level_dir(root, trial, level)
    source = dense_source(cfg) if level == 0 else None
    if source is not None:
        copied = _copy_dense_level(source, cfg, trial, on_progress)
        if copied is not None:
            return copied
    _check_inputs(cfg, trial, level)
    trace("train", root, trial, level)
    row, model, mask, start, result = fit_level(cfg, trial, level, on_progress=on_progress)
    masks.save(mask, directory / "mask.pt")
    atomic_torch_save(directory / "weights_start.pt", start)
    pause_point(trial, level)  # a no-op outside the tests that interrupt a run at a known point: a level half-written
    if result.saved_weights is not None:
        atomic_torch_save(root / f"trial_{trial}" / "rewind.pt", result.saved_weights)
    atomic_torch_save(directory / "weights_final.pt", {k_: v.cpu() for k_, v in model.state_dict().items()})
    write_csv(directory / "metrics.csv", result.metrics, METRIC_COLUMNS)
    write_result(directory, row)
    return row


def fit_level(cfg: IMPConfig, trial: int, level: int, given_mask: masks.Mask | None = None, on_progress=None):
    """Train one level from its inputs (the files of earlier levels; `given_mask` as level_inputs takes it) without
    writing anything: (summary row, trained model, mask, masked start weights, TrainResult)."""
    splits = load_splits(cfg.dataset, cfg.data_root, cfg.device, cfg.train_subset)
    model, mask, start, lr_schedule = level_inputs(cfg, trial, level, splits, given_mask)
    model.load_state_dict(start)
    masks.apply_mask_(model, mask)
    start = {k_: v.clone() for k_, v in model.state_dict().items()}
    model.to(cfg.device)
    k = cfg.rewind_iteration
    save_at = k if (cfg.arm == "ticket" and level == 0 and k) else None
    test_curve = cfg.records_test_curve(level)
    version = chain_kernels(cfg, trial, level)
    result = train(model, mask, splits, cfg, data_seed=derive_seed(cfg.seed, trial, level, "data"),
                   start_iteration=start_iteration(cfg, level), lr_schedule_override=lr_schedule,
                   save_weights_at=save_at, test_curve=test_curve, kernels_version=version, on_progress=on_progress)
    if save_at is not None and result.saved_weights is None:
        # cannot happen (patience waits for k); never store an empty rewind point
        raise RuntimeError(f"level 0 of {cfg.root} trial {trial} stopped before the rewind iteration {save_at}")
    row = {"arm": cfg.arm, "trial": trial, "level": level, "density": masks.density(mask),
           "remaining": masks.remaining(mask), "early_stop_iteration": result.early_stop_iteration,
           "val_loss_at_early_stop": result.val_loss_at_early_stop,
           "test_acc_at_early_stop": result.test_acc_at_early_stop, "final_test_acc": result.final_test_acc,
           "iterations_run": result.iterations_run, "seconds": result.seconds, "eval_seconds": result.eval_seconds,
           "test_curve": test_curve, "provenance": provenance(cfg.device, cfg.SCHEMA, version)}
    return row, model, mask, start, result


def prepare(cfg: IMPConfig) -> None:
    """Write config.json for the run (and the ticket run a control arm depends on; pruning-at-initialisation arms
    depend on none). Temporary files a killed run left
    behind are swept level by level, by the process that holds the level's lock (store.task_lock)."""
    arm = arm_of(cfg.arm)
    reads = {cfg.ticket(), dense_source(cfg.ticket()) or cfg} if arm.chain or arm.reads_ticket else set()
    for c in {cfg} | reads:
        write_config(c.root, c)


def config_of(root: Path, out: Path) -> IMPConfig:
    """The IMPConfig recorded in run folder `root`'s config.json, with `out` as its store and the CPU as its device
    (replays run on the CPU; the device type is in the folder name); fields added since keep their defaults."""
    fields = {f.name for f in dataclasses.fields(IMPConfig)}
    stored = json.loads((root / "config.json").read_text())["config"]
    values = {k: v for k, v in stored.items() if k in fields}
    values.update(out=str(out), device="cpu")
    return IMPConfig(**values)


def tasks_of(cfg: IMPConfig) -> list[tuple[IMPConfig, int, int]]:
    return [(cfg, t, l) for t in range(cfg.trials) for l in _levels_of(cfg)]


def dependencies(cfg: IMPConfig, trial: int, level: int) -> list[tuple[IMPConfig, int, int]]:
    """The tasks whose files `run_level(cfg, trial, level)` reads."""
    deps = []
    source = dense_source(cfg) if level == 0 else None
    if source is not None:
        deps.append((source, trial, 0))
    if level > 0 and arm_of(cfg.arm).chain:
        deps.append((cfg, trial, level - 1))
    if arm_of(cfg.arm).reads_ticket:
        deps.append((cfg.ticket(), trial, level))
    return deps


Task = tuple[IMPConfig, int, int]


def all_tasks(configs: list[IMPConfig]) -> list[Task]:
    """The tasks of `configs` plus every task they depend on (a control's ticket, a copied dense level), each once,
    dependencies first."""
    tasks: dict[Task, None] = {}

    def add(task: Task) -> None:
        for dep in dependencies(*task):
            if dep not in tasks:
                add(dep)
        tasks.setdefault(task, None)

    for cfg in configs:
        for task in tasks_of(cfg):
            add(task)
    return list(tasks)


def task_key(task: Task) -> tuple[str, int, int]:
    """Tasks of configs that differ only in `trials`/`levels` are the same work (same folder)."""
    cfg, trial, level = task
    return (str(cfg.root), trial, level)

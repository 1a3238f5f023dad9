"""Masked training: Adam or SGD on a pruned model, evaluated every `eval_every` iterations, early stop recorded.

    result = train(model, mask, splits, TrainConfig(iterations=1000), data_seed=0)
    result.early_stop_iteration, result.test_acc_at_early_stop, result.metrics  # rows: iteration, split, loss, accuracy

What is evaluated: the validation split at every evaluation (it decides the early-stopping iteration); the test split
twice at the end, on the final weights and on a copy of the weights kept at the best validation loss, which is all the
early-stop record and the final accuracy need, or at every evaluation with `test_curve=True` (for the levels a
notebook plots as learning curves). Both give the same early-stopping results to the bit. How a step and an
evaluation are computed is the kernel version's (lth_utils.kernels; a chain keeps its own).

Pruned weights stay exactly zero through every step: gradients are masked before the optimiser step (so momentum and
Adam moments of pruned weights stay zero) and the weights are masked again after it (so weight decay, decoupled or
not, cannot move them). Batches are index gathers from tensors already on the device; the data order comes from a
seeded generator, so the same config and seed give the same bits on the same machine and thread count.
"""
from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Splits, batch_stream
from . import kernels
from .adam import FusedAdam
from .masking import masked_parameters, masked_step
from .manual_step import manual_step
from ..pruning.masks import Mask

OPTIMIZERS = ("adam", "sgd")
LR_SCHEDULES = ("constant", "step")
# Evaluation, measured single-thread on the project's 2-core CPU (benchmarks/bench.py, "evaluation" rows):
# 500-image chunks keep the activations in cache (15,000 images in ~85 ms against ~105 ms in 2,000-image chunks), and
# a Linear layer at <= 10% density is faster as a CSR sparse matmul (first layer at 3.6%: ~30 ms against ~84 ms dense);
# at 21% dense wins.
EVAL_CHUNK = 500
SPARSE_EVAL_DENSITY = 0.10
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")


def set_training_state(threads: int, deterministic: bool) -> tuple[int, bool]:
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    return before


@contextmanager
def single_thread():
    """One intra-op thread and deterministic kernels (the thread count changes the bits); restored afterwards."""
    before = set_training_state(1, True)
    try:
        yield
    finally:
        set_training_state(*before)


@dataclass(frozen=True)
class TrainConfig:
    """How one network is trained. Experiment configs (IMPConfig, ...) extend this with their own fields."""
    optimizer: str = field(default="adam", metadata={"help": f"one of {', '.join(OPTIMIZERS)}"})
    lr: float = field(default=1.2e-3, metadata={"help": "learning rate (paper, LeNet: Adam 1.2e-3)"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum (ignored by Adam)"})
    weight_decay: float = field(default=0.0, metadata={"help": "L2 penalty added to the gradient"})
    lr_schedule: str = field(default="constant", metadata={
        "help": "constant, or step (x0.1 at 50%% and 75%% of training)"})
    batch_size: int = field(default=60, metadata={"help": "examples per iteration (paper: 60)"})
    iterations: int = field(default=50_000, metadata={"help": "optimiser steps per training run (paper: 50,000)"})
    eval_every: int = field(default=100, metadata={"help": "iterations between validation/test evaluations"})
    patience: int = field(default=0, metadata={
        "help": "stop after this many evaluations without a new minimum validation loss (0: never)"})
    sparse_train_density: float = field(default=0.0, metadata={
        "help": "on CPU, train Linear layers at or below this density with a CSR sparse forward pass (0: never; "
                "faster at <= 0.1, and the sums run in another order, so the bits differ from dense)",
        "hash": "if_changed"})


def lr_factor(iteration: int, iterations: int, schedule: str) -> float:
    """Multiplier of the base learning rate at `iteration` (pure; 'step' drops x0.1 at 50% and x0.01 at 75%)."""
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return 1.0 if iteration < iterations // 2 else 0.1 if iteration < 3 * iterations // 4 else 0.01
    raise ValueError(f"lr_schedule={schedule!r} is unknown; allowed: {', '.join(LR_SCHEDULES)}")


def make_optimizer(name: str, params, lr: float, momentum: float, weight_decay: float, device: str):
    # Fused kernels exist for Adam on CPU and CUDA (measured ~25% faster per epoch here); SGD has none on CPU.
    # FusedAdam calls the same kernel without torch.optim's per-step Python (the same bits, tests/unit/test_adam.py).
    if name == "adam":
        if torch.device(device).type in ("cpu", "cuda"):
            return FusedAdam(params, lr=lr, weight_decay=weight_decay)
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        fused = str(device).startswith("cuda")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, fused=fused or None)
    raise ValueError(f"optimizer={name!r} is unknown; allowed: {', '.join(OPTIMIZERS)}")


def sparse_layouts(model: nn.Module, mask: Mask, max_density: float = SPARSE_EVAL_DENSITY) -> dict:
    """{Linear module: (crow, col, flat index)} for the masked Linear layers at or below `max_density`: the fixed CSR
    pattern of their weights, computed once per training run (the mask does not change while it trains)."""
    layouts = {}
    for name, m in mask.items():
        module = model.get_submodule(name.rpartition(".")[0])
        if isinstance(module, nn.Linear) and m.float().mean().item() <= max_density:
            layouts[module] = kernels.csr_pattern(m, module.weight.device)
    return layouts


class CSRLinear(torch.autograd.Function):
    """y = x W^T + b with W's surviving weights as a CSR matrix in the forward pass; the backward pass is the
    dense one of nn.Linear (the weight gradient is masked by the optimiser step as for every layer)."""

    @staticmethod
    def forward(ctx, x, weight, bias, crow, col, flat):
        values = weight.reshape(-1).index_select(0, flat)
        csr = torch.sparse_csr_tensor(crow, col, values, weight.shape, check_invariants=False)
        ctx.save_for_backward(x, weight)
        return torch.addmm(bias.unsqueeze(1), csr, x.t()).t().contiguous()

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        return grad_x, grad.t() @ x, grad.sum(0), None, None, None


def _train_forward(model: nn.Module, x: torch.Tensor, layouts: dict) -> torch.Tensor:
    """model(x) for training, with the Linear layers in `layouts` run through CSRLinear."""
    if not layouts:
        return model(x)
    for module in model:
        x = CSRLinear.apply(x, module.weight, module.bias, *layouts[module]) if module in layouts else module(x)
    return x


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, layouts: dict | None = None,
             ) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) over all of x, in chunks of EVAL_CHUNK; Linear layers in `layouts`
    (from `sparse_layouts`) run as sparse CSR matmuls, which is faster below ~10% density on CPU."""
    csr_weights = {}
    if layouts and x.device.type == "cpu":
        for module, (crow, col, flat) in layouts.items():
            values = module.weight.reshape(-1).index_select(0, flat)
            csr_weights[module] = torch.sparse_csr_tensor(crow, col, values, module.weight.shape,
                                                          check_invariants=False)  # built from a CSR
    forward = kernels.eval_plan(model, csr_weights)
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), EVAL_CHUNK):
        logits = forward(x[start:start + EVAL_CHUNK])
        target = y[start:start + EVAL_CHUNK]
        loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(1) == target).sum())
    return loss_sum / len(x), correct / len(x)


@dataclass
class TrainResult:
    metrics: list[dict]                      # {"iteration", "split" ("val"/"test"), "loss", "accuracy"}
    early_stop_iteration: int                # evaluation of minimum validation loss (first one on ties)
    val_loss_at_early_stop: float
    test_acc_at_early_stop: float
    final_test_acc: float
    iterations_run: int
    seconds: float
    eval_seconds: float                      # the part of `seconds` spent evaluating
    saved_weights: dict[str, torch.Tensor] | None = None  # weights after `save_weights_at` steps, if asked


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train(model: nn.Module, mask: Mask, splits: Splits, config: TrainConfig, data_seed: int, *,
          start_iteration: int = 0, lr_schedule_override: str | None = None, save_weights_at: int | None = None,
          stop_at: int | None = None, test_curve: bool = True, kernels_version: int = kernels.KERNELS,
          on_progress: Callable[[int], None] | None = None) -> TrainResult:
    """Train `model` in place under `mask` from `start_iteration` to `config.iterations`; returns the metrics (with
    absolute iteration numbers) and the early-stopping summary.

    data_seed:            seeds the minibatch order.
    start_iteration:      k for a network rewound to iteration k: it trains the remaining iterations - k steps, with
                          the learning-rate schedule resumed at k (Frankle et al., "Stabilizing the LTH").
    lr_schedule_override: 'final' trains at the schedule's last learning rate throughout (fine-tuning).
    save_weights_at:      also return a copy of the weights after that many steps (late rewinding); patience never
                          stops training before that iteration.
    stop_at:              stop after that many steps, before evaluating there (to replay the start of a training
                          run: its weights at `stop_at` equal the full run's, evaluations change nothing).
    test_curve:           evaluate the test split at every evaluation (True), or only twice at the end (False): on
                          the final weights and on a copy of the weights kept at the best validation loss. The
                          early-stopping results are the same to the bit; the second evaluates ~3x fewer images.
    kernels_version:      the engine's kernel version (lth_utils.kernels; a chain keeps the one it started with).
    on_progress:          called with the number of iterations done since the last call (for progress bars).
    """
    kernels.check_kernels(kernels_version)
    x_train, y_train = splits.train
    step = _Step(model, mask, config, kernels_version)
    batches = batch_stream(len(y_train), config.batch_size, torch.Generator().manual_seed(data_seed))
    evaluations = _Evaluations(model, mask, splits, config, step, test_curve, save_weights_at)
    start = time.perf_counter()

    def factor(it: int) -> float:
        if lr_schedule_override == "final":
            return lr_factor(config.iterations - 1, config.iterations, config.lr_schedule)
        return lr_factor(it, config.iterations, config.lr_schedule)

    it = start_iteration
    last_reported = start_iteration
    current_factor, saved = None, None
    while True:
        if it == save_weights_at:
            step.sync()
            saved = state_copy(model)
        if it == stop_at:
            break
        if it % config.eval_every == 0 or it in (start_iteration, config.iterations):
            stop = evaluations.record(it)
            if on_progress is not None:
                on_progress(it - last_reported)
                last_reported = it
            if stop:
                break
        if factor(it) != current_factor:
            current_factor = factor(it)
            for group in step.optimizer.param_groups:
                group["lr"] = config.lr * current_factor
        idx = next(batches).to(x_train.device)
        step(x_train.index_select(0, idx), y_train.index_select(0, idx))
        it += 1

    step.sync()
    metrics, best = evaluations.metrics, evaluations.best
    tests = [r for r in metrics if r["split"] == "test"]
    final_test_acc = tests[-1]["accuracy"] if tests else float("nan")
    return TrainResult(metrics=metrics, early_stop_iteration=best[1], val_loss_at_early_stop=best[0],
                       test_acc_at_early_stop=best[2], final_test_acc=final_test_acc,
                       iterations_run=it - start_iteration, seconds=time.perf_counter() - start,
                       eval_seconds=evaluations.seconds, saved_weights=saved)


class _Step:
    """One optimiser step of `train` under the mask, in the kernel version's plan: the survivors of a sparse first
    layer (version 2) as compact parameters, the other pruned weights masked around the step (masking.masked_step)."""

    def __init__(self, model: nn.Module, mask: Mask, config: TrainConfig, kernels_version: int):
        device = next(model.parameters()).device
        self.survivors = kernels.survivor_layers(model, mask, kernels_version, device, config.sparse_train_density)
        compact = {f"{name}.weight" for name, m in model.named_children() if m in self.survivors}
        self.masked = masked_parameters(model, {n: m for n, m in mask.items() if n not in compact})
        params = [p for n, p in model.named_parameters() if n not in compact] + \
            [layer.values for layer in self.survivors.values()]
        self.layouts = {}  # version 1's CSR option for the first Linear layer (its input needs no gradient)
        if kernels_version == 1 and config.sparse_train_density > 0 and device.type == "cpu" \
                and isinstance(model, nn.Sequential):
            first = next(m for m in model if isinstance(m, nn.Linear))
            self.layouts = {m: v for m, v in sparse_layouts(model, mask, config.sparse_train_density).items()
                            if m is first and m.bias is not None}
        self.model, self.forward = model, kernels.train_plan(model, self.survivors)
        # the backward pass written out (the same bits, without autograd's bookkeeping)
        self.backward = None if self.layouts else manual_step(model, self.survivors)
        self.optimizer = make_optimizer(config.optimizer, params, config.lr, config.momentum, config.weight_decay,
                                        device)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.backward is not None:
            self.backward(x, y)
        else:
            logits = _train_forward(self.model, x, self.layouts) if self.layouts else self.forward(x)
            F.cross_entropy(logits, y).backward()
        masked_step(self.optimizer, self.masked)

    def sync(self) -> None:
        """The survivors into the dense weights that evaluation and the saved files read."""
        for layer in self.survivors.values():
            layer.write_back()


class _Evaluations:
    """The evaluations of one `train` call and its early-stopping record: `best` is (val loss, iteration, test
    accuracy there) at the first minimum of the validation loss; `record(it)` evaluates and says whether to stop."""

    def __init__(self, model: nn.Module, mask: Mask, splits: Splits, config: TrainConfig, step: _Step,
                 test_curve: bool, save_weights_at: int | None):
        self.model, self.splits, self.config, self.step = model, splits, config, step
        self.test_curve, self.save_weights_at = test_curve, save_weights_at
        self.layouts = sparse_layouts(model, mask) if isinstance(model, nn.Sequential) else {}  # CSR evaluation
        self.metrics: list[dict] = []
        self.best = (float("inf"), 0, 0.0)
        self.best_weights = None  # without the test curve: the weights at the best validation loss, tested at the end
        self.since_best, self.seconds = 0, 0.0

    def test_row(self, it: int) -> dict:
        test_loss, test_acc = evaluate(self.model, *self.splits.test, self.layouts)
        return {"iteration": it, "split": "test", "loss": test_loss, "accuracy": test_acc}

    def record(self, it: int) -> bool:
        """Evaluate at iteration `it`; True when training stops here (the end, or patience run out)."""
        started = time.perf_counter()
        self.step.sync()
        val_loss, val_acc = evaluate(self.model, *self.splits.val, self.layouts)
        self.metrics.append({"iteration": it, "split": "val", "loss": val_loss, "accuracy": val_acc})
        improved = val_loss < self.best[0]
        self.since_best = 0 if improved else self.since_best + 1
        may_stop = self.save_weights_at is None or it >= self.save_weights_at
        patience = self.config.patience
        stop = it == self.config.iterations or bool(patience and self.since_best >= patience and may_stop)
        if self.test_curve:
            self.metrics.append(self.test_row(it))
            if improved:
                self.best = (val_loss, it, self.metrics[-1]["accuracy"])
        elif improved:
            self.best = (val_loss, it, float("nan"))
            self.best_weights = None if stop else state_copy(self.model)
        if stop and not self.test_curve:
            self._test_at_the_end(it)
        self.seconds += time.perf_counter() - started
        return stop

    def _test_at_the_end(self, it: int) -> None:
        """Without the test curve: the test split on the final weights and on those kept at the best validation
        loss (its row right after theirs)."""
        final = self.test_row(it)
        if self.best_weights is not None:
            current = state_copy(self.model)
            self.model.load_state_dict(self.best_weights)
            row = self.test_row(self.best[1])
            self.model.load_state_dict(current)
            at = next(i for i, r in enumerate(self.metrics) if r["iteration"] == self.best[1]) + 1
            self.metrics.insert(at, row)
        else:
            row = final
        self.best = (self.best[0], self.best[1], row["accuracy"])
        self.metrics.append(final)

"""Lottery tickets for your own model: any nn.Module with Linear/Conv2d weights, trained by your own function.

    def train_fn(model):                      # trains `model` in place (your optimiser, data, schedule, device)
        ...; return accuracy                   # optional: any number (or dict of numbers), kept per round
    cfg = TicketConfig(target_sparsity=0.9, rounds=5)            # or TicketConfig(rate=0.2, rounds=5)
    ticket = find_ticket(model, train_fn, cfg)                    # iterative magnitude pruning with rewinding
    ticket.sparsity, ticket.compression_ratio, ticket.history    # where it ended, and each round on the way
    apply_ticket(fresh_model, ticket)                             # rewind weights x mask, in place
    controls(model, ticket, train_fn)                             # ticket vs reinit vs random pruning, one call

How it keeps pruned weights exactly zero inside a training loop it does not own: while `train_fn` runs, each masked
layer zeroes its pruned weights before every forward pass and a gradient hook zeroes their gradients, so any optimiser
(momentum, Adam, weight decay) trains exactly the masked network; after `train_fn` returns the mask is applied once
more and the zeros are checked. `train_fn` should build its optimiser itself (a fresh one each call).

Pruning is the library's, with the IMP driver's rates (`pruning.scoped_rates`): each round removes round(rate x
survivors) of every layer (`scope="layerwise"`) or of all layers but the output layer pooled (`"global"`), and the
output layer at `output_rate` (default: half the rate, as in the paper; `pool_output=True` pools it at the rate); a
pruned weight never comes back. With `target_sparsity` s over n rounds the per-round rate p is the one at which the
whole network reaches s, its output layer at p / 2 (`TicketConfig.round_rate`; rounding makes the reached sparsity
differ from s by a few weights, `ticket.sparsity` is exact).

Rewinding (what the survivors restart from before each round's training):
- "init": their initial values (Frankle & Carbin 2019), the default;
- an integer k: their values after k training steps of the dense network (late rewinding, Frankle et al. 2020).
  A step is counted as one forward pass in training mode (`model.training`): true for the usual loop with one
  forward per optimiser step; with gradient accumulation, k counts micro-batches;
- "lr": their trained values, retrained by `train_fn` with its full schedule (learning-rate rewinding, Renda et al.
  2020);
- "none": their trained values, fine-tuned by `finetune_fn` (default: `train_fn`).
"""
from __future__ import annotations

import copy
import dataclasses
import inspect
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..pruning import masks, magnitude as pruning
from ..foundations.config import ConfigError
from ..foundations.files import atomic_torch_save, torch_load
from ..training.masking import masked
from ..pruning.masks import Mask
from ..models import prunable_names
from ..foundations.progress import tqdm
from .rewind import parse_rewind
from ..foundations.seeds import derive_seed
from ..training.loop import state_copy

CONTROL_ARMS = ("ticket", "reinit", "random_prune")


@dataclass(frozen=True)
class TicketConfig:
    """How to find a ticket: by target sparsity over `rounds` rounds, or at a fixed `rate` per round."""
    rounds: int = 5
    target_sparsity: float | None = None   # final fraction of prunable weights removed, in (0, 1)
    rate: float | None = None              # per-round fraction of surviving weights removed (if no target)
    output_rate: float | None = None       # the last layer's per-round rate (default: half the rate, as in the paper)
    scope: str = "layerwise"               # layerwise or global magnitude ranking
    pool_output: bool = False              # global: rank the last layer in the pool too, at the same rate
    rewind: str | int = "init"             # init, an iteration k, lr, none (see the module docstring)
    seed: int = 0                          # for the controls' reinitialisation and random masks

    def __post_init__(self):
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, numbers.Integral) or self.rounds < 1:
            raise ConfigError("rounds", self.rounds, "a whole number of pruning rounds >= 1")
        if (self.target_sparsity is None) == (self.rate is None):
            raise ConfigError("target_sparsity", self.target_sparsity,
                              f"give exactly one of target_sparsity and rate (rate={self.rate!r})")
        if self.target_sparsity is not None and not 0 < self.target_sparsity < 1:
            raise ConfigError("target_sparsity", self.target_sparsity, "a fraction of weights removed, in (0, 1)")
        for name in ("rate", "output_rate"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ConfigError(name, value, "a fraction of surviving weights removed per round, in [0, 1)")
        if self.scope not in pruning.SCOPES:
            raise ConfigError("scope", self.scope, f"one of {', '.join(pruning.SCOPES)}")
        object.__setattr__(self, "rewind", parse_rewind(self.rewind))

    def round_rate(self, sizes: dict[str, int]) -> float:
        """The per-round rate p of every layer but the output layer, for a model with these prunable layers
        ({name: weights}, in model order): `rate`, or for a target sparsity s over n rounds the p at which the whole
        network keeps 1 - s of its weights, the output layer pruning at its own rate (`output_rate`, default p / 2;
        up to rounding, which `ticket.sparsity` shows exactly)."""
        if self.rate is not None:
            return self.rate
        return pruning.rate_for_sparsity(sizes, self.target_sparsity, self.rounds, self.output_rate, self.scope,
                                         self.pool_output)

    def scoped_rates(self, sizes: dict[str, int]) -> tuple[dict[str, float], tuple[str, ...]]:
        """(the rate of each layer, the layers ranked outside a global pool) for a model with these prunable layers
        ({name: weights}): the IMP driver's rule, pruning.scoped_rates, at `round_rate(sizes)`."""
        return pruning.scoped_rates(list(sizes), self.round_rate(sizes), self.output_rate, self.scope,
                                    self.pool_output)

    def layer_rates(self, sizes: dict[str, int]) -> dict[str, float]:
        return self.scoped_rates(sizes)[0]


@dataclass
class Ticket:
    """A winning ticket: which weights survive (`mask`), what its last round started from (`rewind_weights`: the
    whole state dict, unmasked, so that the random-pruning control can draw other survivors from it; `apply_ticket`
    masks it), and the sparsity and `train_fn`'s result after every round (`history`)."""
    mask: Mask
    rewind_weights: dict[str, torch.Tensor]
    config: TicketConfig
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return masks.remaining(self.mask)

    @property
    def total(self) -> int:
        return masks.size(self.mask)

    @property
    def density(self) -> float:
        return masks.density(self.mask)

    @property
    def sparsity(self) -> float:
        return masks.sparsity(self.mask)

    @property
    def compression_ratio(self) -> float:
        return masks.compression_ratio(self.mask)

    def layers(self) -> list[dict]:
        """One row per masked layer: name, shape, total, remaining, density."""
        return masks.report(self.mask)

    def __repr__(self) -> str:
        return (f"Ticket({self.remaining:,} of {self.total:,} weights remaining, sparsity {self.sparsity:.1%}, "
                f"compression {self.compression_ratio:.1f}x, {len(self.history)} rounds trained, "
                f"rewind={self.config.rewind!r})")

    def save(self, path: str | Path) -> Path:
        """Write the ticket to `path` atomically (torch.save; read back with `Ticket.load`)."""
        return atomic_torch_save(path, {"mask": {n: m.cpu() for n, m in self.mask.items()},
                                        "rewind_weights": {k: v.cpu() for k, v in self.rewind_weights.items()},
                                        "config": dataclasses.asdict(self.config), "history": self.history})

    @classmethod
    def load(cls, path: str | Path) -> Ticket:
        state = torch_load(path)
        return cls({n: m.bool() for n, m in state["mask"].items()}, state["rewind_weights"],
                   TicketConfig(**state["config"]), state["history"])


# ---------------------------------------------------------------------------------------------- masked training
class _StepCounter:
    """Counts forward passes in training mode; keeps a copy of the state just before forward number k + 1."""

    def __init__(self, model: nn.Module, k: int | None):
        self.model, self.k, self.steps, self.saved = model, k, 0, None
        self.handle = model.register_forward_pre_hook(self._hook)

    def _hook(self, module, _inputs):
        if module.training:
            if self.steps == self.k:
                self.saved = state_copy(module)
            self.steps += 1

    def close(self) -> dict[str, torch.Tensor] | None:
        self.handle.remove()
        if self.saved is None and self.steps == self.k:  # k = every step: the trained weights
            self.saved = state_copy(self.model)
        return self.saved


def _check_zero(model: nn.Module, mask: Mask, where: str) -> None:
    for name, m in mask.items():
        param = model.get_parameter(name).detach()
        if bool((param[~m.to(param.device)] != 0).any()):
            raise RuntimeError(f"{name} has non-zero pruned weights after {where}: train_fn must train the model it "
                               f"is given in place (not replace its parameters)")


def _train(model: nn.Module, mask: Mask, train_fn: Callable) -> Any:
    params = {name: model.get_parameter(name) for name in mask}
    with masked(model, mask):
        result = train_fn(model)
    replaced = [name for name, p in params.items() if model.get_parameter(name) is not p]
    if replaced:
        raise RuntimeError(f"train_fn replaced {', '.join(replaced)}: it must train the model it is given in place "
                           f"(its masking hooks are on the parameters it had)")
    _check_zero(model, mask, "train_fn")
    return _plain(result)


def _plain(value: Any) -> Any:
    """train_fn's result as plain Python (numbers, strings, dicts and lists of them), so a ticket saves and loads."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, numbers.Number):
        return float(value)
    return repr(value)


def _check_model(model: nn.Module) -> list[str]:
    if not isinstance(model, nn.Module):
        raise ConfigError("model", type(model).__name__, "a torch.nn.Module")
    names = prunable_names(model)
    if not names:
        raise ConfigError("model", type(model).__name__, "a module with at least one nn.Linear or nn.Conv2d layer "
                                                          "(their weights are what a ticket prunes)")
    return names


def _check_callable(name: str, fn: Any) -> None:
    if not callable(fn):
        raise ConfigError(name, fn, "a function that takes the model and trains it in place")
    try:
        inspect.signature(fn).bind(None)
    except TypeError:
        raise ConfigError(name, getattr(fn, "__name__", fn), "a function callable as fn(model)") from None
    except ValueError:  # builtins without a signature: trust them
        pass


# ---------------------------------------------------------------------------------------------- the API
def find_ticket(model: nn.Module, train_fn: Callable[[nn.Module], Any], config: TicketConfig | None = None, *,
                finetune_fn: Callable[[nn.Module], Any] | None = None, progress: bool = True,
                **config_values) -> Ticket:
    """Iterative magnitude pruning with rewinding on `model` (trained in place; at the end it holds the last
    round's trained sparse weights). `config` or its fields as keywords (`rounds=5, target_sparsity=0.9`).

    Round 0 trains the dense model; each of the `rounds` rounds prunes the trained weights, rewinds the survivors
    and trains again. `history` has one row per round: round, remaining, density, sparsity, result (train_fn's)."""
    if config is None:
        config = TicketConfig(**config_values)
    elif config_values:
        config = dataclasses.replace(config, **config_values)
    names = _check_model(model)
    _check_callable("train_fn", train_fn)
    if finetune_fn is not None:
        _check_callable("finetune_fn", finetune_fn)
    rates, exclude = config.scoped_rates({n: model.get_parameter(n).numel() for n in names})
    if config.scope == "global" and len(names) - len(exclude) < 2:
        raise ConfigError("scope", "global", f"pooling needs two layers besides the output layer; the model has "
                                             f"{len(names)} prunable layers: use pool_output=True or layerwise")
    mask = masks.ones_like(model)
    start = state_copy(model)          # what the current round starts from
    rewind_state = start                # what the survivors rewind to (init, or after k steps)
    history: list[dict[str, Any]] = []
    bar = _progress(config.rounds + 1, progress, "IMP rounds")
    try:
        for round_ in range(config.rounds + 1):
            fn = finetune_fn if (round_ > 0 and config.rewind == "none" and finetune_fn) else train_fn
            result, saved = _train_round(model, mask, fn, config.rewind if round_ == 0 else None)
            if saved is not None:
                rewind_state = saved
            history.append({"round": round_, "remaining": masks.remaining(mask), "density": masks.density(mask),
                            "sparsity": masks.sparsity(mask), "result": result})
            bar.set_postfix_str(f"{masks.density(mask):.1%} remaining")
            bar.update(1)
            if round_ == config.rounds:
                break
            mask = _prune_round(model, names, mask, rates, exclude, config, round_)
            start = _rewind_round(model, mask, config, rewind_state)
    finally:
        bar.close()
    return Ticket(mask, start, config, history)


def _train_round(model: nn.Module, mask: masks.Mask, fn: Callable[[nn.Module], Any], rewind) -> tuple[Any, Any]:
    """(fn's result, the weights after `rewind` steps where `rewind` is an iteration, else None): one round's
    training under the mask; a rewind iteration the training never reaches is a ConfigError."""
    counter = _StepCounter(model, rewind) if isinstance(rewind, int) else None
    try:
        result = _train(model, mask, fn)
    finally:
        saved = counter.close() if counter else None
    if counter and saved is None:
        raise ConfigError("rewind", rewind, f"an iteration the dense training reaches: train_fn ran {counter.steps} "
                                            f"training steps")
    return result, saved


def _prune_round(model: nn.Module, names: list[str], mask: masks.Mask, rates: dict, exclude, config: TicketConfig,
                 round_: int) -> masks.Mask:
    """The next round's mask from the trained weights; a rate that would prune every weight is a ConfigError."""
    weights = {n: model.get_parameter(n).detach() for n in names}
    new = pruning.magnitude_prune(weights, mask, rates, config.scope, exclude)
    if masks.remaining(new) == 0:
        raise ConfigError("target_sparsity" if config.rate is None else "rate",
                          config.rate if config.target_sparsity is None else config.target_sparsity,
                          f"a rate that leaves weights: round {round_ + 1} would prune every weight")
    return new


def _rewind_round(model: nn.Module, mask: masks.Mask, config: TicketConfig, rewind_state: dict) -> dict:
    """Rewind the survivors (to the init or the rewind point; learning-rate rewinding and fine-tuning keep the
    trained weights), apply the mask, and return what the next round starts from."""
    if config.rewind in ("lr", "none"):
        start = state_copy(model)
    else:
        start = rewind_state
        model.load_state_dict(start)
    masks.apply_mask_(model, mask)
    return start


def apply_ticket(model: nn.Module, ticket: Ticket) -> nn.Module:
    """Load the ticket's rewind weights into `model` (same architecture) and apply its mask, in place. Train it
    inside `masked(model, ticket.mask)` (or with `retrain`) to keep the pruned weights at zero."""
    _check_model(model)
    try:
        masks.validate(ticket.mask, model)
    except ValueError as error:
        raise ConfigError("ticket", "mask", f"a ticket found on this architecture: {error}") from None
    theirs, ours = ticket.rewind_weights, model.state_dict()
    if sorted(theirs) != sorted(ours) or any(tuple(theirs[k].shape) != tuple(v.shape) for k, v in ours.items()):
        raise ConfigError("ticket", "rewind_weights", "a ticket found on this architecture (its state dict's names "
                                                      "and shapes differ from the model's)")
    model.load_state_dict(theirs)
    return masks.apply_mask_(model, ticket.mask)


def retrain(model: nn.Module, ticket: Ticket, train_fn: Callable[[nn.Module], Any]) -> Any:
    """apply_ticket, then `train_fn` on the masked network; returns train_fn's result."""
    _check_callable("train_fn", train_fn)
    apply_ticket(model, ticket)
    return _train(model, ticket.mask, train_fn)


def reinitialise_(model: nn.Module, seed: int) -> nn.Module:
    """Draw fresh weights with the model's own initialisation (each module's `reset_parameters`), seeded on the
    CPU generator by `derive_seed(seed, "reinit")`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "reinit"))
        for module in model.modules():
            if hasattr(module, "reset_parameters") and module is not model:
                module.reset_parameters()
    return model


def controls(model: nn.Module, ticket: Ticket, train_fn: Callable[[nn.Module], Any], *,
             arms: tuple[str, ...] = CONTROL_ARMS, seed: int | None = None, progress: bool = True) -> list[dict]:
    """Train the ticket and its controls on copies of `model` (left untouched), one row per arm:
    `ticket` (its mask, its rewind weights), `reinit` (its mask, a fresh initialisation drawn by the model's own
    `reset_parameters`), `random_prune` (a random mask with the ticket's per-layer counts, the ticket's rewind
    weights). Each row: arm, remaining, sparsity, result (train_fn's)."""
    _check_model(model)
    _check_callable("train_fn", train_fn)
    unknown = [a for a in arms if a not in CONTROL_ARMS]
    if unknown or not arms:
        raise ConfigError("arms", unknown[0] if unknown else arms, f"some of {', '.join(CONTROL_ARMS)}")
    seed = ticket.config.seed if seed is None else seed
    rows = []
    bar = _progress(len(arms), progress, "controls")
    try:
        for arm in arms:
            net = copy.deepcopy(model)
            apply_ticket(net, ticket)
            mask = ticket.mask
            if arm == "reinit":
                reinitialise_(net, seed)
                if all(torch.equal(net.get_parameter(n).detach().cpu() * m, ticket.rewind_weights[n] * m)
                       for n, m in mask.items()):
                    raise RuntimeError("the reinitialisation redrew the ticket's own weights: pass another seed")
            elif arm == "random_prune":
                generator = torch.Generator().manual_seed(derive_seed(seed, "random_prune"))
                mask = pruning.random_prune_like(masks.ones_like(net), masks.layer_counts(ticket.mask), generator)
                net.load_state_dict(ticket.rewind_weights)
            bar.set_postfix_str(arm)
            rows.append({"arm": arm, "remaining": masks.remaining(mask), "sparsity": masks.sparsity(mask),
                         "result": _train(net, mask, train_fn)})
            bar.update(1)
    finally:
        bar.close()
    return rows


def _progress(total: int, enabled: bool, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, disable=not enabled)

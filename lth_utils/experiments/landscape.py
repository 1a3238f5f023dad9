"""Loss landscapes around a trained network (Li et al. 2018, "Visualizing the loss landscape of neural nets").

    d1, d2 = direction(weights, mask, g), direction(weights, mask, g)   # random, filter-normalised, sparse-aware
    line(model, a, b, alphas, x, y)                  # loss and error along (1 - t) a + t b: a 1D path
    plane(model, center, d1, d2, coords, x, y)       # loss and error on center + s d1 + t d2: a 2D slice
    sharpness(model, center, directions, radius, x, y)   # loss rise at distance `radius` along each direction

A direction is a Gaussian tensor per prunable weight, rescaled row by row (a row: one output neuron of a Linear
layer, one filter of a Conv layer) to the norm of the same row of the weights (filter normalisation): a step of 1
moves every neuron by its own size, so networks of different scale (a ticket, a reinitialised network) are compared
at the same relative distances. For a sparse network the direction is zero on pruned weights, so the slice stays
in the network's own subspace, and the row norms are over surviving weights. Biases do not move (direction 0).

What a slice does not show: it is a 1D or 2D cut through a space of ~10^5 dimensions; flatness along random
directions need not hold along the directions training moves in, and filter normalisation makes sizes comparable,
not geometries identical.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..pruning.masks import Mask
from ..training.loop import evaluate

State = dict[str, torch.Tensor]


def direction(weights: State, mask: Mask, generator: torch.Generator) -> State:
    """A random direction over the masked weights, filter-normalised: each row's norm equals the weights' row norm
    (over surviving weights); zero on pruned weights and on every tensor not in `mask` (biases)."""
    d = {}
    for name, value in weights.items():
        if name not in mask:
            d[name] = torch.zeros_like(value)
            continue
        m = mask[name].to(value.dtype)
        w = value.detach() * m
        g = torch.randn(value.shape, generator=generator, dtype=value.dtype) * m
        w_rows, g_rows = w.reshape(len(w), -1), g.reshape(len(g), -1)
        scale = w_rows.norm(dim=1, keepdim=True) / g_rows.norm(dim=1, keepdim=True).clamp_min(1e-12)
        d[name] = (g_rows * scale).reshape(value.shape)
    return d


def interpolate(a: State, b: State, alpha: float) -> State:
    """(1 - alpha) * a + alpha * b, tensor by tensor."""
    return {k: (1 - alpha) * a[k] + alpha * b[k] for k in a}


def shifted(center: State, steps: list[tuple[float, State]]) -> State:
    """center + sum of coefficient x direction."""
    out = {k: v.clone() for k, v in center.items()}
    for coefficient, d in steps:
        for k in out:
            out[k] += coefficient * d[k]
    return out


def loss_and_error(model: nn.Module, state: State, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and error (1 - accuracy) of `model` at `state` on (x, y)."""
    model.load_state_dict(state)
    model.eval()
    loss, accuracy = evaluate(model, x, y)  # under torch.inference_mode
    return loss, 1.0 - accuracy


def line(model: nn.Module, a: State, b: State, alphas, x: torch.Tensor, y: torch.Tensor) -> pd.DataFrame:
    """Loss and error at (1 - t) a + t b for each t in `alphas` (0: a, 1: b; values outside [0, 1] extrapolate)."""
    rows = []
    for t in alphas:
        loss, error = loss_and_error(model, interpolate(a, b, float(t)), x, y)
        rows.append({"alpha": float(t), "loss": loss, "error": error})
    return pd.DataFrame(rows)


def plane(model: nn.Module, center: State, d1: State, d2: State, coords, x: torch.Tensor,
          y: torch.Tensor) -> pd.DataFrame:
    """Loss and error at center + s d1 + t d2 for every (s, t) in coords x coords: one row per point."""
    rows = []
    for s in coords:
        for t in coords:
            loss, error = loss_and_error(model, shifted(center, [(float(s), d1), (float(t), d2)]), x, y)
            rows.append({"s": float(s), "t": float(t), "loss": loss, "error": error})
    return pd.DataFrame(rows)


def grid(table: pd.DataFrame, value: str = "loss") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, t, values) as 2D arrays for contour plots, from a `plane` table."""
    pivot = table.pivot(index="t", columns="s", values=value)
    s, t = np.meshgrid(pivot.columns.to_numpy(), pivot.index.to_numpy())
    return s, t, pivot.to_numpy()


def sharpness(model: nn.Module, center: State, directions: list[State], radius: float, x: torch.Tensor,
              y: torch.Tensor) -> pd.DataFrame:
    """Per direction, the rise of the loss at center +/- radius x direction over the loss at center (the larger
    of the two sides): a sharpness proxy in filter-normalised units. One row per direction."""
    base, _ = loss_and_error(model, center, x, y)
    rows = []
    for i, d in enumerate(directions):
        rises = [loss_and_error(model, shifted(center, [(sign * radius, d)]), x, y)[0] - base for sign in (1, -1)]
        rows.append({"direction": i, "radius": radius, "base_loss": base, "rise": max(rises)})
    return pd.DataFrame(rows)

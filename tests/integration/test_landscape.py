"""Loss landscapes: filter-normalised random directions that respect a mask, 1D paths, 2D slices, sharpness."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lth_utils.experiments import landscape

from lth_utils.pruning import masks

from lth_utils import pruning
from lth_utils.data import load_splits
from lth_utils.models import build_model


def _sparse_lenet5(seed=0):
    model = build_model("lenet5", seed=seed)
    weights = {n: p.detach() for n, p in model.named_parameters()}
    mask = pruning.magnitude_prune(weights, masks.ones_like(model), {n: 0.5 for n in masks.ones_like(model)})
    masks.apply_mask_(model, mask)
    return model, mask


def test_directions_are_filter_normalised_over_surviving_weights_and_zero_elsewhere():
    model, mask = _sparse_lenet5()
    state = model.state_dict()
    d = landscape.direction(state, mask, torch.Generator().manual_seed(0))
    for name, value in state.items():
        if name not in mask:
            assert torch.count_nonzero(d[name]) == 0  # biases do not move
            continue
        assert torch.count_nonzero(d[name][~mask[name]]) == 0
        rows_w = (value * mask[name]).reshape(len(value), -1).norm(dim=1)
        rows_d = d[name].reshape(len(value), -1).norm(dim=1)
        assert torch.allclose(rows_w, rows_d, rtol=1e-5, atol=1e-7)  # one filter / neuron: its own norm
    again = landscape.direction(state, mask, torch.Generator().manual_seed(0))
    assert all(torch.equal(d[k], again[k]) for k in d)


def _loss(state, x, y) -> float:
    """Cross-entropy of a fresh LeNet-5 loaded with `state`, by plain torch: the reference for the landscape's numbers."""
    model = build_model("lenet5", seed=0)
    model.load_state_dict(state)
    with torch.no_grad():
        return F.cross_entropy(model.eval()(x), y).item()


def test_paths_and_slices_hit_their_endpoints_and_center(data_root):
    splits = load_splits("mnist", data_root)
    x, y = splits.test[0][:500], splits.test[1][:500]
    model, mask = _sparse_lenet5()
    a = {k: v.clone() for k, v in model.state_dict().items()}
    b = build_model("lenet5", seed=1).state_dict()
    path = landscape.line(model, a, b, [0.0, 0.5, 1.0], x, y)
    assert path["loss"].iloc[0] == pytest.approx(_loss(a, x, y), rel=1e-5)
    assert path["loss"].iloc[-1] == pytest.approx(_loss(b, x, y), rel=1e-5)
    g = torch.Generator().manual_seed(0)
    d1, d2 = landscape.direction(a, mask, g), landscape.direction(a, mask, g)
    table = landscape.plane(model, a, d1, d2, [-0.5, 0.0, 0.5], x, y)
    assert len(table) == 9
    center = table[(table["s"] == 0) & (table["t"] == 0)]
    assert center["loss"].item() == pytest.approx(_loss(a, x, y), rel=1e-5)
    s, t, z = landscape.grid(table)
    assert s.shape == t.shape == z.shape == (3, 3) and np.isfinite(z).all()
    flat = landscape.sharpness(model, a, [d1, d2], 0.0, x, y)
    assert (flat["rise"] == 0).all()
    assert (landscape.sharpness(model, a, [d1], 1.0, x, y)["rise"] != 0).all()

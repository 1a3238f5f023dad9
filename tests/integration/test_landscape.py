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


def test_notebook_11s_measures_walk_every_stored_network_and_repeat_to_the_bit(tiny, data_root):
    from dataclasses import replace

    from lth_utils.execution import engine
    from lth_utils.experiments import loss_landscapes
    from lth_utils.experiments.imp_runs import controls_at

    configs = controls_at(replace(tiny, levels=1), [1])
    engine.run(list(configs.values()), progress=False)
    splits = load_splits(tiny.dataset, str(data_root), train_subset=tiny.train_subset)
    x, y = splits.train[0][:200], splits.train[1][:200]
    model = build_model(tiny.model, splits.input_shape, splits.num_classes)

    def measures():
        paths = loss_landscapes.start_to_trained(configs, [1], tiny.trials, model, [0.0, 0.5, 1.0], x, y)
        lines, barriers = loss_landscapes.to_dense_parent(configs, [1], tiny.trials, model, [0.0, 0.5, 1.0], x, y)
        planes = loss_landscapes.slices(configs, [1], tiny.seed, model, [-0.5, 0.0, 0.5], x, y)
        rises = loss_landscapes.sharpness_per_trial(configs, [1], tiny.trials, tiny.seed, 2, 0.5, model, x, y)
        return paths, lines, barriers, planes, rises

    paths, lines, barriers, planes, rises = measures()
    assert len(paths) == 3 * tiny.trials * 3 and set(paths["arm"]) == set(loss_landscapes.ARMS)
    assert len(lines) == 2 * tiny.trials * 3 and len(barriers) == 2 * tiny.trials  # ticket and random pruning
    assert (barriers["barrier"] >= 0).all() and set(planes) == {(1, arm) for arm in loss_landscapes.ARMS}
    assert np.allclose(rises["relative_rise"], rises["rise"] / rises["base_loss"]) and len(rises) == 3 * tiny.trials
    assert np.allclose(10 ** rises["log_relative_rise"], rises["relative_rise"])
    again = measures()
    assert all(a.equals(b) for a, b in zip((paths, lines, barriers, rises), (again[0], again[1], again[2], again[4])))
    assert all(planes[k].equals(again[3][k]) for k in planes)


def test_notebook_11s_knobs_are_checked_before_any_work():
    from lth_utils.experiments import loss_landscapes
    from lth_utils.foundations.config import ConfigError

    loss_landscapes.check_knobs(21, 5000, 1.0, 0.5)
    for knobs, name in [((2, 5000, 1.0, 0.5), "points"), ((21, 50, 1.0, 0.5), "examples"),
                        ((21, 5000, 0, 0.5), "span"), ((21, 5000, float("nan"), 0.5), "span"),
                        ((21, 5000, 1.0, True), "radius"), ((21, 5000, 1.0, float("inf")), "radius")]:
        with pytest.raises(ConfigError, match=f"{name}="):
            loss_landscapes.check_knobs(*knobs)

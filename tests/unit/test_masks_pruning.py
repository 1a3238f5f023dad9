"""Masks and pruning: masks only shrink, schedules are exact, global pruning agrees with torch.nn.utils.prune."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils import prune as torch_prune

from lth_utils.pruning import masks

from lth_utils import models, pruning


def _model(seed=0):
    return models.build_model("lenet_300_100", seed=seed)


def _weights(model):
    return {n: model.get_parameter(n).detach().clone() for n in models.prunable_names(model)}


def _rates(model, rate=0.2, output_rate=None):
    return pruning.layer_rates(models.prunable_names(model), rate, output_rate)


def test_applying_a_mask_twice_equals_applying_it_once():
    model = _model()
    mask = pruning.magnitude_prune(_weights(model), masks.ones_like(model), _rates(model))
    once = {k: v.clone() for k, v in masks.apply_mask_(model, mask).state_dict().items()}
    twice = masks.apply_mask_(model, mask).state_dict()
    assert all(torch.equal(once[k], twice[k]) for k in once)


def test_mask_covers_weights_only_with_bool_tensors_of_their_shapes():
    model = _model()
    mask = masks.validate(masks.ones_like(model), model)
    assert set(mask) == {"fc1.weight", "fc2.weight", "fc3.weight"}
    assert all(m.dtype == torch.bool for m in mask.values())
    with pytest.raises(ValueError, match="do not match"):
        masks.validate({"fc1.weight": mask["fc1.weight"]}, model)


def test_density_sparsity_remaining_and_compression():
    mask = {"a": torch.tensor([True, False, False, False]), "b": torch.tensor([True, True, False, False])}
    assert masks.remaining(mask) == 3 and masks.density(mask) == 3 / 8 and masks.sparsity(mask) == 5 / 8
    assert masks.compression_ratio(mask) == 8 / 3
    assert [r["remaining"] for r in masks.report(mask)] == [1, 2]


def test_mask_save_and_load_round_trip(tmp_path):
    model = _model()
    mask = pruning.magnitude_prune(_weights(model), masks.ones_like(model), _rates(model))
    masks.save(mask, tmp_path / "mask.pt")
    loaded = masks.load(tmp_path / "mask.pt")
    assert all(torch.equal(mask[n], loaded[n]) for n in mask)


@pytest.mark.parametrize("scope", ["layerwise", "global"])
def test_masks_only_shrink_over_rounds_even_when_pruned_weights_grow_back(scope):
    model, gen = _model(), torch.Generator().manual_seed(0)
    mask = masks.ones_like(model)
    for _ in range(5):
        # new "trained" weights where some pruned weights are large: they must not come back
        weights = {n: torch.randn(w.shape, generator=gen) * 10 for n, w in _weights(model).items()}
        new = pruning.magnitude_prune(weights, mask, _rates(model), scope, exclude=("fc3.weight",))
        assert masks.is_subset(new, mask) and masks.remaining(new) < masks.remaining(mask)
        mask = new


def test_layerwise_density_after_k_levels_follows_the_schedule():
    model, gen = _model(), torch.Generator().manual_seed(1)
    mask, rates = masks.ones_like(model), _rates(model)
    sizes = {n: m.numel() for n, m in mask.items()}
    for k in range(1, 8):
        weights = {n: torch.randn(m.shape, generator=gen) for n, m in mask.items()}
        mask = pruning.magnitude_prune(weights, mask, rates)
        assert masks.layer_counts(mask) == pruning.layer_sizes_after(sizes, rates, k)
        assert abs(mask["fc1.weight"].float().mean().item() - pruning.density_after(k, 0.2)) < 1e-4
    assert round(100 * masks.density(mask), 1) == 21.1  # the paper: 21.1% after 7 rounds at 20/20/10


def test_layerwise_prunes_the_smallest_magnitudes_of_each_layer():
    weights = {"a": torch.tensor([0.5, -0.1, 0.3, -0.9, 0.2]), "b": torch.tensor([1.0, 2.0, -3.0, 4.0])}
    mask = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    new = pruning.magnitude_prune(weights, mask, {"a": 0.4, "b": 0.5})
    assert new["a"].tolist() == [True, False, True, True, False]
    assert new["b"].tolist() == [False, False, True, True]


def test_ties_are_broken_by_position_the_earlier_weight_pruned_first():
    weights = {"a": torch.tensor([0.3, 0.1, 0.1, 0.1, 0.5])}
    mask = {"a": torch.ones(5, dtype=torch.bool)}
    new = pruning.magnitude_prune(weights, mask, {"a": 0.4})
    assert new["a"].tolist() == [True, False, False, True, True]


def test_global_magnitude_pruning_matches_torch_global_unstructured():
    model = _model(seed=3)
    hidden = ["fc1.weight", "fc2.weight"]
    rates = {"fc1.weight": 0.2, "fc2.weight": 0.2, "fc3.weight": 0.1}
    ours = pruning.magnitude_prune(_weights(model), masks.ones_like(model), rates, scope="global",
                                   exclude=("fc3.weight",))
    amount = pruning.prune_count(sum(model.get_parameter(n).numel() for n in hidden), 0.2)
    torch_prune.global_unstructured([(model.fc1, "weight"), (model.fc2, "weight")],
                                    pruning_method=torch_prune.L1Unstructured, amount=amount)
    assert torch.equal(ours["fc1.weight"], model.fc1.weight_mask.bool())
    assert torch.equal(ours["fc2.weight"], model.fc2.weight_mask.bool())
    # the output layer, at its own half rate, is ranked on its own
    assert masks.layer_counts(ours)["fc3.weight"] == 1000 - 100


def test_random_prune_keeps_the_per_layer_counts_within_the_current_mask():
    model = _model()
    ticket = pruning.magnitude_prune(_weights(model), masks.ones_like(model), _rates(model, 0.5))
    current = pruning.magnitude_prune(_weights(_model(seed=9)), masks.ones_like(model), _rates(model, 0.3))
    rnd = pruning.random_prune_like(current, masks.layer_counts(ticket), torch.Generator().manual_seed(0))
    assert masks.layer_counts(rnd) == masks.layer_counts(ticket)
    assert masks.is_subset(rnd, current)
    again = pruning.random_prune_like(current, masks.layer_counts(ticket), torch.Generator().manual_seed(0))
    assert all(torch.equal(rnd[n], again[n]) for n in rnd)


def test_rate_for_density_inverts_density_after():
    rate = pruning.rate_for_density(0.019, 18)
    assert abs(pruning.density_after(18, rate) - 0.019) < 1e-12
    assert pruning.rate_for_density(0.5, 1) == 0.5
    with pytest.raises(ValueError, match="density=0"):
        pruning.rate_for_density(0.0, 3)


@pytest.mark.parametrize("rounds, percent", [(3, 51.3), (7, 21.1), (9, 13.5), (12, 7.0), (15, 3.6), (16, 2.9),
                                             (18, 1.9)])
def test_the_papers_percent_remaining_table(rounds, percent):
    model = _model()
    sizes = {n: model.get_parameter(n).numel() for n in models.prunable_names(model)}
    counts = pruning.layer_sizes_after(sizes, _rates(model), rounds)
    assert round(100 * sum(counts.values()) / sum(sizes.values()), 1) == percent


@pytest.mark.parametrize("scope", ["layerwise", "global"])
def test_remaining_after_counts_exactly_what_magnitude_pruning_keeps(scope):
    model = _model()
    names = models.prunable_names(model)
    mask, weights = masks.ones_like(model), _weights(model)
    rates, exclude = _rates(model), (names[-1],) if scope == "global" else ()
    sizes = {n: mask[n].numel() for n in names}
    g = torch.Generator().manual_seed(1)
    for level in range(1, 8):
        mask = pruning.magnitude_prune({n: torch.randn(w.shape, generator=g) for n, w in weights.items()}, mask,
                                       rates, scope, exclude)
        assert masks.remaining(mask) == pruning.remaining_after(sizes, rates, level, scope, exclude)


def test_random_jaccard_is_the_expected_overlap_of_two_random_masks_with_these_layer_counts():
    mask = {"a": torch.tensor([True, True, False, False]), "b": torch.tensor([True] + [False] * 9)}
    shared = 2 ** 2 / 4 + 1 ** 2 / 10  # expected survivors in both, per layer
    assert masks.random_jaccard(mask) == pytest.approx(shared / (2 * 3 - shared))
    full = {"a": torch.ones(5, dtype=torch.bool)}
    assert masks.random_jaccard(full) == 1.0  # two full masks coincide

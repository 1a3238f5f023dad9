"""Pruning at initialisation: each scorer against an independent computation on a tiny network."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lth_utils.pruning import masks, scorers
from lth_utils.models import Sequential, build_model


def tiny(dtype=torch.float32, bias=True, seed=0):
    torch.manual_seed(seed)
    return Sequential([("fc1", nn.Linear(6, 5, bias=bias)), ("act1", nn.Tanh()),
                       ("fc2", nn.Linear(5, 3, bias=bias))]).to(dtype)


def data(n=8, features=6, classes=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g), torch.randint(0, classes, (n,), generator=g)


def half_mask(model, seed=2):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.rand(model.get_parameter(n).shape, generator=g) < 0.6 for n in ("fc1.weight", "fc2.weight")}


def test_snip_scores_are_the_abs_of_gradient_times_weight_of_the_masked_network():
    model, (x, y) = tiny(), data()
    mask = half_mask(model)
    reference = tiny()
    masks.apply_mask_(reference, mask)
    F.cross_entropy(reference(x), y).backward()
    scores = scorers.snip_scores(model, mask, x, y)
    for n in mask:
        w = reference.get_parameter(n)
        torch.testing.assert_close(scores[n], (w.grad * w).abs().detach(), rtol=0, atol=0)


def test_synflow_scores_match_the_closed_form_of_a_two_layer_linear_network():
    model = Sequential([("fc1", nn.Linear(4, 3, bias=False)), ("fc2", nn.Linear(3, 2, bias=False))])
    mask = masks.ones_like(model)
    a, b = model.fc1.weight.detach().abs().double(), model.fc2.weight.detach().abs().double()
    # R = 1^T |W2| |W1| 1: dR/dW1[i, j] = sum_k |W2|[k, i];  dR/dW2[k, i] = sum_j |W1|[i, j]
    expected1 = a * b.sum(0).unsqueeze(1)
    expected2 = b * a.sum(1).unsqueeze(0)
    scores = scorers.synflow_scores(model, mask)
    torch.testing.assert_close(scores["fc1.weight"], expected1)
    torch.testing.assert_close(scores["fc2.weight"], expected2)


def test_synflow_ignores_data_and_biases_and_pruned_weights_score_zero():
    model = tiny(bias=True)
    mask = half_mask(model)
    scores = scorers.synflow_scores(model, mask)
    with torch.no_grad():
        model.fc1.bias.fill_(5.0)
    again = scorers.synflow_scores(model, mask)
    for n in mask:
        assert torch.equal(scores[n], again[n])
        assert bool((scores[n][~mask[n]] == 0).all())


def test_grasp_hessian_gradient_product_matches_a_finite_difference():
    model, (x, y) = tiny(torch.float64), data()
    x = x.double()
    mask = half_mask(model)
    t = 3.0
    g, hg = scorers.hessian_gradient_product(model, mask, x, y, temperature=t)
    names = list(mask)
    eps = 1e-5

    def grad_at(shift):  # dL/dw summed over the two halves, at masked weights + shift * g
        params = scorers._masked_params(model, mask)
        for n in names:
            params[n] = (params[n] + shift * g[n]).requires_grad_(True)
        total = [torch.zeros_like(params[n]) for n in names]
        for xs, ys in ((x[:4], y[:4]), (x[4:], y[4:])):
            for acc, part in zip(total, scorers._loss_grads(model, params, names, xs, ys, t)):
                acc += part
        return total

    plus, minus = grad_at(eps), grad_at(-eps)
    for n, p, m in zip(names, plus, minus):
        torch.testing.assert_close(hg[n], (p - m) / (2 * eps), rtol=1e-5, atol=1e-9)


def test_grasp_importance_is_minus_the_reference_score():
    model, (x, y) = tiny(), data()
    mask = half_mask(model)
    _, hg = scorers.hessian_gradient_product(model, mask, x, y)
    scores = scorers.grasp_scores(model, mask, x, y)
    for n in mask:
        reference = -(model.get_parameter(n).detach() * mask[n]) * hg[n]   # S(-w) = -w * Hg, high S is removed
        torch.testing.assert_close(scores[n], -reference)


def test_keep_top_keeps_the_highest_scores_globally_and_breaks_ties_by_position():
    mask = {"a": torch.tensor([True, True, False, True]), "b": torch.tensor([True, True])}
    scores = {"a": torch.tensor([1.0, 5.0, 9.0, 2.0]), "b": torch.tensor([2.0, 0.5])}
    kept = scorers.keep_top(scores, mask, 3)
    # alive scores: a0=1, a1=5, a3=2, b0=2, b1=0.5; prune 2 lowest: b1 (0.5), a0 (1.0)
    assert kept["a"].tolist() == [False, True, False, True] and kept["b"].tolist() == [True, False]
    tie = scorers.keep_top(scores, mask, 2)   # a3 and b0 tie at 2: the earlier one (a3) is pruned first
    assert tie["a"].tolist() == [False, True, False, False] and tie["b"].tolist() == [True, False]
    inverted = scorers.keep_top(scores, mask, 2, invert=True)
    assert inverted["a"].tolist() == [True, False, False, False] and inverted["b"].tolist() == [False, True]
    with pytest.raises(ValueError, match="remaining=6"):
        scorers.keep_top(scores, mask, 6)


@pytest.mark.parametrize("method", scorers.METHODS)
def test_every_method_keeps_exactly_the_asked_count_inside_the_mask_and_leaves_the_model_alone(method):
    model = build_model("lenet_300_100", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 28, 28, generator=g), torch.arange(40) % 10
    start = scorers.prune_at_init("magnitude", model, masks.ones_like(model), 100_000)
    new = scorers.prune_at_init(method, model, start, 26_000, data=(x, y))
    assert masks.remaining(new) == 26_000 and masks.is_subset(new, start)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_synflow_prunes_iteratively_to_the_target_and_never_disconnects_a_layer():
    model = build_model("lenet_300_100", seed=0)
    new = scorers.synflow_prune(model, masks.ones_like(model), remaining=2_000, rounds=20)
    assert masks.remaining(new) == 2_000
    assert all(int(m.sum()) > 0 for m in new.values())  # SynFlow's point: no layer collapse at 0.75% density


def test_bad_method_or_missing_data_fail_with_the_parameter_and_what_is_allowed():
    model = tiny()
    with pytest.raises(ValueError, match="method='snap' is unknown; allowed: magnitude, snip, grasp, synflow"):
        scorers.prune_at_init("snap", model, masks.ones_like(model), 10)
    with pytest.raises(ValueError, match="method='grasp' scores weights on data"):
        scorers.prune_at_init("grasp", model, masks.ones_like(model), 10)


def test_gradient_flow_of_the_dense_mask_is_the_dense_gradient():
    model, (x, y) = tiny(), data()
    dense = scorers.gradient_flow(model, masks.ones_like(model), x, y)
    assert dense["cosine"] == pytest.approx(1.0) and dense["grad_norm"] == pytest.approx(dense["dense_grad_norm"])
    sparse = scorers.gradient_flow(model, half_mask(model), x, y)
    assert 0 < sparse["grad_norm"] and -1 <= sparse["cosine"] < 1


def test_balanced_sample_draws_the_same_number_of_each_class():
    y = torch.arange(100) % 10
    idx = scorers.balanced_sample(y, 3, torch.Generator().manual_seed(0))
    assert torch.bincount(y[idx]).tolist() == [3] * 10

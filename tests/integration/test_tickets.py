"""lth_utils on your own model: find_ticket / apply_ticket / controls with a model and a training loop of the test's
own (an optimiser with momentum and weight decay, which would move pruned weights if the masking let them)."""
from __future__ import annotations

import json

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lth_utils.lottery import tickets
from lth_utils.__main__ import main
from lth_utils.foundations.config import ConfigError
from lth_utils.data import load_splits
from lth_utils.lottery.tickets import Ticket, TicketConfig, apply_ticket, controls, find_ticket


class SmallConvNet(nn.Module):
    """Not one of the library's models: a conv layer, a linear layer and an output layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 5, stride=2)
        self.hidden = nn.Linear(4 * 12 * 12, 32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(F.relu(self.hidden(F.relu(self.conv(x)).flatten(1))))


@pytest.fixture(scope="module")
def mnist(data_root):
    splits = load_splits("mnist", data_root, train_subset=600)
    return splits.train, (splits.val[0][:1000], splits.val[1][:1000])


def make_model(seed=0):
    torch.manual_seed(seed)
    return SmallConvNet()


def make_train_fn(mnist, steps=20, log=None):
    (x, y), (vx, vy) = mnist

    def train_fn(model):
        optimiser = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
        generator = torch.Generator().manual_seed(1)
        model.train()
        for _ in range(steps):
            idx = torch.randint(0, len(x), (60,), generator=generator)
            optimiser.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            optimiser.step()
            if log is not None:
                log.append({n: p.detach().clone() for n, p in model.named_parameters()})
        model.eval()
        with torch.no_grad():
            return (model(vx).argmax(1) == vy).float().mean()
    return train_fn


def test_target_sparsity_is_reached_in_the_given_rounds_and_masks_only_shrink(mnist):
    ticket = find_ticket(make_model(), make_train_fn(mnist), target_sparsity=0.9, rounds=3, progress=False)
    assert [h["round"] for h in ticket.history] == [0, 1, 2, 3]
    assert abs(ticket.sparsity - 0.9) < 0.002  # the output layer at half the rate, p solved for the whole network
    assert ticket.history[0]["density"] == 1.0 and ticket.history[-1]["remaining"] == ticket.remaining
    densities = [h["density"] for h in ticket.history]
    assert densities == sorted(densities, reverse=True)
    assert ticket.compression_ratio == pytest.approx(1 / ticket.density)
    assert all(isinstance(h["result"], float) for h in ticket.history)  # a 0-d tensor stored as a number
    assert [row["layer"] for row in ticket.layers()] == ["conv.weight", "hidden.weight", "head.weight"]


def test_pruned_weights_stay_exactly_zero_at_every_step_of_the_users_loop(mnist):
    log: list = []
    ticket = find_ticket(make_model(), make_train_fn(mnist, log=log), rate=0.5, rounds=2, progress=False)
    last_round = log[-20:]  # the 20 steps of the final round train under the final mask
    for state in last_round:
        for name, m in ticket.mask.items():
            assert torch.count_nonzero(state[name][~m]) == 0


def test_rewind_init_restores_exactly_the_initial_weights_of_the_survivors(mnist):
    model = make_model()
    initial = copy.deepcopy(model.state_dict())
    ticket = find_ticket(model, make_train_fn(mnist), rate=0.5, rounds=2, progress=False)
    assert all(torch.equal(ticket.rewind_weights[k], initial[k]) for k in initial)
    fresh = apply_ticket(make_model(seed=5), ticket)
    for name, m in ticket.mask.items():
        assert torch.equal(fresh.get_parameter(name).detach(), initial[name] * m)


def test_rewind_k_keeps_the_weights_after_k_steps_of_the_dense_training(mnist):
    log: list = []
    ticket = find_ticket(make_model(), make_train_fn(mnist, log=log), rate=0.5, rounds=1, rewind=7, progress=False)
    after_7 = log[6]  # the state after the 7th optimiser step of round 0
    assert all(torch.equal(ticket.rewind_weights[n], after_7[n]) for n in after_7)
    with pytest.raises(ConfigError, match="rewind"):
        find_ticket(make_model(), make_train_fn(mnist), rate=0.5, rounds=1, rewind=500, progress=False)


def test_learning_rate_rewinding_keeps_the_trained_weights(mnist):
    log = []
    ticket = find_ticket(make_model(), make_train_fn(mnist, log=log), rate=0.5, rounds=1, rewind="lr", progress=False)
    trained = log[19]  # round 0's weights after its 20th and last step: where round 1 started
    for name, mask in ticket.mask.items():
        assert torch.equal(ticket.rewind_weights[name] * mask, trained[name] * mask), name


def test_same_inputs_give_the_same_ticket_bits(mnist):
    a = find_ticket(make_model(), make_train_fn(mnist), rate=0.4, rounds=2, progress=False)
    b = find_ticket(make_model(), make_train_fn(mnist), rate=0.4, rounds=2, progress=False)
    assert all(torch.equal(a.mask[n], b.mask[n]) for n in a.mask)
    assert a.history == b.history


def test_controls_share_the_mask_counts_and_differ_where_they_should(mnist):
    train_fn = make_train_fn(mnist)
    model = make_model()
    before = copy.deepcopy(model.state_dict())
    ticket = find_ticket(model, train_fn, rate=0.5, rounds=2, progress=False)
    rows = controls(make_model(), ticket, train_fn, progress=False)
    assert [r["arm"] for r in rows] == ["ticket", "reinit", "random_prune"]
    assert len({r["remaining"] for r in rows}) == 1
    assert rows[0]["result"] == ticket.history[-1]["result"]  # the ticket's row retrains the last round exactly
    assert len({r["result"] for r in rows}) > 1
    untouched = make_model()
    controls(untouched, ticket, train_fn, arms=("reinit",), progress=False)
    assert all(torch.equal(untouched.state_dict()[k], before[k]) for k in before)


def test_reinit_does_not_redraw_the_original_weights_when_the_user_seeded_with_zero(mnist):
    ticket = find_ticket(make_model(seed=0), make_train_fn(mnist), rate=0.5, rounds=1, progress=False)
    net = apply_ticket(make_model(), ticket)
    tickets.reinitialise_(net, seed=0)
    assert not torch.equal(net.hidden.weight.detach() * ticket.mask["hidden.weight"],
                           ticket.rewind_weights["hidden.weight"] * ticket.mask["hidden.weight"])


def test_a_saved_ticket_loads_back_equal(mnist, tmp_path):
    ticket = find_ticket(make_model(), make_train_fn(mnist), rate=0.5, rounds=1, progress=False)
    loaded = Ticket.load(ticket.save(tmp_path / "ticket.pt"))
    assert loaded.config == ticket.config and loaded.history == ticket.history
    assert all(torch.equal(loaded.mask[n], ticket.mask[n]) for n in ticket.mask)


def test_global_scope_pools_the_layers_but_the_output_layer_at_half_the_rate_as_the_driver(mnist):
    ticket = find_ticket(make_model(), make_train_fn(mnist), rate=0.6, rounds=1, scope="global", progress=False)
    *pooled, output = ticket.layers()
    assert abs(sum(r["remaining"] for r in pooled) / sum(r["total"] for r in pooled) - 0.4) < 0.001
    assert max(r["density"] for r in pooled) - min(r["density"] for r in pooled) > 0.05  # ranked together
    assert abs(output["density"] - 0.7) < 0.01  # the paper's half rate, on its own (IMPConfig's default)
    both = find_ticket(make_model(), make_train_fn(mnist), rate=0.6, rounds=1, scope="global", pool_output=True,
                       progress=False)
    assert abs(both.density - 0.4) < 0.001  # pool_output: every layer in the pool at the rate


@pytest.mark.parametrize("values, parameter", [
    (dict(rounds=0, rate=0.2), "rounds"),
    (dict(rounds=3), "target_sparsity"),
    (dict(rounds=3, rate=0.2, target_sparsity=0.5), "target_sparsity"),
    (dict(rounds=3, target_sparsity=1.0), "target_sparsity"),
    (dict(rounds=3, rate=1.5), "rate"),
    (dict(rounds=3, rate=0.2, scope="per_layer"), "scope"),
    (dict(rounds=3, rate=0.2, rewind="late"), "rewind"),
    (dict(rounds=3, rate=0.2, rewind=-4), "rewind"),
])
def test_bad_config_names_the_parameter(values, parameter):
    with pytest.raises(ConfigError) as error:
        TicketConfig(**values)
    assert error.value.parameter == parameter


def test_bad_model_or_train_fn_fails_before_any_training():
    with pytest.raises(ConfigError, match="model"):
        find_ticket(nn.Sequential(nn.ReLU()), lambda m: None, rate=0.2, rounds=1, progress=False)
    with pytest.raises(ConfigError, match="train_fn"):
        find_ticket(make_model(), "train", rate=0.2, rounds=1, progress=False)
    with pytest.raises(ConfigError, match="train_fn"):
        find_ticket(make_model(), lambda: None, rate=0.2, rounds=1, progress=False)


def test_a_ticket_applied_to_another_architecture_is_a_clear_error(mnist):
    ticket = find_ticket(make_model(), make_train_fn(mnist, steps=2), rate=0.5, rounds=1, progress=False)
    with pytest.raises(ConfigError, match="ticket"):
        apply_ticket(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), ticket)


def test_a_train_fn_that_replaces_the_parameters_is_caught(mnist):
    def replaces(model):
        model.hidden.weight = nn.Parameter(torch.ones_like(model.hidden.weight))
    with pytest.raises(RuntimeError, match="in place"):
        find_ticket(make_model(), replaces, rate=0.5, rounds=1, progress=False)


def test_cli_target_sparsity_and_rounds_set_the_rate(data_root, tmp_path, capsys):
    code = main(["imp", "--target-sparsity", "0.75", "--rounds", "2", "--train-subset", "600", "--iterations", "20",
                 "--eval-every", "10", "--trials", "1", "--workers", "1", "--quiet", "--data-root", str(data_root),
                 "--out", str(tmp_path)])
    assert code == 0
    table = capsys.readouterr().out
    assert "(1 trial(s), 2 level(s))" in table  # two rounds: two pruned levels after the dense one
    summary = next(tmp_path.glob("ticket_*/summary.csv")).read_text().splitlines()
    final_density = float(summary[-1].split(",")[summary[0].split(",").index("density")])
    assert abs(final_density - 0.25) < 0.001  # the whole network, its output layer at half the rate
    config = json.loads(next(tmp_path.glob("ticket_*/config.json")).read_text())["config"]
    assert config.get("output_rate") is None and config["rate"] > 1 - 0.25 ** 0.5  # the others prune a little more
    assert main(["imp", "--target-sparsity", "0.75", "--out", str(tmp_path)]) == 2

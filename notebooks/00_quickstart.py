# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,course,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] tags=[]
# # 0. Quickstart: a lottery ticket for your own model
#
# A winning ticket for a network *you* define, trained by a loop *you* write, takes three calls of `lth_utils.tickets`,
# and two controls make it a *winning* ticket: the same mask from a new initialisation, and a random mask of the same
# size. Notebooks 01-03 explain each step on the paper's own networks.
#
# ```python
# from lth_utils import tickets
# ticket = tickets.find_ticket(model, train_fn, target_sparsity=0.9, rounds=5)  # prune 90% in 5 rounds
# tickets.apply_ticket(model, ticket)                 # the sparse network at its rewound weights
# rows = tickets.controls(model, ticket, train_fn)    # ticket vs reinitialisation vs random pruning
# ```
#
# `train_fn(model)` trains the model it is given in place and may return a number (or a dict of numbers) that the
# ticket keeps per round: here, the test accuracy. **Iterative magnitude pruning** (IMP, Frankle & Carbin 2019):
# train, remove the smallest-magnitude surviving weights, *rewind* the survivors to their initial values, train again;
# `rounds` times. To reach a target sparsity s in n rounds each round prunes about p = 1 - (1 - s)^(1/n) of the survivors
# (the output layer half of it, as in the paper; p is solved so that the whole network reaches s).
# While `train_fn` runs, the library keeps the pruned weights exactly zero whatever optimiser the loop uses (their
# values and gradients are masked by hooks), so the loop needs no changes.
#
# The same from the command line, for the paper's models: `python -m lth_utils imp --target-sparsity 0.9 --rounds 5`.

# %% [markdown] course="objectives" tags=[]
# **You will** find a winning ticket for a model you define yourself, with your own training function; read a ticket: its mask, rewind weights, sparsity per round and compression ratio; and compare it with its two controls (random reinitialisation, random pruning) in one call.
#
# **Before you start:** Python and PyTorch; no earlier notebook.

# %% tags=["parameters"]
profile = "standard"     # the handout's; "quick" (a miniature, minutes), "paper", "smoke" (CI)
seed = 0                 # trial t initialises the model and orders the data with seed + t
trials = None            # None: the profile's (standard: 5), for an uncertainty on every difference
target_sparsity = 0.9    # fraction of the prunable (conv and linear) weights removed at the end
rounds = None            # None: the profile's (standard: 5) prune-rewind-retrain rounds
rewind = "init"          # "init" (the paper), an iteration k (late rewinding), "lr" or "none"
scope = "global"         # "global": rank all layers' weights together; "layerwise": each layer loses the same share
steps = None             # None: the profile's (standard: 800) Adam steps of batch 60 per training
out = None               # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"    # datasets, fetched and checksum-verified on first use
figures = "../figures"   # where the PNG figures go

# %% [markdown] tags=[]
# The cell above holds the notebook's parameters (papermill replaces them). The next cell checks them before any
# training (a sparsity outside (0, 1), zero rounds or an unknown rewind point stop there with the parameter's name)
# and loads MNIST.

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# Nothing: it finds its tickets anew each time it runs and saves them under `out/quickstart/` (`tickets.Ticket.load` reads one back). `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown
from torch import nn

from lth_utils import analysis, masks, notebook, plots, tickets
from lth_utils.config import ConfigError
from lth_utils.data import load_splits

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "target_sparsity", "rounds", "rewind", "scope",
                                           "steps", "out", "data_root", "figures"],
                               defaults=dict(target_sparsity=0.9, rewind="init", scope="global"), notebook="00")
trials = settings.quickstart.trials if trials is None else trials
steps = settings.quickstart.steps if steps is None else steps
for name, value in [("trials", trials), ("steps", steps)]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, value, "a whole number >= 1")
ticket_config = tickets.TicketConfig(target_sparsity=target_sparsity, rewind=rewind, scope=scope,
                                     rounds=settings.quickstart.rounds if rounds is None else rounds)
splits = load_splits("mnist", data_root, train_subset=settings.quickstart.subset)
(x_train, y_train), (x_test, y_test) = splits.train, splits.test
torch.set_num_threads(1)  # one thread: the same bits on every run of this machine
print(f"{trials} trial(s) x {ticket_config.rounds} rounds, {steps} steps per training, "
      f"{len(x_train):,} training images")

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, experiment=(
    f"a small CNN on MNIST, {trials} trial(s), {ticket_config.rounds} rounds to {100 * target_sparsity:g}% "
    f"sparsity, {steps} Adam steps per training; the test accuracy after the last step (no validation split, "
    f"no early stopping)"), keys=("quickstart.steps", "quickstart.rounds", "quickstart.trials")))


# %% [markdown] tags=[]
# ## Your model and your training loop
#
# Any `nn.Module` works; its `nn.Linear` and `nn.Conv2d` weights are what gets pruned (biases are kept). This one is a
# small LeNet-like convolutional network, defined here and nowhere in the library.

# %% tags=[]
class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)          # 28x28 -> 24x24, pooled to 12x12
        self.conv2 = nn.Conv2d(8, 16, 5)         # 12x12 -> 8x8, pooled to 4x4
        self.fc = nn.Linear(16 * 4 * 4, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.out(F.relu(self.fc(x.flatten(1))))


def make_train_fn(data_seed):
    """A plain PyTorch loop: Adam, batches of 60 in a seeded order, test accuracy at the end."""
    def train_fn(model):
        optimiser = torch.optim.Adam(model.parameters(), lr=1.2e-3)
        order = torch.Generator().manual_seed(data_seed)
        model.train()
        for _ in range(steps):
            batch = torch.randint(0, len(x_train), (60,), generator=order)
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            return (model(x_test).argmax(1) == y_test).float().mean().item()
    return train_fn


torch.manual_seed(seed)
sizes = {name: m.numel() for name, m in masks.ones_like(SmallCNN()).items()}
print(f"{sum(p.numel() for p in SmallCNN().parameters()):,} parameters, {sum(sizes.values()):,} of them prunable; "
      f"per round, IMP prunes {100 * ticket_config.round_rate(sizes):.1f}% of the surviving weights "
      f"({ticket_config.scope}), the output layer {100 * ticket_config.layer_rates(sizes)[list(sizes)[-1]]:.1f}%")

# %% [markdown] tags=[]
# ## Find a ticket, then train its controls
#
# For each trial: `find_ticket` trains the dense network (round 0), then prunes, rewinds and retrains `rounds` times;
# `controls` retrains the final ticket and its two controls on the same data order. Each ticket is saved under
# `out` (`tickets.Ticket.load` reads it back).

# %% tags=[]
history, control_rows, found = [], [], {}
for trial in range(trials):
    torch.manual_seed(seed + trial)  # the model's own initialisation, as a user's script would seed it
    model = SmallCNN()
    train_fn = make_train_fn(seed + trial)
    ticket = tickets.find_ticket(model, train_fn, ticket_config, seed=seed + trial)
    found[trial] = ticket
    ticket.save(Path(cfg.out) / "quickstart" / f"trial_{trial}.pt")
    history += [{"trial": trial, "level": h["round"], "density": h["density"], "test_acc": h["result"]}
                for h in ticket.history]
    control_rows += [{"trial": trial, "level": ticket_config.rounds, "density": 1 - r["sparsity"], "arm": r["arm"],
                      "test_acc": r["result"]} for r in tickets.controls(SmallCNN(), ticket, train_fn)]
history, control_rows = pd.DataFrame(history), pd.DataFrame(control_rows)
found[0]

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
t = found[0]
print(f"trial 0: {t.remaining} of {t.total} weights remain (sparsity {t.sparsity:.4f}); masks only shrink: "
      f"{all(a >= b for a, b in zip(history.query('trial == 0')['density'], history.query('trial == 0')['density'][1:]))}")
print("test accuracy per round, trial 0:", " ".join(f"{a:.4f}" for a in history.query("trial == 0")["test_acc"]))

# %% [markdown] tags=[]
# ## Accuracy as the network gets sparser
#
# Test accuracy after each round's training (mean and min-max over trials), and the two controls at the final
# sparsity. The ticket is *winning* if it keeps up with the dense network where the controls fall behind.

# %% tags=[]
COLORS, LABELS = plots.COLORS, plots.LABELS
fig, ax = plt.subplots(figsize=(7, 4))
t = analysis.by_level(history, "test_acc")
ax.errorbar(t["percent_remaining"], 100 * t["mean"], yerr=[100 * (t["mean"] - t["min"]), 100 * (t["max"] - t["mean"])],
            marker="o", ms=4, capsize=2, color=COLORS["ticket"], label=LABELS["ticket"])
for offset, arm in zip([0.96, 1.04], ["reinit", "random_prune"]):
    c = analysis.by_level(control_rows[control_rows["arm"] == arm], "test_acc")
    ax.errorbar(c["percent_remaining"] * offset, 100 * c["mean"],
                yerr=[100 * (c["mean"] - c["min"]), 100 * (c["max"] - c["mean"])], marker="s", ms=5, capsize=2,
                ls="none", color=COLORS[arm], label=LABELS[arm])
plots.density_axis(ax, t["percent_remaining"])
ax.set_xticks(t["percent_remaining"], [f"{p:.3g}" for p in t["percent_remaining"]])  # one tick per round
ax.axhline(100 * t["mean"].iloc[0], color=COLORS["dense"], ls="--", lw=1, label="dense (mean)")
ax.set(ylabel="final test accuracy (%)", title=f"SmallCNN on MNIST: IMP to {100 * target_sparsity:g}% sparsity\n"
       f"(mean and min-max over {trials} trials; accuracy after training, no early stopping)")
ax.legend(fontsize=8)
plots.save(fig, "00_quickstart_accuracy", settings.figures);

# %% [markdown] tags=[]
# Where the pruning went: with `scope="global"` all layers compete for the surviving weights, so layers end at
# different densities (with `"layerwise"` every layer keeps the same share).

# %% tags=[]
layers = pd.DataFrame(found[0].layers())
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.bar(layers["layer"], 100 * layers["density"], color=COLORS["ticket"])
for i, r in layers.iterrows():
    ax.text(i, 100 * r["density"], f"{r['remaining']:,} of {r['total']:,}", ha="center", va="bottom", fontsize=8)
ax.set(ylabel="% of weights remaining", title="The ticket's layers (trial 0)")
plots.save(fig, "00_quickstart_layers", settings.figures);

# %% [markdown] tags=[]
# ## Is it a winning ticket?
#
# Paired by trial (same seed, same data order): the ticket minus each control, mean and 95% t-interval in
# percentage points (pp); and the ticket minus the dense network of its own trial.

# %% tags=[]
final = pd.concat([history.query("level == 0").assign(arm="dense"), control_rows], ignore_index=True)
final["level"] = 0  # one comparison per pair of arms, paired by trial
ticket_rows = final[final["arm"] == "ticket"]
paired = pd.concat([analysis.paired_difference(ticket_rows, final[final["arm"] == other], "test_acc")
                    .assign(comparison=f"ticket - {LABELS[other]}") for other in ("dense", "reinit", "random_prune")],
                   ignore_index=True)
paired["verdict"] = [analysis.interval_verdict(lo, hi) for lo, hi in zip(paired["ci_low"], paired["ci_high"])]
table = paired.assign(**{c: (100 * paired[c]).round(2) for c in ("mean_diff", "ci_low", "ci_high")})
table[["comparison", "trials", "mean_diff", "ci_low", "ci_high", "verdict"]]

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(table[["comparison", "trials", "verdict"]].to_string(index=False))


# %% [markdown] tags=[]
# ## What the data say

# %% tags=[]
interval = analysis.format_interval  # '+1.23 pp [95% CI +0.45, +2.01]'

row = {r["comparison"]: r for _, r in paired.iterrows()}
dense_acc = history.query("level == 0")["test_acc"]
ticket_acc = ticket_rows["test_acc"]
lines = [
    f"- After {ticket_config.rounds} rounds the ticket keeps {100 * found[0].density:.1f}% of the prunable weights "
    f"({found[0].compression_ratio:.1f}x compression) and reaches {100 * ticket_acc.mean():.2f}% test accuracy "
    f"(min-max {100 * ticket_acc.min():.2f}-{100 * ticket_acc.max():.2f}% over {trials} trial(s)); the dense network "
    f"reaches {100 * dense_acc.mean():.2f}%. Ticket minus dense: {interval(row['ticket - dense'])}: "
    f"{row['ticket - dense']['verdict']}.",
    f"- Ticket minus {LABELS['reinit']}: {interval(row['ticket - ' + LABELS['reinit']])}: "
    f"{row['ticket - ' + LABELS['reinit']]['verdict']}.",
    f"- Ticket minus {LABELS['random_prune']}: {interval(row['ticket - ' + LABELS['random_prune']])}: "
    f"{row['ticket - ' + LABELS['random_prune']]['verdict']}.",
    "",
    f"These are {trials} trial(s) of {steps} steps per training on a model far smaller than the paper's, so they "
    "show how to use the library rather than test the paper's claims: notebooks 02 and 03 do that on LeNet-300-100 "
    "with the paper's protocol (early stopping, 5 trials, the dense network trained to convergence). A difference "
    "whose interval contains 0 is not shown by these trials either way. The last bits of training differ between "
    "CPU kinds, and so do these numbers: with 3 trials, the ticket-minus-reinitialisation interval excluded 0 on one "
    "CPU and held it on another (the README's cross-machine check), which is why the handout runs 5. A verdict whose "
    "interval nearly touches 0 may read otherwise on your machine.",
]
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] tags=[]
# ## Exercises
#
# 1. Set `rewind=100` (late rewinding to the weights after 100 steps) and `rewind="lr"` (keep the trained weights):
#    which ticket is best at 90% sparsity, and by how much given the intervals?
# 2. Set `scope="layerwise"`. Which layer limited the global ticket (see the layer figure), and does the
#    layerwise ticket do better or worse?
# 3. Set `target_sparsity=0.98` with `rounds=10`. At what sparsity does the ticket fall behind the dense network,
#    and does the random-pruning control fall first?
# 4. Replace `SmallCNN` with a model of your own (an MLP, a wider CNN). What in `train_fn` would have to change for
#    a model that needs a learning-rate schedule?
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("00", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Frankle & Carbin 2019, The lottery ticket hypothesis, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635).
# - Frankle, Dziugaite, Roy & Carbin 2020, Linear mode connectivity and the lottery ticket hypothesis (late rewinding),
#   [arXiv:1912.05671](https://arxiv.org/abs/1912.05671).
# - Renda, Frankle & Carbin 2020, Comparing rewinding and fine-tuning in neural network pruning (learning-rate
#   rewinding), [arXiv:2003.02389](https://arxiv.org/abs/2003.02389).
#
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, experiment=(
    f"SmallCNN on MNIST, {trials} trial(s), {ticket_config.rounds} rounds to {100 * target_sparsity:g}% sparsity "
    f"({scope}, rewind {ticket_config.rewind}), {steps} Adam steps per training, seed {seed}"),
    trained_itself=(f"{len(history) + len(control_rows)} SmallCNN networks ({trials} trial(s): "
                    f"{ticket_config.rounds + 1} rounds of find_ticket and {len(control_rows) // trials} runs of "
                    f"controls each)"))

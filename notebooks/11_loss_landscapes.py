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
# # 11. Loss landscapes: what does a winning ticket's minimum look like?
#
# A network's loss landscape along 1D paths and 2D slices (with the filter normalisation of Li et al. 2018 that makes
# networks of different scale comparable), a simple sharpness, and the linear path between a ticket and its dense
# parent.
#
# **Question.** At the same density, the winning ticket trains to a better network than the same mask reinitialised
# or a random mask (notebook 03). Is its minimum also shaped differently: flatter, or lower along the way from its
# initialisation? And is the ticket linearly connected to the dense network it was pruned from?
#
# **What is computed**, at the densities below, for the ticket, the random reinitialisation and random pruning (the
# runs of notebooks 02-03, paired by trial):
#
# 1. **Init -> trained.** The training loss along the straight line from each network's start weights to its trained
#    weights (alpha 0 = start, 1 = trained; beyond 1 extrapolates).
# 2. **Ticket -> dense parent.** The test error along the line from the trained dense network (level 0) to the
#    trained ticket (pruned weights at 0), and its barrier: the highest error minus the mean of the two ends
#    (notebook 04's measure). Random pruning's line to the same dense network is the reference.
# 3. **2D slices** of the training loss around each trained network along two random directions, filter-normalised and
#    restricted to the network's surviving weights (`lth_utils.landscape`).
# 4. **Sharpness**: the rise of the training loss at a fixed filter-normalised distance along random directions.

# %% [markdown] course="objectives" tags=[]
# **You will** draw 1D and 2D slices of the loss landscape around a ticket and its controls (filter-normalised directions); measure sharpness, and the linear path between a ticket and its dense parent; and say what such pictures do and do not show.
#
# **Before you start:** Notebooks 02-04 and the [glossary](glossary.md) (error barrier).

# %% tags=["parameters"]
profile = "paper"      # the handout's; "quick" (a miniature, minutes), "standard", "smoke" (CI)
seed = 0               # base seed: initialisations, data orders, masks and the random directions derive from it
trials = None          # None: the profile's landscape trials (paper 5)
densities = None       # None: the profile's (paper: 0.211, 0.07 and 0.019 of weights remaining)
points = None          # None: the profile's 2D grid size per axis (paper 31)
examples = None        # None: the profile's number of training images the landscapes are evaluated on (10,000)
span = 1.0             # the 2D slices and 1D extrapolation reach +/- span filter-normalised units
radius = 0.5           # the sharpness distance, in filter-normalised units
workers = 0            # parallel single-thread CPU workers (0: one per core)
out = None             # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"  # datasets, fetched and checksum-verified on first use
figures = "../figures" # where the PNG figures go

# %% [markdown] tags=[]
# The next cell checks the parameters (before any training: a density no level reaches, a grid of fewer than 3
# points, a non-positive span or radius) and lists the runs.

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# Notebook 02's ticket and notebook 03's controls at the slice densities (trained first if missing). Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown
from lth_utils import analysis, engine, landscape, notebook, plots
from lth_utils.experiments import loss_landscapes
from lth_utils.data import load_splits
from lth_utils.models import build_model

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "densities", "points", "examples", "span",
                                           "radius", "workers", "out", "data_root", "figures"],
                               defaults=dict(span=1.0, radius=0.5), notebook="11")
points = settings.landscape.points if points is None else points
examples = settings.landscape.examples if examples is None else examples
loss_landscapes.check_knobs(points, examples, span, radius)
configs, levels = loss_landscapes.runs(cfg, settings, densities)
ARMS = list(loss_landscapes.ARMS)
pd.DataFrame([{"arm": plots.LABELS[a], "levels": c.only_levels or f"0-{c.num_levels}", "trials": c.trials,
               "run": f"{c.prefix}-{c.hash}"} for a, c in configs.items()])

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, notebook="11"))

# %% [markdown] tags=[]
# ## Train (or read) the networks

# %% tags=[]
results = engine.run(list(configs.values()), workers=workers or None)
trials = configs["ticket"].trials
splits = load_splits(cfg.dataset, cfg.data_root, train_subset=cfg.train_subset)
x_train, y_train = splits.train[0][:examples], splits.train[1][:examples]
x_test, y_test = splits.test
model = build_model(cfg.model, splits.input_shape, splits.num_classes)
torch.set_num_threads(1)  # the same bits on every run of this machine
density = {l: analysis.at_levels(results[configs["ticket"]], [l])["density"].mean() for l in levels}
print(f"{trials} trial(s) at levels {levels} ({', '.join(f'{100 * density[l]:.1f}%' for l in levels)} remaining); "
      f"landscapes on the first {len(x_train):,} training images")
networks = loss_landscapes.stand_ins(configs, levels, trials)
Markdown(loss_landscapes.stand_in_sentence(networks))

# %% [markdown] tags=[]
# ## 1. From initialisation to the trained network
#
# The training loss along the straight line from each network's start weights (alpha 0) to its trained weights
# (alpha 1), mean over trials; beyond alpha = 1 the line is extrapolated.

# %% tags=[]
alphas = np.round(np.linspace(-span / 2, 1 + span / 2, 2 * points - 1), 4)
paths = loss_landscapes.start_to_trained(configs, levels, trials, model, alphas, x_train, y_train)
fig, axes = plt.subplots(1, len(levels), figsize=(6 * len(levels), 4), squeeze=False)
for ax, level in zip(axes[0], levels):
    for arm in ARMS:
        t = paths[(paths["level"] == level) & (paths["arm"] == arm)].groupby("alpha")["loss"]
        ax.plot(t.mean().index, t.mean(), color=plots.COLORS[arm], label=plots.LABELS[arm])
        ax.fill_between(t.mean().index, t.min(), t.max(), color=plots.COLORS[arm], alpha=0.15)
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.axvline(1, color="grey", lw=0.8, ls=":")
    ax.set(yscale="log", xlabel="alpha (0: start weights, 1: trained)", ylabel="training loss (log scale)",
           title=f"{100 * density[level]:.1f}% remaining")
axes[0][0].legend(fontsize=8)
plots.save(fig, "11_init_to_trained", settings.figures);

# %% [markdown] tags=[]
# ## 2. The ticket and its dense parent
#
# The test error along the line from the trained dense network (level 0 of the same trial) to the trained sparse
# network, for the ticket and for random pruning. A barrier near 0 means the two are linearly connected: the sparse
# network, retrained from the initial weights under its mask, ended in the basin the dense network trained into.
# Frankle et al. 2020 call two networks connected when the barrier is below 2 pp (notebook 04); Paul et al. 2023 find
# that successive IMP levels are connected in this way exactly when the sparser one still matches dense accuracy.

# %% tags=[]
parent_alphas = np.linspace(0, 1, 31)
parent_paths, barriers = loss_landscapes.to_dense_parent(configs, levels, trials, model, parent_alphas, x_test, y_test)
fig, axes = plt.subplots(1, len(levels), figsize=(6 * len(levels), 4), squeeze=False)
for ax, level in zip(axes[0], levels):
    for arm in ["ticket", "random_prune"]:
        t = parent_paths[(parent_paths["level"] == level) & (parent_paths["arm"] == arm)].groupby("alpha")["error"]
        ax.plot(t.mean().index, 100 * t.mean(), color=plots.COLORS[arm], label=plots.LABELS[arm])
        ax.fill_between(t.mean().index, 100 * t.min(), 100 * t.max(), color=plots.COLORS[arm], alpha=0.15)
    ax.set(xlabel="alpha (0: trained dense parent, 1: trained sparse network)", ylabel="test error (%)",
           title=f"{100 * density[level]:.1f}% remaining")
axes[0][0].legend(fontsize=8)
plots.save(fig, "11_ticket_to_dense_parent", settings.figures)
barriers["density"] = barriers["level"].map(density)
barrier_paired = analysis.paired_difference(barriers[barriers["arm"] == "random_prune"],
                                            barriers[barriers["arm"] == "ticket"], "barrier")
barrier_paired["verdict"] = [analysis.interval_verdict(lo, hi, "random pruning's higher", "the ticket's higher")
                             for lo, hi in zip(barrier_paired["ci_low"], barrier_paired["ci_high"])]
barrier_table = barriers.groupby(["level", "arm"]).agg(
    barrier_pp=("barrier", lambda b: 100 * b.mean()), barrier_min=("barrier", lambda b: 100 * b.min()),
    barrier_max=("barrier", lambda b: 100 * b.max()), trials=("barrier", "count")).round(2)
barrier_table

# %% [markdown] tags=[]
# ## 3. Two-dimensional slices
#
# The training loss around each trained network (trial 0) on the plane spanned by two random filter-normalised
# directions that move only its surviving weights; the same contour levels in every panel.

# %% tags=[]
coords = np.round(np.linspace(-span, span, points), 4)
planes = loss_landscapes.slices(configs, levels, cfg.seed, model, coords, x_train, y_train)
all_losses = np.concatenate([p["loss"].to_numpy() for p in planes.values()])
contour_levels = np.geomspace(max(all_losses.min(), 1e-4), all_losses.max(), 15)
SHORT = {"ticket": "ticket", "reinit": "reinitialised", "random_prune": "random pruning"}
fig, axes = plt.subplots(len(levels), len(ARMS), figsize=(4.2 * len(ARMS), 3.8 * len(levels)), squeeze=False,
                         sharex=True, sharey=True, constrained_layout=True)
for row, level in enumerate(levels):
    for col, arm in enumerate(ARMS):
        s, t, z = landscape.grid(planes[(level, arm)])
        ax = axes[row][col]
        c = ax.contourf(s, t, z, levels=contour_levels, norm=plt.matplotlib.colors.LogNorm(), cmap="viridis")
        ax.plot(0, 0, "w*", ms=9)
        ax.set_title(f"{SHORT[arm]}, {100 * density[level]:.1f}% remaining", fontsize=10)
        ax.set(xlabel="direction 1" if row == len(levels) - 1 else "", ylabel="direction 2" if col == 0 else "")
bar = fig.colorbar(c, ax=axes, shrink=0.8, label="training loss (log scale)", ticks=contour_levels[::2])
bar.ax.set_yticklabels([f"{v:.2g}" for v in contour_levels[::2]])
plots.save(fig, "11_loss_slices", settings.figures);

# %% [markdown] tags=[]
# ## 4. Sharpness
#
# The rise of the training loss at distance `radius` along random filter-normalised directions (the larger of the
# two sides), per network; then the ticket minus each control, paired by trial (the mean rise over the directions of
# one trial is one pair), with 95% t-intervals.

# %% tags=[]
per_trial = loss_landscapes.sharpness_per_trial(configs, levels, trials, cfg.seed,
                                                settings.landscape.sharpness_directions, radius, model, x_train, y_train)
per_trial["density"] = per_trial["level"].map(density)
fig, ax = plt.subplots(figsize=(7, 4))
for offset, arm in zip([-0.06, 0.0, 0.06], ARMS):
    t = analysis.by_level(per_trial[per_trial["arm"] == arm], "rise")
    ax.errorbar(t["percent_remaining"] * (1 + offset), t["mean"], yerr=[t["mean"] - t["min"], t["max"] - t["mean"]],
                marker="o", ms=5, capsize=3, ls="none", color=plots.COLORS[arm], label=plots.LABELS[arm])
plots.density_axis(ax, [100 * density[l] for l in levels])
ax.set(yscale="log", ylabel=f"loss rise at radius {radius:g}", title="Sharpness (mean over directions, min-max over trials)")
ax.legend(fontsize=8)
plots.save(fig, "11_sharpness", settings.figures)
frames = {arm: per_trial[per_trial["arm"] == arm] for arm in ARMS}
sharp_paired = pd.concat([analysis.paired_difference(frames["ticket"], frames[other], "rise")
                          .assign(comparison=f"ticket - {plots.LABELS[other]}", other=other)
                          for other in ("reinit", "random_prune")], ignore_index=True)
sharp_paired["verdict"] = [analysis.interval_verdict(lo, hi, "ticket sharper", "ticket flatter")
                           for lo, hi in zip(sharp_paired["ci_low"], sharp_paired["ci_high"])]
# relative to each network's own loss, compared as a ratio (a paired difference of log10): the trained losses differ
# by orders of magnitude between arms, so a difference of multiples would be dominated by the smallest loss
relative_paired = pd.concat([analysis.paired_difference(frames["ticket"], frames[other], "log_relative_rise")
                             .assign(comparison=f"ticket - {plots.LABELS[other]}") for other in ("reinit", "random_prune")],
                            ignore_index=True)
relative_paired["verdict"] = [analysis.interval_verdict(lo, hi, "ticket sharper", "ticket flatter")
                              for lo, hi in zip(relative_paired["ci_low"], relative_paired["ci_high"])]
sharp_paired.round(4)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(sharp_paired[["comparison", "level", "trials", "verdict"]].to_string(index=False))
print("barrier sign per (level, arm):", {f"{l}/{a}": bool(b > 0.005) for (l, a), b in
                                        barriers.groupby(["level", "arm"])["barrier"].mean().items()})


# %% [markdown] tags=[]
# ## What the data say

# %% tags=[]
def interval(r, to=lambda v: analysis.significant(v, sign=True), prefix=""):  # a paired row, 3 significant digits
    if pd.isna(r["ci_low"]):
        return f"{prefix}{to(r['mean_diff'])} (one trial: no interval)"
    return f"{prefix}{to(r['mean_diff'])} [95% CI {prefix}{to(r['ci_low'])}, {prefix}{to(r['ci_high'])}]"


def ratio(r):  # a paired difference of log10 values, as the ratio it stands for
    return interval(r, lambda v: analysis.significant(10 ** v), prefix="x")

lines = []
# the trained losses (alpha = 1) compared as ratios, paired by trial (a paired difference of log10, as the relative
# sharpness)
trained = paths[paths["alpha"] == 1.0].assign(log_loss=lambda t: np.log10(t["loss"]),
                                              density=lambda t: t["level"].map(density))
end = trained.groupby(["level", "arm"])["loss"].mean()
loss_paired = pd.concat([analysis.paired_difference(trained[trained["arm"] == "ticket"],
                                                    trained[trained["arm"] == other], "log_loss").assign(other=other)
                         for other in ("reinit", "random_prune")], ignore_index=True)
for level in levels:
    pct = f"{100 * density[level]:.1f}%"
    lines.append(f"**{pct} remaining.**")
    lines.append("- Trained training loss (mean over trials): " + ", ".join(
        f"{plots.LABELS[a]} {end[(level, a)]:.4f}" for a in ARMS) + "; the ticket's over the other's, paired by "
        "trial: " + "; ".join(
            f"{plots.LABELS[r['other']]} {ratio(r)} ("
            + analysis.interval_verdict(r["ci_low"], r["ci_high"], "the ticket's higher", "the ticket's lower") + ")"
            for _, r in loss_paired[loss_paired["level"] == level].iterrows()) + ".")
    b = barrier_table.loc[level]  # the table above, so the text reads its numbers
    lines.append(f"- Test-error barrier to the dense parent: ticket {b.loc['ticket', 'barrier_pp']:.2f} pp "
                 f"(min-max {b.loc['ticket', 'barrier_min']:.2f} to {b.loc['ticket', 'barrier_max']:.2f}), random "
                 f"pruning {b.loc['random_prune', 'barrier_pp']:.2f} pp (min-max "
                 f"{b.loc['random_prune', 'barrier_min']:.2f} to {b.loc['random_prune', 'barrier_max']:.2f}), over "
                 f"{trials} trial{'s' if trials > 1 else ''}.")
    below = barriers[barriers["level"] == level].assign(connected=lambda t: t["barrier"] < 0.02) \
        .groupby("arm")["connected"].agg(["sum", "count"])
    d = barrier_paired[barrier_paired["level"] == level].iloc[0]
    lines.append(f"- Linearly connected to the dense parent (barrier below 2 pp): the ticket in "
                 f"{below.loc['ticket', 'sum']} of {below.loc['ticket', 'count']} trials, random pruning in "
                 f"{below.loc['random_prune', 'sum']} of {below.loc['random_prune', 'count']}; random pruning's "
                 f"barrier minus the ticket's, paired by trial: {analysis.format_interval(d)}: {d['verdict']}.")
    for _, r in sharp_paired[sharp_paired["level"] == level].iterrows():
        rel = relative_paired[(relative_paired["level"] == level)
                              & (relative_paired["comparison"] == r["comparison"])].iloc[0]
        base = loss_paired[(loss_paired["level"] == level) & (loss_paired["other"] == r["other"])].iloc[0]
        disagree = {r["verdict"], rel["verdict"]} == {"ticket flatter", "ticket sharper"}
        lines.append(f"- Sharpness, {r['comparison']}: {interval(r)} (loss rise at radius {radius:g}): "
                     f"{r['verdict']}; relative to each network's own loss (the networks sit at different "
                     f"losses), the ticket's relative rise is {ratio(rel)} the other's (paired ratio): "
                     f"{rel['verdict']}."
                     + (" The two measures disagree: the relative rise divides by each network's own trained loss"
                        + (", and the ticket's is the lower one (the first line), which inflates its relative rise"
                           if base["ci_high"] < 0 else "")
                        + "; the absolute rise compares them on one scale." if disagree else ""))
    lines.append("")
lines.append("**Which networks.** " + loss_landscapes.stand_in_sentence(networks))
lines.append("")
lines.append("**Multiplicity.** " + analysis.multiplicity_sentence(
    pd.concat([loss_paired, barrier_paired, sharp_paired, relative_paired], ignore_index=True),
    "paired intervals above"))
lines.append("")
survivors = {level: int(sum(m.sum() for m in analysis.load_mask(configs["ticket"], 0, level).values()))
             for level in levels}
lines.append("**What these pictures do and do not show.** Each slice is a 1D or 2D cut through a network's surviving "
             "weights only (" + ", ".join(f"{n:,} at {100 * density[l]:.1f}%" for l, n in survivors.items())
             + f" of {sum(m.numel() for m in analysis.load_mask(configs['ticket'], 0, levels[0]).values()):,}), "
             "along random directions; flatness along random directions need not hold along the directions training "
             "moves in, and a sharpness measured in filter-normalised units compares networks of different scale "
             "without making their geometries identical (Dinh et al. 2017 show that sharpness can be changed by "
             "reparametrisation without changing the function). The sparse networks are sliced only within their "
             "own surviving weights, so the ticket and the random pruning are explored in different subspaces of the "
             "same size. A difference called 'sharper' or 'flatter' above is a difference in this measure, resolved "
             "by these trials; whether it explains the ticket's accuracy is not tested here.")
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] tags=[]
# ## Exercises
#
# 1. Rerun with `radius=0.1` and `radius=1.0`: does the ranking of the three networks by sharpness depend on the
#    distance?
# 2. The 1D path from the dense parent to the ticket ends at a network with most weights at exactly zero. Where on the
#    path does the error start to rise, and what does that say about the pruned weights of the trained dense network?
# 3. Replace the random directions of the 2D slice by the direction from the start weights to the trained weights and
#    one random direction. What does the training trajectory look like in that plane?
# 4. Evaluate the slices on the test set instead of the training images (`x_test`, `y_test`). Where do the flattest
#    regions of the training loss sit in test error?
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("11", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Li, Xu, Taylor, Studer & Goldstein 2018, Visualizing the loss landscape of neural nets,
#   [arXiv:1712.09913](https://arxiv.org/abs/1712.09913) (filter normalisation).
# - Frankle, Dziugaite, Roy & Carbin 2020, Linear mode connectivity and the lottery ticket hypothesis,
#   [arXiv:1912.05671](https://arxiv.org/abs/1912.05671).
# - Paul, Chen, Larsen, Frankle, Ganguli & Dziugaite 2023, Unmasking the lottery ticket hypothesis: what's encoded
#   in a winning ticket's mask?, [arXiv:2210.03044](https://arxiv.org/abs/2210.03044) (linear connectivity of
#   successive IMP levels).
# - Keskar et al. 2017, On large-batch training for deep learning: generalization gap and sharp minima,
#   [arXiv:1609.04836](https://arxiv.org/abs/1609.04836).
# - Dinh, Pascanu, Bengio & Bengio 2017, Sharp minima can generalize for deep nets,
#   [arXiv:1703.04933](https://arxiv.org/abs/1703.04933).
#
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, notebook="11", experiment=(
    f"LeNet-300-100 on MNIST at levels {', '.join(map(str, levels))}, {trials} trial(s); {points}x{points} slices "
    f"over +/-{span:g}, sharpness at radius {radius:g} along {settings.landscape.sharpness_directions} directions, on "
    f"{len(x_train):,} training images; ticket config hash `{cfg.hash}`"))

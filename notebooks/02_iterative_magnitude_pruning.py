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
# # 2. Iterative magnitude pruning finds winning tickets
#
# **Question.** Inside a randomly initialised dense network, is there a sparse subnetwork that, trained in isolation
# *from the same initial weights*, reaches the dense network's accuracy in at most as many iterations? The paper
# (Frankle & Carbin, ICLR 2019, Figures 3-4) says yes for LeNet-300-100 down to a few percent of the weights.
#
# **Method.** Iterative magnitude pruning (IMP) with rewinding to initialisation: train the network, remove 20% of the
# surviving weights of each hidden layer and 10% of the output layer (smallest magnitudes), reset the survivors to their
# *initial* values, and repeat. Each level is evaluated at its early-stopping iteration, the evaluation of minimum
# validation loss, where we read the test accuracy, exactly as the paper does.

# %% [markdown] course="objectives" tags=[]
# **You will** run iterative magnitude pruning (IMP) with rewinding to iteration 0, level by level; read the paper's two headline measures: test accuracy and the early-stopping iteration against % remaining; and check whether an early-stopping result is censored by the end of training.
#
# **Before you start:** Notebook 01 and the [glossary](glossary.md).

# %% tags=["parameters"]
profile = "paper"        # the handout's; "quick" (a miniature, minutes), "standard", "smoke" (CI)
seed = 0                 # base seed: initialisations, data orders and random masks all derive from it
trials = None            # None: the profile's number of trials (standard and paper: 5)
rate = None              # None: the profile's (0.2 per hidden layer per level; the output layer at half)
levels = None            # None: the profile's pruning levels after the dense one (18 reach 1.9% remaining)
iterations = None        # None: the profile's most iterations per level (standard: 15,000 with patience)
workers = 0              # parallel single-thread CPU workers (0: one per core)
out = None               # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"    # datasets, fetched and checksum-verified on first use
figures = "../figures"   # where the PNG figures go

# %% [markdown] tags=[]
# The cell above holds the notebook's parameters (papermill replaces them); the next one checks them, builds the experiment's config from the profile, fetches and verifies MNIST, and sets the figure style.

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# Nothing earlier; notebooks 01, 03, 04 (its k = 0 chain), 05, 07, 08, 10 and 11 read its IMP run. Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from lth_utils import analysis, comparison, engine, notebook, plots

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "rate", "levels", "iterations", "workers",
                                           "out", "data_root", "figures"], notebook="02")
pd.Series({"profile": settings.profile, "trials": cfg.trials, "seed": cfg.seed, "levels": cfg.num_levels,
           "rate (hidden / output)": f"{cfg.rate:g} / {cfg.output_rate if cfg.output_rate is not None else cfg.rate / 2:g}",
           "iterations per level (at most)": f"{cfg.iterations:,}",
           "early stopping": f"{cfg.patience} evaluations after the minimum" if cfg.patience else "none",
           "evaluation every": cfg.eval_every, "config hash": cfg.hash}).to_frame("setting")

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, notebook="02"))

# %% [markdown] tags=[]
# ## Run IMP
#
# One call trains every level of every trial (or reads them from the run store).

# %% tags=[]
summary = engine.run_imp(cfg)
table = analysis.level_table(summary)
table

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
# Rounded summary for the reproducibility check: densities and accuracies must come out the same on a rerun.
print(analysis.level_table(summary, digits=1)[["level", "% remaining", "test acc @ early stop (%)",
                                               "early-stop iteration"]].to_string(index=False))

# %% [markdown] tags=[]
# ## Accuracy and learning speed against sparsity
#
# Left: test accuracy at the early-stopping iteration; right: the early-stopping iteration itself. Lines are the mean
# over trials, bands the min/max (the paper's error bars). The dashed line is the dense network (level 0); the dotted
# line on the right is the end of training: a run whose minimum falls there is censored (its true minimum may be later).

# %% tags=[]
accuracy = analysis.by_level(summary, "test_acc_at_early_stop")
early = analysis.by_level(summary, "early_stop_iteration")
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, table_, scale, ylabel in [(axes[0], accuracy, 100, "test accuracy at early stop (%)"),
                                   (axes[1], early, 1, "early-stop iteration")]:
    plots.density_axis(ax, table_["percent_remaining"])
    plots.band(ax, table_, "ticket", scale=scale)
    ax.axhline(scale * table_["mean"].iloc[0], color=plots.COLORS["dense"], ls="--", lw=1, label="dense")
    ax.set_ylabel(ylabel)
plots.end_of_training(axes[1], cfg.iterations)
axes[1].set_yscale("log")  # the early stops sit far below the end of training: both readable on a log axis
ticks = [t for t in (500, 1000, 2000, 5000, 10_000, 20_000, 50_000) if early["min"].min() / 2 <= t <= cfg.iterations]
axes[1].set_yticks(ticks, [f"{t:,}" for t in ticks])
axes[1].yaxis.set_minor_formatter(plt.NullFormatter())
axes[1].set_ylabel("early-stop iteration (log scale)")
axes[0].legend()
axes[1].legend(loc="upper right", bbox_to_anchor=(1.0, 0.9))  # below the end of training, above the early stops
axes[0].set_title("Test accuracy of winning tickets")
axes[1].set_title("Iteration of minimum validation loss")
plots.save(fig, "02_accuracy_and_early_stop_vs_weights_remaining", settings.figures);

# %% [markdown] tags=[]
# ## Learning curves of a few levels
#
# Test accuracy during training for the levels nearest to the paper's densities (mean over trials). Sparser tickets
# should rise faster until they become too sparse.

# %% tags=[]
levels = analysis.levels_near(summary, [100, 51.3, 21.1, 7.0, 3.6, 1.9], cfg)  # among the levels with test curves
curve = analysis.curves(cfg, levels)
fig, ax = plt.subplots()
palette = plt.get_cmap("tab10").colors
for color, marker, (level, group) in zip(palette, "os^vDP", curve.groupby("level")):
    plots.trial_curves(ax, group, "accuracy", color, f"{group['percent_remaining'].mean():.1f}% remaining",
                       scale=100, marker=marker)
ax.set_xscale("log")  # the early rise, where sparser tickets should be ahead, takes the first thousand iterations
ax.set_ylim(max(80, 100 * curve["accuracy"].min()), 100 * curve["accuracy"].max() + 0.5)
ax.set_xlabel("training iteration (log scale); thin lines: trials")
ax.set_ylabel("test accuracy (%)")
ax.set_title("Test accuracy during training")
ax.legend(fontsize=8)
plots.save(fig, "02_learning_curves_by_level", settings.figures);

# %% [markdown] tags=[]
# ## A second measure of learning speed
#
# The early-stopping iteration is an argmin, and near its minimum the dense network's validation loss is flat and
# noisy: evaluations within a few percent of it can lie thousands of iterations apart, so every ratio with dense's
# early-stopping iteration in the denominator moves a lot with noise (the paper's 38% is an argmin of the same
# kind). A threshold is steadier, but only where dense crosses it on the steep part of its curve: the iterations
# until a level's validation loss first comes within a tolerance of the same trial's dense minimum. The table shows,
# for the argmin and for several tolerances, where dense gets there in each trial (mean, range, coefficient of
# variation) and the ticket's ratio to dense at 21.1% remaining: a tolerance too tight lands dense on its plateau
# again, and its crossing then spreads as widely as the argmin. The figure and the conclusions use
# `analysis.REACH_WITHIN` (25%). Line and band: that measure (mean, min/max over trials); grey: the early-stopping
# iteration, for comparison.

# %% tags=[]
val_curves = analysis.curves(cfg, sorted(summary["level"].unique()), split="val")
reach = analysis.iterations_to_reach(val_curves)  # within analysis.REACH_WITHIN of the trial's dense minimum
reach_by_level = analysis.by_level(reach, "iterations_to_reach")
level21 = analysis.levels_near(summary, [21.1])[0]
by_tolerance = analysis.speed_by_tolerance(val_curves, level21, [0.05, 0.1, analysis.REACH_WITHIN, 0.5])
reach21 = analysis.early_stop_ratio(reach[reach["level"].isin([0, level21])], metric="iterations_to_reach")
reach_pooled = analysis.early_stop_ratio(reach, percent_between=(6.9, 51.3), metric="iterations_to_reach")
fig, ax = plt.subplots()
plots.density_axis(ax, reach_by_level["percent_remaining"])
plots.band(ax, early, "dense", label="early-stopping iteration (argmin of validation loss)")
plots.band(ax, reach_by_level, "ticket",
           label=f"iterations to within {100 * analysis.REACH_WITHIN:g}% of dense's minimum validation loss")
ax.set_yscale("log")
ax.set(ylabel="training iterations (log scale)", title="Two measures of learning speed")
ax.legend(fontsize=8)
plots.save(fig, "02_learning_speed_two_measures", settings.figures);
display(reach_by_level.assign(never=lambda t: cfg.trials - t["trials"]).round(1))
by_tolerance.round(3)

# %% [markdown] tags=[]
# ## Sparsity history
#
# Per-layer density at each level (trial 0): the hidden layers lose 20% per level, the output layer 10%.

# %% tags=[]
history = analysis.layer_density_history(cfg, trial=0)
fig, ax = plt.subplots()
styles = iter([dict(marker="o", ls="-", ms=6), dict(marker="x", ls="--", ms=5), dict(marker="s", ls=":", ms=3)])
for layer, group in history.groupby("layer"):
    ax.plot(group["level"], 100 * group["density"], label=layer, **next(styles))
same = history.pivot(index="level", columns="layer", values="density")
if same.shape[1] >= 2 and np.allclose(same.iloc[:, 0], same.iloc[:, 1], rtol=0.01):
    ax.text(0.02, 0.04, f"{same.columns[0]} and {same.columns[1]} coincide (both at the hidden rate)",
            transform=ax.transAxes, fontsize=8)
ax.set_yscale("log")
ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}%"))
ax.set_xticks(sorted(history["level"].unique()))
ax.set_xlabel("pruning level")
ax.set_ylabel("% of the layer's weights remaining (log scale)")
ax.set_title("Per-layer density by level")
ax.legend()
plots.save(fig, "02_layer_density_by_level", settings.figures);

# %% [markdown] tags=[]
# ## What the runs show

# %% tags=[]
dense, dense_stop = accuracy.iloc[0], early["mean"].iloc[0]
at21, at36 = analysis.nearest(accuracy, 21.1), analysis.nearest(accuracy, 3.6)
stop21 = analysis.nearest(early, 21.1)["mean"]
pruned = accuracy[accuracy["level"] > 0]
best = pruned.loc[pruned["mean"].idxmax()]
# accuracy and learning speed, paired by trial: each trial's ticket at a level against the same trial's dense one
gain = analysis.versus_dense(summary, "test_acc_at_early_stop")
gain21, gain36 = analysis.nearest(gain, 21.1), analysis.nearest(gain, 3.6)
speed = analysis.versus_dense(summary, "early_stop_iteration")
back36 = comparison.ticket_claim(summary, 15, int(gain36["level"]))["verdict"]  # the paper: back to dense at 3.6%
speed21 = analysis.nearest(speed, 21.1)
pooled = analysis.early_stop_ratio(summary, percent_between=(6.9, 51.3))  # levels 3-12, one ratio per trial
es_claim = comparison.early_stop_claim(summary, level=int(speed21["level"]))  # the paper's 0.62x at 21.1%
lines = [
    f"- The dense network reaches **{100 * dense['mean']:.2f}%** test accuracy at its early-stopping iteration "
    f"({dense_stop:,.0f} of {cfg.iterations:,}).",
    f"- The level with the highest mean is {best['percent_remaining']:.1f}% remaining with "
    f"**{100 * best['mean']:.2f}%** ({100 * (best['mean'] - dense['mean']):+.2f} pp against dense; chosen as the best "
    f"after looking, so this margin is optimistic).",
    f"- At {at21['percent_remaining']:.1f}% remaining tickets reach {100 * at21['mean']:.2f}% "
    f"({analysis.format_interval(gain21)} against their trial's dense network) and stop at iteration {stop21:,.0f} against dense's "
    f"{dense_stop:,.0f}: paired by trial, {speed21['mean_diff']:+,.0f} iterations, 95% CI "
    f"[{speed21['ci_low']:+,.0f}, {speed21['ci_high']:+,.0f}] over {int(speed21['trials'])} trials "
    f"({analysis.interval_verdict(speed21['ci_low'], speed21['ci_high'], 'later than dense', 'earlier than dense')}). "
    f"As each trial's ratio to its own dense early stop (mean [min, max] over trials): {es_claim['text']}; against the paper's 0.62 (38% earlier): "
    f"**{es_claim['verdict']}** (the README table's rule, `comparison.early_stop_claim`).",
    f"- Pooled over the levels from 51.3% to 7.0% remaining, a ticket's early-stopping iteration is "
    f"{pooled['mean']:.2f}x the dense one of its trial (95% CI [{pooled['ci_low']:.2f}, {pooled['ci_high']:.2f}], "
    f"one pooled ratio per trial): tickets learn "
    + analysis.interval_verdict(pooled["ci_low"], pooled["ci_high"], "slower than dense", "faster than dense",
                                "at a speed not shown to differ from dense", reference=1.0)
    + " on average over that range.",
    f"- At {at36['percent_remaining']:.1f}% remaining they reach {100 * at36['mean']:.2f}% "
    f"({analysis.format_interval(gain36)}; the paper: back to about the dense accuracy; by the README table's "
    f"equivalence rule, within ±0.3 pp (agrees when the 90% interval lies inside, disagrees when the 95% interval "
    f"lies wholly outside): **{back36}**).",
    "- Each level's accuracy minus its trial's dense network's, paired by trial: "
    + analysis.multiplicity_sentence(gain, "per-level intervals against dense") + analysis.where_resolved(gain),
]
never = int(reach["iterations_to_reach"].isna().sum())
chosen = by_tolerance[by_tolerance["measure"].str.startswith(f"within {100 * analysis.REACH_WITHIN:g}%")].iloc[0]
argmin = by_tolerance.iloc[0]
below_one = int((by_tolerance["ci_high"] < 1).sum())
lines.append(
    f"- The second speed measure (iterations until the validation loss is within {100 * analysis.REACH_WITHIN:g}% "
    f"of the trial's dense minimum): dense gets there at {chosen['dense_min']:,.0f}-{chosen['dense_max']:,.0f} "
    f"iterations (coefficient of variation over trials {chosen['dense_cv']:.2f}, against {argmin['dense_cv']:.2f} "
    f"for its argmin); at {at21['percent_remaining']:.1f}% remaining {reach_by_level.set_index('level').loc[level21, 'mean']:,.0f} "
    f"against dense's {reach_by_level['mean'].iloc[0]:,.0f}, a ratio of {reach21['mean']:.2f} (95% CI "
    f"[{reach21['ci_low']:.2f}, {reach21['ci_high']:.2f}], n={reach21['n']}); pooled over 51.3-7.0% remaining "
    f"{reach_pooled['mean']:.2f} [{reach_pooled['ci_low']:.2f}, {reach_pooled['ci_high']:.2f}]"
    + (f"; {never} level runs never got within {100 * analysis.REACH_WITHIN:g}% and are left out" if never else "")
    + f". The ratio at {at21['percent_remaining']:.1f}% lies below 1 with its 95% interval under {below_one} of "
    f"the table's {len(by_tolerance)} measures (the argmin and {len(by_tolerance) - 1} tolerances).")
spread = (early["max"] - early["min"]).mean()
lines.append(f"- Between trials the early-stopping iteration of a level spans {spread:,.0f} iterations on average "
             f"(min to max; evaluations every {cfg.eval_every}), so with {cfg.trials} trials single-level comparisons "
             f"of learning speed are noisy; the band in the right-hand figure shows it.")
lines.append(f"- Multiplicity (the {speed21['percent_remaining']:.1f}% comparison is one of a family): "
             + analysis.multiplicity_sentence(speed, "per-level early-stop intervals against dense"))
lines.append(f"- {analysis.censoring_note({'ticket': summary}, cfg)}")
dense_cut = analysis.censored(summary, cfg)[summary["level"] == 0]
if dense_cut.any():
    lines.append(f"- Caveat: {int(dense_cut.sum())} of {len(dense_cut)} dense runs were still improving when training "
                 f"ended, so the dense early-stopping iteration is a lower bound and the 'earlier' percentage too.")
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] course="exercises" tags=[]
# ## Exercises
#
# 1. Prune faster: `rate=0.5` (and `levels=6` to reach a similar density). Are the tickets as good at equal % remaining? (Notebook 03 compares one-shot with iterative pruning.)
# 2. Set `trials=1` and rerun: which statements under 'What the runs show' change? That is what one trial hides.
# 3. Set `iterations=5000`: how many runs are now censored, and how does the dense network's accuracy move?
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("02", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Frankle & Carbin 2019, The lottery ticket hypothesis: finding sparse, trainable neural networks, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635)
# - Han, Pool, Tran & Dally 2015, Learning both weights and connections for efficient neural networks, [arXiv:1506.02626](https://arxiv.org/abs/1506.02626)

# %% [markdown] tags=[]
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, notebook="02")

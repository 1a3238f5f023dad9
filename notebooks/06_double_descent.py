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
# # 6. Capacity, double descent, and pruning a regression network
#
# **Question.** How does test error change with the size of a network, and does pruning act like choosing a smaller
# one? Classical statistics predicts a U-shaped curve; Belkin et al. (2019) and Nakkiran et al. (2019) found a *double
# descent*: test error peaks near the *interpolation threshold*, where the network can just fit the noisy training set,
# then falls again as width grows. Then: does IMP on a regression MLP improve generalisation, as has been reported for
# small regression networks when ~40-50% of the weights remain (source 000)?
#
# **Method.** A teacher-student regression task: 100 noisy training points in 5 dimensions from a random tanh teacher
# (label noise std 0.5 against a signal of std 1). One-hidden-layer students of growing width, ReLU or tanh, with and
# without weight decay, trained full batch with Adam for longer as they grow (the step counts of the profile are in the
# provenance at the end). Then IMP on the width-100 student: rounds of 10% (output layer 5%), rewound to its
# initialisation each round. A label-noise MNIST variant (Nakkiran et al.) is out of scope here: on 2 cores its width
# sweep alone would take hours; the regression task shows the same phenomenon in minutes.

# %% [markdown] course="objectives" tags=[]
# **You will** see double descent: test loss against model width through the interpolation threshold; separate a result from seed noise: a second descent counts only where the 95% interval of its difference from the peak lies below 0; and prune a wide regression network with IMP and compare it with narrower dense networks.
#
# **Before you start:** Notebook 02 and the [glossary](glossary.md) (IMP, level).

# %% tags=["parameters"]
profile = "paper"        # the handout's (5 seeds, 4,000 steps); "quick" (a miniature, minutes), "standard", "smoke"
seed = 0                 # the students' initialisations use seeds seed, seed + 1, ... (the teacher and its data
                         # stay fixed: data seed 0)
trials = None            # None: the profile's number of seeds per width (paper: 5)
widths = None            # None: the profile's hidden widths (paper: 1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512, 1024)
regression_rounds = None # None: the profile's IMP rounds of 10% on the width-100 network (paper: 10)
workers = 0              # parallel single-thread CPU workers (0: one per core)
out = None               # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"    # no dataset here (the regression data are generated); kept so one papermill call fits all
figures = "../figures"   # where the PNG figures go

# %% [markdown] tags=[]
# The cell above holds the notebook's parameters (papermill replaces them); the next one checks them, builds the experiment's config from the profile and sets the figure style (no dataset to fetch: the regression data are generated).

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# Nothing from the other notebooks: it trains small regression networks. Trained networks are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import dataclasses
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from lth_utils import analysis, notebook, plots

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "widths", "regression_rounds", "workers", "out",
                                           "data_root", "figures"], fetch=False, notebook="06")
from lth_utils.experiments import double_descent as dd

dd_settings = dd.with_knobs(settings.double_descent, widths, regression_rounds)  # widths, seeds, steps, IMP rounds
seeds = [cfg.seed + i for i in range(len(dd_settings.seeds) if trials is None else cfg.trials)]

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, experiment=(
    f"teacher-student regression, widths {dd_settings.widths[0]}-{dd_settings.widths[-1]}, {len(seeds)} "
    f"seed(s) per width, {dd_settings.steps:,} Adam steps per student plus more for wider ones; the "
    f"final losses (no early stopping)"), keys=("double_descent.steps", "double_descent.seeds", "double_descent.widths")))

# %% tags=[]
base = dd.RegressionConfig(out=cfg.out, steps=dd_settings.steps)
noise_floor = base.noise ** 2  # the labels' noise variance: no student can do better on test data
interpolation_width = (base.n_train - 1) / (base.input_dim + 2)  # parameters = (d + 2) * width + 1 = n_train
settings_grid = {(act, wd): dataclasses.replace(base, activation=act, weight_decay=wd)
                 for act in ("relu", "tanh") for wd in (0.0, 1e-3)}
sweep = pd.concat([dd.width_sweep(c, dd_settings.widths, seeds, workers=cfg.workers)
                   for c in settings_grid.values()], ignore_index=True)
sweep_table = sweep.groupby(["activation", "weight_decay", "width"])[["train_loss", "test_loss"]].mean()
sweep_table.unstack(["activation", "weight_decay"])["test_loss"].round(3)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(sweep_table.round(2).to_string())

# %% [markdown] tags=[]
# ## Test loss against width
#
# Mean over seeds with min/max bands; dashed: training loss. The grey line marks the interpolation threshold, the width
# at which the student has as many parameters as there are training points.

# %% tags=[]
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, act in zip(axes, ("relu", "tanh")):
    for wd, color in ((0.0, plots.COLORS["ticket"]), (1e-3, plots.COLORS["reinit"])):
        g = sweep.query("activation == @act and weight_decay == @wd").groupby("width")
        ax.plot(g["test_loss"].mean().index, g["test_loss"].mean(), marker="o", ms=3, color=color,
                label=f"test, weight decay {wd:g}")
        ax.fill_between(g["test_loss"].mean().index, g["test_loss"].min(), g["test_loss"].max(), color=color,
                        alpha=0.15, lw=0)
        ax.plot(g["train_loss"].mean().index, g["train_loss"].mean(), ls="--", color=color, lw=1,
                label=f"train, weight decay {wd:g}")
    ax.axvline(interpolation_width, color="grey", lw=1, label=f"interpolation threshold (width ~{interpolation_width:.0f})")
    ax.axhline(noise_floor, color="black", lw=0.8, ls=":", label=f"noise floor ({noise_floor:g})")
    ax.set_xscale("log")
    ax.set(xlabel="hidden units (log scale)", title=f"{act} students")
axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
axes[0].set_ylabel("mean squared error")
plots.save(fig, "06_double_descent_test_loss_vs_width", settings.figures);

# %% [markdown] tags=[]
# ## IMP on the width-100 regression network

# %% tags=[]
imp_base = dataclasses.replace(base, width=100)
imp_runs = dd.regression_imp_trials(imp_base, seeds, rounds=dd_settings.regression_rounds, rate=0.1,
                                    workers=cfg.workers)
imp_table = imp_runs.groupby("round").agg(percent_remaining=("density", lambda d: 100 * d.mean()),
                                          mean=("test_loss", "mean"), min=("test_loss", "min"),
                                          max=("test_loss", "max"), train_loss=("train_loss", "mean"))
fig, ax = plt.subplots()
ax.set_xscale("log")
lowest = imp_table["percent_remaining"].min()
ticks = [p for p in (100, 75, 50, 40) if p > 1.05 * lowest] + [lowest]  # none within 5% of the lowest (no "4039")
ax.set_xticks(ticks, [f"{t:.0f}" for t in ticks])
ax.minorticks_off()
ax.invert_xaxis()
ax.set_xlabel("% of weights remaining (log scale)")
plots.band(ax, imp_table, "ticket", label="IMP ticket, test loss")
ax.plot(imp_table["percent_remaining"], imp_table["train_loss"], ls="--", color=plots.COLORS["ticket"], lw=1,
        label="train loss")
ax.axhline(imp_table["mean"].iloc[0], color=plots.COLORS["dense"], ls="--", lw=1, label="dense width-100 test loss")
# a dense ReLU student of width w has w% of the width-100 network's weights: the smaller networks one could have chosen
share = 100 * sweep["width"] / imp_base.width  # a width-w student's prunable weights, as % of the width-100 net's
matched = sweep[(sweep["activation"] == "relu") & (sweep["weight_decay"] == 0) & (share <= 100)
                & (share >= 0.8 * lowest)].groupby("width")["test_loss"]
ax.errorbar(100 * matched.mean().index / imp_base.width, matched.mean(),
            yerr=[matched.mean() - matched.min(), matched.max() - matched.mean()], fmt="s", ms=5, capsize=2,
            color=plots.COLORS["dense"], label="dense ReLU student, as many prunable weights (width = % remaining)")
shown = sorted(set(ticks) | set(100 * matched.mean().index / imp_base.width), reverse=True)
ax.set_xticks(shown, [f"{t:.0f}" for t in shown])
ax.minorticks_off()
ax.set(ylabel="mean squared error", title="IMP on a width-100 regression MLP (ReLU, no weight decay)")
ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 0.08))
plots.save(fig, "06_regression_imp_test_loss_vs_weights_remaining", settings.figures);
imp_table.round(3)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(imp_table[["percent_remaining", "mean"]].round(2).to_string())

# %% [markdown] tags=[]
# ## What the runs show

# %% tags=[]
lines = []


def contains_zero(interval) -> str:
    """' (the interval contains 0)', or nothing where one seed gave no interval (format_interval says so)."""
    return "" if pd.isna(interval["ci_low"]) else " (the interval contains 0)"


for (act, wd), c in settings_grid.items():
    rows = sweep.query("activation == @act and weight_decay == @wd")
    v = dd.curve_verdict(rows, noise_floor)  # two widths compared unpaired: Welch's 95% interval
    has_peak = v["peak_width"] != v["classical_width"]  # False when no wider student follows the first minimum
    t = sweep_table.loc[(act, wd)]["test_loss"]
    u_ci = analysis.format_interval(v["u_interval"], scale=1, unit="", spec="+.3f")
    unbeaten = (f"not shown to be beaten{' before the peak' if has_peak else ''}: the lowest mean before it, "
                f"{t[v['classical_width']]:.3f} at width {v['classical_width']}, differs by {u_ci}"
                f"{contains_zero(v['u_interval'])}")
    start = (f"falls from {v['smallest_loss']:.3f} at width {t.index[0]} to a classical minimum of "
             f"{t[v['classical_width']]:.3f} at width {v['classical_width']} ({u_ci}: the interval lies below 0, "
             "for a minimum picked after looking: see the last point)"
             if v["u_shape"] else
             f"shows no classical U: the smallest student (width {t.index[0]}, {v['smallest_loss']:.3f}, noise floor "
             f"{noise_floor:g}) is {'already the one with the lowest mean of all widths' if v['best_width'] == t.index[0] else unbeaten}")
    peak = ((" and then rises" if v["u_shape"] else "; the loss rises")
            + f" to a peak at width {v['peak_width']} ({v['peak_loss']:.3f}; interpolation threshold "
              f"~{interpolation_width:.0f})" if has_peak else
            f"; no wider student follows, so these widths show no peak (interpolation threshold "
            f"~{interpolation_width:.0f})")
    d_ci = analysis.format_interval(v["descent_interval"], scale=1, unit="", spec="+.3f")
    if v["separated"]:
        after = (f"After the peak it falls to {v['descent_loss']:.3f} at width {v['descent_width']} ({d_ci} against "
                 "the peak: the interval lies below 0): **a second descent**.")
    elif v["second_descent"]:
        after = (f"After the peak the mean falls to {v['descent_loss']:.3f} at width {v['descent_width']}, but "
                 f"{d_ci} against the peak{contains_zero(v['descent_interval'])}: **no second descent shown** with "
                 f"{len(seeds)} seeds.")
    else:
        after = "**No second descent** within these widths."
    widest = ("" if (v["separated"] or v["second_descent"]) and v["descent_width"] == t.index[-1]
              else f"; the widest net reaches {t.iloc[-1]:.3f}")  # not twice where the descent ends at the widest
    lines.append(f"- {act}, weight decay {wd:g}: test loss {start}{peak}{widest}. " + after)
narrowest = sweep[sweep["width"] == sweep["width"].min()]
smallest = analysis.mean_interval(narrowest.groupby("seed")["test_loss"].mean() - noise_floor)  # one value per seed
lines.append(f"- The noise floor (the labels' noise variance) is {noise_floor:g}; the width-{sweep['width'].min()} "
             f"students (averaged over activations and weight decays per seed) lie {smallest['mean']:.3f} above it "
             f"({analysis.ci_text(smallest, spec='.3f')}, n={smallest['n']})"
             + (": this teacher is easy for small students, so a classical U is not to be expected here."
                if smallest["ci_high"] < 0.1 else "."))
dense_loss = imp_table["mean"].iloc[0]
lines.append(f"- IMP runs on ReLU students without weight decay, {len(seeds)} seeds, 10% of the weights per round.")
imp_v = dd.imp_verdict(imp_runs)  # each pruned round's test loss minus dense's, paired by seed; band: source 000's
AGAINST_DENSE = {"lower": "**lower than dense** (the interval lies below 0)",
                 "higher": "**higher than dense** (the interval lies above 0)",
                 "no difference shown": f"no difference from dense shown with {len(seeds)} seeds (the interval "
                                        "contains 0)",
                 "one trial: no interval": "one seed: no interval, so no verdict"}


def round_against_dense(row) -> str:
    """'round 3 (72.9% remaining), 0.651: -0.035 [95% CI ...] against dense, paired by seed: <verdict>'"""
    r = int(row["level"])
    return (f"round {r} ({row['percent_remaining']:.1f}% of the weights remaining), {imp_table.loc[r, 'mean']:.3f}: "
            f"{analysis.format_interval(row, scale=1, unit='', spec='+.3f')} against dense, paired by seed: "
            f"{AGAINST_DENSE[row['verdict']]}")


paired_imp = imp_v["paired"]
if imp_v["best"] is not None:
    lines.append(f"- IMP, width 100: dense test loss {dense_loss:.3f}. The pruned round with the lowest mean test loss "
                 f"(picked after looking, so its interval is optimistic) is {round_against_dense(imp_v['best'])}. Of the {len(paired_imp)} pruned rounds, "
                 f"{len(imp_v['lower'])} lie below dense (better) and {len(imp_v['higher'])} above it (worse); "
                 + analysis.multiplicity_sentence(paired_imp, "rounds' paired intervals"))
if imp_v["band_best"] is not None:
    band_words = {"lower": "pruning **improves** generalisation here",
                  "higher": "pruning makes generalisation **worse** here",
                  "no difference shown": "**no improvement shown** here",
                  "one trial: no interval": "one seed: no verdict"}
    lines.append(f"- Between {dd.SOURCE_BAND[0]:g}% and {dd.SOURCE_BAND[1]:g}% remaining (the range source 000 reports), the round with the lowest mean (picked after looking) is "
                 f"{round_against_dense(imp_v['band_best'])}: {band_words[imp_v['band_best']['verdict']]}.")
# pruning versus choosing a smaller network: the last round against the dense ReLU students that bracket its weight
# count, unpaired (a student and a pruned network share no initial weights)
narrow = dd.pruned_versus_narrow(imp_runs, sweep.query("activation == 'relu' and weight_decay == 0"), imp_base)
NARROW = {"lower": "**pruning does better** (the interval lies below 0)",
          "higher": "**the narrow network does better** (the interval lies above 0)",
          "no difference shown": "no difference shown (the interval contains 0)",
          "one trial: no interval": "one seed: no interval, so no verdict"}
if narrow["rows"]:
    # by weight count, IMP's rounds move the width-100 network toward the size at which a dense student interpolates
    per_width = imp_base.input_dim + 1  # a depth-1 student's weights per unit, as pruned_versus_narrow counts them
    relu = sweep.query("activation == 'relu' and weight_decay == 0").groupby("width")["test_loss"].mean()
    last = paired_imp.iloc[-1]  # the last round minus dense, paired by seed
    pruned_width = narrow["kept"] / per_width  # the dense student with as many weights
    climbs = last["verdict"] == "higher" and interpolation_width <= relu.idxmax() < pruned_width < imp_base.width
    lines.append(f"- Read by weight count: the dense width-{imp_base.width} network has {imp_base.width * per_width} "
                 f"weights and IMP's round {narrow['round']} keeps about {narrow['kept']:.0f}, closer to the "
                 f"~{interpolation_width * per_width:.0f} weights (with biases, {base.n_train} parameters) at which a "
                 f"dense student interpolates its {base.n_train} training points (width ~{interpolation_width:.0f}); "
                 f"there its test loss is {AGAINST_DENSE[last['verdict']]}, "
                 f"{analysis.format_interval(last, scale=1, unit='', spec='+.3f')}. "
                 + (f"The ReLU students' mean loss is highest at width {relu.idxmax()} ({relu.max():.3f}), between the "
                    f"interpolation width and the width with as many weights as round {narrow['round']} keeps "
                    f"(~{pruned_width:.0f}): pruning walks the network from width {imp_base.width} back up the "
                    f"second descent toward that peak, if a pruned network's weights count like a narrower network's, "
                    f"which the next comparison tests."
                    if climbs else "These runs do not show pruning walking the network back up a second descent."))
    lines.append(f"- Pruning or a smaller network? IMP's last round (round {narrow['round']}) keeps about "
                 f"{narrow['kept']:.0f} weights with test loss {narrow['loss']:.3f}; against the dense ReLU students "
                 "around its size (the widest with at most as many weights and the narrowest with more), unpaired "
                 "(Welch's 95% interval): " + "; ".join(
                     f"width {r['width']} ({r['weights']} weights, {r['loss']:.3f}): "
                     f"{analysis.format_interval(r, scale=1, unit='', spec='+.3f')}, {NARROW[r['verdict']]}"
                     for r in narrow["rows"]) + ".")
lines.append("- The classical minimum, the peak and the lowest point after it are picked from these means, so the "
             "intervals between them are, if anything, too narrow: a verdict of no difference is the safer one.")
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] course="exercises" tags=[]
# ## Exercises
#
# 1. Set `seed=1`: which verdicts (U shape, peak, second descent) stay?
# 2. Set `trials=10` (ten seeds): does the tanh curve's second descent become clear (its interval against the peak below 0), and do more pruned rounds separate from dense?
# 3. Where is the interpolation threshold for a network with twice as many training points? Predict, then check in `lth_utils/experiments/double_descent.py`.
# 4. Look closer at the peak: set `widths=[8, 10, 12, 14, 16, 18, 20, 24, 32]`. Is the peak one width, or a plateau?
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("06", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Belkin, Hsu, Ma & Mandal 2019, Reconciling modern machine learning practice and the bias-variance trade-off, [arXiv:1812.11118](https://arxiv.org/abs/1812.11118)
# - Nakkiran, Kaplun, Bansal, Yang, Barak & Sutskever 2019, Deep double descent, [arXiv:1912.02292](https://arxiv.org/abs/1912.02292)
# - Frankle & Carbin 2019, The lottery ticket hypothesis: finding sparse, trainable neural networks, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635)

# %% [markdown] tags=[]
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, experiment=(
    f"regression: {base.n_train} training points, widths {dd_settings.widths[0]}-{dd_settings.widths[-1]}, "
    f"seeds {seeds}, {base.steps:,} + {base.steps_per_width} x width steps; IMP on width 100 for "
    f"{dd_settings.regression_rounds} rounds of 10%"))

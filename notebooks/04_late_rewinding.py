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
# # 4. Late rewinding and instability
#
# **Question.** The paper rewinds tickets to iteration 0. Frankle et al. later found that deeper networks only yield
# tickets when rewound to an iteration k slightly *into* training ("Stabilizing the LTH", 2019), and explained why with
# *linear mode connectivity* (ICML 2020): IMP works when the network is *stable*, i.e. two copies trained from the rewind
# point with different data orders end up in the same linearly connected basin. Does the rewind point matter for
# LeNet-300-100, and is it stable?
#
# **Method.** (1) Run IMP rewinding to k = 0 and to a few iterations up to 7% of training (Frankle et al.'s range),
# plus `none` (keep the trained weights and fine-tune). A network rewound to k trains the remaining iterations - k
# steps. (2) From two rewind points (dense and tickets at a few densities), and from random pruning's subnetworks at
# the same densities, train two copies with different data orders to the end of training, and measure the test error
# along the straight line between them; the *error barrier* is its largest rise above the mean of the two ends.

# %% [markdown] course="objectives" tags=[]
# **You will** rewind a ticket to an iteration k after initialisation (late rewinding) and compare with k = 0 and fine-tuning; measure instability: the error barrier between two copies trained from the same point with different data orders; and read a barrier per pair of copies, with the training and the test error along the path.
#
# **Before you start:** Notebooks 02 and 03 and the [glossary](glossary.md) (rewind, error barrier).

# %% tags=["parameters"]
profile = "paper"        # the handout's; "quick" (a miniature, minutes), "standard", "smoke" (CI)
seed = 0                 # base seed: initialisations, data orders and random masks all derive from it
trials = None            # None: the profile's late-rewinding trials (paper: 5; standard: 2 of its 5)
rewind_points = None     # None: the profile's k as fractions of training (paper: 0.1%, 1%, 3%, 7%; standard: 1%,
                         # 5%, 10%); or a list of iterations such as [500]
levels = None            # None: the profile's pruning levels after the dense one (paper: 18, to 1.9% remaining;
                         # standard and quick: 7, to 21.1%); fewer read the stored chains, more train on
workers = 0              # parallel single-thread CPU workers (0: one per core)
out = None               # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"    # datasets, fetched and checksum-verified on first use
figures = "../figures"   # where the PNG figures go

# %% [markdown] tags=[]
# The cell above holds the notebook's parameters (papermill replaces them); the next one checks them, builds the experiment's config from the profile, fetches and verifies MNIST, and sets the figure style.

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# k = 0 is notebook 02's IMP run; it trains the other rewind points, fine-tuning and the instability copies if they are not stored. Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from lth_utils import analysis, engine, notebook, plots
from lth_utils.experiments import late_rewinding

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "rewind_points", "levels", "workers", "out",
                                           "data_root", "figures"], notebook="04")
# a ticket chain per rewind point k (k = 0 is notebook 02's run) and fine-tuning; bad rewind points fail here
configs = late_rewinding.runs(cfg, settings, trials, rewind_points, levels)
ks = [c.rewind_iteration for name, c in configs.items() if name.startswith("k = ")]
n_trials, levels = configs["k = 0"].trials, configs["k = 0"].levels
pd.Series({"profile": settings.profile, "trials": n_trials, "levels": levels, "rewind points k": ks,
           "iterations per level (at most)": f"{cfg.iterations:,}", "instability levels":
           [l for l in settings.late_rewinding.instability_levels if l <= levels]}).to_frame("setting")

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, notebook="04"))

# %% [markdown] tags=[]
# ## IMP with different rewind points

# %% tags=[]
from lth_utils import instability

results = engine.run(list(configs.values()))
tables = {name: analysis.by_level(results[c], "test_acc_at_early_stop") for name, c in configs.items()}


def rewind_table(digits: int = 2) -> pd.DataFrame:  # rounded once, to `digits`
    return pd.DataFrame({"% remaining": tables["k = 0"]["percent_remaining"].round(digits)} |
                        {name: (100 * t["mean"]).round(digits) for name, t in tables.items()})


rewind_table()

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(rewind_table(1).to_string(index=False))

# %% tags=[]
parents = late_rewinding.dense_parents(configs)  # does every chain prune from k = 0's dense networks?
Markdown(late_rewinding.dense_parents_sentence(parents))

# %% tags=[]
fig, ax = plt.subplots()
palette = plt.get_cmap("tab10").colors
markers = "osD^vP*"
# rewind points as fractions of the training the dense network actually did, which is what Frankle et al.'s 0.1-7%
# refers to (patience stops it before the cap in `standard`; the paper's protocol trains it to the end)
dense_run = results[configs["k = 0"]].query("level == 0")["iterations_run"].mean()
for color, marker, (name, t) in zip(palette, markers, tables.items()):
    k = configs[name].rewind_iteration
    label = name if k in (None, 0) else f"{name} it ({100 * k / dense_run:.1f}% of dense's {dense_run:,.0f})" + (
        f"; {100 * k / cfg.iterations:.1f}% of the {cfg.iterations:,} cap" if dense_run < cfg.iterations else "")
    ax.plot(t["percent_remaining"], 100 * t["mean"], marker=marker, ms=4, color=color, label=label)
    ax.fill_between(t["percent_remaining"], 100 * t["min"], 100 * t["max"], color=color, alpha=0.08, lw=0)
plots.density_axis(ax, tables["k = 0"]["percent_remaining"])
ax.set(ylabel="test accuracy at early stop (%)", title="Rewinding to iteration k vs fine-tuning")
ax.legend(fontsize=8)
plots.save(fig, "04_late_rewinding_accuracy_vs_weights_remaining", settings.figures);

# %% [markdown] tags=[]
# ## Instability: the error barrier between two copies
#
# For the dense network and tickets at a few densities, rewound to k = 0 and to the largest k above: two copies per
# trial, trained from the same point with different data orders. Frankle et al.'s (2020) contrast is random pruning at
# the same densities (notebook 03's control: each trial's own initial weights under a random mask, rewound to 0),
# probed the same way. The error is measured at 31 points along the straight line between the two copies, on the test
# set and on the first 10,000 training images. Per pair of copies: the *barrier* (highest error minus the mean of the
# two ends; Frankle et al. call a network stable when it is below 2 pp) and the *midpoint excess* (error at alpha = 0.5
# minus the mean of the ends; negative when the average of the two copies is better than the copies).

# %% tags=[]
import dataclasses

probe_levels = [l for l in settings.late_rewinding.instability_levels if l <= levels]
pruned_levels = [l for l in probe_levels if l > 0]  # random pruning's level 0 is the same dense network
# notebook 03's random-pruning run (the same run identity), trained only at the probed levels where not stored
random_pruning = dataclasses.replace(configs["k = 0"], arm="random_prune", only_levels=",".join(map(str, pruned_levels)))
probes = {f"ticket, k = {k}": (configs[f"k = {k}"], probe_levels) for k in (ks[0], ks[-1])}
probes["random pruning, k = 0"] = (random_pruning, pruned_levels)
barriers = pd.concat([instability.run_instability(c, at).assign(probe=name) for name, (c, at) in probes.items()],
                     ignore_index=True)
barrier_table = barriers.groupby(["probe", "level"], sort=False).agg(
    percent_remaining=("percent_remaining", "mean"), pairs=("barrier", "size"),
    test_barrier_pp=("barrier", lambda b: 100 * b.mean()), test_barrier_max_pp=("barrier", lambda b: 100 * b.max()),
    train_barrier_pp=("train_barrier", lambda b: 100 * b.mean()),
    midpoint_excess_pp=("midpoint_excess", lambda m: 100 * m.mean()),
    end_error_pp=("error_end", lambda e: 100 * e.mean()))
barrier_table.round(2)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
# the instability results themselves, compactly: barriers and midpoint excess rounded to 0.1 pp
print(barrier_table[["percent_remaining", "test_barrier_pp", "midpoint_excess_pp"]].round(1).to_string())

# %% tags=[]
fig, axes = plt.subplots(2, len(probes), figsize=(7 * len(probes), 7), sharex=True, sharey="row", squeeze=False,
                         layout="constrained")
for column, (probe, group) in enumerate(barriers.groupby("probe", sort=False)):
    palette = plt.get_cmap("tab10").colors
    for row, (key, name) in enumerate([("errors", "test"), ("train_errors", "train (10,000 images)")]):
        ax = axes[row][column]
        for level, g in group.groupby("level"):
            color = palette[probe_levels.index(level) % len(palette)]  # one colour per level in every panel
            for pair in g.itertuples():  # one thin line per pair of copies
                ax.plot(pair.alphas, 100 * pd.Series(getattr(pair, key)), color=color, lw=0.6, alpha=0.5)
            path = 100 * pd.DataFrame(g[key].tolist()).mean()
            ax.plot(g["alphas"].iloc[0], path, color=color, lw=2,
                    label=f"{g['percent_remaining'].mean():.1f}% remaining, barrier "
                          f"{100 * g['barrier' if key == 'errors' else 'train_barrier'].mean():.2f} pp")
        ax.set(title=f"{probe}: {name} error", ylabel=f"{name.split()[0]} error (%)" if column == 0 else "")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: the paths stay visible
    axes[1][column].set_xlabel("interpolation between the two copies (alpha)")
plots.save(fig, "04_instability_error_along_path", settings.figures);

# %% [markdown] tags=[]
# ## What the runs show

# %% tags=[]
reference = configs["k = 0"]
paired = pd.concat([analysis.paired_difference(results[c], results[reference], "test_acc_at_early_stop").assign(arm=name)
                    for name, c in configs.items() if c is not reference], ignore_index=True).query("level > 0")
sparsest_level = paired["level"].max()
last = paired.query("level == @sparsest_level")
lines = [f"- At the sparsest level run here ({last['percent_remaining'].iloc[0]:.1f}% remaining), each arm minus k = 0, "
         f"paired by trial ({n_trials} trials): " + "; ".join(
             f"{r.arm}: {100 * r.mean_diff:+.2f} pp [{analysis.ci_text(r._asdict(), scale=100)}]"
             for r in last.itertuples()) + "."]
# a zero-width interval (every trial gave exactly the same difference: accuracies move in steps of 0.01 pp) is no
# evidence either way, so it is not counted as a difference: on another CPU such a tie does not recur
resolved = paired[paired["ci_high"] > paired["ci_low"]]
tied = len(paired) - len(resolved)
lines.append(f"- Over all {paired['level'].nunique()} pruned levels, {int((resolved['ci_low'] > 0).sum())} of "
             f"{len(paired)} (arm, level) differences have an interval above 0 and "
             f"{int((resolved['ci_high'] < 0).sum())} below 0; the rest are not distinguishable from rewinding to "
             f"k = 0 with {n_trials} trials."
             + (" With 2 trials the t-interval is very wide (t = 12.7): read these as a first look." if n_trials == 2 else "")
             + (f" Not counted: {tied} difference(s) whose trials all gave exactly the same value (a zero-width "
                f"interval, which a t-interval cannot tell from certainty)." if tied else ""))
lines.append("- Multiplicity: " + analysis.multiplicity_sentence(resolved, "rewind-point intervals counted"))
if not parents["shared"].all():  # the differences above then hold another dense parent too
    lines.append("- Dense parents: " + late_rewinding.dense_parents_sentence(parents).replace("**", ""))
late = [c.rewind_iteration for c in configs.values() if c.rewind_iteration not in (None, 0)]
lines.append(f"- The rewind points k = {', '.join(f'{k:,}' for k in late)} are "
             f"{', '.join(f'{100 * k / dense_run:.1f}%' for k in late)} of the {dense_run:,.0f} iterations the dense "
             f"network actually trained (mean over trials"
             + (f"; {', '.join(f'{100 * k / cfg.iterations:.1f}%' for k in late)} of the {cfg.iterations:,}-iteration "
                f"cap)" if dense_run < cfg.iterations else ")")
             + ". Frankle et al.'s late rewinding is 0.1-7% of full training"
             + (": the later points here are closer to fine-tuning than to late rewinding."
                if max(late, default=0) / dense_run > 0.07 else "."))
lines.append("- Fine-tuning (`none`) keeps training the same weights from level to level: level l has trained "
             "about (l + 1) times as long as a rewound level, so a lead of `none` is confounded with extra "
             "training (Renda et al. 2020 compare rewinding and fine-tuning at equal budgets).")
lines.append(f"- These levels reach {min(t['percent_remaining'].min() for t in tables.values()):.1f}% "
             f"remaining: the regime where rewinding matters most (below ~7%) is "
             f"{'not reached in this profile' if last['percent_remaining'].iloc[0] > 7.5 else 'included'}.")
stability = instability.ticket_stability(barriers)  # Frankle et al. 2020's two claims, one function each
tickets, dense_pairs, pair_max = stability["tickets"], stability["dense"], stability["largest"]
lines.append(f"- Instability of the tickets ({len(tickets)} pairs of copies, 31 points on each path): the largest "
             f"test-error barrier of a pair is {100 * pair_max['barrier']:.2f} pp ({pair_max['probe']}, "
             f"{pair_max['percent_remaining']:.1f}% remaining); the mean training-error barrier is "
             f"{100 * stability['mean_train_barrier']:.2f} pp. Every barrier is "
             f"{'below' if stability['stable'] else 'not below'} 2 pp, so LeNet-300-100's tickets are "
             + ("stable from these rewind points, as Frankle et al. (2020) report for it" if stability["stable"]
                else "not stable at every rewind point tested")
             + (f" (the dense network's own copies, level 0, left out of this count: largest barrier "
                f"{100 * dense_pairs['barrier'].max():.2f} pp)" if len(dense_pairs) else "") + ".")
mid = stability["midpoint_interval"]  # per trial, its pairs averaged
lines.append(f"- In {100 * stability['midpoint_better']:.0f}% of the tickets' pairs the midpoint is *better* than the "
             f"mean of the two ends (midpoint excess {100 * mid['mean']:+.2f} pp, "
             f"[{analysis.ci_text(mid, scale=100)}] over {mid['n']} trials: "
             + analysis.interval_verdict(mid["ci_low"], mid["ci_high"], "worse than the ends' mean",
                                         "better than the ends' mean", "not shown to differ from the ends' mean")
             + "): the paths show no rise at their midpoint, so a positive barrier sits elsewhere on the path (this "
             "cell does not locate it). The average of two copies' weights can beat the mean of the two ends; whether "
             "it beats the better end is not measured here.")
contrast = instability.random_pruning_contrast(barriers, f"ticket, k = {ks[0]}")
versus, above, unstable, pairs = contrast["versus"], contrast["above"], contrast["unstable"], contrast["pairs"]
lines.append("- Random pruning at the same densities (rewound to 0), its test-error barrier minus the ticket's from "
             "the same initial weights, paired by trial: " + "; ".join(
                 f"{r.percent_remaining:.1f}% remaining: {analysis.format_interval(r._asdict())} "
                 f"({unstable[r.level]} of {r.trials} random-pruning pairs at 2 pp or more)"
                 for r in versus.itertuples()) + ".")
lines.append(f"- Frankle et al. (2020) find random pruning's subnetworks unstable where IMP's are stable. Here the "
             f"random-pruning barrier is above the ticket's, the interval clear of 0, at {len(above)} of "
             f"{len(versus)} densities" + (" (" + ", ".join(f"{p:.1f}%" for p in above["percent_remaining"])
                                           + " remaining)" if len(above) else "")
             + f", and {int(unstable.sum())} of {pairs} random-pruning pairs are unstable by the 2-pp rule"
             + ((": the same direction as the paper" if len(above) else ": this run does not show their contrast")
                + (f", but {pairs - int(unstable.sum())} of {pairs} random-pruning pairs stay below 2 pp, so by that "
                   "rule most of random pruning's subnetworks are stable here too: the contrast rests on the paired "
                   "intervals, not on the 2-pp rule." if contrast["rests_on_intervals"] else ".")))
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] course="exercises" tags=[]
# ## Exercises
#
# 1. At which densities does any rewind point differ from k = 0 by more than its interval? Compare with Frankle et al. (2019), who needed k > 0 only for deeper networks than LeNet-300-100.
# 2. Rerun with `profile="quick"` and `rewind_points=[100]` (a miniature that trains in minutes; it writes under `../build/`): which of this handout's conclusions does it reproduce, and which can 2 trials of 2,000 iterations not resolve?
# 3. Why can the average of two trained copies be *better* than both (a negative midpoint excess)? Relate it to weight averaging and to the two copies sharing a basin.
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("04", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Frankle & Carbin 2019, The lottery ticket hypothesis: finding sparse, trainable neural networks, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635)
# - Frankle, Dziugaite, Roy & Carbin 2019, Stabilizing the lottery ticket hypothesis, [arXiv:1903.01611](https://arxiv.org/abs/1903.01611)
# - Frankle, Dziugaite, Roy & Carbin 2020, Linear mode connectivity and the lottery ticket hypothesis, [arXiv:1912.05671](https://arxiv.org/abs/1912.05671)
# - Renda, Frankle & Carbin 2020, Comparing rewinding and fine-tuning in neural network pruning, [arXiv:2003.02389](https://arxiv.org/abs/2003.02389)

# %% [markdown] tags=[]
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, notebook="04")

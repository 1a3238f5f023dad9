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
# # 9. Convolutional tickets: LeNet-5 on MNIST
#
# **Question.** The paper finds winning tickets in fully connected LeNet-300-100 and in convolutional networks on
# CIFAR-10 (Conv-2/4/6), pruning convolutional layers more gently than fully connected ones. Does IMP with rewinding
# find tickets in LeNet-5, a small convolutional network on MNIST, and do they behave like LeNet-300-100's: better than
# dense at moderate sparsity, better than random reinitialisation and random pruning, learning faster? How are the
# convolutional and the fully connected layers pruned, and which first-layer filter weights survive?
#
# **Design.** LeNet-5 (conv 6@5x5, pool, conv 16@5x5, pool, fully connected 120-84-10; 61.5K weights) with the
# paper's rates for convolutional networks: 10% of each convolutional layer per level, 20% of each hidden fully
# connected layer, 10% of the output layer, all layerwise by magnitude. Training as for LeNet-300-100 (Adam 1.2e-3,
# batch 60, evaluation every 100 iterations, the profile's stopping rule), so the two architectures are compared
# under one protocol. Arms, paired by trial (same initialisation and data order):
#
# | arm | mask | start weights |
# |---|---|---|
# | ticket | IMP, rewound to iteration 0 | the initialisation |
# | random reinitialisation | the ticket's | a fresh initialisation |
# | random pruning | random, the ticket's per-layer counts | the initialisation |
# | late rewinding | IMP, rewound to iteration k (`rewind_fraction` of the iteration budget, 1% by default) | the weights at iteration k |
#
# LeNet-300-100's ticket (notebook 02's run) is read from the store for comparison.

# %% [markdown] course="objectives" tags=[]
# **You will** run IMP with rewinding on a convolutional network (LeNet-5) with the paper's rates for conv layers; compare its tickets with random reinitialisation, random pruning, late rewinding and LeNet-300-100; and read how convolutional and fully connected layers are pruned, and which first-layer weights survive.
#
# **Before you start:** Notebooks 02-04 and the [glossary](glossary.md).

# %% tags=["parameters"]
profile = "standard"   # the handout's; "quick" (a miniature, minutes), "paper", "smoke" (CI)
seed = 0               # base seed: initialisations, data orders and random masks derive from it
trials = None          # None: the profile's LeNet-5 trials (standard: 3 of its 5, to fit its budget; paper: 5)
lenet5_levels = None   # None: the profile's last LeNet-5 level (standard 8: 18.2% of weights remaining; paper 15)
conv_rate = None       # None: the paper's 0.1 of each conv layer's weights per level (fully connected 0.2, output 0.1)
rewind_fraction = None # None: the profile's late-rewinding point k, a fraction of the iterations (0.01)
workers = 0            # parallel single-thread CPU workers (0: one per core)
out = None             # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"  # datasets, fetched and checksum-verified on first use
figures = "../figures" # where the PNG figures go

# %% [markdown] tags=[]
# The next cell checks the parameters, fetches MNIST and lists the runs (a level list per arm, trials and the run's
# folder in the store).

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# LeNet-300-100's ticket from notebook 02; it trains the LeNet-5 runs if they are not stored. Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from lth_utils import analysis, engine, masks, notebook, plots
from lth_utils.experiments import conv

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "lenet5_levels", "conv_rate", "rewind_fraction",
                                           "workers", "out", "data_root", "figures"], notebook="09")
configs = conv.runs(cfg, settings, lenet5_levels, conv_rate, rewind_fraction)
ticket = configs["ticket"]
k = configs["late"].rewind_iteration
LABELS = {"ticket": "LeNet-5 ticket", "reinit": "LeNet-5 " + plots.LABELS["reinit"],
          "random_prune": "LeNet-5 " + plots.LABELS["random_prune"], "late": f"LeNet-5 ticket, rewound to k = {k}",
          "mlp": "LeNet-300-100 ticket (notebook 02)"}
COLORS = {**plots.COLORS, "late": "#d62728", "mlp": "#7f7f7f"}
pd.DataFrame([{"run": LABELS[name], "model": c.model, "rates (conv / fc / output)":
               f"{c.conv_rate if c.conv_rate is not None else c.rate:g} / {c.rate:g} / "
               f"{c.output_rate if c.output_rate is not None else c.rate / 2:g}", "rewind": c.rewind,
               "levels": c.only_levels or f"0-{c.num_levels}", "trials": c.trials, "folder": f"{c.prefix}-{c.hash}"}
              for name, c in configs.items()])

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(ticket, settings.profile, notebook="09"))  # LeNet-5: its own trials

# %% [markdown] tags=[]
# ## Train every run
#
# The LeNet-5 runs train here unless the store has them (`python -m lth_utils train` trains them ahead with the other
# notebooks' runs); LeNet-300-100's ticket is notebook 02's run.

# %% tags=[]
results = engine.run(list(configs.values()), workers=workers or None)
summaries = {name: results[c] for name, c in configs.items()}
ticket_levels = sorted(summaries["ticket"]["level"].unique())
Markdown(analysis.censoring_note({LABELS[n]: s for n, s in summaries.items() if n != "mlp"}, cfg))

# %% [markdown] tags=[]
# ## Accuracy and learning speed against sparsity
#
# Test accuracy at the early-stopping iteration (left) and the early-stopping iteration (right), mean and min-max
# over trials; dashed: dense LeNet-5; dash-dotted: dense LeNet-300-100; dotted: the end of training (a run stopped
# there is censored). LeNet-300-100 is drawn to the same % remaining as LeNet-5 reaches.

# %% tags=[]
deepest = 100 * summaries["ticket"]["density"].min()
tables = {}
for name, s in summaries.items():
    part = s[100 * s["density"] >= deepest * 0.95] if name == "mlp" else s
    tables[name] = {m: analysis.by_level(part, m) for m in ("test_acc_at_early_stop", "early_stop_iteration")}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for ax, metric, scale in [(axes[0], "test_acc_at_early_stop", 100), (axes[1], "early_stop_iteration", 1)]:
    for name in ["ticket", "reinit", "random_prune", "late", "mlp"]:
        t = tables[name][metric]
        t = t[t["level"] > 0]
        ax.errorbar(t["percent_remaining"], scale * t["mean"], yerr=[scale * (t["mean"] - t["min"]),
                    scale * (t["max"] - t["mean"])], marker="o", ms=3.5, capsize=2, color=COLORS[name],
                    ls="-" if name in ("ticket", "late", "mlp") or len(t) > 2 else "none", label=LABELS[name])
    for name, ls in [("ticket", "--"), ("mlp", "-.")]:
        ax.axhline(scale * tables[name][metric]["mean"].iloc[0], color=COLORS["dense"] if name == "ticket" else
                   COLORS["mlp"], ls=ls, lw=1, label=f"dense {'LeNet-5' if name == 'ticket' else 'LeNet-300-100'}")
    plots.density_axis(ax, tables["ticket"][metric]["percent_remaining"])
plots.end_of_training(axes[1], cfg.iterations)
axes[0].set(ylabel="test accuracy at early stop (%)", title="Accuracy")
axes[1].set(ylabel="early-stop iteration", title="Learning speed")
handles, labels = axes[0].get_legend_handles_labels()
cap = [(h, l) for h, l in zip(*axes[1].get_legend_handles_labels()) if l.startswith("end of training")]
fig.legend(handles + [h for h, _ in cap], labels + [l for _, l in cap], loc="upper center", bbox_to_anchor=(0.5, 0.0),
           ncol=4, fontsize=8)  # the end of training is drawn on the right only
plots.save(fig, "09_conv_accuracy_and_early_stop", settings.figures);

# %% [markdown] tags=[]
# ## Paired differences
#
# The LeNet-5 ticket minus each other LeNet-5 arm, paired by trial, at the levels both ran: mean and 95% t-interval
# in percentage points (pp). An interval that excludes 0 is a difference these trials resolve.

# %% tags=[]
rows = []
for other in ["reinit", "random_prune", "late"]:
    shared = sorted(set(summaries[other]["level"]) & set(summaries["ticket"]["level"]) - {0})
    d = analysis.versus({"ticket": summaries["ticket"], other: summaries[other]}, other, shared)
    rows.append(d.assign(comparison=f"ticket - {LABELS[other].replace('LeNet-5 ', '')}", other=other))
paired = pd.concat(rows, ignore_index=True)
paired["verdict"] = [analysis.interval_verdict(lo, hi) for lo, hi in zip(paired["ci_low"], paired["ci_high"])]
show = paired.assign(**{c: 100 * paired[c] for c in ("mean_diff", "ci_low", "ci_high")})
show[["comparison", "level", "percent_remaining", "mean_diff", "ci_low", "ci_high", "trials", "verdict"]].round(2)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
# the paired results, compactly: the sign of each resolved difference
print(paired.groupby("comparison")["verdict"].agg(lambda v: ", ".join(sorted(set(v)))).to_string())

# %% [markdown] tags=[]
# ## How the layers are pruned
#
# Per-layer density at each level (trial 0): the convolutional layers lose 10% per level, the hidden fully connected
# layers 20%, the output layer 10%; the fully connected layers hold 95% of the weights, so they set the overall
# density.

# %% tags=[]
history = analysis.layer_density_history(ticket, trial=0)
fig, ax = plt.subplots()
styles = iter([dict(marker=m, ls=l, ms=4) for m, l in zip("os^vD", ["-", "--", "-", "--", ":"])])
for layer, group in history.groupby("layer", sort=False):
    ax.plot(group["level"], 100 * group["density"], label=layer, **next(styles))
ax.set_yscale("log")
ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}%"))
ax.yaxis.set_minor_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}%"))  # one format for every tick
ax.set_xticks(sorted(history["level"].unique()))
ax.set(xlabel="pruning level", ylabel="% of the layer's weights remaining (log scale)",
       title="LeNet-5: per-layer density by level")
ax.legend(fontsize=8)
plots.save(fig, "09_layer_density_by_level", settings.figures)
history.pivot(index="level", columns="layer", values="density").mul(100).round(1)

# %% [markdown] tags=[]
# ## First-layer filters that survive
#
# The six 5x5 filters of the first convolutional layer of trial 0: their initial weights (which the ticket rewinds
# to) at the deepest level, with the pruned weights blanked (grey), and the filters after training at that level.

# %% tags=[]
level = ticket_levels[-1]
mask = analysis.load_mask(ticket, 0, level)["conv1.weight"][:, 0]
start = analysis.load_weights(ticket, 0, level, "start")["conv1.weight"][:, 0]
final = analysis.load_weights(ticket, 0, level, "final")["conv1.weight"][:, 0]
top = float(max(start.abs().max(), final.abs().max()))
fig, axes = plt.subplots(2, 6, figsize=(11, 4.2))
cmap = plt.get_cmap("RdBu_r").copy()
cmap.set_bad("#bbbbbb")
for row, (weights, name) in enumerate([(start, "initial (rewound)"), (final, "trained")]):
    for f in range(6):
        shown = np.ma.masked_where(~mask[f].numpy(), weights[f].numpy())
        image = axes[row][f].imshow(shown, cmap=cmap, vmin=-top, vmax=top)
        axes[row][f].set_xticks([]), axes[row][f].set_yticks([])
        axes[row][f].set_title(f"filter {f + 1}: {int(mask[f].sum())}/25" if row == 0 else "", fontsize=8)
    axes[row][0].set_ylabel(name)
fig.colorbar(image, ax=axes, fraction=0.02, pad=0.02, label="weight")
fig.suptitle(f"conv1 at {100 * masks.density(analysis.load_mask(ticket, 0, level)):.1f}% of all weights remaining "
             f"(conv1 keeps {100 * mask.float().mean():.0f}%)")
plots.save(fig, "09_first_layer_filters", settings.figures);

# %% [markdown] tags=[]
# ## What the data say

# %% tags=[]
acc = tables["ticket"]["test_acc_at_early_stop"]
stop = tables["ticket"]["early_stop_iteration"]
dense_acc, dense_stop = acc["mean"].iloc[0], stop["mean"].iloc[0]
mlp_acc = tables["mlp"]["test_acc_at_early_stop"]
pruned = acc[acc["level"] > 0]
best = pruned.loc[pruned["mean"].idxmax()]
last = acc.iloc[-1]
ratio = analysis.early_stop_ratio(summaries["ticket"])
vs_dense = analysis.versus_dense(summaries["ticket"])  # each pruned level against its trial's dense network
against = {int(r["level"]): r for _, r in vs_dense.iterrows()}
lines = [
    f"- Dense LeNet-5 reaches **{100 * dense_acc:.2f}%** (LeNet-300-100: {100 * mlp_acc['mean'].iloc[0]:.2f}%) and "
    f"stops early at iteration {dense_stop:,.0f}.",
    f"- The LeNet-5 ticket with the highest mean keeps {best['percent_remaining']:.1f}% of the weights with "
    f"{100 * best['mean']:.2f}% ({analysis.format_interval(against[int(best['level'])])} against dense, paired by trial; "
    f"chosen as the best after looking, so this margin is optimistic); at the deepest level, "
    f"{last['percent_remaining']:.1f}% remaining, {100 * last['mean']:.2f}% "
    f"({analysis.format_interval(against[int(last['level'])])}).",
    "- Each pruned level's accuracy minus its trial's dense network's, paired by trial: "
    + analysis.multiplicity_sentence(vs_dense, "per-level intervals against dense") + analysis.where_resolved(vs_dense),
    f"- Averaged over its pruned levels, a ticket's early-stopping iteration is {ratio['mean']:.2f}x its trial's dense "
    f"one (95% CI [{ratio['ci_low']:.2f}, {ratio['ci_high']:.2f}], {ratio['n']} trials): tickets learn "
    + analysis.interval_verdict(ratio["ci_low"], ratio["ci_high"], "slower than dense", "faster than dense",
                                "at a speed not shown to differ from dense", reference=1.0) + " on average.",
]
for comparison, part in paired.groupby("comparison", sort=False):  # every level is in the table above
    deep = part.loc[part["level"].idxmax()]
    lines.append(f"- {comparison.capitalize()}, paired by trial at {len(part)} level(s)."
                 + (analysis.where_resolved(part, "0") or " No interval excludes 0.")
                 + f" At the deepest, {deep['percent_remaining']:.1f}% remaining: {analysis.format_interval(deep)} "
                 f"({deep['verdict']}).")
budget = configs["late"].iterations
lines.append(f"- The late-rewinding point k = {k:,} is {100 * k / budget:.0f}% of the {budget:,}-iteration "
             f"budget and {100 * k / dense_stop:.0f}% of the dense network's iterations to its early stop (the share "
             f"of the realised training).")
lines.append("- Multiplicity: " + analysis.multiplicity_sentence(paired, "paired intervals against the two controls "
                                                                 "and the late-rewound ticket"))
conv = history.query("level == @ticket_levels[-1]").set_index("layer")["density"]
kept = {kind: analysis.span(100 * part, ".0f") + "%"
        for kind, part in [("conv", conv.filter(like="conv")), ("fc", conv.filter(like="fc"))]}
lines.append(f"- At the deepest level the convolutional layers keep {kept['conv']} of their weights and the fully "
             f"connected ones {kept['fc']}, by the rates chosen: "
             f"the overall density follows the fully connected layers.")
if settings.profile != "paper":
    lines.append(f"- With {ticket.trials} trials and {len(ticket_levels) - 1} levels (to {last['percent_remaining']:.1f}% "
                 f"remaining) this profile is a first look: the `paper` profile runs 5 trials, more levels and the "
                 f"controls at every level.")
controls = paired[paired["other"].isin(["reinit", "random_prune"])]
ahead, behind = int((controls["ci_low"] > 0).sum()), int((controls["ci_high"] < 0).sum())
lines.insert(0, f"**Does IMP find winning tickets in LeNet-5?** Against random reinitialisation and random pruning the "
             f"ticket is ahead with a 95% interval above 0 in {ahead} of {len(controls)} (control, level) comparisons and "
             f"behind in {behind}, over {ticket.trials} trials to {last['percent_remaining']:.1f}% remaining. "
             + ("Not answered at this budget: no comparison is resolved. " if ahead + behind == 0 else
                "A first answer at this budget, level by level below. ")
             + ("" if settings.profile == "paper" else
                "The `paper` profile (5 trials of 50,000 iterations, the controls at every level) is the test; the "
                "README's protocol table says how many of its levels are committed.") + "\n")
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] tags=[]
# ## Exercises
#
# 1. Prune the convolutional layers at the fully connected rate (`conv_rate=0.2` in the first cell, with
#    `profile="quick"` to train it in minutes): which arm loses most, and at which density?
# 2. Compare the early-stopping ratio of LeNet-5's tickets with LeNet-300-100's (notebook 02): which architecture's
#    tickets learn faster relative to their dense network?
# 3. Look at the surviving first-layer weights: do they keep the large initial values, or those that grew in training?
#    Notebook 05 asks the same of LeNet-300-100.
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("09", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Frankle & Carbin 2019, The lottery ticket hypothesis, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635).
# - LeCun, Bottou, Bengio & Haffner 1998, Gradient-based learning applied to document recognition (LeNet-5).
# - Frankle, Dziugaite, Roy & Carbin 2019, Stabilizing the lottery ticket hypothesis,
#   [arXiv:1903.01611](https://arxiv.org/abs/1903.01611).
#
# ## Provenance

# %% tags=[]
notebook.provenance(ticket, settings.profile, notebook="09", experiment=(
    f"LeNet-5: {ticket.trials} trial(s), {ticket.num_levels} levels, at most {ticket.iterations:,} iterations per "
    f"level, evaluation every {ticket.eval_every}; LeNet-300-100's ticket read with its {cfg.trials} trials; ticket "
    f"config hash `{ticket.hash}`"))

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
# # 7. Pruning at initialisation: SNIP, GraSP, SynFlow and magnitude next to the IMP ticket
#
# **Question.** IMP finds its mask only after training the dense network once per pruning level. If a good mask already
# exists at initialisation, can a method find it *before* any training, from one look at the initial weights (and
# perhaps a minibatch)? Four methods from the literature try: magnitude at initialisation, SNIP (Lee et al. 2019,
# [arXiv:1810.02340](https://arxiv.org/abs/1810.02340)), GraSP (Wang et al. 2020,
# [arXiv:2002.07376](https://arxiv.org/abs/2002.07376)) and SynFlow (Tanaka et al. 2020,
# [arXiv:2006.05467](https://arxiv.org/abs/2006.05467)). Frankle et al. 2021 ("Pruning neural networks at
# initialization: why are we missing the mark?", [arXiv:2009.08576](https://arxiv.org/abs/2009.08576)) asked a sharper
# question: do these methods find *which* weights matter, or only *how many* weights each layer should keep?
#
# **Method.** Each method is an arm of the IMP driver: at each of the paper's densities it prunes the ticket's initial
# weights once, to exactly the number of weights the IMP ticket keeps there, ranking all layers together as its
# reference does, and the network trains with the ticket's data order and protocol. Method, ticket and random pruning
# therefore differ only in the mask, and every difference is paired by trial. The sanity checks retrain each method's
# mask after (1) shuffling it within each layer, (2) reinitialising the weights it keeps, and (3) inverting its scores
# (keeping the lowest-scoring weights). If shuffling or reinitialising costs nothing, the method found only per-layer
# proportions. Finally, a diagnostic that needs no training: at initialisation, how large is the gradient of the pruned
# network, and how well does it point where the dense network's gradient points?

# %% [markdown] course="objectives" tags=[]
# **You will** prune at initialisation with SNIP, GraSP, SynFlow and magnitude, and train each mask like a ticket; run the sanity checks of Frankle et al. (2021): shuffle, reinitialise, invert; and read the gradient flow a mask leaves at initialisation.
#
# **Before you start:** Notebooks 02 and 03 and the [glossary](glossary.md).

# %% tags=["parameters"]
profile = "paper"        # the handout's; "quick" (a miniature, minutes), "standard", "smoke" (CI)
seed = 0                 # base seed: initialisations, data orders, scoring batches and shuffles all derive from it
trials = None            # None: the profile's number of trials (methods use min(trials, the profile's init_trials))
methods = None           # None: all of "magnitude_init", "snip", "grasp", "synflow"
densities = None         # None: the profile's (paper: 0.513, 0.211, 0.07, 0.036, 0.019 of weights remaining)
workers = 0              # parallel single-thread CPU workers (0: one per core)
out = None               # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"    # datasets, fetched and checksum-verified on first use
figures = "../figures"   # where the PNG figures go

# %% [markdown] tags=[]
# The cell above holds the notebook's parameters (papermill replaces them); the next one checks them (an unknown method or a density outside (0, 1) stops here, before any training), builds the configs and sets the figure style.

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# Notebook 02's ticket and notebook 03's random pruning; it trains the methods' masks if they are not stored. Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from lth_utils import analysis, engine, notebook, plots
from lth_utils.experiments import init_pruning
from lth_utils.data import load_splits

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "methods", "densities", "workers", "out",
                                           "data_root", "figures"], notebook="07")
configs = init_pruning.runs(cfg, settings, methods, densities)
method_names = [arm for arm, ablation in configs if ablation == "none" and arm not in ("ticket", "random_prune")]
levels = sorted({int(l) for l in configs[(method_names[0], "none")].only_levels.split(",")})
pd.DataFrame([{"arm": arm, "ablation": ablation, "levels": c.only_levels or "all", "trials": c.trials}
              for (arm, ablation), c in configs.items()])

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, notebook="07"))

# %% [markdown] tags=[]
# ## Train every arm
#
# The ticket and random pruning are the runs of notebooks 02 and 03 (read from the store when those ran first); each method's levels are independent, so they train in parallel.

# %% tags=[]
results = engine.run(list(configs.values()), workers=workers or None)
summaries = {arm: results[c] for (arm, ablation), c in configs.items() if ablation == "none"}
dense = summaries["ticket"].query("level == 0")
table = init_pruning.overview(summaries, levels)
Markdown(analysis.censoring_note({arm if ablation == "none" else f"{arm} {ablation}":
                                  analysis.at_levels(results[c], levels) for (arm, ablation), c in configs.items()}, cfg))

# %% tags=[]
pd.pivot_table(table, index=["level", "% remaining"], columns="arm", values="test acc (%)").round(2)

# %% [markdown] tags=[]
# ## Accuracy and learning speed at each density

# %% tags=[]
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for arm, summary in summaries.items():
    part = analysis.at_levels(summary, levels)
    color = plots.COLORS.get(arm) or init_pruning.COLORS[arm]
    for ax, metric, scale in [(axes[0], "test_acc_at_early_stop", 100), (axes[1], "early_stop_iteration", 1)]:
        t = analysis.by_level(part, metric)
        ax.errorbar(t["percent_remaining"], scale * t["mean"],
                    yerr=[scale * (t["mean"] - t["min"]), scale * (t["max"] - t["mean"])], marker="o", ms=4,
                    capsize=3, color=color, label=init_pruning.LABELS[arm])
for ax, metric, scale in [(axes[0], "test_acc_at_early_stop", 100), (axes[1], "early_stop_iteration", 1)]:
    plots.density_axis(ax, 100 * analysis.at_levels(summaries["ticket"], levels)["density"])
    ax.axhline(scale * dense[metric].mean(), color=plots.COLORS["dense"], ls="--", lw=1, label="dense")
plots.end_of_training(axes[1], cfg.iterations)
axes[0].set(ylabel="test accuracy at early stop (%)", title="Accuracy (mean, min-max over trials)")
axes[1].set(ylabel="early-stop iteration", title="Learning speed")
axes[0].legend(fontsize=8)
plots.save(fig, "07_methods_vs_ticket", settings.figures);

# %% [markdown] tags=[]
# ## Paired differences: each arm minus the IMP ticket
#
# Paired by trial at each density: the mean difference in test accuracy at early stop and its 95% t-interval (an interval below 0 means the ticket is better across these trials).

# %% tags=[]
vs_ticket = analysis.versus(summaries, "ticket", levels)
fig, ax = plt.subplots()
offsets = np.linspace(-0.06, 0.06, len(vs_ticket["arm"].unique()))
for offset, (arm, d) in zip(offsets, vs_ticket.groupby("arm", sort=False)):
    x = d["percent_remaining"] * (1 + offset)
    ax.errorbar(x, 100 * d["mean_diff"], yerr=100 * (d["ci_high"] - d["mean_diff"]).fillna(0), marker="o", ms=4,
                capsize=3, color=plots.COLORS.get(arm) or init_pruning.COLORS[arm], label=init_pruning.LABELS[arm])
plots.density_axis(ax, vs_ticket["percent_remaining"])
ax.axhline(0, color="black", lw=0.8)
n_paired = "-".join(map(str, sorted({vs_ticket["trials"].min(), vs_ticket["trials"].max()})))
ax.set(ylabel=f"arm - IMP ticket (pp); mean, 95% CI, n={n_paired}",
       title="How far pruning at initialisation falls short of the ticket")
ax.legend(fontsize=8)
plots.save(fig, "07_paired_vs_ticket", settings.figures)
vs_ticket_table = vs_ticket.assign(**{c: 100 * vs_ticket[c] for c in ("mean_diff", "ci_low", "ci_high")})
vs_ticket_table.pivot_table(index=["level"], columns="arm", values="mean_diff").round(2)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(vs_ticket_table.assign(arm=vs_ticket_table["arm"].map(init_pruning.LABELS))
      .pivot_table(index="level", columns="arm", values="mean_diff").round(0).to_string())

# %% [markdown] tags=[]
# ## How each method spreads its weights over the layers
#
# All four methods rank the layers in one pool, so unlike IMP (20% per layer, 10% for the output layer) each chooses its own per-layer densities. Trial 0, at the sparsest density:

# %% tags=[]
sparsest = max(levels)
per_layer = init_pruning.layer_densities(configs, sparsest)
fig, ax = plt.subplots(figsize=(7, 3.6))
per_layer.T.plot.bar(ax=ax, logy=True, rot=20)
ax.set_xticklabels([t.get_text() for t in ax.get_xticklabels()], rotation=20, ha="right")
ax.set(ylabel="% of the layer's weights kept (log)", xlabel="",
       title=f"Per-layer density at {table.query('level == @sparsest')['% remaining'].iloc[0]:.1f}% remaining")
ax.legend(title="layer", fontsize=8)
plots.save(fig, "07_per_layer_density", settings.figures)
per_layer.round(2)

# %% [markdown] tags=[]
# ## Sanity checks: which weights, or how many per layer?
#
# Each method minus its ablated self, paired by trial: a positive difference whose interval excludes 0 means the ablation destroyed something the method had found. In the figure, black is the mean with its 95% interval and the grey dots beside it are the trials, so a collapse in some trials (or in all of them) shows even where the interval is wide.

# %% tags=[]
ablated = {key: results[c] for key, c in configs.items() if key[0] in method_names}
sanity = init_pruning.sanity_checks(ablated)
per_trial = init_pruning.sanity_differences(ablated)
# one row per level; shuffling and reinitialising (differences of a few pp) on their own axes, apart from inverting
# (tens of pp), which would otherwise set a scale on which the others cannot be read
sanity_levels = sorted(sanity["level"].unique())
fig, axes = plt.subplots(len(sanity_levels), 2, figsize=(11, 3.6 * len(sanity_levels)), squeeze=False,
                         gridspec_kw={"width_ratios": [2, 1]}, constrained_layout=True)
for row, level in zip(axes, sanity_levels):
    for ax, ablations in zip(row, [("shuffle", "reinit"), ("invert",)]):
        part = sanity[(sanity["level"] == level) & sanity["ablation"].isin(ablations)]
        labels = [f"{init_pruning.LABELS[m]}\n{a}" for m, a in zip(part["method"], part["ablation"])]
        ax.errorbar(range(len(part)), part["method - ablation (pp)"],
                    yerr=(part["ci_high"] - part["method - ablation (pp)"]).fillna(0), fmt="o", capsize=3,
                    color="black", label="mean, 95% interval")
        for i, (method, ablation) in enumerate(zip(part["method"], part["ablation"])):
            d = per_trial.query("level == @level and method == @method and ablation == @ablation")["diff"]
            ax.scatter(i + 0.2 + np.linspace(-0.05, 0.05, len(d)), d, s=10, color="grey", alpha=0.7, zorder=1,
                       label="trials" if i == 0 else None)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(range(len(part)), labels, rotation=90, fontsize=7)
        ax.set(ylabel="method - ablation (pp)" if ablations[0] == "shuffle" else "",
               title=f"{', '.join(ablations)}: {part['% remaining'].iloc[0]:.1f}% remaining" if len(part) else "")
axes[0][0].legend(fontsize=7, loc="upper left")
plots.save(fig, "07_sanity_checks", settings.figures)
sanity.round(2)

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(sanity[["method", "ablation", "level", "trials"]].to_string(index=False))

# %% [markdown] tags=[]
# ## Gradient flow at initialisation
#
# For each arm's mask on the ticket's initial weights: the norm of the pruned network's gradient on 100 training examples, and its cosine with the dense network's gradient. No training is involved. The hypothesis behind SNIP, GraSP and SynFlow is that a mask which keeps the gradient
# large and aligned with the dense one trains well; 'What the data say' tests it against the arms' accuracy.

# %% tags=[]
splits = load_splits(cfg.dataset, cfg.data_root, "cpu", cfg.train_subset)
flow = init_pruning.gradient_flow_table(configs, levels, cfg.trials, splits)
flow_means = flow.groupby(["arm", "level"], as_index=False)[["grad_norm", "cosine"]].mean()
flow_means["% remaining"] = flow_means["level"].map(table.groupby("level")["% remaining"].first())
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for arm, part in flow_means.groupby("arm", sort=False):
    color = plots.COLORS.get(arm) or init_pruning.COLORS[arm]
    axes[0].plot(part["% remaining"], part["grad_norm"], marker="o", color=color, label=init_pruning.LABELS[arm])
    axes[1].plot(part["% remaining"], part["cosine"], marker="o", color=color, label=init_pruning.LABELS[arm])
for ax in axes:
    plots.density_axis(ax, flow_means["% remaining"])
axes[0].axhline(flow["dense_grad_norm"].mean(), color=plots.COLORS["dense"], ls="--", lw=1, label="dense")
axes[0].set(yscale="log", ylabel="gradient norm at init", title="Gradient flow through the mask")
axes[1].set(ylabel="cosine with the dense gradient", title="Alignment with the dense gradient")
axes[0].legend(fontsize=8)
plots.save(fig, "07_gradient_flow", settings.figures)
flow_means.pivot_table(index="level", columns="arm", values="cosine").round(3)

# %% [markdown] tags=[]
# ## What the data say

# %% tags=[]
lines, vs_random = [], []
for arm in method_names:
    d = vs_ticket[vs_ticket["arm"] == arm]
    below = d[d["ci_high"] < 0]
    lines.append(f"- **{init_pruning.LABELS[arm]}** is {100 * d['mean_diff'].min():+.2f} to "
                 f"{100 * d['mean_diff'].max():+.2f} pp from the IMP ticket over "
                 f"{d['percent_remaining'].min():.1f}-{d['percent_remaining'].max():.1f}% remaining; the ticket is "
                 f"better with a 95% interval excluding 0 at {len(below)} of {len(d)} densities "
                 f"({analysis.span(d['trials'])} paired trials).")
    r = analysis.versus({arm: summaries[arm], "random_prune": summaries["random_prune"]}, "random_prune", levels)
    vs_random.append(r)
    beats = r[r["ci_low"] > 0]
    lines.append(f"  Against random pruning with the ticket's per-layer counts it is {100 * r['mean_diff'].min():+.2f}"
                 f" to {100 * r['mean_diff'].max():+.2f} pp, better with an interval excluding 0 at {len(beats)} of "
                 f"{len(r)} densities.")
    s = sanity[sanity["method"] == arm]
    verdicts = "; ".join(f"{a} at {p:.1f}%: {v} ({x:+.2f} pp, method better in {k} trials)" for a, p, v, x, k in
                         zip(s["ablation"], s["% remaining"], s["verdict"], s["method - ablation (pp)"],
                             s["method better in"]))
    lines.append(f"  Sanity checks: {verdicts}.")
claim = init_pruning.which_weights_claim(sanity)  # Frankle et al. 2021's "how many, not which"
kept, hurt, equivalent, unresolved = claim["cases"], claim["hurt"], claim["equivalent"], claim["unresolved"]
half = claim["half_widths"]
lines.append("")
lines.append(
    f"Shuffling a method's mask within each layer or reinitialising its weights hurt it in {len(hurt)} of {len(kept)} "
    f"(method, ablation, density) cases (95% interval excluding 0), was shown to change nothing within "
    f"±{init_pruning.EQUIVALENCE_PP:g} pp in {len(equivalent)} (an equivalence test: the 90% interval inside the "
    f"margin, as the table's verdict column gives it), and could not be told apart in {len(unresolved)}"
    + (f" (95% interval half-widths {half.min():.2f}-{half.max():.2f} pp with {analysis.span(kept['trials'])} "
       f"trials)" if len(unresolved) else "") + ". "
    + ("Frankle et al. 2021 found that these methods choose *how many* weights each layer keeps, not *which*: "
       + ("the equivalent cases agree with that; " if len(equivalent) else "")
       + ("the unresolved ones cannot confirm or refute it at this power (more trials or densities would)."
          if len(unresolved) else "")
       + (" Where an ablation hurt, the choice of *which* weights mattered here." if len(hurt) else "")))
tally = init_pruning.inversion_tally(sanity)  # per method: densities, hurts (interval), worse in every trial


def inverted_tally(m) -> str:
    t = tally.loc[m]
    extra = f" (and worse in every trial, the interval holding 0, at {t['every_trial']} more)" if t["every_trial"] else ""
    return f"{init_pruning.LABELS[m]} at {t['hurts']} of {t['densities']}{extra}"


lines.append("")
lines.append(
    "Inverting the scores (keeping the weights a method would prune) hurt "
    + ", ".join(inverted_tally(m) for m in tally.index)
    + " densities. Where inverting a method's scores is not shown to hurt (neither by the interval nor in every "
    "trial), its scores are not shown to point to better weights here"
    + ("; Frankle et al. 2021 report that of GraSP, whose inverted masks train as well as its own"
       + (": ours are not shown worse either." if tally.loc["grasp", "hurts"] == 0
          else f": ours are worse at {tally.loc['grasp', 'hurts']} density(ies).")
       if "grasp" in tally.index else "."))
from scipy import stats

accuracy = table.assign(arm=table["arm"].map({v: k for k, v in init_pruning.LABELS.items()}))
joined = flow_means.merge(accuracy[["arm", "level", "test acc (%)", "early stop"]], on=["arm", "level"])


def spearman_by_density(column):  # the cosine's rank correlation with `column` across the arms, per density: (rho, p)
    return {row["% remaining"]: tuple(stats.spearmanr(part["cosine"], part[column]))
            for _, part in joined.groupby("level") for row in [part.iloc[0]] if len(part) >= 3}


rho_p, rho_stop_p = spearman_by_density("test acc (%)"), spearman_by_density("early stop")
rho, rho_stop = ({d: r for d, (r, _) in x.items()} for x in (rho_p, rho_stop_p))
significant = sum(p < 0.05 for _, p in [*rho_p.values(), *rho_stop_p.values()])
best = joined.loc[joined.groupby("level")["test acc (%)"].idxmax()]
lines.append("")
lines.append(
    "Gradient flow, tested as a hypothesis: across the arms, the rank correlation (Spearman) of the masked gradient's "
    "cosine with the dense gradient against test accuracy at early stop is "
    + ", ".join(f"{r:+.2f} at {p:.1f}%" for p, r in rho.items())
    + f" ({joined['arm'].nunique()} arms per density, so each value is noisy), and against the early-stopping "
    "iteration (a mask that trains faster stops earlier: a negative value would support the premise) "
    + ", ".join(f"{r:+.2f} at {p:.1f}%" for p, r in rho_stop.items()) + ". The most accurate arm at each density "
    + "has cosine " + ", ".join(f"{r['cosine']:.3f} ({init_pruning.LABELS[r['arm']]}, {r['% remaining']:.1f}%)"
                               for _, r in best.iterrows())
    + ", against the largest cosine there of "
    + ", ".join(f"{v:.3f}" for v in joined.groupby("level")["cosine"].max()) + ". "
    + f"{significant} of these {len(rho) + len(rho_stop)} correlations has p < 0.05 (Spearman's test, "
    + f"{joined['arm'].nunique()} arms); the early-stop ones lie on the premise's side (negative) at "
    + f"{sum(r < 0 for r in rho_stop.values())} of {len(rho_stop)} densities. "
    + ("So these data neither support nor refute the premise. " if significant == 0 else
       f"Alignment goes with accuracy or speed where p < 0.05 (of {len(rho) + len(rho_stop)} tests, about "
       f"{0.05 * (len(rho) + len(rho_stop)):.1f} would by chance). "))
lines.append("")
lines.append("Multiplicity: " + analysis.multiplicity_sentence(pd.concat(
    [vs_ticket, *vs_random, sanity.rename(columns={"method - ablation (pp)": "mean_diff"})], ignore_index=True),
    "paired intervals this cell reads"))
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] course="exercises" tags=[]
# ## Exercises
#
# 1. Set `methods=["snip"]` and `densities=[0.036]`: how far is SNIP from the ticket at 3.6% remaining?
# 2. If shuffling a method's mask within each layer does not hurt, what did the method really choose?
# 3. SynFlow needs no data. Which of its properties do the per-layer densities show?
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("07", settings.profile, cfg.out)

# %% [markdown] tags=[]
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, notebook="07", experiment=(
    f"{len(method_names)} method(s) at levels {', '.join(map(str, levels))}; {cfg.iterations:,} iterations at most "
    f"per training, patience {cfg.patience}; ticket config hash `{cfg.hash}`"))

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
# # 10. Do winning tickets transfer between datasets?
#
# Is a ticket a property of the *architecture and its initialisation*, or of the *data it was found on*? The ticket
# IMP finds on one dataset is retrained on another and compared, paired by seed, with the ticket found on that other
# dataset itself and with its two controls.
#
# **Question.** Morcos et al. 2019 ("One ticket to win them all", [arXiv:1906.02773](https://arxiv.org/abs/1906.02773))
# found that tickets from larger, more complex datasets transfer to other image datasets and often match the
# target's own tickets; Mehta 2019 ([arXiv:1905.07785](https://arxiv.org/abs/1905.07785)) found sparse transfer
# from one image task to another. Here the smallest version of the question: LeNet-300-100, MNIST (digits) and
# Fashion-MNIST (clothing; same 28x28 grey images, a harder task), in both directions.
#
# **Design.** Both datasets share the architecture and, trial for trial, the initialisation (the seed, not the data,
# draws the weights), so a ticket found on MNIST can be trained on Fashion-MNIST from exactly the weights Fashion-MNIST's
# own ticket starts from: only the mask differs. At each compared density, on each target dataset:
#
# | arm | mask | start weights |
# |---|---|---|
# | own ticket | IMP on the target | the initialisation (rewound) |
# | transferred ticket | IMP on the *other* dataset, same level | the same initialisation |
# | random pruning | random, the ticket's per-layer counts | the same initialisation |
# | random reinitialisation | the target's own ticket mask | a fresh initialisation |
#
# A transferred ticket that beats random pruning carries information about *this* architecture and initialisation
# beyond its per-layer sparsity; one that matches the own ticket carries all of it.

# %% [markdown] course="objectives" tags=[]
# **You will** retrain a ticket found on one dataset on another (MNIST and Fashion-MNIST, both directions); and compare it, paired by seed, with the target's own ticket, random pruning and reinitialisation.
#
# **Before you start:** Notebooks 02 and 03 and the [glossary](glossary.md).

# %% tags=["parameters"]
profile = "paper"      # the handout's; "quick" (a miniature, minutes), "standard", "smoke" (CI)
seed = 0               # base seed: initialisations, data orders and random masks derive from it
trials = None          # None: the profile's transfer trials (paper 5, standard 3); paired by seed across arms
densities = None       # None: the profile's (paper: 0.513, 0.211, 0.07, 0.036, 0.019 of weights remaining)
workers = 0            # parallel single-thread CPU workers (0: one per core)
out = None             # None: the profile's run store (../runs; paper: ../results/paper/runs)
data_root = "../data"  # datasets, fetched and checksum-verified on first use (Fashion-MNIST: see the README)
figures = "../figures" # where the PNG figures go

# %% [markdown] tags=[]
# The next cell checks the parameters (a density outside (0, 1) or one no level reaches stops there, before any
# training), fetches Fashion-MNIST, and lists the runs.

# %% [markdown] course="running" tags=[]
# ### Running this notebook
#
# The MNIST runs of notebooks 02 and 03; it trains the Fashion-MNIST runs and the transfers if they are not stored. Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from lth_utils import analysis, data, engine, masks, notebook, plots
from lth_utils.experiments import transfer

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "densities", "workers", "out", "data_root",
                                           "figures"], notebook="10")
data.fetch("fashion_mnist", cfg.data_root)
configs = transfer.runs(cfg, settings, densities)
levels = sorted({int(l) for l in configs[("mnist", "transfer")].only_levels.split(",")})
NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
LABELS = {"ticket": "own ticket", "transfer": "transferred ticket", "random_prune": plots.LABELS["random_prune"],
          "reinit": plots.LABELS["reinit"]}
COLORS = {**plots.COLORS, "transfer": "#d62728"}
pd.DataFrame([{"target": NAMES[t], "arm": LABELS[a], "from": NAMES.get(c.transfer_from or c.dataset),
               "levels": c.only_levels or f"0-{c.num_levels}", "trials": c.trials, "run": f"{c.prefix}-{c.hash}"}
              for (t, a), c in configs.items()])

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, notebook="10"))

# %% [markdown] tags=[]
# ## Train every run
#
# On MNIST the own ticket, random pruning and reinitialisation are notebooks 02-03's runs (read from the store when
# those ran first); the transferred tickets need the source dataset's ticket, which the engine trains first.

# %% tags=[]
results = engine.run(list(configs.values()), workers=workers or None)
summaries = {key: results[c] for key, c in configs.items()}
Markdown(analysis.censoring_note({f"{NAMES[t]} {a}": analysis.at_levels(s, [0] + levels)
                                  for (t, a), s in summaries.items()}, cfg))

# %% [markdown] tags=[]
# ## Accuracy on each target dataset
#
# Test accuracy at early stop (mean, min-max over trials) against the % of weights remaining: the target's own
# ticket at every level, random pruning, the transferred ticket and the reinitialisation at the compared levels; the
# dashed line is the dense network on that dataset.

# %% tags=[]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for ax, target in zip(axes, ["fashion_mnist", "mnist"]):
    deepest = max(levels)
    for offset, arm in zip([1.0, 1.0, 0.97, 1.03], ["ticket", "random_prune", "reinit", "transfer"]):
        part = analysis.at_levels(summaries[(target, arm)], range(1, deepest + 1) if arm == "ticket" else levels)
        t = analysis.by_level(part, "test_acc_at_early_stop")
        ax.errorbar(t["percent_remaining"] * offset, 100 * t["mean"],
                    yerr=[100 * (t["mean"] - t["min"]), 100 * (t["max"] - t["mean"])], marker="o", ms=3.5, capsize=2,
                    ls="-" if arm in ("ticket", "random_prune") else "none", color=COLORS[arm], label=LABELS[arm])
    dense = summaries[(target, "ticket")].query("level == 0")["test_acc_at_early_stop"]
    ax.axhline(100 * dense.mean(), color=plots.COLORS["dense"], ls="--", lw=1, label="dense")
    plots.density_axis(ax, 100 * analysis.at_levels(summaries[(target, "ticket")], range(1, deepest + 1))["density"])
    source = [s for s, t in transfer.PAIRS if t == target][0]
    ax.set(ylabel="test accuracy at early stop (%)", title=f"On {NAMES[target]} (transferred from {NAMES[source]})")
axes[0].legend(fontsize=8)
plots.save(fig, "10_transfer_accuracy", settings.figures);

# %% [markdown] tags=[]
# ## Paired differences
#
# The transferred ticket minus each of the other arms, paired by trial (same seed: same initialisation and data
# order), mean and 95% t-interval in percentage points (pp), per target and level. An interval that excludes 0 is a
# difference these trials resolve.

# %% tags=[]
rows = []
for target in ["fashion_mnist", "mnist"]:
    for other in ["ticket", "random_prune", "reinit"]:
        d = analysis.versus({"transfer": summaries[(target, "transfer")], other: summaries[(target, other)]}, other,
                            levels)
        rows.append(d.assign(target=NAMES[target], comparison=f"transferred - {LABELS[other]}"))
paired = pd.concat(rows, ignore_index=True)
paired["verdict"] = [analysis.interval_verdict(lo, hi) for lo, hi in zip(paired["ci_low"], paired["ci_high"])]
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, (target, part) in zip(axes, paired.groupby("target", sort=False)):
    for offset, (comparison, d) in zip([-0.04, 0.0, 0.04], part.groupby("comparison", sort=False)):
        other = {v: k for k, v in LABELS.items()}[comparison.split(" - ")[1]]
        ax.errorbar(d["percent_remaining"] * (1 + offset), 100 * d["mean_diff"],
                    yerr=100 * (d["ci_high"] - d["mean_diff"]).fillna(0), marker="o", ms=4, capsize=3,
                    color=COLORS[other], label=comparison)
    plots.density_axis(ax, part["percent_remaining"])
    ax.axhline(0, color="black", lw=0.8)
    ax.set(ylabel="difference (pp), mean and 95% t-interval",
           title=f"Transferred ticket on {target} (n = {part['trials'].min()} trials)")
    ax.yaxis.set_tick_params(labelleft=True)
axes[0].legend(fontsize=8)
plots.save(fig, "10_transfer_paired", settings.figures)
table = paired.assign(**{c: (100 * paired[c]).round(2) for c in ("mean_diff", "ci_low", "ci_high")})
table[["target", "comparison", "level", "percent_remaining", "trials", "mean_diff", "ci_low", "ci_high", "verdict"]]

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(table[["target", "comparison", "level", "trials", "verdict"]].to_string(index=False))

# %% [markdown] tags=[]
# The mask is all that differs between the own and the transferred ticket. How different are they? The overlap of
# the two masks (Jaccard index: shared survivors / survivors of either) at each compared level, against the overlap
# two random masks of the same per-layer counts would have by chance.

# %% tags=[]
overlap = []
for trial in range(configs[("mnist", "ticket")].trials):
    for level in levels:
        a = analysis.load_mask(configs[("mnist", "ticket")], trial, level)
        b = analysis.load_mask(configs[("fashion_mnist", "ticket")], trial, level)
        overlap.append({"trial": trial, "level": level, "density": masks.density(a),
                        "jaccard": analysis.jaccard_matrix([a, b])[0, 1], "chance": masks.random_jaccard(a)})
overlap = pd.DataFrame(overlap)
overlap_table = overlap.groupby("level").agg(percent_remaining=("density", lambda d: 100 * d.mean()),
                                             jaccard=("jaccard", "mean"), chance=("chance", "mean")).round(3)
overlap_table


# %% [markdown] tags=[]
# ## What the data say

# %% tags=[]
interval = analysis.format_interval  # '+1.23 pp [95% CI +0.45, +2.01]'

def _survives(above, tests):
    """Each case above 0, its interval corrected for the `tests` cases looked at (transfer.random_mask_claim)."""
    return "; ".join(
        f"on {r['target']} at {r['percent_remaining']:.1f}% remaining {interval(r)}, corrected for the {tests} cases "
        f"(Bonferroni, family-wise 95%) [{100 * r['bonferroni_low']:+.2f}, {100 * r['bonferroni_high']:+.2f}]: "
        + ("still above 0, so there the transferred mask carried information beyond its per-layer counts"
           if r["survives"] else "no longer clear of 0, so chance among the cases is not ruled out")
        for _, r in above.iterrows()) + "."


lines = []
for target in ["Fashion-MNIST", "MNIST"]:
    source = "MNIST" if target == "Fashion-MNIST" else "Fashion-MNIST"
    part = paired[paired["target"] == target]
    lines.append(f"**{source} -> {target}.**")
    for comparison, d in part.groupby("comparison", sort=False):
        above, below = int((d["ci_low"] > 0).sum()), int((d["ci_high"] < 0).sum())
        sparsest = d.loc[d["percent_remaining"].idxmin()]
        lines.append(f"- {comparison}: {100 * d['mean_diff'].min():+.2f} to {100 * d['mean_diff'].max():+.2f} pp over "
                     f"{d['percent_remaining'].min():.1f}-{d['percent_remaining'].max():.1f}% remaining; higher with a "
                     f"95% interval above 0 at {above}, lower at {below} of {len(d)} levels; at "
                     f"{sparsest['percent_remaining']:.1f}% remaining {interval(sparsest)}.")
    lines.append("")
vs_random = paired[paired["comparison"] == f"transferred - {LABELS['random_prune']}"]
morcos = transfer.random_mask_claim(vs_random)  # Morcos et al.'s main claim, one library function
lines.append(
    f"**Morcos et al.'s main claim**, that a transferred ticket beats a random mask: the transferred ticket is above "
    f"random pruning with the same per-layer counts (a 95% interval above 0) at {len(morcos['above'])} of "
    f"{morcos['cases']} (target, density) cases, below it at {morcos['below']}. "
    + (f"Here transferred tickets carried no information beyond their per-layer counts that {morcos['trials']} trials "
       f"could show." if morcos["above"].empty else "Where: " + _survives(morcos["above"], morcos["cases"])))
gap = paired[paired["comparison"] == "transferred - own ticket"].groupby("target")["mean_diff"].mean()
over_random = vs_random.groupby("target")["mean_diff"].mean()


def gap_by_trial(target: str) -> pd.Series:
    """Per trial: the transferred ticket minus the target's own ticket, averaged over the compared levels."""
    both = analysis.at_levels(summaries[(target, "transfer")], levels).merge(
        analysis.at_levels(summaries[(target, "ticket")], levels), on=["trial", "level"], suffixes=("", "_own"))
    return (both["test_acc_at_early_stop"] - both["test_acc_at_early_stop_own"]).groupby(both["trial"]).mean()


# the two directions paired by trial: each trial's pair of transfers exchanges the masks of that trial's two tickets
direction = analysis.mean_interval(100 * (gap_by_trial("fashion_mnist") - gap_by_trial("mnist")).dropna())
overlap_vs_chance = analysis.mean_interval((overlap["jaccard"] - overlap["chance"]).groupby(overlap["trial"]).mean())
lines.append("")
lines.append(f"Their secondary claim, that tickets from the harder dataset transfer better: averaged over the compared "
             f"levels, the transferred ticket minus the target's own ticket is {100 * gap['Fashion-MNIST']:+.2f} pp on "
             f"Fashion-MNIST (from MNIST) and {100 * gap['MNIST']:+.2f} pp on MNIST (from Fashion-MNIST); minus random "
             f"pruning, {100 * over_random['Fashion-MNIST']:+.2f} and {100 * over_random['MNIST']:+.2f} pp. Paired by "
             f"trial (a trial's two transfers exchange the masks of its two tickets), the Fashion-MNIST gap minus the "
             f"MNIST one is {direction['mean']:+.2f} pp [{analysis.ci_text(direction)}], "
             f"n={direction['n']}: "
             + analysis.interval_verdict(direction["ci_low"], direction["ci_high"],
                                         "the transfer from MNIST to Fashion-MNIST comes closer to the own ticket",
                                         "the transfer from Fashion-MNIST to MNIST comes closer to the own ticket",
                                         "**no direction shown to transfer better**")
             + f" (the two targets' accuracy scales differ, so this compares gaps, not datasets' difficulty). The two "
             f"datasets' masks overlap {overlap_table['jaccard'].min():.2f}-{overlap_table['jaccard'].max():.2f} "
             f"(Jaccard) at the compared levels, against {overlap_table['chance'].min():.2f}-"
             f"{overlap_table['chance'].max():.2f} for random masks of the same per-layer counts: averaged over the "
             f"levels, {overlap_vs_chance['mean']:+.3f} above chance per trial "
             f"[{analysis.ci_text(overlap_vs_chance, spec='+.3f')}] ("
             + analysis.interval_verdict(overlap_vs_chance["ci_low"], overlap_vs_chance["ci_high"],
                                         "more shared survivors than chance", "fewer than chance",
                                         "not shown to differ from chance") + ").")
lines.append("")
lines.append("Not Morcos et al.'s protocol: they transfer late-rewound tickets of VGG-19 and ResNet-50 between natural-"
             "image datasets (CIFAR-10, ImageNet and others); this is LeNet-300-100 rewound to iteration 0 between two "
             "28x28 grey-scale datasets, so a null result here does not contradict their claim for large networks.")
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] tags=[]
# ## Exercises
#
# 1. Transfer only the mask, not the initialisation: what would change in the design table, and which existing arm
#    is that? Predict the result from the reinitialisation control.
# 2. The handout's transferred ticket beats random pruning at 1.9% remaining. Rerun with `profile="quick"` and
#    `densities=[0.019]`: does a miniature's ticket (pruned from weights trained 2,000 iterations) transfer as well?
# 3. Look at the first layer's surviving inputs of the two tickets (notebook 05's input-connectivity map): which
#    pixels does an MNIST ticket keep that a Fashion-MNIST ticket drops?
# 4. How many trials would resolve the smallest difference in the table above? (The t-interval's half width shrinks
#    as 1/sqrt(trials).)
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("10", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Frankle & Carbin 2019, The lottery ticket hypothesis, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635).
# - Morcos, Yu, Paganini & Tian 2019, One ticket to win them all: generalizing lottery ticket initializations across
#   datasets and optimizers, [arXiv:1906.02773](https://arxiv.org/abs/1906.02773).
# - Mehta 2019, Sparse transfer learning via winning lottery tickets,
#   [arXiv:1905.07785](https://arxiv.org/abs/1905.07785).
# - Xiao, Rasul & Vollgraf 2017, Fashion-MNIST, [arXiv:1708.07747](https://arxiv.org/abs/1708.07747).
#
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, notebook="10", experiment=(
    f"LeNet-300-100, MNIST <-> Fashion-MNIST at levels {', '.join(map(str, levels))}, "
    f"{configs[('mnist', 'transfer')].trials} trial(s); {cfg.iterations:,} iterations at most per training, patience "
    f"{cfg.patience}"))

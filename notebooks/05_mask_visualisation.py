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
# # 5. What do winning tickets look like?
#
# **Question.** Which weights survive IMP, and could we have told from the initialisation alone? We look at the masks
# of the IMP run of notebook 02: which input pixels keep their connections, whether the kept
# weights differ from the pruned ones at initialisation (in magnitude or sign), and how much the masks of different trials,
# and of one-shot vs iterative pruning, overlap.
#
# **Method.** Everything here reads stored masks and weights; nothing new is trained except the one-shot runs of
# notebook 03, if they are not stored yet.

# %% [markdown] course="objectives" tags=[]
# **You will** look inside the masks IMP finds: which input pixels keep their connections; ask whether a weight's initial value predicts whether it survives; and measure how much the masks of different trials, and of one-shot and iterative pruning, overlap.
#
# **Before you start:** Notebooks 02 and 03 and the [glossary](glossary.md).

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
# Notebooks 02 and 03's runs; it trains them first if they are missing (hours at the paper profile on 2 cores; minutes with `profile="quick"`). Trained levels are saved in the run store (`out`), so a rerun reads them, and `make run` (or `make import`) brings the committed ones there first. `profile="quick"` retrains a miniature from scratch in minutes; any setting other than the handout's own writes its figures under `../build/`, never over the committed ones. The last cell (Provenance) says what this execution cost; the README's cost table, what its training cost.

# %% tags=[]
import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from lth_utils import analysis, engine, notebook, plots, profiles
from lth_utils.experiments import imp_runs

cfg, settings = notebook.setup(globals(), ["profile", "seed", "trials", "rate", "levels", "iterations", "workers",
                                           "out", "data_root", "figures"], notebook="05")
pd.Series({"profile": settings.profile, "trials": cfg.trials, "seed": cfg.seed, "levels": cfg.num_levels,
           "rate (hidden / output)": f"{cfg.rate:g} / {cfg.output_rate if cfg.output_rate is not None else cfg.rate / 2:g}",
           "iterations per level (at most)": f"{cfg.iterations:,}",
           "early stopping": f"{cfg.patience} evaluations after the minimum" if cfg.patience else "none",
           "evaluation every": cfg.eval_every, "config hash": cfg.hash}).to_frame("setting")

# %% tags=[]
from lth_utils import protocol

Markdown(protocol.statement(cfg, settings.profile, notebook="05"))

# %% tags=[]
summary = engine.run_imp(cfg)
levels = analysis.levels_near(summary, [51.3, 21.1, 7.0, 3.6, 1.9])
densities = analysis.by_level(summary, "density").set_index("level")["percent_remaining"]

# %% [markdown] tags=[]
# ## First-layer connections per input pixel
#
# Each image shows, for every one of the 784 input pixels, the share of its 300 first-layer connections that survive
# divided by the layer's density (trial 0): 1 means the pixel keeps as many as an average pixel, on one colour scale
# for all panels. If IMP learns where the digits are, the centre of the field should keep more connections than the
# border, whose pixels are blank in almost every image; the conclusion below measures it.

# %% tags=[]
fig, axes = plt.subplots(1, len(levels), figsize=(3.2 * len(levels), 3.2))
axes = [axes] if len(levels) == 1 else list(axes)
def relative_connectivity(trial: int, level: int) -> np.ndarray:
    """Each input pixel's surviving first-layer connections over what the layer's density gives an average pixel."""
    mask = analysis.load_mask(cfg, trial, level)
    return analysis.input_connectivity(mask) / (300 * mask["fc1.weight"].float().mean().item())


relative = {level: relative_connectivity(0, level) for level in levels}
top = max(image.max() for image in relative.values())
for ax, level in zip(axes, levels):
    shown = ax.imshow(relative[level], cmap="magma", vmin=0, vmax=top)
    ax.set_title(f"{densities[level]:.1f}% remaining", fontsize=10)
    ax.axis("off")
fig.colorbar(shown, ax=axes, fraction=0.015, pad=0.02, label="connections kept / layer average")
fig.suptitle("Surviving first-layer connections per input pixel")
plots.save(fig, "05_first_layer_connectivity_heatmaps", settings.figures);

# %% [markdown] tags=[]
# How dense each layer stays as IMP prunes (the hidden layers at the rate above, the output layer at half of it) is
# notebook 02's sparsity history (`figures/02_layer_density_by_level.png`); this notebook looks inside the masks.

# %% [markdown] tags=[]
# ## Is a winning initialisation predictable from the initial weights?
#
# For the sparsest level, the first layer's initial weights split into kept and pruned. We compare their distributions
# (trial 0) and measure in every trial how well |w0| separates them (ROC AUC: 0.5 is chance, 1.0 perfect). The trained
# magnitude |w| is shown as a sanity check only: layerwise IMP keeps exactly the largest trained magnitudes, so its AUC
# is 1.0 by construction.

# %% tags=[]
level = levels[-1]
w0 = analysis.load_weights(cfg, 0, 0, "start")["fc1.weight"].flatten()
w_end = analysis.load_weights(cfg, 0, level - 1, "final")["fc1.weight"].flatten()
kept = analysis.load_mask(cfg, 0, level)["fc1.weight"].flatten()
alive_before = analysis.load_mask(cfg, 0, level - 1)["fc1.weight"].flatten()
auc_init = analysis.roc_auc(w0.abs().numpy(), kept.numpy())
auc_final = analysis.roc_auc(w_end[alive_before].abs().numpy(), kept[alive_before].numpy())
same_sign_kept = (w0[kept].sign() == w_end[kept].sign()).float().mean().item()
positive_share = (w0[kept] > 0).float().mean().item()
fig, ax = plt.subplots()
bins = 60
ax.hist(w0[~kept].numpy(), bins=bins, density=True, alpha=0.55, color=plots.COLORS["reinit"], label="pruned")
ax.hist(w0[kept].numpy(), bins=bins, density=True, alpha=0.55, color=plots.COLORS["ticket"], label="kept")
ax.set(xlabel="initial weight w0 (fc1)", ylabel="density",
       title=f"Initial weights kept vs pruned at {densities[level]:.1f}% remaining")
ax.legend()
plots.save(fig, "05_initial_weights_kept_vs_pruned", settings.figures);
def init_measures(run, trial):
    w0_ = analysis.load_weights(run, trial, 0, "start")["fc1.weight"].flatten()
    kept_ = analysis.load_mask(run, trial, level)["fc1.weight"].flatten()
    return {"trial": trial, "AUC of |w0| for 'kept'": analysis.roc_auc(w0_.abs().numpy(), kept_.numpy()),
            "share of kept weights with w0 > 0": (w0_[kept_] > 0).float().mean().item()}
per_trial = pd.DataFrame([init_measures(cfg, t) for t in range(cfg.trials)]).set_index("trial")
# The same measures on the other protocol's masks (same initial weights, other training length before each
# pruning), where its run is stored: the `standard` masks are pruned from weights trained a few thousand
# iterations under patience, the `paper` ones from weights trained 50,000.
other_profile = "standard" if settings.profile == "paper" else "paper"
other_cfg = profiles.imp_config(other_profile, seed=cfg.seed, out=f"../{profiles.run_store(other_profile)}")
try:
    other_trials = pd.DataFrame([init_measures(other_cfg, t) for t in range(other_cfg.trials)]).set_index("trial")
except FileNotFoundError:  # that protocol's run is not in its store (`make import` brings the committed ones)
    other_trials = None
init_stats = pd.DataFrame({"mean": per_trial.mean(), "min": per_trial.min(), "max": per_trial.max()})
init_stats.loc["AUC of |w_trained| among survivors (trial 0; 1.0 by construction)"] = [auc_final] * 3
init_stats.loc["kept weights that end with their initial sign (trial 0)"] = [same_sign_kept] * 3
init_stats.round(3)

# %% [markdown] tags=[]
# ## Do different trials find the same mask? Does one-shot find the iterative mask?
#
# Jaccard overlap |A and B| / |A or B| of whole masks. For two independent random masks with the same per-layer counts
# (K survivors, of which S = sum over layers of n_l d_l^2 are expected in both) it is about S / (2K - S), the
# reference line.

# %% tags=[]
rows = []
for level in analysis.levels_near(summary, [51.3, 21.1, 7.0, 3.6]):
    trial_masks = [analysis.load_mask(cfg, t, level) for t in range(cfg.trials)]
    matrix = analysis.jaccard_matrix(trial_masks)
    off_diagonal = matrix[~np.eye(len(trial_masks), dtype=bool)] if len(trial_masks) > 1 else np.array([np.nan])
    one_shot = imp_runs.one_shot_like(cfg, level)
    engine.run_imp(one_shot)
    same_trial = [analysis.masks.jaccard(analysis.load_mask(one_shot, t, 1), trial_masks[t]) for t in range(cfg.trials)]
    rows.append({"level": level, "% remaining": round(densities[level], 2),
                 "across trials": off_diagonal.mean(), "lowest pair of trials": off_diagonal.min(),
                 "random masks": analysis.masks.random_jaccard(trial_masks[0]), "one-shot vs iterative (same trial)": np.mean(same_trial),
                 "one-shot vs iterative, lowest trial": np.min(same_trial)})
overlap = pd.DataFrame(rows).round(3)
fig, ax = plt.subplots()
for column, color in [("across trials", "#444444"), ("one-shot vs iterative (same trial)", plots.COLORS["one_shot"]),
                      ("random masks", "#999999")]:
    ax.plot(overlap["% remaining"], overlap[column], marker="o", ms=4, color=color, label=column,
            ls="--" if column == "random masks" else "-")
plots.density_axis(ax, overlap["% remaining"])
ax.set(ylabel="Jaccard overlap", title="Mask overlap")
ax.legend(fontsize=8)
plots.save(fig, "05_mask_overlap", settings.figures);
overlap

# %% tags=["nbval-check"]
# NBVAL_CHECK_OUTPUT
print(overlap[["level", "% remaining", "across trials", "random masks"]].round(2).to_string(index=False))

# %% [markdown] tags=[]
# ## What the masks show

# %% tags=[]
border = analysis.input_connectivity(analysis.load_mask(cfg, 0, levels[-1]))


def rim(image):  # the pixels of the 3-pixel border
    return np.concatenate([image[:3].ravel(), image[-3:].ravel(), image[:, :3].ravel(), image[:, -3:].ravel()])


edge, centre = rim(border), border[10:18, 10:18].ravel()
def centre_over_border(trial: int, level: int) -> float:
    """The central 8x8 square's connections over the 3-pixel border's, each relative to the level's density."""
    image = relative_connectivity(trial, level)
    return image[10:18, 10:18].mean() / max(1e-9, rim(image).mean())


ratios = {l: analysis.mean_interval([centre_over_border(t, l) for t in range(cfg.trials)]) for l in levels}
last = overlap.iloc[-1]
AUC, SHARE = "AUC of |w0| for 'kept'", "share of kept weights with w0 > 0"
auc = analysis.mean_interval(per_trial[AUC])
share = analysis.mean_interval(per_trial[SHARE])
lines = [
    f"- At {densities[levels[-1]]:.1f}% remaining (trial 0), a pixel in the 3-pixel border keeps {edge.mean():.1f} of its 300 "
    f"first-layer connections on average, a pixel in the central 8x8 square {centre.mean():.1f}. Centre / border, "
    f"relative to each level's density (mean over {cfg.trials} trials, 95% CI): "
    + ", ".join(f"{densities[l]:.1f}%: {r['mean']:.2f} [{analysis.ci_text(r, spec='.2f')}]" for l, r in ratios.items())
    + (f"; above 1 (more central connections than border ones) at {sum(r['ci_low'] > 1 for r in ratios.values())} of "
       f"{len(ratios)} levels." if cfg.trials > 1 else " (one trial: no interval)."),
    f"- |w0| predicts which first-layer weights survive with AUC {auc['mean']:.3f} ({analysis.ci_text(auc, spec='.3f')}, "
    f"n={auc['n']}; chance is 0.5: "
    + analysis.interval_verdict(auc["ci_low"], auc["ci_high"], "above chance", "below chance", "not shown to differ",
                                reference=0.5) + "). "
    f"{100 * same_sign_kept:.1f}% of kept weights end training with their initial sign (trial 0).",
    f"- {100 * share['mean']:.1f}% of the kept first-layer weights started positive (95% CI "
    f"[{100 * share['ci_low']:.1f}, {100 * share['ci_high']:.1f}]%, n={share['n']}), where half would be expected if "
    f"the initial sign did not matter: "
    + ("consistent with half." if share["ci_low"] <= 0.5 <= share["ci_high"] else
       f"{'more' if share['mean'] > 0.5 else 'fewer'} than half, beyond the trials' noise.")
    + " Zhou et al. (2019) find that a ticket's signs matter for training (notebook 08); which signs survive is a "
      "different question.",
    f"- At {last['% remaining']:.1f}% remaining, masks of different trials overlap {last['across trials']:.3f} on "
    f"average, the lowest pair {last['lowest pair of trials']:.3f} (two random masks of that density: "
    f"{last['random masks']:.3f}"
    + ("; every pair above it" if last["lowest pair of trials"] > last["random masks"] else "; not every pair above it")
    + f"); one-shot and iterative masks of the same trial overlap {last['one-shot vs iterative (same trial)']:.3f} "
    f"on average over {cfg.trials} trials (lowest {last['one-shot vs iterative, lowest trial']:.3f}). Trials start "
    f"from different initialisations, and IMP keeps the weights that grew large from *their* start, so masks of "
    f"different trials need not share weights: an overlap near the random level does not make the masks random.",
]
if other_trials is not None:
    # paired by trial: the same initial weights under both protocols
    d_auc = analysis.mean_interval((per_trial[AUC] - other_trials[AUC]).dropna())
    d_share = analysis.mean_interval(100 * (per_trial[SHARE] - other_trials[SHARE]).dropna())
    moved = [what for what, d in [("magnitudes", d_auc), ("signs", d_share)] if d["ci_low"] > 0 or d["ci_high"] < 0]
    lines.append(
        f"- The masks the other protocol prunes (`{other_profile}`, same initial weights, another training length "
        f"before each pruning): AUC {other_trials[AUC].mean():.3f}, {100 * other_trials[SHARE].mean():.1f}% started "
        f"positive. This protocol minus that one, paired by trial: AUC {d_auc['mean']:+.3f} ("
        f"{analysis.ci_text(d_auc, spec='+.3f')}), share started positive {d_share['mean']:+.1f} pp "
        f"({analysis.ci_text(d_share, spec='+.1f')}), n={d_auc['n']}. "
        + (f"Which {' and '.join(moved)} survive depends on how long the weights are trained before each pruning, so "
           f"these are properties of a protocol's masks, not of tickets as such"
           + ("" if len(moved) == 2 else f" (for the {'signs' if moved == ['magnitudes'] else 'magnitudes'} no "
                                         f"dependence is shown)") + "."
           if moved else "No dependence on training length is shown."))
Markdown(protocol.miniature(settings.profile) + "\n".join(lines))

# %% [markdown] course="exercises" tags=[]
# ## Exercises
#
# 1. Set `trials=3` and check whether the initial-magnitude AUC holds in every trial.
# 2. Look at the connectivity map of the sparsest level: where do the surviving connections sit, and why would the border pixels of MNIST lose theirs first?
# 3. Masks of different trials overlap barely more than random masks do. Does that mean IMP masks are nearly random? (Hint: each trial starts from another initialisation.)
#
# What each exercise would train here, projected: the IMP levels its settings need that the run store does not hold yet, at the committed runs' time per iteration.

# %% tags=[]
from lth_utils.course import exercises

exercises.table("05", settings.profile, cfg.out)

# %% [markdown] course="references" tags=[]
# ## References
#
# - Frankle & Carbin 2019, The lottery ticket hypothesis: finding sparse, trainable neural networks, [arXiv:1803.03635](https://arxiv.org/abs/1803.03635)
# - Zhou, Lan, Liu & Yosinski 2019, Deconstructing lottery tickets: zeros, signs, and the supermask, [arXiv:1905.01067](https://arxiv.org/abs/1905.01067)

# %% [markdown] tags=[]
# ## Provenance

# %% tags=[]
notebook.provenance(cfg, settings.profile, notebook="05")

"""One figure style for every notebook: seaborn theme set once, log-scaled '% weights remaining' axes with dense on
the left (as in the paper), min/max bands over trials, PNGs saved to figures/.

    set_style()
    ax = density_axis(plt.gca()); band(ax, by_level(summary, "test_acc_at_early_stop"), "ticket")
    save(fig, "02_test_accuracy_vs_weights_remaining", folder)
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

COLORS = {"ticket": "#1f77b4", "reinit": "#ff7f0e", "random_prune": "#2ca02c", "dense": "#555555",
          "one_shot": "#9467bd", "no_retrain": "#8c564b"}
LABELS = {"ticket": "winning ticket (IMP, rewound)", "reinit": "random reinitialisation",
          "random_prune": "random pruning", "dense": "dense", "one_shot": "one-shot pruning",
          "no_retrain": "pruned, not retrained"}
PAPER_TICKS = [100, 51.3, 21.1, 7.0, 3.6, 1.9]


def set_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "figure.figsize": (6.4, 4.0),
                         "axes.titleweight": "bold", "legend.frameon": False})


def density_axis(ax, percents=None, label: str = "% of weights remaining (log scale)", ticks=None):
    """Log x axis of % weights remaining, 100 on the left, ticked at `ticks` if given, else at the paper's densities
    within the data's range; explicit ticks closer than a factor 1.35 to a higher one are left out (they would overlap)."""
    low, high = (min(percents), max(percents)) if percents is not None else (min(PAPER_TICKS), 100)
    if ticks is not None:  # from the highest down, each at least a factor 1.35 below the last kept: no overlaps
        kept: list[float] = []
        for t in sorted({round(float(t), 1) for t in ticks}, reverse=True):
            if not kept or kept[-1] / t >= 1.35:
                kept.append(t)
        ticks = kept
    else:
        ticks = [t for t in PAPER_TICKS if low * 0.95 <= t <= high * 1.05] or [round(high, 1), round(low, 1)]
    ax.set_xscale("log")
    ax.set_xlim(high * 1.15, low / 1.15)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(label)
    return ax


def band(ax, table: pd.DataFrame, key: str, scale: float = 1.0, label: str | None = None, x: str = "percent_remaining",
         marker: str = "o"):
    """Mean line with a min/max band, from a `by_level` table."""
    color = COLORS.get(key)
    ax.plot(table[x], scale * table["mean"], marker=marker, ms=3.5, color=color, label=label or LABELS.get(key, key))
    ax.fill_between(table[x], scale * table["min"], scale * table["max"], color=color, alpha=0.2, lw=0)
    return ax


def end_of_training(ax, iterations: int):
    """The training cap on an early-stopping-iteration axis: a minimum found there is censored, not measured."""
    ax.axhline(iterations, color="black", ls=":", lw=1, label=f"end of training ({iterations:,})")
    return ax


def save(fig, name: str, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, bbox_inches="tight")
    return path


def trial_curves(ax, curves: pd.DataFrame, column: str, color, label: str, scale: float = 1.0, marker=None):
    """Learning curves as one thin line per trial, and their mean only over the iterations every trial reached (a
    mean over the trials still running would jump where the others stopped); a dot marks where a trial ended early.
    `curves`: rows of (trial, iteration, `column`), as analysis.curves gives them."""
    trials = curves["trial"].nunique()
    for _, group in curves.groupby("trial"):
        ax.plot(group["iteration"], scale * group[column], color=color, lw=0.6, alpha=0.35)
    ends = curves.groupby("trial")["iteration"].max()
    common = curves[curves["iteration"] <= ends.min()].groupby("iteration")[column].mean()
    ax.plot(common.index, scale * common, color=color, lw=1.8, marker=marker, ms=3, markevery=0.1,
            label=f"{label} (mean of {trials})" if trials > 1 else label)
    if ends.nunique() > 1:  # trials that stopped at different iterations (patience): where each ended
        last = curves.loc[curves.groupby("trial")["iteration"].idxmax()]
        ax.plot(last["iteration"], scale * last[column], "o", color=color, ms=3.5, mfc="white")
    return ax

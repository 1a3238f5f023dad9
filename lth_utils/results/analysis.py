"""Tables and statistics from stored runs: per-level aggregates over trials, paired differences with confidence
intervals, learning curves, and mask/weight statistics. Pure functions of DataFrames and tensors, plus readers.

    table = by_level(summary, "test_acc_at_early_stop")       # level, density, mean, min, max, trials
    diff = paired_difference(tickets, reinit, "test_acc_at_early_stop")   # mean and 95% CI of ticket - reinit
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..pruning import masks
from ..data import load_splits
from ..foundations.files import torch_load
from ..lottery.imp import IMPConfig, start_iteration
from ..models import build_model
from ..foundations.store import RETRAINED, STAND_IN, level_dir, read_csv, read_result
from ..training.loop import evaluate


def by_level(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per level: mean density (as % remaining), and mean/min/max of `metric` over trials."""
    grouped = summary.groupby("level")
    table = pd.DataFrame({
        "percent_remaining": 100 * grouped["density"].mean(),
        "mean": grouped[metric].mean(), "min": grouped[metric].min(), "max": grouped[metric].max(),
        "trials": grouped[metric].count()})
    return table.reset_index()


def mean_interval(values, confidence: float = 0.95) -> dict:
    """{"mean", "ci_low", "ci_high", "n"}: the mean of independent values (one per trial) with its t-interval;
    NaN bounds for a single value."""
    values = pd.Series(values, dtype=float)
    n, mean = len(values), float(values.mean())
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n) if n > 1 else float("nan")
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def unpaired_difference(a, b, confidence: float = 0.95) -> dict:
    """{"mean_diff", "ci_low", "ci_high", "n_a", "n_b"}: mean(a) - mean(b) for two independent samples (nothing pairs
    them, e.g. students of two widths, whose seeds draw unrelated initial weights), with Welch's t-interval (unequal
    variances, Welch-Satterthwaite degrees of freedom); NaN bounds where either side has a single value."""
    a, b = pd.Series(a, dtype=float), pd.Series(b, dtype=float)
    diff = float(a.mean() - b.mean())
    if min(len(a), len(b)) < 2:
        return {"mean_diff": diff, "ci_low": float("nan"), "ci_high": float("nan"), "n_a": len(a), "n_b": len(b)}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else 1.0
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return {"mean_diff": diff, "ci_low": diff - half, "ci_high": diff + half, "n_a": len(a), "n_b": len(b)}


def early_stop_ratio(summary: pd.DataFrame, percent_between: tuple[float, float] | None = None,
                     metric: str = "early_stop_iteration") -> dict:
    """A pruned level's early-stopping iteration (or another `metric`) over its trial's dense one (level 0), averaged
    per trial over the pruned levels (those with % remaining in `percent_between`, if given), then over trials:
    mean_interval's dict. A level without a value (NaN) is left out of its trial's mean."""
    dense = summary.query("level == 0")[["trial", metric]]
    ratios = summary.merge(dense, on="trial", suffixes=("", "_dense")).query("level > 0")
    if percent_between is not None:
        ratios = ratios[(100 * ratios["density"]).between(*percent_between)]
    ratio = ratios[metric] / ratios[f"{metric}_dense"]
    return mean_interval(ratio.groupby(ratios["trial"]).mean().dropna())


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, metric: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per level, a[metric] - b[metric] paired by trial: mean, t-interval bounds, trials. NaN bounds for 1 trial."""
    merged = a.merge(b, on=["trial", "level"], suffixes=("_a", "_b"))
    merged["diff"] = merged[f"{metric}_a"] - merged[f"{metric}_b"]
    rows = []
    for level, group in merged.groupby("level"):
        m = mean_interval(group["diff"], confidence)
        rows.append({"level": level, "percent_remaining": 100 * group["density_a"].mean(), "mean_diff": m["mean"],
                     "ci_low": m["ci_low"], "ci_high": m["ci_high"], "trials": m["n"]})
    return pd.DataFrame(rows)


def versus_dense(summary: pd.DataFrame, metric: str = "test_acc_at_early_stop") -> pd.DataFrame:
    """Each pruned level of one run minus its trial's dense network (level 0), paired by trial: paired_difference's
    rows, one per level >= 1."""
    dense = summary.query("level == 0")
    return pd.concat([paired_difference(summary.query("level == @level"), dense.assign(level=level), metric)
                      for level in sorted(summary["level"].unique()) if level > 0], ignore_index=True)


def where_resolved(paired: pd.DataFrame, reference: str = "dense") -> str:
    """Which rows of a paired table have a 95% interval that excludes 0, by % remaining: ' The interval lies above
    dense at 21.1%, 13.5% remaining and below it at 1.9%.' ('' when none does)."""
    above = paired.loc[paired["ci_low"] > 0, "percent_remaining"]
    below = paired.loc[paired["ci_high"] < 0, "percent_remaining"]
    if above.empty and below.empty:
        return ""
    listed = lambda part: ", ".join(f"{p:.1f}%" for p in part)  # noqa: E731
    sides = ([f"above {reference} at {listed(above)} remaining"] if len(above) else []) + \
        ([f"below {'it' if len(above) else reference} at {listed(below)}" + ("" if len(above) else " remaining")]
         if len(below) else [])
    return " The interval lies " + " and ".join(sides) + "."


def span(values, spec: str = "g") -> str:
    """The range of `values` as text, its ends in format `spec`: '3-5', or '5' where both ends read the same (no
    '5-5 trials')."""
    values = pd.Series(values)
    return "-".join(dict.fromkeys(f"{v:{spec}}" for v in (values.min(), values.max())))


def significant(value: float, digits: int = 3, sign: bool = False) -> str:
    """`value` to `digits` significant digits in positional notation, for numbers that span orders of magnitude
    (ratios of losses): '1080', '0.000233', '-3.30'; never '1.08e+03'. `sign`: a leading '+' on positives."""
    text = np.format_float_positional(value, precision=digits, fractional=False, unique=False, trim="k").rstrip(".")
    return f"+{text}" if sign and value > 0 else text


def ci_text(interval, scale: float = 1.0, spec: str = "+.2f") -> str:
    """The 95% interval of a mean_interval dict or a paired row ('ci_low', 'ci_high') as '95% CI +0.05, +0.48'
    (`scale` x the bounds, format `spec`), or 'one trial: no interval' where it has none."""
    if pd.isna(interval["ci_low"]) or pd.isna(interval["ci_high"]):
        return "one trial: no interval"
    return f"95% CI {scale * interval['ci_low']:{spec}}, {scale * interval['ci_high']:{spec}}"


def format_interval(row, scale: float = 100.0, unit: str = " pp", spec: str = "+.2f", show_n: bool = False) -> str:
    """A paired_difference row as text, '+1.23 pp [95% CI +0.45, +2.01]' (`scale` x the values in format `spec`,
    then `unit`; `show_n` adds ', n=trials'); a single trial has no interval and says so."""
    mean = f"{scale * row['mean_diff']:{spec}}{unit}"
    if pd.isna(row["ci_low"]):
        return f"{mean} (one trial: no interval)"
    text = f"{mean} [{ci_text(row, scale, spec)}]"
    return f"{text}, n={row['trials']}" if show_n else text


def ratio_interval(numerator, denominator, confidence: float = 0.95) -> dict:
    """{"ratio", "ci_low", "ci_high", "n"}: mean(numerator) / mean(denominator) for values paired by trial, with
    Fieller's interval (the ratios r for which mean(numerator - r * denominator) is within the t-interval of 0). The
    interval is unbounded, NaN bounds, where the denominator's own t-interval holds 0: then no ratio is excluded
    for certain; a single trial has no interval either."""
    num, den = pd.Series(numerator, dtype=float).to_numpy(), pd.Series(denominator, dtype=float).to_numpy()
    n, a, b = len(num), float(num.mean()), float(den.mean())
    ratio = a / b if b != 0 else float("nan")
    if n < 2:
        return {"ratio": ratio, "ci_low": float("nan"), "ci_high": float("nan"), "n": n}
    t2 = stats.t.ppf(0.5 + confidence / 2, n - 1) ** 2
    cov = np.cov(num, den, ddof=1) / n  # the covariance of the two means
    quad = b * b - t2 * cov[1, 1]  # > 0 exactly where the denominator's interval excludes 0
    if quad <= 0:
        return {"ratio": ratio, "ci_low": float("nan"), "ci_high": float("nan"), "n": n}
    half_b = a * b - t2 * cov[0, 1]
    root = math.sqrt(max(half_b * half_b - quad * (a * a - t2 * cov[0, 0]), 0.0))
    return {"ratio": ratio, "ci_low": (half_b - root) / quad, "ci_high": (half_b + root) / quad, "n": n}


def share_of_lead(summaries: dict[str, pd.DataFrame], arm: str, lead: str, reference: str, levels,
                  metric: str = "test_acc_at_early_stop") -> pd.DataFrame:
    """Per level, the share of `lead`'s advantage over `reference` that `arm` recovers: (arm - reference) / (lead -
    reference), each difference paired by trial, as ratio_interval's row (Fieller's interval) with the level, its %
    remaining and the lead's mean."""
    rows = []
    for level in levels:
        by = pd.DataFrame({k: at_levels(summaries[k], [level]).set_index("trial")[metric]
                           for k in (arm, lead, reference)}).dropna()  # the trials all three ran
        num, den = by[arm] - by[reference], by[lead] - by[reference]
        density = at_levels(summaries[lead], [level])["density"].mean()
        rows.append({"level": level, "percent_remaining": 100 * density, "lead": float(den.mean()),
                     **ratio_interval(num, den)})
    return pd.DataFrame(rows)


def at_levels(summary: pd.DataFrame, levels) -> pd.DataFrame:
    """The rows of `summary` at these levels."""
    return summary[summary["level"].isin(list(levels))].reset_index(drop=True)


def versus(summaries: dict[str, pd.DataFrame], reference: str, levels, metric: str = "test_acc_at_early_stop",
           ) -> pd.DataFrame:
    """Each arm minus `reference`, paired by trial at each level: mean, 95% t-interval, trials (long format)."""
    frames = []
    for arm, summary in summaries.items():
        if arm == reference:
            continue
        d = paired_difference(at_levels(summary, levels), at_levels(summaries[reference], levels), metric)
        frames.append(d.assign(arm=arm))
    return pd.concat(frames, ignore_index=True)


def interval_verdict(ci_low: float, ci_high: float, above: str = "higher", below: str = "lower",
                     neither: str = "no difference shown", reference: float = 0.0) -> str:
    """The verdict on a paired difference from its 95% interval: `above` when it lies above `reference` (0; 1 for a
    ratio), `below` when below, `neither` when it contains it, and 'one trial: no interval' without one."""
    if pd.isna(ci_low) or pd.isna(ci_high):
        return "one trial: no interval"
    return above if ci_low > reference else below if ci_high < reference else neither


def bonferroni_interval(mean: float, ci_low: float, ci_high: float, trials: int, tests: int) -> tuple[float, float]:
    """A paired difference's 95% t-interval (mean, its ends, over `trials` pairs) widened to a family-wise 95% one over
    `tests` comparisons (Bonferroni: each at 1 - 0.05/tests): whether a resolved case survives the number of cases
    looked at."""
    half = (ci_high - ci_low) / 2 * stats.t.ppf(1 - 0.025 / tests, trials - 1) / stats.t.ppf(0.975, trials - 1)
    return mean - half, mean + half


def paired_p_values(paired: pd.DataFrame) -> np.ndarray:
    """Two-sided p-values of paired_difference rows (mean_diff and its 95% t-interval over `trials` pairs): the
    paired t-test the interval inverts. NaN for a row without an interval (one trial)."""
    n = paired["trials"].to_numpy(float)
    se = (paired["ci_high"] - paired["ci_low"]).to_numpy(float) / 2 / stats.t.ppf(0.975, np.maximum(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(paired["mean_diff"].to_numpy(float)) / se
        p = 2 * stats.t.sf(t, np.maximum(n - 1, 1))
    return np.where(n > 1, p, np.nan)


def holm_survivors(paired: pd.DataFrame, family_alpha: float = 0.05) -> np.ndarray:
    """Per row of `paired` (paired_difference rows of one family of comparisons): whether its difference survives
    Holm's step-down correction over all the rows with an interval (family-wise error `family_alpha`)."""
    p = paired_p_values(paired)
    tested = np.flatnonzero(~np.isnan(p))
    survive = np.zeros(len(p), dtype=bool)
    for rank, i in enumerate(tested[np.argsort(p[tested], kind="stable")]):
        if p[i] > family_alpha / (len(tested) - rank):
            break
        survive[i] = True
    return survive


def multiplicity_sentence(paired: pd.DataFrame, what: str = "paired intervals") -> str:
    """How many of a family's 95% intervals exclude 0, how many would by chance were there no differences at all,
    and how many survive Holm's correction for the family (a verdict resting on one of many intervals reads with
    this)."""
    tested = paired.dropna(subset=["ci_low", "ci_high"])
    resolved = int(((tested["ci_low"] > 0) | (tested["ci_high"] < 0)).sum())
    survivors = int(holm_survivors(tested).sum())
    return (f"{resolved} of the {len(tested)} {what} exclude 0; were there no differences at all, about "
            f"{0.05 * len(tested):.1f} would by chance alone (each at 95%). {survivors} "
            f"{'survives' if survivors == 1 else 'survive'} Holm's correction for all {len(tested)} (family-wise 95%).")


def censored(summary: pd.DataFrame, cfg: IMPConfig) -> pd.Series:
    """Per row: True when the run's minimum validation loss is not known to be its minimum because training ended
    first. With patience, a run that stopped early has confirmed its minimum; a run that reached the last iteration
    is censored unless its minimum lies `patience` evaluations before the end. Without patience (the paper), a run is
    censored when its minimum is the last evaluation."""
    start = summary["level"].map(lambda level: start_iteration(cfg, int(level)))  # k for late-rewound levels
    at_cap = summary["iterations_run"] + start >= cfg.iterations
    margin = cfg.eval_every * max(cfg.patience, 1)
    return at_cap & (cfg.iterations - summary["early_stop_iteration"] < margin)


def replay_patience(iterations: np.ndarray, val_loss: np.ndarray, patience: int, cap: int) -> tuple[int, int, bool]:
    """Replay early stopping by patience on a recorded validation curve (evaluations at `iterations`, the first one
    at the start): (iteration where training would stop, its early-stopping iteration, censored: stopped at `cap`
    before patience ran out). The same rule as training.train with `patience` and iterations=`cap`."""
    best, best_at, since = float("inf"), int(iterations[0]), 0
    for it, loss in zip(iterations, val_loss):
        if loss < best:
            best, best_at, since = float(loss), int(it), 0
        else:
            since += 1
        if since >= patience or it >= cap:
            return int(it), best_at, since < patience
    return int(iterations[-1]), best_at, True


def censoring_note(summaries: dict[str, pd.DataFrame], cfg: IMPConfig) -> str:
    """One sentence: how many runs found their minimum validation loss before the end of training, per arm; under
    patience, that a run it stopped could have reached a later, lower minimum."""
    parts, total, reached = [], 0, 0
    for arm, summary in summaries.items():
        cut = censored(summary, cfg)
        total, reached = total + len(cut), reached + int((~cut).sum())
        parts.append(f"{arm} {int((~cut).sum())}/{len(cut)}")
    share = 100 * reached / total if total else float("nan")
    if cfg.patience:
        return (f"{reached} of {total} runs ({share:.0f}%) were stopped by patience ({cfg.patience} evaluations, "
                f"{cfg.patience * cfg.eval_every:,} iterations, after their lowest validation loss so far) before the "
                f"cap of {cfg.iterations:,} iterations: {', '.join(parts)}. Stopped by patience is not the end of "
                f"training: a later, lower minimum was possible (the protocol note above measures how much that "
                f"moves the dense network). The cap is the dotted line in the early-stopping plots; a run that "
                f"reached it has an early-stopping iteration that is only a lower bound.")
    return (f"{reached} of {total} runs ({share:.0f}%) reached their minimum validation loss before the end of "
            f"training ({cfg.iterations:,} iterations, no patience): {', '.join(parts)}. The end of training is the "
            f"dotted line in the early-stopping plots; a run whose minimum lies within the last evaluations has an "
            f"early-stopping iteration that is only a lower bound.")


def mean_over_draws(summaries: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (trial, level): the mean of each metric over the reinitialisation draws stored for it (a level
    with one draw keeps its values), and `draws`, how many there were."""
    frame = pd.concat(summaries, ignore_index=True)
    numeric = [c for c in frame.columns
               if c not in ("arm", "trial", "level") and pd.api.types.is_numeric_dtype(frame[c])]
    merged = frame.groupby(["trial", "level"], as_index=False)[numeric].mean()
    merged["draws"] = frame.groupby(["trial", "level"]).size().to_numpy()
    return merged.assign(arm=frame["arm"].iloc[0])[["arm", "trial", "level", *numeric, "draws"]]


def read_metrics(cfg: IMPConfig, trial: int, level: int) -> pd.DataFrame:
    """The learning curve of one level: iteration, split, loss, accuracy."""
    frame = pd.DataFrame(read_csv(level_dir(cfg.root, trial, level) / "metrics.csv"))
    return frame.astype({"iteration": int, "loss": float, "accuracy": float})


def curves(cfg: IMPConfig, levels: list[int], split: str = "test") -> pd.DataFrame:
    """Learning curves of `levels` for every trial, with the level's % remaining."""
    root = cfg.root
    frames = []
    for level in levels:
        for trial in range(cfg.trials):
            recorded = read_result(level_dir(root, trial, level))
            if split == "test" and recorded is not None and not recorded.get("test_curve", True):
                raise ValueError(f"level {level} of {root} recorded test accuracy only at validation minima; add it to "
                                 f"test_curve_levels (now {cfg.test_curve_levels!r}) and train it in a new run store")
            frame = read_metrics(cfg, trial, level)
            frame = frame[frame["split"] == split].assign(trial=trial, level=level)
            density = masks.density(masks.load(level_dir(root, trial, level) / "mask.pt"))
            frames.append(frame.assign(percent_remaining=100 * density))
    return pd.concat(frames, ignore_index=True)


REACH_WITHIN = 0.25  # iterations_to_reach's default tolerance: dense crosses it on the steep part (notebook 02)


def iterations_to_reach(val_curves: pd.DataFrame, within: float = REACH_WITHIN) -> pd.DataFrame:
    """A learning-speed measure that does not hang on an argmin: per (trial, level), the first evaluation whose
    validation loss is within `within` (a fraction) of the same trial's dense minimum, i.e. at most
    (1 + within) x min(dense val loss); NaN where a level never gets there. `val_curves`: analysis.curves(cfg,
    levels, split="val") with level 0 among the levels. The dense network's own argmin sits on a flat, noisy
    plateau (its near-minimum evaluations span thousands of iterations), so ratios to it are fragile; a tolerance
    wide enough for dense to cross it on the steep part of its curve is not (speed_by_tolerance shows which)."""
    dense_min = val_curves[val_curves["level"] == 0].groupby("trial")["loss"].min()
    rows = []
    for (trial, level), group in val_curves.groupby(["trial", "level"]):
        if trial not in dense_min.index:
            continue
        reached = group[group["loss"] <= (1 + within) * dense_min[trial]]
        rows.append({"trial": trial, "level": level, "density": group["percent_remaining"].iloc[0] / 100,
                     "iterations_to_reach": float(reached["iteration"].min()) if len(reached) else float("nan")})
    return pd.DataFrame(rows)


def speed_by_tolerance(val_curves: pd.DataFrame, level: int, tolerances) -> pd.DataFrame:
    """iterations_to_reach at each tolerance in `tolerances`: where dense crosses it (per-trial mean, min, max and
    coefficient of variation, beside the same for its argmin, the early-stopping iteration) and `level`'s ratio to
    dense (early_stop_ratio's mean and 95% interval over trials). A tolerance whose dense crossing spreads as widely as
    the argmin lies on the plateau; whether the ratio's verdict depends on the tolerance reads down the column."""
    curves = val_curves[val_curves["level"].isin([0, level])]
    first_min = curves.loc[curves.groupby(["trial", "level"])["loss"].idxmin()]
    measures = {"argmin (early stop)": pd.DataFrame({
        "trial": first_min["trial"], "level": first_min["level"], "density": first_min["percent_remaining"] / 100,
        "iterations_to_reach": first_min["iteration"].astype(float)})}
    measures |= {f"within {100 * w:g}% of dense's minimum": iterations_to_reach(curves, w) for w in tolerances}
    table = []
    for name, reach in measures.items():
        v = reach.loc[reach["level"] == 0, "iterations_to_reach"].dropna()
        ratio = early_stop_ratio(reach, metric="iterations_to_reach")
        table.append({"measure": name, "dense_mean": v.mean(), "dense_min": v.min(), "dense_max": v.max(),
                      "dense_cv": v.std(ddof=1) / v.mean() if len(v) > 1 else float("nan"),
                      "ratio": ratio["mean"], "ci_low": ratio["ci_low"], "ci_high": ratio["ci_high"]})
    return pd.DataFrame(table)


def load_mask(cfg: IMPConfig, trial: int, level: int) -> masks.Mask:
    return masks.load(level_dir(cfg.root, trial, level) / "mask.pt")


def load_weights(cfg: IMPConfig, trial: int, level: int, which: str = "final") -> dict[str, torch.Tensor]:
    path = level_dir(cfg.root, trial, level) / f"weights_{which}.pt"
    if not path.is_file() and read_result(path.parent) is not None:
        raise FileNotFoundError(f"{path}: this level was imported from a compact store, which keeps trained weights "
                                f"only where a notebook reads them (portable.keeps_weights); train it in a new store "
                                f"to inspect them")
    return torch_load(path)


def load_trained(cfg: IMPConfig, trial: int, level: int) -> dict[str, torch.Tensor]:
    """A level's trained weights: weights_final.pt, or where an imported store lacks them, the stand-ins retrained on
    another CPU model from the level's stored inputs (`retrain-weights --here`; `stand_in` says which)."""
    directory = level_dir(cfg.root, trial, level)
    if not (directory / "weights_final.pt").is_file() and (directory / STAND_IN).is_file():
        return torch_load(directory / STAND_IN)
    return load_weights(cfg, trial, level, "final")


def stand_in(cfg: IMPConfig, trial: int, level: int) -> dict | None:
    """The result row of a level's stand-in trained weights (what load_trained reads instead of the originals,
    retrained on the machine its provenance names), or None where it reads the originals."""
    directory = level_dir(cfg.root, trial, level)
    if (directory / "weights_final.pt").is_file() or not (directory / RETRAINED).is_file():
        return None
    return json.loads((directory / RETRAINED).read_text())


def pruned_without_retraining(cfg: IMPConfig, trial: int, level: int) -> float:
    """Test accuracy of the level l-1 trained weights under the level-l mask, with no retraining at all."""
    splits = load_splits(cfg.dataset, cfg.data_root, "cpu", cfg.train_subset)
    model = build_model(cfg.model, splits.input_shape, splits.num_classes)
    model.load_state_dict(load_weights(cfg, trial, level - 1, "final"))
    masks.apply_mask_(model, load_mask(cfg, trial, level))
    return evaluate(model, *splits.test)[1]


def layer_density_history(cfg: IMPConfig, trial: int = 0) -> pd.DataFrame:
    """Per-layer density at every level of one trial (long format: level, layer, density)."""
    rows = []
    for level in range(cfg.num_levels + 1):
        for row in masks.report(load_mask(cfg, trial, level)):
            rows.append({"level": level, "layer": row["layer"], "density": row["density"]})
    return pd.DataFrame(rows)


def input_connectivity(mask: masks.Mask, layer: str = "fc1.weight", shape=(28, 28)) -> np.ndarray:
    """Surviving first-layer connections per input pixel, as an image of `shape`."""
    return mask[layer].sum(dim=0).reshape(shape).numpy()


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half): the ROC AUC."""
    ranks = stats.rankdata(scores)
    positives = labels.astype(bool)
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def jaccard_matrix(mask_list: list[masks.Mask]) -> np.ndarray:
    n = len(mask_list)
    return np.array([[masks.jaccard(mask_list[i], mask_list[j]) for j in range(n)] for i in range(n)])


def nearest(table: pd.DataFrame, percent: float) -> pd.Series:
    """The row of a per-level table whose % remaining is nearest to `percent` (on a log scale)."""
    distance = (np.log(table["percent_remaining"]) - math.log(percent)).abs()
    return table.loc[distance.idxmin()]


def levels_near(summary: pd.DataFrame, percents: list[float], cfg=None) -> list[int]:
    """The distinct levels nearest to each of `percents`, in order of level; with `cfg`, only among the levels whose
    test accuracy it records at every evaluation (cfg.records_test_curve: those analysis.curves can plot)."""
    if cfg is not None:
        summary = summary[summary["level"].map(cfg.records_test_curve)]
    table = by_level(summary, "density")
    return sorted({int(nearest(table, p)["level"]) for p in percents})


def level_table(summary: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """The per-level table the notebooks print: % remaining, test accuracy (%) at early stop with min/max, the
    early-stop iteration and the final test accuracy, averaged over trials; rounded once, to `digits` (rounding a
    rounded table again can move a value: 1.8512 -> 1.85 -> 1.8)."""
    accuracy = by_level(summary, "test_acc_at_early_stop")
    grouped = summary.groupby("level")
    return pd.DataFrame({
        "level": accuracy["level"], "% remaining": accuracy["percent_remaining"].round(digits),
        "test acc @ early stop (%)": (100 * accuracy["mean"]).round(digits),
        "min": (100 * accuracy["min"]).round(digits), "max": (100 * accuracy["max"]).round(digits),
        "early-stop iteration": grouped["early_stop_iteration"].mean().round(0).to_numpy(),
        "final test acc (%)": (100 * grouped["final_test_acc"].mean()).round(digits).to_numpy(),
        "trials": accuracy["trials"]})

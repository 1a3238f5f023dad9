"""The paper's claims next to ours: one row per claim in shared/docs/paper.md (and the ES667 proposal's two claims),
each with the paper's value, ours as mean [min, max] over trials, and a verdict computed by a stated rule.

    table = side_by_side(ticket, reinit, random_prune, one_shot)   # summaries as engine.run returns them
    print(markdown(table))

Inputs are per-(trial, level) summaries: `ticket` (level 0 is the dense network), `reinit` (the mean over a trial's
reinitialisation draws, analysis.mean_over_draws), `random_prune`, and `one_shot` {IMP level: one-shot summary whose
level 1 matches that IMP level's per-layer densities} (plan.one_shot_matched). Differences are paired by trial.

Verdict rules (the same for every row of a kind):
- a number the paper states (38% earlier, 2.5x, +0.5 pp): "agrees" when it lies inside our [min, max] over trials;
  "same direction, other size" when our whole range is on the paper's side of no effect but misses the number;
  otherwise "disagrees";
- "above / below dense": paired difference with a 95% t-interval: "agrees" when the interval excludes 0 on the
  paper's side, "not resolved" when it contains 0, "disagrees" when it excludes 0 on the other side;
- "about equal to dense": "agrees" when the mean is within 0.3 pp, "not resolved" when it is not but the interval
  contains 0, "disagrees" otherwise;
- where an arm falls back below dense (tickets) or starts losing accuracy (reinit): the first level sparser than the
  arm's most accurate level whose mean is below the dense mean; "agrees" within one pruning level (a factor 1/0.8 in
  density) of the paper's.
The paper's dense accuracy is read off its figures (about 98%), to about 0.3 pp.
"""
from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from . import analysis, plan

AGREES, OTHER_SIZE, UNRESOLVED, DISAGREES = "agrees", "same direction, other size", "not resolved", "disagrees"
# IMP levels at the densities the paper reports (20% per level, output layer 10%): % remaining.
PAPER_LEVELS = {3: 51.3, 7: 21.1, 9: 13.5, 12: 7.0, 15: 3.6, 18: 1.9}
FIGURE_TOLERANCE_PP = 0.3


def _by_trial(summary: pd.DataFrame, level: int, metric: str) -> pd.Series:
    rows = summary[summary["level"] == level]
    return rows.set_index("trial")[metric].astype(float)


def _paired(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).dropna()


def _interval(values: pd.Series, confidence: float = 0.95) -> tuple[float, float, float]:
    n, mean = len(values), float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def _range(values: pd.Series, fmt: str) -> str:
    return f"{fmt.format(values.mean())} [{fmt.format(values.min())}, {fmt.format(values.max())}]"


def _diff_text(values: pd.Series) -> str:
    mean, low, high = _interval(100 * values)
    ci = f"; 95% CI [{low:+.2f}, {high:+.2f}], n={len(values)}" if not math.isnan(low) else f"; n={len(values)}"
    return f"{_range(100 * values, '{:+.2f}')} pp{ci}"


def number_verdict(values: pd.Series, paper: float, null: float) -> str:
    """Paper states `paper`; `null` is no effect. Agrees if inside our range; same side of `null` otherwise."""
    if values.empty:
        return "no data"
    if values.min() <= paper <= values.max():
        return AGREES
    same_side = (values > null).all() if paper > null else (values < null).all()
    return OTHER_SIZE if same_side else DISAGREES


def sign_verdict(diffs: pd.Series, expected: str) -> str:
    """`expected` is 'above', 'below' or 'equal' (to 0), judged on the 95% t-interval of the paired differences."""
    if len(diffs) < 2:
        return "no data" if diffs.empty else UNRESOLVED
    mean, low, high = _interval(diffs)
    if expected == "equal":
        if abs(mean) <= FIGURE_TOLERANCE_PP / 100:
            return AGREES
        return UNRESOLVED if low <= 0 <= high else DISAGREES
    sign = 1 if expected == "above" else -1
    if sign * low > 0 and sign * high > 0:
        return AGREES
    return UNRESOLVED if low <= 0 <= high else DISAGREES


def level_verdict(ours: int | None, paper_level: int) -> str:
    if ours is None:  # never below dense at any stored level
        return DISAGREES
    return AGREES if abs(ours - paper_level) <= 1 else DISAGREES


def percent_remaining(summary: pd.DataFrame, level: int) -> float:
    return float(100 * summary.loc[summary["level"] == level, "density"].mean())


def fall_back_level(summary: pd.DataFrame, dense: float) -> int | None:
    """The first level sparser than the arm's most accurate one (level >= 1) whose mean test accuracy at early stop
    is below `dense`, the dense network's mean; None if no stored level is."""
    means = summary[summary["level"] >= 1].groupby("level")["test_acc_at_early_stop"].mean()
    if means.empty:
        return None
    below = [l for l, m in means.items() if l > means.idxmax() and m < dense]
    return min(below) if below else None


def _where(summary: pd.DataFrame, level: int | None) -> str:
    if level is None:
        sparsest = int(summary["level"].max())
        return f"never, down to {percent_remaining(summary, sparsest):.1f}% (level {sparsest})"
    return f"{percent_remaining(summary, level):.1f}% (level {level})"


def _row(claim: str, paper: str, ours: str, verdict: str, source: str = "paper") -> dict:
    return {"claim": claim, "source": source, "paper": paper, "ours": ours, "verdict": verdict}


def side_by_side(ticket: pd.DataFrame, reinit: pd.DataFrame, random_prune: pd.DataFrame,
                 one_shot: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """The side-by-side table (see the module docstring for the rules); rows for levels not stored are left out."""
    acc, es = "test_acc_at_early_stop", "early_stop_iteration"
    stored = set(ticket["level"])
    dense = _by_trial(ticket, 0, acc)
    dense_es = _by_trial(ticket, 0, es)
    rows = [_row("dense test accuracy at early stop (%)", "≈98 (read off the figures)",
                 _range(100 * dense, "{:.2f}"),
                 AGREES if abs(100 * dense.mean() - 98) <= FIGURE_TOLERANCE_PP else DISAGREES)]
    expectations = {3: ("above", "above dense"), 7: ("above", "above dense"),
                    9: ("above", "more than +0.3 pp above dense"), 12: ("above", "above dense"),
                    15: ("equal", "back to dense"), 18: ("below", "below dense (past the fall-back)")}
    for level, (expected, paper) in expectations.items():
        if level not in stored:
            continue
        ours = _by_trial(ticket, level, acc)
        diffs = _paired(ours, dense)
        verdict = sign_verdict(diffs, expected)
        if level == 9 and verdict == AGREES and diffs.mean() <= 0.003:
            verdict = OTHER_SIZE
        rows.append(_row(f"ticket at {PAPER_LEVELS[level]}% remaining: test accuracy (%), and minus dense",
                         paper, f"{_range(100 * ours, '{:.2f}')}; {_diff_text(diffs)}", verdict))
    if 7 in stored:
        ratio = (_by_trial(ticket, 7, es) / dense_es).dropna()
        rows.append(_row("early-stop iteration at 21.1% remaining / dense's", "0.62 (38% earlier)",
                         _range(ratio, "{:.2f}"), number_verdict(ratio, 0.62, 1.0)))
    if max(stored) >= 16:
        ours_level = fall_back_level(ticket, dense.mean())
        where = _where(ticket, ours_level)
        rows.append(_row("tickets fall back below dense accuracy at (% remaining)", "≈3.6% (level 15)",
                         where, level_verdict(ours_level, 15)))
    if 7 in set(reinit["level"]):
        gap = _paired(_by_trial(ticket, 7, acc), _by_trial(reinit, 7, acc))
        rows.append(_row("ticket minus reinitialised at 21.1% remaining (pp)", "≈+0.5", _diff_text(gap),
                         number_verdict(100 * gap, 0.5, 0.0)))
        speed = (_by_trial(reinit, 7, es) / _by_trial(ticket, 7, es)).dropna()
        rows.append(_row("reinitialised early-stop iteration / ticket's at 21.1% remaining", "≈2.5x",
                         _range(speed, "{:.2f}x"), number_verdict(speed, 2.5, 1.0)))
    if len(set(reinit["level"])) >= 10:
        ours_level = fall_back_level(reinit, dense.mean())
        where = _where(reinit, ours_level)
        rows.append(_row("reinitialised networks start losing accuracy at (% remaining)", "21.1% (level 7)", where,
                         level_verdict(ours_level, 7)))
    for level in (3, 7):
        if level in one_shot and level in stored:
            one = _by_trial(one_shot[level], 1, es)
            rows.append(_row(f"one-shot to {PAPER_LEVELS[level]}% remaining: early-stop iteration / dense's",
                             "< 1 (earlier, for 67.5% >= Pm >= 17.6%)", _range((one / dense_es).dropna(), "{:.2f}"),
                             sign_verdict(_paired(one, dense_es), "below")))
    for level in (12, 15):
        if level in one_shot and level in stored:
            diffs = _paired(_by_trial(ticket, level, acc), _by_trial(one_shot[level], 1, acc))
            rows.append(_row(f"iterative minus one-shot at {PAPER_LEVELS[level]}% remaining (pp)",
                             "> 0 (iterative finds smaller tickets)", _diff_text(diffs), sign_verdict(diffs, "above")))
    rows += es667_rows(ticket, reinit, dense)
    return pd.DataFrame(rows)


def es667_rows(ticket: pd.DataFrame, reinit: pd.DataFrame, dense: pd.Series) -> list[dict]:
    """The course proposal's claims: tickets within 2 pp of dense at 80-90% sparsity; tickets beat reinit by 10-15 pp."""
    acc = "test_acc_at_early_stop"
    rows = []
    band = [l for l in sorted(set(ticket["level"])) if 10 <= percent_remaining(ticket, l) <= 20]
    if band:
        worst = min((_paired(_by_trial(ticket, l, acc), dense) for l in band), key=lambda d: d.mean())
        lowest = min(float(_paired(_by_trial(ticket, l, acc), dense).min()) for l in band)
        means = [100 * _paired(_by_trial(ticket, l, acc), dense).mean() for l in band]
        span = ", ".join(f"{percent_remaining(ticket, l):.1f}%" for l in band)
        rows.append(_row("tickets at 80-90% sparsity within 2 pp of dense", "within 2 pp",
                         f"at {span} remaining: mean {min(means):+.2f} to {max(means):+.2f} pp; worst trial "
                         f"{100 * lowest:+.2f} pp", AGREES if (worst.mean() >= -0.02) else DISAGREES, "ES667"))
    levels = sorted(set(reinit["level"]) & set(ticket["level"]))
    if levels:
        gaps = {l: 100 * _paired(_by_trial(ticket, l, acc), _by_trial(reinit, l, acc)).mean() for l in levels}
        best = max(gaps, key=gaps.get)
        in_band = [l for l, g in gaps.items() if 10 <= g <= 15]
        rows.append(_row("tickets beat reinitialised networks by 10-15 pp", "10 to 15 pp",
                         f"largest mean gap {gaps[best]:+.2f} pp (at {percent_remaining(ticket, best):.1f}% "
                         f"remaining); {len(in_band)} of {len(levels)} levels in 10-15 pp",
                         AGREES if in_band else DISAGREES, "ES667"))
    return rows


def markdown(table: pd.DataFrame) -> str:
    """The table as GitHub markdown (no index), for the README and the notebook."""
    header = "| claim | source | paper | ours: mean [min, max] over trials | verdict |"
    lines = [header, "|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.claim} | {r.source} | {r.paper} | {r.ours} | {r.verdict} |")
    return "\n".join(lines)


def trials_note(*summaries: pd.DataFrame) -> str:
    """How many trials and levels the table rests on (it may be computed while a run is still going)."""
    trials = sorted({int(s["trial"].nunique()) for s in summaries if not s.empty})
    levels = sum(len(s) for s in summaries)
    return f"{levels} trained levels; trials per arm: {', '.join(map(str, trials)) or 'none'}"



def gather(cfg, settings: dict, read) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[int, pd.DataFrame]]:
    """The inputs of `side_by_side` for notebook 03's runs of `cfg`, each read with `read(config) -> summary` (the
    engine, or portable.stored_summary for committed results)."""
    arms = {arm: read(c) for arm, c in plan.controls(cfg).items()}
    draws = [read(d) for d in plan.reinit_draws(cfg, settings)]
    stored = [s for s in [arms["reinit"], *draws] if not s.empty]
    reinit = analysis.mean_over_draws(stored) if stored else arms["reinit"]
    one_shot = {level: read(c) for level, c in plan.one_shot_matched(cfg).items()}
    return arms["ticket"], reinit, arms["random_prune"], {l: s for l, s in one_shot.items() if not s.empty}


START, END = "<!-- side-by-side: start -->", "<!-- side-by-side: end -->"


def splice(text: str, block: str, start: str = START, end: str = END) -> str:
    """`text` with what lies between the `start` and `end` markers replaced by `block`."""
    if start not in text or end not in text:
        raise ValueError(f"the README has no {start} ... {end} block to fill")
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{block}\n{end}{rest.split(end, 1)[1]}"

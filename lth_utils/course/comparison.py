"""The paper's claims next to ours: one row per claim in shared/docs/paper.md (the ES667 proposal's two claims, and
source 000's two on pruning a regression MLP, notebook 06's),
each with the paper's value, ours as mean [min, max] over trials, and a verdict computed by a stated rule.

    table = side_by_side(ticket, reinit, random_prune, one_shot)   # summaries as engine.run returns them
    print(markdown(table))

Inputs are per-(trial, level) summaries: `ticket` (level 0 is the dense network), `reinit` (the mean over a trial's
reinitialisation draws, analysis.mean_over_draws), `random_prune`, and `one_shot` {IMP level: one-shot summary whose
level 1 matches that IMP level's per-layer densities} (imp_runs.one_shot_matched). Differences are paired by trial.

Verdict rules (the same for every row of a kind), all on 95% t-intervals over trials (paired by trial where two arms
are compared), so that more trials sharpen a verdict instead of loosening it:
- a number the paper states (38% earlier, 2.5x, +0.5 pp): "not resolved" when our interval of the mean holds no
  effect; "consistent" when it holds the paper's number; "same direction, other size" when it lies on the paper's
  side of no effect but misses the number; otherwise "disagrees". The paper's number is itself one noisy estimate;
- "above / below dense": "agrees" when the interval excludes 0 on the paper's side, "not resolved" when it holds 0,
  "disagrees" when it excludes 0 on the other side;
- "more than x above dense" (the paper's +0.3 pp at 13.5% remaining, `threshold_verdict`): judged as "above dense",
  and where that agrees, "agrees" only when the interval lies above x, "consistent" when it holds x, "same direction,
  other size" when it lies between 0 and x;
- "about equal to dense": "agrees" when the 90% interval of the paired differences lies within +-0.3 pp (equivalence
  by two one-sided tests at 5%), "not resolved" when it does not but the 95% interval holds 0, "disagrees" otherwise;
- the dense accuracy the paper's figures show (about 98%): "agrees" when the 95% interval of our mean meets 98 +- 0.3;
- where an arm falls below dense for good (tickets' fall-back, reinit's onset): the first level from which every
  sparser stored level's paired interval lies below 0 (`onset_level`); "agrees" within one pruning level (a factor
  1/0.8 in density) of the paper's, "not resolved" when our interval at the paper's level holds 0, else "disagrees";
- source 000's regression claims (test loss, lower is better, paired by seed: double_descent.imp_verdict): pruning
  to ~40-50% of the weights improves generalisation ("agrees" where the best round in that band lies below dense,
  "disagrees" where it lies above, else "not resolved"); no loss until ~70% of the weights are pruned ("disagrees"
  where a round with at least 30% remaining lies above dense, else "consistent");
- claims this reproduction did not run (the paper's Conv-2/4/6 on CIFAR-10) are rows with the verdict "not run".
Several rows are tested at 95% each, so about one in twenty intervals excludes 0 by chance alone (`multiplicity`).
The paper's dense accuracy is read off its figures (about 98%), to about 0.3 pp.
"""
from __future__ import annotations

import math

import pandas as pd
from ..results import analysis
from ..experiments import double_descent, imp_runs

AGREES, OTHER_SIZE, UNRESOLVED, DISAGREES = "agrees", "same direction, other size", "not resolved", "disagrees"
CONSISTENT, NOT_RUN = "consistent", "not run"
# IMP levels at the densities the paper reports (20% per level, output layer 10%): % remaining.
PAPER_LEVELS = {3: 51.3, 7: 21.1, 9: 13.5, 12: 7.0, 15: 3.6, 18: 1.9}
FIGURE_TOLERANCE_PP = 0.3
PAPER_MARGIN_AT_13_5_PP = 0.3  # the paper: tickets at 13.5% remaining more than +0.3 pp above dense


def _by_trial(summary: pd.DataFrame, level: int, metric: str) -> pd.Series:
    rows = summary[summary["level"] == level]
    return rows.set_index("trial")[metric].astype(float)


def _paired(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).dropna()


def _interval(values: pd.Series, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): analysis.mean_interval's t-interval, the one interval formula of the package."""
    m = analysis.mean_interval(values, confidence)
    return m["mean"], m["ci_low"], m["ci_high"]


def _range(values: pd.Series, fmt: str) -> str:
    return f"{fmt.format(values.mean())} [{fmt.format(values.min())}, {fmt.format(values.max())}]"


def _diff_text(values: pd.Series) -> str:
    mean, low, high = _interval(100 * values)
    ci = f"; 95% CI [{low:+.2f}, {high:+.2f}], n={len(values)}" if not math.isnan(low) else f"; n={len(values)}"
    return f"{_range(100 * values, '{:+.2f}')} pp{ci}"


def number_verdict(values: pd.Series, paper: float, null: float) -> str:
    """The paper states `paper`; `null` is no effect. Judged on the 95% t-interval of our mean over trials: not
    resolved if it holds `null`; consistent if it holds `paper`; the same direction if it lies on `paper`'s side of
    `null`; else disagrees."""
    if len(values) < 2:
        return "no data" if values.empty else UNRESOLVED
    _, low, high = _interval(values)
    if low <= null <= high:
        return UNRESOLVED
    if low <= paper <= high:
        return CONSISTENT
    return OTHER_SIZE if ((low > null) if paper > null else (high < null)) else DISAGREES


def _ratio_text(values: pd.Series, fmt: str) -> str:
    """mean [min, max] and the 95% t-interval of the mean, as the number verdicts judge it."""
    mean, low, high = _interval(values)
    ci = f"; 95% CI [{fmt.format(low)}, {fmt.format(high)}], n={len(values)}" if not math.isnan(low) else ""
    return _range(values, fmt) + ci


def sign_verdict(diffs: pd.Series, expected: str) -> str:
    """`expected` is 'above', 'below' or 'equal' (to 0 within FIGURE_TOLERANCE_PP), judged on the 95% t-interval of
    the paired differences (and, for 'equal', the 90% interval: an equivalence test)."""
    if len(diffs) < 2:
        return "no data" if diffs.empty else UNRESOLVED
    mean, low, high = _interval(diffs)
    if expected == "equal":  # equivalence within the figures' reading tolerance: agrees when the 90% interval lies
        # inside it (two one-sided tests at 5%), disagrees only when the 95% interval lies wholly outside it (an
        # interval that excludes 0 but reaches into the tolerance shows neither)
        tolerance = FIGURE_TOLERANCE_PP / 100
        _, low90, high90 = _interval(diffs, 0.90)
        if -tolerance <= low90 and high90 <= tolerance:
            return AGREES
        return DISAGREES if low > tolerance or high < -tolerance else UNRESOLVED
    sign = 1 if expected == "above" else -1
    if sign * low > 0 and sign * high > 0:
        return AGREES
    return UNRESOLVED if low <= 0 <= high else DISAGREES


def threshold_verdict(diffs: pd.Series, threshold: float) -> str:
    """A claim that the paired differences lie more than `threshold` (> 0) above 0: sign_verdict's 'above' where it
    does not agree; where it does, agrees only when the 95% interval lies above `threshold`, consistent when it
    holds it, the same direction (other size) when it lies between 0 and `threshold`."""
    verdict = sign_verdict(diffs, "above")
    if verdict != AGREES:
        return verdict
    _, low, high = _interval(diffs)
    return AGREES if low > threshold else OTHER_SIZE if high < threshold else CONSISTENT


def paired_intervals(arm: pd.DataFrame, reference: pd.Series, metric: str = "test_acc_at_early_stop",
                     ) -> dict[int, tuple[float, float, float]]:
    """{level >= 1: (mean, low, high)} of `arm` minus `reference` (per trial), the 95% t-interval of the pairs."""
    levels = sorted(int(l) for l in set(arm["level"]) if l >= 1)
    return {l: _interval(_paired(_by_trial(arm, l, metric), reference)) for l in levels}


def onset_level(intervals: dict[int, tuple[float, float, float]]) -> int | None:
    """The first level from which every stored level's paired interval lies below 0 (the arm is below dense for
    good); None if the sparsest level's does not."""
    onset = None
    for level in sorted(intervals, reverse=True):
        if not intervals[level][2] < 0:
            break
        onset = level
    return onset


def onset_verdict(intervals: dict[int, tuple[float, float, float]], paper_level: int) -> str:
    """Agrees if our onset is within one level of the paper's; not resolved if our interval at the paper's level
    holds 0 (too uncertain to place it there or not); disagrees otherwise."""
    ours = onset_level(intervals)
    if ours is not None and abs(ours - paper_level) <= 1:
        return AGREES
    at_paper = intervals.get(paper_level)
    if at_paper is None or math.isnan(at_paper[1]):
        return "no data"
    return UNRESOLVED if at_paper[1] <= 0 <= at_paper[2] else DISAGREES


def _onset_text(arm: pd.DataFrame, intervals: dict, paper_level: int) -> str:
    ours = onset_level(intervals)
    above = sum(m > 0 for m, _, _ in intervals.values())
    mean, low, high = intervals.get(paper_level, (float("nan"),) * 3)
    where = (f"{percent_remaining(arm, ours):.1f}% (level {ours}), the first level from which the paired CI stays "
             f"below 0" if ours is not None else
             f"never: the paired CI does not stay below 0 down to {percent_remaining(arm, max(intervals)):.1f}%")
    return (f"{where}; at {percent_remaining(arm, paper_level):.1f}%: {100 * mean:+.2f} pp, 95% CI "
            f"[{100 * low:+.2f}, {100 * high:+.2f}]; mean above dense at {above} of {len(intervals)} levels")


def percent_remaining(summary: pd.DataFrame, level: int) -> float:
    return float(100 * summary.loc[summary["level"] == level, "density"].mean())


def _row(claim: str, paper: str, ours: str, verdict: str, source: str = "paper") -> dict:
    return {"claim": claim, "source": source, "paper": paper, "ours": ours, "verdict": verdict}


def side_by_side(ticket: pd.DataFrame, reinit: pd.DataFrame, random_prune: pd.DataFrame,
                 one_shot: dict[int, pd.DataFrame], regression: pd.DataFrame | None = None) -> pd.DataFrame:
    """The side-by-side table (see the module docstring for the rules); rows for levels not stored are left out, and
    source 000's rows where `regression` (notebook 06's IMP rows, double_descent.regression_imp_trials') is given."""
    dense = _by_trial(ticket, 0, "test_acc_at_early_stop")
    dense_es = _by_trial(ticket, 0, "early_stop_iteration")
    rows = (_ticket_rows(ticket, dense) + _reinit_rows(ticket, reinit, dense)
            + _one_shot_rows(ticket, one_shot, dense, dense_es) + es667_rows(ticket, reinit)
            + regression_rows(regression) + not_run_rows())
    return pd.DataFrame(rows)


def dense_verdict(dense: pd.Series, paper: float = 98.0) -> str:
    """The dense network's test accuracy at early stop (one value per trial, a fraction) against the paper's figure,
    read off to FIGURE_TOLERANCE_PP: agrees when the 95% interval of our mean meets paper +- that tolerance."""
    _, low, high = _interval(100 * dense)
    if math.isnan(low):
        return "no data" if dense.empty else UNRESOLVED
    return AGREES if low <= paper + FIGURE_TOLERANCE_PP and high >= paper - FIGURE_TOLERANCE_PP else DISAGREES


def _ticket_rows(ticket: pd.DataFrame, dense: pd.Series) -> list[dict]:
    """Dense accuracy, the ticket against dense at the paper's densities, its early stop at 21.1% and where it
    falls below dense for good."""
    stored = set(ticket["level"])
    rows = [_row("dense test accuracy at early stop (%)", "≈98 (read off the figures)",
                 _ratio_text(100 * dense, "{:.2f}"), dense_verdict(dense))]
    for level in TICKET_CLAIMS:
        if level in stored:
            claim = ticket_claim(ticket, level)
            rows.append(_row(f"ticket at {PAPER_LEVELS[level]}% remaining: test accuracy (%), and minus dense",
                             claim["paper"], claim["text"], claim["verdict"]))
    if 7 in stored:
        claim = early_stop_claim(ticket)
        rows.append(_row("early-stop iteration at 21.1% remaining / dense's (argmin of validation loss, the paper's "
                         "measure too)", "0.62 (38% earlier)", claim["text"], claim["verdict"]))
    if max(stored) >= 16:
        cis = paired_intervals(ticket, dense)
        rows.append(_row("tickets fall below dense accuracy for good at (% remaining)", "≈3.6% (level 15)",
                         _onset_text(ticket, cis, 15), onset_verdict(cis, 15)))
    return rows


# The paper's claims on the ticket's accuracy against dense, by IMP level: (expected side of 0, the paper's words).
TICKET_CLAIMS = {3: ("above", "above dense"), 7: ("above", "above dense"),
                 9: ("above", "more than +0.3 pp above dense"), 12: ("above", "above dense"),
                 15: ("equal", "back to dense"), 18: ("below", "below dense (past the fall-back)")}


def ticket_claim(ticket: pd.DataFrame, claim: int, level: int | None = None) -> dict:
    """The paper's claim on the ticket's test accuracy against its trial's dense network at IMP level `claim` (a key
    of TICKET_CLAIMS), judged on the ticket at `level` (default: `claim`; a shorter run reads its nearest level),
    paired by trial: sign_verdict on the expected side (threshold_verdict for the +0.3 pp at 13.5%).
    {"diffs": per trial, "paper": the paper's words, "text": accuracy and difference as the table shows them,
    "verdict"} (notebook 02 and the README's table call this one function)."""
    acc = "test_acc_at_early_stop"
    expected, paper = TICKET_CLAIMS[claim]
    ours = _by_trial(ticket, claim if level is None else level, acc)
    diffs = _paired(ours, _by_trial(ticket, 0, acc))
    verdict = (threshold_verdict(diffs, PAPER_MARGIN_AT_13_5_PP / 100) if claim == 9
               else sign_verdict(diffs, expected))
    return {"diffs": diffs, "paper": paper, "text": f"{_range(100 * ours, '{:.2f}')}; {_diff_text(diffs)}",
            "verdict": verdict}


def early_stop_claim(ticket: pd.DataFrame, level: int = 7) -> dict:
    """The paper's claim that tickets at 21.1% remaining (IMP level 7) reach their early-stopping iteration at 0.62x
    dense's (38% earlier): each trial's ratio to its own dense network's, judged by number_verdict against 0.62 (no
    effect: 1). {"ratios": per trial, "text": mean [min, max] and the 95% interval, "verdict"} (notebook 02 and the
    README's table call this one function)."""
    es = "early_stop_iteration"
    ratios = (_by_trial(ticket, level, es) / _by_trial(ticket, 0, es)).dropna()
    return {"ratios": ratios, "text": _ratio_text(ratios, "{:.2f}"), "verdict": number_verdict(ratios, 0.62, 1.0)}


def _reinit_rows(ticket: pd.DataFrame, reinit: pd.DataFrame, dense: pd.Series) -> list[dict]:
    """The ticket against the reinitialised control at 21.1% (accuracy and early stop), and where reinitialised
    networks fall below dense for good."""
    acc, es = "test_acc_at_early_stop", "early_stop_iteration"
    rows = []
    if 7 in set(reinit["level"]):
        gap = _paired(_by_trial(ticket, 7, acc), _by_trial(reinit, 7, acc))
        rows.append(_row("ticket minus reinitialised at 21.1% remaining (pp)", "≈+0.5", _diff_text(gap),
                         number_verdict(100 * gap, 0.5, 0.0)))
        speed = (_by_trial(reinit, 7, es) / _by_trial(ticket, 7, es)).dropna()
        rows.append(_row("reinitialised early-stop iteration / ticket's at 21.1% remaining", "≈2.5x",
                         _ratio_text(speed, "{:.2f}x"), number_verdict(speed, 2.5, 1.0)))
    claim, paper = "reinitialised networks fall below dense accuracy for good at (% remaining)", "21.1% (level 7)"
    if len(set(reinit["level"])) >= 10:
        cis = paired_intervals(reinit, dense)
        rows.append(_row(claim, paper, _onset_text(reinit, cis, 7), onset_verdict(cis, 7)))
    else:  # an onset "for good" needs levels well past 21.1%: say so rather than leave the row out
        rows.append(_row(claim, paper, f"not computed: the control is stored at {reinit['level'].nunique()} "
                         "levels (10 needed)", NOT_RUN))
    return rows


def _one_shot_rows(ticket: pd.DataFrame, one_shot: dict[int, pd.DataFrame], dense: pd.Series,
                   dense_es: pd.Series) -> list[dict]:
    """One-shot pruning: its early stop against dense's, its accuracy against dense, and iterative minus one-shot."""
    acc = "test_acc_at_early_stop"
    stored, rows = set(ticket["level"]), []
    for level in (3, 7):
        if level in one_shot and level in stored:
            claim = one_shot_speed_claim(one_shot[level], dense_es)
            rows.append(_row(f"one-shot to {PAPER_LEVELS[level]}% remaining: early-stop iteration / dense's",
                             "< 1 (earlier, for 67.5% >= Pm >= 17.6%)", claim["text"], claim["verdict"]))
    if one_shot:
        rows.append(one_shot_accuracy_row(one_shot, dense))
    for level in (12, 15):
        if level in one_shot and level in stored:
            diffs = _paired(_by_trial(ticket, level, acc), _by_trial(one_shot[level], 1, acc))
            rows.append(_row(f"iterative minus one-shot at {PAPER_LEVELS[level]}% remaining (pp)",
                             "> 0 (iterative finds smaller tickets)", _diff_text(diffs), sign_verdict(diffs, "above")))
    return rows


def one_shot_speed_claim(one_shot: pd.DataFrame, dense_es: pd.Series) -> dict:
    """The paper's claim that one-shot tickets, too, stop early before dense (ratio < 1, for 67.5% >= Pm >= 17.6%):
    each trial's one-shot ticket (`one_shot`'s level 1) early-stopping iteration over its trial's dense network's
    (`dense_es`, by trial), judged on the 95% interval of the mean ratio: agrees below 1, disagrees above, otherwise
    not resolved. {"ratios": per trial, "interval": analysis.mean_interval's dict, "text", "verdict"} (notebook 03
    and the README's table call this one function)."""
    ratios = (_by_trial(one_shot, 1, "early_stop_iteration") / dense_es).dropna()
    return {"ratios": ratios, "interval": analysis.mean_interval(ratios), "text": _ratio_text(ratios, "{:.2f}"),
            "verdict": sign_verdict(ratios - 1, "below")}


def one_shot_claim(diffs: dict[float, pd.Series]) -> dict:
    """The paper's claim that one-shot tickets reach at least dense accuracy for roughly 95% >= Pm >= 5%: `diffs`
    {% remaining: one-shot ticket minus its trial's dense test accuracy at early stop, one value per trial}; the
    densities outside that range are left out. {"intervals": {% remaining: (mean, low, high)}, "above", "below": the
    densities whose paired 95% interval lies above / below 0, "verdict": agrees when every interval lies above 0,
    disagrees when one lies below, otherwise not resolved, "text": each interval in pp and the count above} (notebook
    01 calls it on its rates, the README's table on notebook 03's matched one-shot runs)."""
    cis = {pct: _interval(d) for pct, d in sorted(diffs.items(), reverse=True) if 5 <= pct <= 95}
    above = [pct for pct, (_, low, _) in cis.items() if low > 0]
    below = [pct for pct, (_, _, high) in cis.items() if high < 0]
    verdict = AGREES if cis and len(above) == len(cis) else DISAGREES if below else UNRESOLVED
    text = "; ".join(f"{pct:.1f}%: {100 * m:+.2f} " + (f"[{100 * lo:+.2f}, {100 * hi:+.2f}]" if not math.isnan(lo)
                                                         else "(one trial: no interval)")
                     for pct, (m, lo, hi) in cis.items())
    return {"intervals": cis, "above": above, "below": below, "verdict": verdict,
            "text": f"{text}; above at {len(above)} of {len(cis)}"}


def one_shot_accuracy_row(one_shot: dict[int, pd.DataFrame], dense: pd.Series) -> dict:
    """one_shot_claim on the one-shot runs matched to IMP levels (their density: the paper's at that level)."""
    acc = "test_acc_at_early_stop"
    claim = one_shot_claim({PAPER_LEVELS.get(l, 100.0): _paired(_by_trial(s, 1, acc), dense)
                            for l, s in one_shot.items()})
    return _row("one-shot ticket minus dense: test accuracy (pp, paired 95% CI)", "above dense (roughly 95% >= Pm >= "
                "5%)", claim["text"], claim["verdict"])


# The paper's claims this reproduction has not run, and why: each a row, so that the table states its scope.
NOT_RUN_CLAIMS = [
    ("Conv-2/4/6 on CIFAR-10 (the paper's second table)", "early stopping up to 3.5x faster; +3.3-3.5 pp at 5-26% "
     "remaining; reinitialisation degrades sooner",
     "not run: CIFAR-10 cannot be fetched on the project's machines (only package registries are reachable); "
     "data.py reads it where a user provides it, and the CLI builds Conv-2/4/6 with the paper's rates"),
]


def not_run_rows() -> list[dict]:
    return [_row(claim, paper, why, NOT_RUN) for claim, paper, why in NOT_RUN_CLAIMS]


def multiplicity(table: pd.DataFrame) -> str:
    """How many of the table's interval verdicts chance alone would resolve, for the sentence under the table."""
    tested = int(table["verdict"].isin([AGREES, CONSISTENT, OTHER_SIZE, UNRESOLVED, DISAGREES]).sum())
    return (f"{tested} rows are judged on 95% intervals, so about {tested / 20:.1f} of them could exclude "
            f"no effect by chance alone (no correction for multiple comparisons is applied).")


def es667_within_2pp(ticket: pd.DataFrame) -> dict | None:
    """The course proposal's first claim, tickets at 80-90% sparsity (10-20% remaining) within 2 pp of dense, on the
    paired intervals: agrees if every level's interval lies above -2 pp, disagrees if one lies below, else not
    resolved. None if no stored level is in the band."""
    acc = "test_acc_at_early_stop"
    dense = _by_trial(ticket, 0, acc)
    band = [l for l in sorted(set(ticket["level"])) if 10 <= percent_remaining(ticket, l) <= 20]
    if not band:
        return None
    diffs = {l: 100 * _paired(_by_trial(ticket, l, acc), dense) for l in band}
    cis = {l: _interval(d) for l, d in diffs.items()}
    lowest = min(float(d.min()) for d in diffs.values())
    verdict = AGREES if all(low >= -2 for _, low, _ in cis.values()) else \
        DISAGREES if any(high < -2 for _, _, high in cis.values()) else UNRESOLVED
    ours = "; ".join(f"{percent_remaining(ticket, l):.1f}%: {m:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                     for l, (m, lo, hi) in cis.items())
    return _row("tickets at 80-90% sparsity within 2 pp of dense", "within 2 pp",
                f"{ours} pp (paired 95% CI); worst single trial {lowest:+.2f} pp", verdict, "ES667")


def reinit_worse_claim(ticket_minus_reinit: pd.DataFrame, below: float = 10.0) -> dict | None:
    """The claim that random reinitialisation is clearly worse at high sparsity: paired_difference rows of the ticket
    minus reinit (accuracy), at the levels with less than `below` % remaining. "holds" where every interval lies above
    0, "holds only in part" where some do, "is not supported" where none does. {"verdict", "clear": the rows above 0,
    "rows": the rows judged}; None if no level is that sparse."""
    rows = ticket_minus_reinit[ticket_minus_reinit["percent_remaining"] < below]
    if rows.empty:
        return None
    clear = rows[rows["ci_low"] > 0]
    verdict = "holds" if len(clear) == len(rows) else "holds only in part" if len(clear) else "is not supported"
    return {"verdict": verdict, "clear": clear, "rows": rows}


def es667_reinit_gap(ticket: pd.DataFrame, reinit: pd.DataFrame) -> dict | None:
    """The course proposal's second claim, tickets beat reinitialised networks by 10-15 pp: consistent if some
    level's paired interval reaches into 10-15 pp, disagrees otherwise. None without common levels."""
    acc = "test_acc_at_early_stop"
    levels = sorted(set(reinit["level"]) & set(ticket["level"]) - {0})
    if not levels:
        return None
    cis = {l: _interval(100 * _paired(_by_trial(ticket, l, acc), _by_trial(reinit, l, acc))) for l in levels}
    best = max(cis, key=lambda l: cis[l][0])
    reaching = [l for l, (_, low, high) in cis.items() if high >= 10 and low <= 15]
    m, lo, hi = cis[best]
    return _row("tickets beat reinitialised networks by 10-15 pp", "10 to 15 pp",
                f"largest mean gap {m:+.2f} pp, 95% CI [{lo:+.2f}, {hi:+.2f}] (at {percent_remaining(ticket, best):.1f}% "
                f"remaining, the most favourable level, picked after looking); the interval reaches 10-15 pp at {len(reaching)} of {len(levels)} levels",
                CONSISTENT if reaching else DISAGREES, "ES667")


def es667_rows(ticket: pd.DataFrame, reinit: pd.DataFrame) -> list[dict]:
    """The course proposal's claims (shared/docs/sources.md): the rows of the table, and what notebook 03 prints."""
    return [r for r in (es667_within_2pp(ticket), es667_reinit_gap(ticket, reinit)) if r is not None]


def regression_rows(imp: pd.DataFrame | None) -> list[dict]:
    """Source 000's claims on IMP of a width-100 regression MLP (notebook 06's runs; the rules in the module
    docstring), from double_descent.imp_verdict on `imp` (regression_imp_trials' rows); none without runs."""
    if imp is None or imp.empty:
        return []
    v = double_descent.imp_verdict(imp)  # the band: double_descent.SOURCE_BAND, the source's 40-50%
    paired = v["paired"]

    def text(row) -> str:
        return (f"{row['percent_remaining']:.1f}%: "
                + analysis.format_interval(row, scale=1, unit="", spec="+.3f", show_n=True))
    rows = []
    best = v["band_best"]
    if best is not None:
        verdict = {"lower": AGREES, "higher": DISAGREES}.get(best["verdict"], UNRESOLVED)
        low, high = double_descent.SOURCE_BAND
        rows.append(_row(f"IMP on a regression MLP (width 100): test loss at {low:g}-{high:g}% of the weights "
                         "remaining, minus dense", "lower: pruning to ~40-50% of the weights improves generalisation",
                         f"the band's round with the lowest mean (picked after looking), {text(best)} (paired by seed)", verdict, "000"))
    kept = paired[paired["percent_remaining"] >= 30]
    worse = kept[kept["verdict"] == "higher"]
    first = (f"; the first, {text(worse.iloc[0])}" if len(worse) else "")
    rows.append(_row("IMP on a regression MLP (width 100): no loss until ~70% of the weights are pruned",
                     "no higher test loss down to ~30% remaining",
                     f"{len(worse)} of the {len(kept)} rounds down to {kept['percent_remaining'].min():.1f}% remaining "
                     f"lie above dense (higher test loss, paired by seed){first}; {int(worse['holm'].sum())} of them "
                     "survive Holm's correction over the rounds", DISAGREES if len(worse) else CONSISTENT, "000"))
    return rows


def markdown(table: pd.DataFrame) -> str:
    """The table as GitHub markdown (no index), for the README and the notebook."""
    header = "| claim | source | paper | ours: mean [min, max] over trials; 95% CI of the mean | verdict |"
    lines = [header, "|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.claim} | {r.source} | {r.paper} | {r.ours} | {r.verdict} |")
    return "\n".join(lines)


def trials_note(*summaries: pd.DataFrame) -> str:
    """How many trials and levels the table rests on (it may be computed while a run is still going)."""
    trials = sorted({int(s["trial"].nunique()) for s in summaries if not s.empty})
    levels = sum(len(s) for s in summaries)
    return f"{levels} trained levels; trials per arm: {', '.join(map(str, trials)) or 'none'}"


def gather(cfg, settings, read) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[int, pd.DataFrame]]:
    """The inputs of `side_by_side` for notebook 03's runs of `cfg`, each read with `read(config) -> summary` (the
    engine, or portable.stored_summary for committed results)."""
    arms = {arm: read(c) for arm, c in imp_runs.controls(cfg).items()}
    draws = [read(d) for d in imp_runs.reinit_draws(cfg, settings.controls)]
    stored = [s for s in [arms["reinit"], *draws] if not s.empty]
    reinit = analysis.mean_over_draws(stored) if stored else arms["reinit"]
    one_shot = {level: read(c) for level, c in imp_runs.one_shot_matched(cfg).items()}
    return arms["ticket"], reinit, arms["random_prune"], {l: s for l, s in one_shot.items() if not s.empty}


START, END = "<!-- side-by-side: start -->", "<!-- side-by-side: end -->"


def splice(text: str, block: str, start: str = START, end: str = END) -> str:
    """`text` with what lies between the `start` and `end` markers replaced by `block`."""
    if start not in text or end not in text:
        raise ValueError(f"the README has no {start} ... {end} block to fill")
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{block}\n{end}{rest.split(end, 1)[1]}"

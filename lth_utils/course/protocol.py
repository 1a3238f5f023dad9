"""Which protocol a notebook's numbers come from, and what it biases: the statement every handout prints under its
set-up cell, computed from the run's config and the committed paper-scale results, never typed.

    display(Markdown(protocol.statement(cfg, settings.profile, notebook="02")))

- `paper`: the paper's protocol (every level trained to the end, the early-stopping iteration the minimum of
  validation loss over the whole run). Nothing to warn about beyond the trials it rests on.
- `standard`: the paper's training stopped by patience. What that biases is measured, not asserted: the rule is
  replayed (`analysis.replay_patience`) on the committed paper-scale validation curves of the dense LeNet-300-100
  (notebook 02's level 0, the same initial weights as the standard run), which says how early it stops the dense
  reference and at what early-stopping iteration. The statement also counts how many of the notebook's paper-protocol
  levels are committed.
- `quick` and `smoke`: miniatures for rerunning and CI; their numbers are not findings (`miniature`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..results.analysis import replay_patience
from ..lottery.imp import IMPConfig, all_tasks
from ..experiments import PLANNED, notebook_runs
from ..results.portable import stored_curve, stored_tasks
from .profiles import NOTEBOOK_SETTINGS, imp_config

PAPER_STORE = Path(__file__).resolve().parents[2] / "results" / "paper" / "store"
MINIATURES = ("quick", "smoke")


def patience_replay(cfg: IMPConfig, store: str | Path = PAPER_STORE) -> list[dict]:
    """Per trial of the paper profile's dense LeNet-300-100 (level 0 of notebook 02's ticket run, committed in
    `store`): its early-stopping iteration over the full run (`full`), where `cfg`'s patience and cap would have
    stopped it (`stopped_at`) and at which early-stopping iteration (`early_stop`), with the test accuracy at both
    where the test curve is stored. Empty when the store does not hold those curves."""
    paper = imp_config("paper", seed=cfg.seed)
    rows = []
    for trial in range(paper.trials):
        curve = stored_curve(store, paper, trial, 0, "val")
        if curve is None:
            continue
        iterations, loss = curve
        stop, early, _ = replay_patience(iterations, loss, cfg.patience, cfg.iterations)
        full = int(iterations[np.argmin(loss)])
        row = {"trial": trial, "full": full, "stopped_at": stop, "early_stop": early}
        test = stored_curve(store, paper, trial, 0, "test", "accuracy")
        if test is not None and {full, early} <= set(test[0].tolist()):
            accuracy = dict(zip(test[0].tolist(), test[1].tolist()))
            row.update(full_test_acc=accuracy[full], early_stop_test_acc=accuracy[early])
        rows.append(row)
    return rows


def replay_sentence(replay: list[dict]) -> str:
    """`patience_replay`'s rows in words: how often and how early the rule stops the dense network, and where its
    early-stopping iteration and test accuracy go (means over trials)."""
    full = np.array([r["full"] for r in replay])
    early = np.array([r["early_stop"] for r in replay])
    text = (f"it stops the dense network before its full-run minimum in {int((early != full).sum())} of {len(replay)} "
            f"trials, after {np.mean([r['stopped_at'] for r in replay]):,.0f} iterations on average, and its "
            f"early-stopping iteration falls from {full.mean():,.0f} to {early.mean():,.0f} (mean over trials)")
    if all("full_test_acc" in r for r in replay):
        text += (f", and its test accuracy there from {100 * np.mean([r['full_test_acc'] for r in replay]):.2f}% to "
                 f"{100 * np.mean([r['early_stop_test_acc'] for r in replay]):.2f}%")
    return text


def paper_levels_committed(notebook: str, store: str | Path = PAPER_STORE) -> tuple[int, int]:
    """(levels committed in `store`, levels planned) of notebook `notebook`'s paper-profile runs, with the levels
    they depend on (a dense level their own copy is made from: all_tasks, which a notebook's provenance projects
    too, so both count the same levels)."""
    runs = notebook_runs(notebook, imp_config("paper"), NOTEBOOK_SETTINGS["paper"])
    tasks = all_tasks(runs)
    planned = {(c.root.name, t, l) for c, t, l in tasks}
    configs = {c.root.name: c for c, _, _ in tasks}.values()
    stored = {(c.root.name, t, l) for c in configs for (t, l) in stored_tasks(store, c)}
    return len(planned & stored), len(planned)


def miniature(profile: str) -> str:
    """The line every conclusion of a miniature profile starts with; empty for `standard` and `paper`."""
    if profile not in MINIATURES:
        return ""
    return (f"**A miniature (`{profile}` profile): fewer iterations and trials than the handout, for rerunning. Its "
            f"numbers show the mechanics, not findings; the handout's are in the committed notebook.**\n\n")


def _setting(settings, key: str):
    """A profile's setting by its dotted name ("quickstart.steps"), a sequence as a list."""
    value = settings
    for name in key.split("."):
        value = getattr(value, name)
    return list(value) if isinstance(value, tuple) else value


def _own_experiment(profile: str, experiment: str, keys: tuple[str, ...]) -> str:
    """The note of a notebook whose experiment is its own (not IMP on the paper's protocol): what it ran, and the
    settings in which the `paper` profile would differ."""
    if profile in MINIATURES:
        return miniature(profile) + f"Protocol `{profile}`: {experiment}."
    if profile == "paper":
        return f"**Protocol: the `paper` profile's** (this notebook's longest): {experiment}."
    values = {p: {k: _setting(NOTEBOOK_SETTINGS[p], k) for k in keys} for p in (profile, "paper")}
    longer = [f"{k} {values[profile][k]} -> {values['paper'][k]}" for k in keys
              if values[profile][k] != values["paper"][k]]
    return (f"**Protocol: `{profile}`**: {experiment}. This experiment is the notebook's own, not one of the paper's "
            f"(no early stopping to bias it)" + (f"; the `paper` profile runs it larger ({'; '.join(longer)}), not "
                                                 f"run here." if longer else "."))


def statement(cfg: IMPConfig, profile: str, notebook: str | None = None, store: str | Path = PAPER_STORE,
              experiment: str | None = None, keys: tuple[str, ...] = ()) -> str:
    """The protocol note in markdown: what `profile` trains, and what it biases where it is not the paper's. A
    notebook with an experiment of its own (00, 06) describes it in `experiment` and names its settings in `keys`
    (dotted: "quickstart.steps")."""
    if experiment is not None:
        return _own_experiment(profile, experiment, keys)
    length = f"{cfg.iterations:,} iterations per level, evaluation every {cfg.eval_every}"
    if profile == "paper":
        return (f"**Protocol: the paper's** (`paper` profile). {cfg.trials} trials, {length}, no early-stopping "
                f"cut-off: every level trains to the end, its early-stopping iteration is the evaluation of minimum "
                f"validation loss over the whole run, and each mask is pruned from fully trained weights.")
    if profile in MINIATURES:
        return miniature(profile) + f"Protocol `{profile}`: {cfg.trials} trial(s), {length}."
    text = (f"**Protocol: `{profile}`, not the paper's.** {cfg.trials} trials, {length}, stopped "
            f"{cfg.patience} evaluations ({cfg.patience * cfg.eval_every:,} iterations) after the lowest validation "
            f"loss so far, at {cfg.iterations:,} at the latest; the paper trains every level for "
            f"{imp_config('paper').iterations:,} iterations.") if cfg.patience else \
        f"**Protocol: `{profile}`, not the paper's.** {cfg.trials} trials, {length}."
    replay = patience_replay(cfg, store) if cfg.patience else []
    if replay:
        text += (f"\n\n*What that biases*, measured by replaying this rule on the committed paper-scale validation "
                 f"curves of the dense LeNet-300-100 (the same initial weights): {replay_sentence(replay)}. So the "
                 f"dense reference is under-trained: ratios to dense's early-stopping iteration read too high, "
                 f"margins \"above dense\" too large, and every mask is pruned from weights trained about "
                 f"{np.mean([r['stopped_at'] for r in replay]):,.0f} iterations, not "
                 f"{imp_config('paper').iterations:,}. A run stopped by patience could have reached a later, lower "
                 f"minimum.")
    if notebook in PLANNED:
        done, planned = paper_levels_committed(notebook, store)
        text += (f"\n\nThis notebook's paper-protocol runs: {done} of {planned} levels trained and committed "
                 f"(`results/paper/store`)" + ("; this handout switches to them once all are." if done < planned
                                               else "; they are all there: `profile=\"paper\"` reads them."))
    return text


PROTOCOLS_START, PROTOCOLS_END = "<!-- handout protocols: start -->", "<!-- handout protocols: end -->"
OWN_EXPERIMENTS = {"00": "its own small CNN, final test accuracy (no early stopping)",
                   "06": "its own regression sweep, final losses (no early stopping)"}


def handouts_table(notebooks: list[str], store: str | Path = PAPER_STORE) -> str:
    """Markdown: per notebook (names NN_title), the protocol its handout is rendered in and how many of its
    paper-protocol levels are committed; for the README, where `python -m lth_utils protocols` writes it."""
    from .profiles import handout_profile
    lines = ["| notebook | handout rendered in | its paper-protocol levels committed |", "|---|---|---|"]
    for name in notebooks:
        number, profile = name[:2], handout_profile(name)
        shown = "`paper`: the paper's protocol" if profile == "paper" else \
            f"`{profile}`: patience 12, at most 15,000 iterations (biased, its protocol cell says how)"
        if number in OWN_EXPERIMENTS:
            shown, levels = f"`{profile}`: {OWN_EXPERIMENTS[number]}", "none planned"
        else:
            done, planned = paper_levels_committed(number, store)
            levels = f"{done} of {planned}" + (" (all)" if done == planned else "")
        lines.append(f"| `{name}` | {shown} | {levels} |")
    note = ("\n\nComputed by `python -m lth_utils protocols` from `profiles.HANDOUT_PROFILES` and `results/paper/store` "
            "(a level read by several notebooks counts in each).")
    replay = patience_replay(imp_config("standard"), store)
    if replay:
        note += (f" What `standard`'s patience does to the dense reference, replayed on the committed paper-scale "
                 f"dense curves (same initial weights): {replay_sentence(replay)}.")
    return "\n".join(lines) + note

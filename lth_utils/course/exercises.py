"""The notebooks' exercises as settings, and what running each one costs.

Each notebook ends with exercises; those that rerun the notebook with other parameters are listed here with the
parameters they set (the notebook's text names them as `name=value`, a test holds the two together). What an exercise
trains is planned exactly as the notebook plans it (experiments.REGISTRY's planner with the exercise's knobs), the
levels already in the run store are not counted, and the rest is projected at the time per iteration of the committed
runs (costs.per_iteration over results/*/store):

    table("02", "paper", "../results/paper/runs")   # one row per exercise: what it sets, levels to train, about how long

Only IMP levels are projected. Notebooks 00 and 06 train their own small models as they run, 08 its supermasks and
11 its landscapes: an exercise there costs about what the notebook's own execution took (its provenance cell).

The instructor key runs them: each exercise's settings executed with papermill (by default in the `quick` profile),
next to the notebook executed with its own settings in that profile, and the verdict lines that change
(results/verdicts.py, which compares machines the same way) written to build/key/<profile>/<notebook>.md:

    python -m lth_utils key --only 02 03          # make key: every notebook
"""
from __future__ import annotations

import inspect
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import experiments
from ..execution.costs import compact_records, per_iteration, projected
from ..foundations.config import ConfigError
from .notebook import IMP_PARAMETERS
from .profiles import NOTEBOOK_SETTINGS, handout_profile, imp_config, run_store

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
# What a planned notebook computes beside its IMP levels, not projected.
OWN_WORK = {"08": "; plus its supermasks", "11": "; plus its landscapes (about this execution's time)"}


@dataclass(frozen=True)
class Exercise:
    """Exercise `number` of a notebook: the parameter settings it asks to run, each a dict of the notebook's
    parameters (`profile` among them where the exercise names one; otherwise the handout's). No settings: it reads
    the notebook's own outputs, or asks for a change of code."""
    number: int
    runs: tuple[dict[str, Any], ...] = ()
    code: bool = False  # asks for a change of code, then a rerun


EXERCISES: dict[str, tuple[Exercise, ...]] = {
    "00": (Exercise(1, ({"rewind": 100}, {"rewind": "lr"})), Exercise(2, ({"scope": "layerwise"},)),
           Exercise(3, ({"target_sparsity": 0.98, "rounds": 10},)), Exercise(4, code=True)),
    "01": (Exercise(1, ({"trials": 3},)), Exercise(2), Exercise(3)),
    "02": (Exercise(1, ({"rate": 0.5, "levels": 6},)), Exercise(2, ({"trials": 1},)),
           Exercise(3, ({"iterations": 5000},))),
    "03": (Exercise(1, ({"trials": 3},)), Exercise(2), Exercise(3)),
    "04": (Exercise(1), Exercise(2, ({"profile": "quick", "rewind_points": [100]},)), Exercise(3)),
    "05": (Exercise(1, ({"trials": 3},)), Exercise(2), Exercise(3)),
    "06": (Exercise(1, ({"seed": 1},)), Exercise(2, ({"trials": 10},)), Exercise(3),
           Exercise(4, ({"widths": [8, 10, 12, 14, 16, 18, 20, 24, 32]},))),
    "07": (Exercise(1, ({"methods": ["snip"], "densities": [0.036]},)), Exercise(2), Exercise(3)),
    "08": (Exercise(1, ({"criteria": ["movement"], "trials": 3},)), Exercise(2), Exercise(3, code=True),
           Exercise(4, ({"profile": "quick", "sign_densities": [0.019]},))),
    "09": (Exercise(1, ({"profile": "quick", "conv_rate": 0.2},)), Exercise(2), Exercise(3)),
    "10": (Exercise(1), Exercise(2, ({"profile": "quick", "densities": [0.019]},)), Exercise(3), Exercise(4)),
    "11": (Exercise(1, ({"radius": 0.1}, {"radius": 1.0})), Exercise(2), Exercise(3, code=True),
           Exercise(4, code=True)),
}


def literal(name: str, value: Any) -> str:
    """`name=value` as a notebook's text writes it (strings in double quotes)."""
    return f"{name}={json.dumps(value) if isinstance(value, (str, list)) else repr(value)}"


def committed_rates() -> dict[str, float]:
    """{model: seconds per iteration} over every committed compact store (results/*/store), evaluation included."""
    return per_iteration([r for store in sorted(RESULTS.glob("*/store")) for r in compact_records(store)])


def planned(notebook: str, parameters: dict[str, Any], out: str | None = None) -> list:
    """The IMP configs notebook `notebook` trains or reads with `parameters` (its own names; `profile` among them,
    else the handout's), planned as the notebook plans them (experiments.notebook_runs with the knobs its planner
    takes); `out`: the run store."""
    parameters = dict(parameters)
    profile = parameters.pop("profile", handout_profile(notebook))
    knobs = set(inspect.signature(experiments.REGISTRY[notebook].runs).parameters) - {"cfg", "settings"}
    imp = {k: v for k, v in parameters.items() if k in IMP_PARAMETERS}
    cfg = imp_config(profile, **imp, **({"out": out} if out else {}))
    return experiments.notebook_runs(notebook, cfg, NOTEBOOK_SETTINGS[profile],
                                     **{k: v for k, v in parameters.items() if k in knobs})


def duration(seconds: float) -> str:
    """A rounded wall time: '40 s', '12 min', '3.4 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def table(notebook: str, profile: str, out: str | None = None, cores: int | None = None) -> pd.DataFrame:
    """One row per run an exercise of `notebook` asks for: what it sets, the profile, the IMP levels it would train
    beyond those in the run store `out` (the notebook's own; another profile's exercise uses that profile's store),
    and about how long they take on `cores` (default: this machine's) at the committed runs' time per iteration."""
    cores = cores or os.cpu_count() or 1
    rates = committed_rates()
    rows = []
    for exercise in EXERCISES[notebook]:
        for parameters in exercise.runs or ({},):
            run_profile = parameters.get("profile", profile)
            sets = ", ".join(literal(k, v) for k, v in parameters.items() if k != "profile")
            row = {"exercise": exercise.number, "sets": sets or ("(a change of code)" if exercise.code else "-"),
                   "profile": run_profile}
            if not (exercise.runs or exercise.code):
                row.update(levels="-", time="none: reads this execution's outputs")
            elif notebook not in experiments.PLANNED:
                row.update(levels="-", time="about as long as this notebook's own execution (provenance below)")
            else:
                try:
                    configs = planned(notebook, {**parameters, "profile": run_profile},
                                      out if run_profile == profile else str(ROOT / run_store(run_profile)))
                except ConfigError as error:  # e.g. a density the `smoke` profile's 3 levels never reach
                    row.update(levels="-", time=f"not in this profile: {error}")
                    rows.append(row)
                    continue
                pending = projected(configs, rates, pending=True)
                levels, seconds = pending["levels"], 3600 * pending["core_hours"]
                row.update(levels=levels, time=(f"about {duration(seconds)} of one core ({duration(seconds / cores)}"
                                                f" on {cores} cores in parallel)" if levels else
                                                "none: every level is in the run store") + OWN_WORK.get(notebook, ""))
            rows.append(row)
    return pd.DataFrame(rows).rename(columns={"levels": COLUMNS[3], "time": COLUMNS[4]})


COLUMNS = ("exercise", "sets", "profile", "IMP levels to train", "training")


def without_costs(notebook: str, lines: list[str]) -> list[str]:
    """An executed notebook's verdict lines less the rows of its exercises' cost table (what a rerun would train is
    not a conclusion, and it changes once the rerun has trained)."""
    header = " | " + " | ".join(COLUMNS)
    if header not in lines:
        return lines
    start = lines.index(header)
    return lines[:start] + lines[start + 1 + sum(max(1, len(e.runs)) for e in EXERCISES[notebook]):]


# ------------------------------------------------------------------------------------------ the instructor key
def texts(notebook: str) -> dict[int, str]:
    """{number: text} of the notebook's numbered exercises, read from its source (notebooks/NN_*.py)."""
    source = next((ROOT / "notebooks").glob(f"{notebook}_*.py")).read_text()
    block = source[source.index("# ## Exercises"):]
    block = block[:re.search(r"\n# %%|\n#\n# What each exercise|\n# ## References", block).start()]
    items = re.split(r"\n# (\d+)\. ", block)
    return {int(number): " ".join(line.lstrip("#").strip() for line in body.splitlines())
            for number, body in zip(items[1::2], items[2::2])}


def key_section(number: int, text: str, runs: list[tuple[dict, str, list[str], list[str] | str]], code: bool) -> str:
    """One exercise of the key in Markdown: its text, and for each run (settings, executed notebook's name, the
    baseline's verdict lines, the run's, or the error that stopped it) the verdict lines that change
    (verdicts.compare) and the run's lines."""
    from ..results import verdicts

    lines = [f"## Exercise {number}", "", f"> {text}", ""]
    if not runs:
        lines.append("A change of code: there is no run to show; the handout's own outputs are the starting point."
                     if code else "Answered from the handout's own outputs (its figures, tables and verdict lines); "
                                  "nothing to rerun.")
        return "\n".join(lines)
    for settings, name, base, new in runs:
        sets = ", ".join(f"`{literal(k, v)}`" for k, v in settings.items())
        if isinstance(new, str):
            lines += [f"### With {sets}", "", f"**This run failed** (`{name}`): {new}", ""]
            continue
        row = verdicts.compare({"notebooks": {"x": base}}, {"notebooks": {"x": new}})[0]
        lines += [f"### With {sets}", "",
                  f"Executed: `{name}`. Of {row['lines']} verdict lines, {row['identical']} are identical to the "
                  f"notebook's own settings in this profile, {row['other_numbers']} have the same words with other "
                  f"numbers, and {row['flipped']} change:", ""]
        lines += [f"- was: {old or '(no such line)'}\n  now: {now or '(no such line)'}"
                  for old, now in row["flips"]] or ["- none"]
        lines += ["", "<details><summary>Every verdict line of this run</summary>", ""]
        lines += [f"- {line}" for line in new] + ["", "</details>", ""]
    return "\n".join(lines)


def key(notebooks: list[str] | None = None, profile: str = "quick", output_dir: str | Path = "build/key",
        parameters: dict[str, Any] | None = None, progress: bool = True) -> tuple[list[Path], list[str]]:
    """The instructor key: every exercise run of the notebooks (default: all) executed with papermill in `profile`
    (or the profile an exercise names), next to the notebook executed with its own settings in that profile, and the
    verdict lines that change written to <output_dir>/<profile>/<notebook>.md. `parameters` go to every execution
    (e.g. workers). An executed notebook already there is read, not executed again, when the same code executed it
    (a clean checkout's commit, kept beside it in <name>.code): the key resumes where it stopped, and never passes
    off an execution of older code as the commit it names. One that fails is written into the key as failed, and the
    rest go on. Returns (the Markdown files, the runs that failed)."""
    from ..foundations.files import atomic_write_text
    from ..foundations.store import code_version, cpu_name
    from ..results.verdicts import verdict_lines
    from .notebook import execute_one, notebook_paths
    from .profiles import check_profile

    check_profile(profile)
    folder = Path(output_dir) / profile
    code, done = code_version(), set()  # done: executed in this call
    written, failures = [], []
    for path in notebook_paths(notebooks):
        notebook, shared = path.name[:2], dict(parameters or {})

        def executed(settings: dict[str, Any], name: str) -> tuple[str, list[str] | str]:
            """The executed notebook's name and its verdict lines, or the error that stopped it (the key goes on)."""
            target, stamp = folder / f"{name}.ipynb", folder / f"{name}.code"
            if name not in done and not (target.is_file() and not code["dirty"] and stamp.is_file()
                                         and stamp.read_text() == code["commit"]):
                try:
                    execute_one(path, target, {**shared, **settings}, progress)
                except Exception as error:  # papermill's error names the cell and the exception
                    failures.append(f"{name}: {type(error).__name__}")
                    last = [line for line in str(error).strip().splitlines() if line.strip()]
                    return target.name, (last[-1] if last else type(error).__name__)
                atomic_write_text(stamp, code["commit"])
            done.add(name)
            return target.name, without_costs(notebook, verdict_lines(target))

        sections = []
        for exercise in EXERCISES[notebook]:
            runs = []
            for v, settings in enumerate(exercise.runs):
                run_profile = settings.get("profile", profile)
                _, base = executed({"profile": run_profile}, f"{path.stem}-{run_profile}")
                base = [] if isinstance(base, str) else base
                suffix = "" if len(exercise.runs) == 1 else "abcdefgh"[v]
                name, new = executed({"profile": run_profile, **settings},
                                     f"{path.stem}-{run_profile}-exercise-{exercise.number}{suffix}")
                runs.append(({k: v for k, v in settings.items() if k != "profile"} | (
                    {"profile": run_profile} if run_profile != profile else {}), name, base, new))
            sections.append(key_section(exercise.number, texts(notebook)[exercise.number], runs, exercise.code))
        head = [f"# Instructor key: notebook {path.stem}", "",
                f"Profile `{profile}` (an exercise that names another profile runs in that one). Each run is the "
                f"notebook executed with the exercise's settings, compared with the notebook executed with its own "
                f"settings in the same profile, line by line over their verdict lines (their computed conclusions; "
                f"numbers masked, as `lth_utils verdicts` compares machines). Executed on {cpu_name()}, code "
                f"{code['commit'][:10]}{' with local changes' if code['dirty'] else ''}. Written by "
                f"`python -m lth_utils key --profile {profile} --only {notebook}`.", ""]
        written.append(atomic_write_text(folder / f"{path.stem}.md", "\n".join(head + sections) + "\n"))
    return written, failures

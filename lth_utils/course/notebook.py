"""What every notebook does first and last: read its parameters (rejecting unknown ones), build the profile's config,
fetch the data, set the figure style; and state the profile, hardware and versions at the end.

    cfg, settings = setup(globals(), ["profile", "seed", "trials", "workers", "out", "data_root", "figures"])
    provenance(cfg, settings.profile)
"""
from __future__ import annotations

import ast
import dataclasses
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from .. import data
from ..results import plots
from ..foundations.children import die_with_parent
from ..foundations.config import ConfigError
from ..experiments import NotebookSettings
from ..lottery.imp import IMPConfig
from .profiles import HANDOUTS, NOTEBOOK_SETTINGS, check_profile, handout_profile, imp_config, run_store
from ..foundations.progress import text_bars
from ..foundations.store import cpu_name

_STARTED = {"at": time.time()}


def _injected_names(history: list[str]) -> list[str]:
    """Names assigned in papermill's injected cell (its source starts with '# Parameters'), if one ran."""
    names: list[str] = []
    for source in history:
        if source.lstrip().startswith("# Parameters"):
            tree = ast.parse(source)
            names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                     if isinstance(t, ast.Name)]
    return names


def parameters(namespace: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The notebook's parameters, read from its globals. A name papermill injected that the notebook does not have
    is an error (papermill itself only warns), and so is an unknown profile; IMPConfig validates the rest."""
    unknown = sorted(set(_injected_names(namespace.get("In", []))) - set(names))
    if unknown:
        raise ConfigError(unknown[0], namespace.get(unknown[0]),
                          f"not a parameter of this notebook; known: {', '.join(names)}")
    missing = [n for n in names if n not in namespace]
    if missing:
        raise ConfigError(missing[0], None, "run the parameters cell (the first cell) first")
    check_profile(namespace["profile"])
    return {name: namespace[name] for name in names}


IMP_PARAMETERS = ("seed", "trials", "rate", "levels", "iterations", "workers", "out", "data_root")


def setup(namespace: dict[str, Any], names: list[str], defaults: dict[str, Any] | None = None,
          notebook: str | None = None, fetch: bool = True) -> tuple[IMPConfig, NotebookSettings]:
    """(the profile's IMPConfig with the notebook's overrides, the profile's NotebookSettings with the folder its
    figures go to: `settings.figures`, `settings.late_rewinding.fractions`, ...). `defaults`: the
    parameters cell's values other than None (and seed 0), so that changing one sends the figures elsewhere;
    `notebook`: its number, whose handout profile (profiles.HANDOUT_PROFILES) is the one that writes the committed
    figures. An `out` of None is the profile's run store (profiles.run_store). `fetch`: fetch and verify the IMP
    config's dataset (a notebook that reads no dataset, such as 06's regressions, passes False)."""
    values = parameters(namespace, names)
    # The kernel exits with whatever started it (papermill, the Jupyter server), so a killed papermill leaves no
    # kernel training on, and the kernel's workers exit with it (children.py).
    die_with_parent()
    if values.get("out", "") is None:
        values["out"] = f"../{run_store(values['profile'])}"
    cfg = imp_config(values["profile"], **{k: values[k] for k in IMP_PARAMETERS if k in values})
    if fetch:
        data.fetch(cfg.dataset, cfg.data_root)
    plots.set_style()
    _STARTED["at"] = time.time()
    handout = handout_profile(notebook) if notebook else "standard"
    return cfg, dataclasses.replace(NOTEBOOK_SETTINGS[values["profile"]],
                                    figures=figures_folder(values, defaults or {}, handout))


COMMITTED_FIGURES = "../figures"
_NOT_EXPERIMENT = ("profile", "workers", "out", "data_root", "figures", "scheduler")


def figures_folder(values: dict[str, Any], defaults: dict[str, Any], handout: str = "standard") -> str:
    """Where the notebook saves its figures: the committed ../figures only for the handouts' own settings (profile
    `handout`, seed 0, every other knob at its default: None or `defaults`); any other setting writes to
    ../build/figures/<profile>-<the changed settings>, so trying a parameter never overwrites the committed figures.
    An explicit `figures` other than ../figures is used as given."""
    folder = values.get("figures", COMMITTED_FIGURES)
    defaults = {"seed": 0, **defaults}
    changed = {k: v for k, v in values.items() if k not in _NOT_EXPERIMENT and v != defaults.get(k)}
    if folder != COMMITTED_FIGURES or (values["profile"] == handout and not changed):
        return folder
    tag = "-".join([values["profile"]] + [f"{k}={v}" for k, v in sorted(changed.items())])
    folder = f"../build/figures/{''.join(c if c.isalnum() or c in '=-._' else '_' for c in tag)[:120]}"
    print(f"Figures go to {folder}, not the committed {COMMITTED_FIGURES}: these are not the handouts' settings.")
    return folder


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version
    found = []
    for name in ("numpy", "pandas", "matplotlib", "papermill"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join([f"Python {platform.python_version()}", f"torch {torch.__version__}", *found])


# The provenance cell's output carries its numbers under this media type beside the Markdown (readme.notebook_costs
# reads them); front ends and nbconvert show the Markdown, as they know no renderer for it.
PROVENANCE_MIME = "application/vnd.lth-utils.provenance+json"


class Provenance(str):
    """The provenance paragraph (a str: shown as Markdown) with its numbers as `record`: minutes, levels, trained,
    read, core_minutes and paper_core_hours (None where the paragraph projects nothing)."""
    record: dict

    def __new__(cls, text: str, record: dict):
        made = super().__new__(cls, text)
        made.record = record
        return made

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": str(self), PROVENANCE_MIME: self.record}


def provenance(cfg: IMPConfig, profile: str, experiment: str | None = None, notebook: str | None = None,
               trained_itself: str | None = None) -> Provenance:
    """One paragraph: profile, what was run (default: the IMP config, with the trials its runs used), the code's
    commit, hardware, versions, the wall time, and the IMP levels it trained vs read from the store with what
    training all of them from an empty store costs (from the levels' records); for `notebook` (a number in
    experiments.PLANNED) run in another profile, what the `paper` profile's runs of it would cost at the time per iteration
    of the levels in the run store. `trained_itself`: what a notebook that trains outside the run store trained
    (00's tickets), said where it asked for no IMP level. A notebook's last cell shows it (Provenance)."""
    from ..execution.costs import per_iteration, projected, projection_sentence, store_records
    from ..execution.engine import ledger_summary
    from ..experiments import notebook_runs
    from ..foundations.store import code_version, files_dirty

    minutes = (time.time() - _STARTED["at"]) / 60
    cores = os.cpu_count() or 1
    device = torch.cuda.get_device_name(0) if cfg.device.startswith("cuda") else f"{cpu_name()}, {cores} cores"
    levels = ledger_summary()
    trials = levels["trials"] or cfg.trials
    experiment = experiment or (f"{cfg.iterations:,} iterations per level at most, {trials} trial(s), evaluation "
                                f"every {cfg.eval_every}; ticket config hash `{cfg.hash}`")
    code = code_version()
    sources = sorted(NOTEBOOK_DIR.glob(f"{notebook}_*.py")) if notebook else []  # the cells' own source
    dirty = code["dirty"] or files_dirty(sources)
    commit = f"commit `{code['commit'][:10]}`{' with local changes' if dirty else ''}" if code["commit"] \
        else "no git commit (not a checkout)"
    own = f"; it trained {trained_itself} itself" if trained_itself else ""
    work = (f"It asked for {levels['levels']} IMP levels: {levels['trained']} trained in this execution, "
            f"{levels['read']} read from the store. Training all {levels['levels']} from an empty store took "
            f"{levels['core_minutes']:.1f} core-minutes by their records (about {levels['core_minutes'] / cores:.1f} "
            f"minutes on these {cores} cores in parallel)." if levels["levels"] else
            f"It trained no IMP levels of the run store{own}.")
    rates = per_iteration(store_records(cfg.out)) if notebook and profile != "paper" else {}
    paper_hours = None
    if rates:
        paper = notebook_runs(notebook, imp_config("paper"), NOTEBOOK_SETTINGS["paper"])
        cost = projected(paper, rates)
        work += " " + projection_sentence("paper", paper, rates, cores, cost)
        paper_hours = round(cost["core_hours"], 1) if cost["levels"] else None
    record = {"minutes": round(minutes, 1), "levels": levels["levels"], "trained": levels["trained"],
              "read": levels["read"], "core_minutes": round(levels["core_minutes"], 1),
              "paper_core_hours": paper_hours}
    return Provenance(f"Profile `{profile}` ({experiment}); run store `{cfg.out}`; code {commit}. Hardware: {device}. "
                      f"{_versions()}. This execution took {minutes:.1f} minutes after the set-up cell. {work}", record)


NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def notebook_paths(selection: list[str] | None = None) -> list:
    """The numbered notebooks in order, or those whose names start with one of `selection` ('02', '03_controls')."""
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if selection:
        paths = [p for p in paths if any(p.name.startswith(s) for s in selection)]
        if not paths:
            raise ConfigError("notebooks", selection, "prefixes of the files in notebooks/, such as 01 or 02_iterative")
    return paths


def final_progress(text: str) -> str:
    """The last state of each progress bar in a stderr transcript (tqdm redraws a bar with '\r'): one line per bar,
    in order of first appearance, keyed by the description before its first ':'."""
    last: dict[str, str] = {}
    for line in text.replace("\r", "\n").split("\n"):
        line = line.strip()
        if line:
            last[line.split(":")[0]] = line
    return "".join(f"{line}\n" for line in last.values())


def tidy_progress(path) -> None:
    """Rewrite an executed notebook so each cell's progress-bar stderr (hundreds of redraws, shown on a red
    background) becomes one plain output line per bar with its final state; other outputs are kept as they are."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        stderr = [o for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        if not stderr:
            continue
        summary = final_progress("".join(o["text"] for o in stderr))
        kept = [o for o in outputs if o not in stderr]
        at = outputs.index(stderr[0])
        cell["outputs"] = kept[:at] + ([nbformat.v4.new_output("stream", name="stdout", text=summary)]
                                       if summary else []) + kept[at:]
    nbformat.write(nb, str(path))


def code_digest(nb) -> str:
    """A digest of a notebook's code cells (papermill's injected parameters left out): an executed notebook records
    the one it was executed with (metadata lth.code_digest), so a code cell edited afterwards is detected."""
    import hashlib
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
               and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    return hashlib.sha256("\n\0".join(sources).encode()).hexdigest()[:16]


def record_code_digest(path) -> None:
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.setdefault("lth", {})["code_digest"] = code_digest(nb)
    nbformat.write(nb, str(path))


def execute_one(path: Path, target: Path, parameters: dict[str, Any], progress: bool = True) -> None:
    """One notebook executed with papermill into `target` (written only when it has finished, with its progress bars
    tidied); the kernel runs in notebooks/, so relative paths (../runs, ../data) mean what they do in JupyterLab."""
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".partial.{target.name}")
    # The kernel's stderr (the training progress bars) goes to this terminal too, not only into the notebook.
    with text_bars():  # the kernel's bars stay text, which tidy_progress reduces to their final states
        papermill.execute_notebook(str(path), str(partial), parameters=parameters, kernel_name="python3",
                                   cwd=str(NOTEBOOK_DIR), progress_bar=False,
                                   stderr_file=sys.stderr if progress else None)
    tidy_progress(partial)
    record_code_digest(partial)
    os.replace(partial, target)


def _execute_timed(path: Path, target: Path, label: str, parameters: dict[str, Any], progress: bool) -> float:
    """execute_one, announced and timed (minutes): what each of `execute`'s jobs runs."""
    started = time.time()
    print(f"== {path.name} ({label})", flush=True)
    execute_one(path, target, parameters, progress)
    minutes = (time.time() - started) / 60
    print(f"   {path.name}: {minutes:.1f} min -> {target}", flush=True)
    return minutes


def execute(profile: str = HANDOUTS, output_dir=None, parameters: dict[str, Any] | None = None,
            selection: list[str] | None = None, progress: bool = True, jobs: int = 1) -> list[tuple[str, float]]:
    """Run the notebooks headlessly with papermill; returns (name, minutes) per notebook.

    `handouts` runs each notebook in its own handout profile (its parameters cell's default) and by default writes
    them over the ones in notebooks/ (the handouts); any other profile is passed to every notebook and writes to
    build/notebooks/<profile> unless `output_dir` says where. The kernel always runs in notebooks/, so the
    notebooks' relative paths (../runs, ../data, ../figures) mean the same as in JupyterLab.
    `jobs` notebooks run at once (each in its own process and kernel). Notebooks that share a store share its levels
    safely: one trains a level while the other waits for it and then reads it (store.task_lock).
    """
    check_profile(profile, handouts=True)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError("jobs", jobs, "a whole number of notebooks to run at once, 1 or more")
    params = {**({"profile": profile} if profile != HANDOUTS else {}), **(parameters or {})}
    folder = Path(output_dir) if output_dir else \
        NOTEBOOK_DIR if profile == HANDOUTS else NOTEBOOK_DIR.parent / "build" / "notebooks" / profile
    work = [(path, folder / path.name, handout_profile(path.name) if profile == HANDOUTS else profile, params, progress)
            for path in notebook_paths(selection)]
    if jobs == 1:
        return [(args[0].name, _execute_timed(*args)) for args in work]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        minutes = list(pool.map(_execute_timed, *zip(*work)))
    return [(args[0].name, m) for args, m in zip(work, minutes)]

"""The side-by-side table with the paper: verdict rules on constructed data (each rule can fail), the censoring count,
and the README's table equal to what the code computes from the committed results."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from lth_utils.course import comparison

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_the_one_computed_from_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(comparison.START, 1)[1].split(comparison.END, 1)[0].strip()
    printed = subprocess.run([sys.executable, "-m", "lth_utils", "compare", "--profile", "paper",
                              "--store", "results/paper/store"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == block, "README out of date: run `make compare`"


def test_notebook_06s_paper_regressions_are_committed_so_make_run_reads_them():
    import dataclasses
    from lth_utils.course.profiles import NOTEBOOK_SETTINGS
    from lth_utils.experiments import double_descent as dd
    store = ROOT / "results" / "paper" / "store"
    own = NOTEBOOK_SETTINGS["paper"].double_descent
    assert dd.packed_imp_trials(store, own) is not None, "06's IMP chains: run 06 in paper, then make export"
    packed, base = dd.read_packed(store), dd.RegressionConfig(steps=own.steps)
    missing = [(act, wd, w, s) for act in ("relu", "tanh") for wd in (0.0, 1e-3) for w in own.widths for s in own.seeds
               if "dense" not in packed.get(dd.config_path(dataclasses.replace(
                   base, activation=act, weight_decay=wd, width=w, seed=s)).name, {})]
    assert not missing, f"06's students not committed: {missing[:3]}"

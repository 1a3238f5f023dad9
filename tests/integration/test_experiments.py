"""The experiments registry: every notebook registered once, typed settings per profile, and what derives from it
(the planned notebooks, train's order, the weights a compact store keeps); and that a new experiment needs nothing
but its module and one registry entry."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lth_utils import experiments

from lth_utils.course import notebook, profiles

PACKAGE = Path(experiments.__file__).resolve().parents[1]


def test_every_registered_experiment_has_typed_frozen_settings_for_every_profile():
    named = [e for e in experiments.REGISTRY.values() if e.name]
    assert len({e.name for e in named}) == len(named)
    for e in named:
        assert set(e.settings) == set(profiles.PROFILES), e.name
        kinds = {type(s) for s in e.settings.values()}
        assert len(kinds) == 1 and dataclasses.is_dataclass(kinds.pop()), e.name  # one settings class per experiment
        for profile, s in e.settings.items():
            assert getattr(profiles.NOTEBOOK_SETTINGS[profile], e.name) is s
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(s, dataclasses.fields(s)[0].name, None)
            assert not any(isinstance(v, list) for v in dataclasses.asdict(s).values())  # tuples: not changed in place
    with pytest.raises(AttributeError, match="'late_rewind'.*late_rewinding"):
        profiles.NOTEBOOK_SETTINGS["paper"].late_rewind  # a typo names the settings there are


def test_the_registry_derives_the_planned_notebooks_the_train_order_and_the_weights_kept():
    assert set(experiments.REGISTRY) == {p.name[:2] for p in notebook.notebook_paths()}  # one entry per notebook
    assert experiments.PLANNED == ("01", "02", "03", "04", "05", "07", "08", "09", "10", "11")
    assert experiments.train_order() == ["02", "03", "01", "05", "04", "07", "08", "10", "11", "09"]
    with pytest.raises(ValueError, match="notebook='06' has no IMP runs"):
        experiments.notebook_runs("06", profiles.imp_config("smoke"), profiles.NOTEBOOK_SETTINGS["smoke"])
    # what a compact store keeps for notebook 11 (standard: 3 trials, levels 7 and 12): its ticket and both controls
    cfg, settings = profiles.imp_config("standard"), profiles.NOTEBOOK_SETTINGS["standard"]
    read = experiments.weights_read([(cfg, settings)])
    assert {level for _, _, level in read} == {7, 12} and len({run for run, _, _ in read}) == 3
    assert len(read) == 3 * 3 * 2 and read <= profiles.weights_read()


NEW_EXPERIMENT = '''"""Notebook 12 (an example): IMP with global pruning, registered by this module and one registry entry."""
import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class GlobalPruning:
    levels: int


SETTINGS = {"smoke": GlobalPruning(levels=2), "quick": GlobalPruning(levels=7), "standard": GlobalPruning(levels=12),
            "paper": GlobalPruning(levels=18)}


def runs(cfg, settings):
    return [dataclasses.replace(cfg, scope="global", levels=settings.global_pruning.levels, trials=1)]
'''


def test_an_experiment_is_added_by_its_module_and_one_registry_entry(tmp_path, data_root):
    """A copy of the package gains a module and one entry, nothing else: its settings are read by name in every
    profile, `train` plans and trains its runs, and the registry's other derived lists include it."""
    copy = tmp_path / "lth_utils"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "experiments" / "global_pruning.py").write_text(NEW_EXPERIMENT)
    registry = copy / "experiments" / "__init__.py"
    text = registry.read_text()
    imports, entry = "from . import conv, ", '    Experiment("11", "loss landscapes",'
    assert imports in text and entry in text
    registry.write_text(text.replace(imports, "from . import global_pruning, conv, ").replace(entry, (
        '    Experiment("12", "global pruning", "global_pruning", global_pruning.SETTINGS, global_pruning.runs, '
        'train_priority=10),\n') + entry))
    check = ("from lth_utils import experiments, profiles\n"
             "assert profiles.NOTEBOOK_SETTINGS['paper'].global_pruning.levels == 18\n"
             "assert experiments.train_order()[-1] == '12' and '12' in experiments.PLANNED\n"
             "print([c.scope for c in experiments.notebook_runs('12', profiles.imp_config('smoke'), "
             "profiles.NOTEBOOK_SETTINGS['smoke'])])\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "['global']", out.stderr
    store = tmp_path / "runs"
    train = subprocess.run([sys.executable, "-m", "lth_utils", "train", "--profile", "smoke", "--only", "12", "--quiet",
                            "--set", "out", str(store), "--set", "data_root", str(data_root)],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert train.returncode == 0, train.stderr
    assert "1 runs of notebooks 12" in train.stdout
    # its chain, and the layerwise ticket whose dense level 0 it shares (imp.dense_source)
    [run] = [p for p in store.iterdir() if '"scope": "global"' in (p / "config.json").read_text()]
    assert sorted(p.name for p in (run / "trial_0").iterdir()) == ["level_0", "level_1", "level_2"]

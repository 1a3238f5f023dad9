"""The exercises' settings (course/exercises.py) against the notebooks' text, and what their cost table counts."""
import ast
import json
from pathlib import Path

import pytest

from lth_utils import experiments
from lth_utils.course import exercises, profiles
from lth_utils.execution import costs
from lth_utils.foundations import store

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[01][0-9]_*.py"))}


def parameters_of(notebook: str) -> set[str]:
    """The names assigned in the notebook's parameters cell (its first code cell)."""
    text = SOURCES[notebook].read_text()
    cell = text[text.index('# %% tags=["parameters"]'):]
    cell = cell[cell.index("\n") + 1:cell.index("\n# %%")]
    return {t.id for node in ast.parse(cell).body if isinstance(node, ast.Assign) for t in node.targets}


def test_every_notebook_lists_its_exercises_and_shows_their_cost():
    assert set(exercises.EXERCISES) == set(SOURCES)
    for notebook, listed in exercises.EXERCISES.items():
        assert [e.number for e in listed] == sorted(exercises.texts(notebook)), notebook
        assert f'exercises.table("{notebook}", settings.profile, cfg.out)' in SOURCES[notebook].read_text()


def test_each_setting_is_a_parameter_of_the_notebook_and_written_in_its_exercise():
    for notebook, listed in exercises.EXERCISES.items():
        texts, names = exercises.texts(notebook), parameters_of(notebook)
        for exercise in listed:
            for parameters in exercise.runs:
                for name, value in parameters.items():
                    assert name in names, (notebook, exercise.number, name)
                    assert f"`{exercises.literal(name, value)}`" in texts[exercise.number], \
                        (notebook, exercise.number, exercises.literal(name, value))


def test_the_exercise_knobs_reach_the_planner():
    planned = exercises.planned("07", {"profile": "smoke", "methods": ["snip"]})
    assert {c.arm for c in planned} >= {"snip"} and not {"synflow", "grasp"} & {c.arm for c in planned}
    one_shot = exercises.planned("01", {"profile": "smoke", "rates": [0.3], "trials": 2})
    assert sorted({(c.rate, c.trials) for c in one_shot if c.levels == 1}) == [(0.3, 2)]
    assert exercises.planned("01", {"profile": "smoke"}) == experiments.notebook_runs(
        "01", profiles.imp_config("smoke"), profiles.NOTEBOOK_SETTINGS["smoke"])


def test_an_empty_store_trains_what_the_projection_counts_and_a_stored_level_is_not_counted(tmp_path):
    configs = exercises.planned("02", {"profile": "smoke", "trials": 1}, out=str(tmp_path))
    pending = costs.projected(configs, {"lenet_300_100": 1.0}, pending=True)
    projection = costs.projected(configs, {"lenet_300_100": 1.0})
    assert pending["levels"] == projection["levels"] and pending["iterations"] == projection["iterations"]
    cfg = configs[0]
    (cfg.root / "trial_0" / "level_0").mkdir(parents=True)
    (cfg.root / "trial_0" / "level_0" / "result.json").write_text("{}")
    assert costs.projected(configs, {"lenet_300_100": 1.0}, pending=True)["levels"] == projection["levels"] - 1


def test_the_table_has_a_row_per_run_and_says_when_nothing_trains(tmp_path):
    table = exercises.table("02", "smoke", str(tmp_path), cores=2)
    assert list(table["exercise"]) == [1, 2, 3]
    assert table["sets"].tolist() == ["rate=0.5, levels=6", "trials=1", "iterations=5000"]
    assert (table["IMP levels to train"] > 0).all() and table["training"].str.contains("on 2 cores").all()
    reading = exercises.table("03", "smoke", str(tmp_path))
    assert reading.loc[reading["exercise"] == 2, "training"].item() == "none: reads this execution's outputs"


@pytest.mark.parametrize("seconds, text", [(40, "40 s"), (600, "10 min"), (7200, "2.0 h")])
def test_durations_are_rounded_for_reading(seconds, text):
    assert exercises.duration(seconds) == text


def fake_notebook(path: Path, lines: list[str]) -> None:
    cell = {"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "display_data", "metadata": {},
                         "data": {"text/markdown": "\n".join(lines)}}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_the_key_runs_each_exercise_against_the_notebook_in_the_same_profile_and_lists_what_changes(monkeypatch,
                                                                                                   tmp_path):
    from lth_utils.course import notebook
    calls = []

    def execute_one(path, target, parameters, progress=True):
        calls.append((target.name, parameters))
        fewer = parameters.get("trials") == 1
        fake_notebook(target, ["The ticket is above dense at 3 of 5 levels.",
                               "Early stopping: 0.4x [0.3, 0.5]." if not fewer else "Early stopping: 0.41x [0.2, 0.6].",
                               "Reinit: no difference shown." if not fewer else "Reinit: lower at 2 of 5 levels."])

    monkeypatch.setattr(notebook, "execute_one", execute_one)
    monkeypatch.setattr(store, "code_version", lambda: {"commit": "a" * 40, "dirty": False})
    written, failures = exercises.key(["02"], "smoke", tmp_path, {"workers": 1}, progress=False)
    assert failures == []
    assert [p.name for p in written] == ["02_iterative_magnitude_pruning.md"]
    stem = "02_iterative_magnitude_pruning"
    assert [name for name, _ in calls] == [f"{stem}-smoke.ipynb", f"{stem}-smoke-exercise-1.ipynb",
                                           f"{stem}-smoke-exercise-2.ipynb", f"{stem}-smoke-exercise-3.ipynb"]
    assert calls[2][1] == {"workers": 1, "profile": "smoke", "trials": 1}
    text = written[0].read_text()
    assert "## Exercise 2" in text and "`trials=1`" in text
    section = text[text.index("## Exercise 2"):text.index("## Exercise 3")]
    assert "Of 3 verdict lines, 1 are identical" in section and "1 have the same words with other numbers" in section
    assert "- was: Reinit: no difference shown.\n  now: Reinit: lower at 2 of 5 levels." in section
    # executed notebooks already there from the same code are read, not executed again
    calls.clear()
    exercises.key(["02"], "smoke", tmp_path, progress=False)
    assert calls == []
    assert f"code {'a' * 10}." in written[0].read_text()
    # other code, or local changes, executes them again: the key never names a commit its runs did not come from
    for code in ({"commit": "b" * 40, "dirty": False}, {"commit": "b" * 40, "dirty": True}):
        monkeypatch.setattr(store, "code_version", lambda code=code: code)
        calls.clear()
        exercises.key(["02"], "smoke", tmp_path, progress=False)
        assert len(calls) == 4


def test_an_exercise_that_names_a_profile_runs_there_with_its_own_baseline(monkeypatch, tmp_path):
    from lth_utils.course import notebook
    calls = []
    monkeypatch.setattr(notebook, "execute_one", lambda path, target, parameters, progress=True: (
        calls.append((target.name, parameters)), fake_notebook(target, ["a line"])))
    text = exercises.key(["04"], "smoke", tmp_path, progress=False)[0][0].read_text()
    assert [name for name, _ in calls] == ["04_late_rewinding-quick.ipynb", "04_late_rewinding-quick-exercise-2.ipynb"]
    assert '`rewind_points=[100]`, `profile="quick"`' in text
    assert text.count("Answered from the handout's own outputs") == 2


def test_the_key_leaves_the_cost_table_out_of_the_verdict_lines():
    notebook = ROOT / "notebooks" / "02_iterative_magnitude_pruning.ipynb"
    from lth_utils.results.verdicts import verdict_lines
    lines = verdict_lines(notebook)
    kept = exercises.without_costs("02", lines)
    assert len(lines) - len(kept) == 4 and not any("about" in line and "of one core" in line for line in kept)
    assert " | " + " | ".join(exercises.COLUMNS) not in kept and kept == exercises.without_costs("02", kept)


def test_a_failing_run_is_marked_in_the_key_and_the_others_go_on(monkeypatch, tmp_path):
    from lth_utils.course import notebook

    def execute_one(path, target, parameters, progress=True):
        if parameters.get("trials") == 1:
            raise RuntimeError("Cell In[8]\nValueError: level 2 recorded no test curve")
        fake_notebook(target, ["a line"])

    monkeypatch.setattr(notebook, "execute_one", execute_one)
    written, failures = exercises.key(["02"], "smoke", tmp_path, progress=False)
    assert failures == ["02_iterative_magnitude_pruning-smoke-exercise-2: RuntimeError"]
    text = written[0].read_text()
    assert "**This run failed** (`02_iterative_magnitude_pruning-smoke-exercise-2.ipynb`): ValueError: level 2 " \
           "recorded no test curve" in text
    assert "## Exercise 3" in text and "02_iterative_magnitude_pruning-smoke-exercise-3.ipynb" in text


def test_an_exercise_the_profile_cannot_run_says_so_instead_of_failing(tmp_path):
    table = exercises.table("07", "smoke", str(tmp_path))  # smoke's 3 levels never reach 3.6% remaining
    row = table.loc[table["exercise"] == 1]
    assert row["training"].item().startswith("not in this profile: densities=0.036 is invalid")

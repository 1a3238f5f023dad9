"""The exercises' settings (course/exercises.py) against the notebooks' text, and what their cost table counts."""
import ast
import re
from pathlib import Path

import pytest

from lth_utils import experiments
from lth_utils.course import exercises, profiles
from lth_utils.execution import costs

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[01][0-9]_*.py"))}


def exercise_texts(notebook: str) -> dict[int, str]:
    """{number: text} of the notebook's numbered exercises."""
    text = SOURCES[notebook].read_text()
    block = text[text.index("# ## Exercises"):]
    block = block[:re.search(r"\n# %%|\n# ## References", block).start()]
    items = re.split(r"\n# (\d+)\. ", block)
    return {int(number): body for number, body in zip(items[1::2], items[2::2])}


def parameters_of(notebook: str) -> set[str]:
    """The names assigned in the notebook's parameters cell (its first code cell)."""
    text = SOURCES[notebook].read_text()
    cell = text[text.index('# %% tags=["parameters"]'):]
    cell = cell[cell.index("\n") + 1:cell.index("\n# %%")]
    return {t.id for node in ast.parse(cell).body if isinstance(node, ast.Assign) for t in node.targets}


def test_every_notebook_lists_its_exercises_and_shows_their_cost():
    assert set(exercises.EXERCISES) == set(SOURCES)
    for notebook, listed in exercises.EXERCISES.items():
        assert [e.number for e in listed] == sorted(exercise_texts(notebook)), notebook
        assert f'exercises.table("{notebook}", settings.profile, cfg.out)' in SOURCES[notebook].read_text()


def test_each_setting_is_a_parameter_of_the_notebook_and_written_in_its_exercise():
    for notebook, listed in exercises.EXERCISES.items():
        texts, names = exercise_texts(notebook), parameters_of(notebook)
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
    levels, iterations = exercises.to_train(configs)
    projection = costs.projected(configs, {"lenet_300_100": 1.0})
    assert levels == projection["levels"] and sum(iterations.values()) == projection["iterations"]
    cfg = configs[0]
    (cfg.root / "trial_0" / "level_0").mkdir(parents=True)
    (cfg.root / "trial_0" / "level_0" / "result.json").write_text("{}")
    assert exercises.to_train(configs)[0] == levels - 1


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

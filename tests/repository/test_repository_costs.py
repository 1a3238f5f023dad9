"""Cost records and projections: rates from level records, what a plan trains from an empty store, and the check of
the projection against the paper run that was trained."""
import json
import re
from pathlib import Path


from lth_utils import experiments


from lth_utils.course import profiles, readme

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_standard_store_holds_every_level_the_notebooks_plan():
    """`make run` imports results/standard/store and trains only what is missing: every planned level is there."""
    from lth_utils.lottery.imp import all_tasks

    cfg, settings = profiles.imp_config("standard"), profiles.NOTEBOOK_SETTINGS["standard"]
    store = ROOT / "results/standard/store"
    stored = {(run.parent.name, level["trial"], level["level"]) for run in store.glob("*/levels.json")
              for level in json.loads(run.read_text())}
    for number in experiments.PLANNED:
        wanted = {(c.root.name, t, l) for c, t, l in all_tasks(experiments.notebook_runs(number, cfg, settings))}
        assert wanted <= stored, (number, sorted(wanted - stored)[:3])


def test_the_readmes_cost_section_is_what_the_code_computes_from_the_committed_notebooks():
    text = (ROOT / "README.md").read_text()
    block = text.split(readme.COSTS_START)[1].split(readme.COSTS_END)[0].strip()
    cores = int(re.search(r"core-min; / (\d+) cores", block).group(1))
    assert block == readme.readme_block(str(ROOT / "notebooks"), cores).replace(str(ROOT / "notebooks"), "notebooks")

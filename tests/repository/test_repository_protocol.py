"""The protocol note every handout prints: computed from the config and the committed paper-scale curves."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lth_utils.course import profiles, protocol

from conftest import parameters_cell

ROOT = Path(__file__).resolve().parents[2]


def test_the_standard_handouts_state_the_bias_measured_on_the_committed_dense_curves():
    text = protocol.statement(profiles.imp_config("standard"), "standard", notebook="09")
    rows = protocol.patience_replay(profiles.imp_config("standard"))
    assert len(rows) == 5 and sum(r["early_stop"] != r["full"] for r in rows) >= 1
    assert f"falls from {np.mean([r['full'] for r in rows]):,.0f} to " in text
    done, planned = protocol.paper_levels_committed("09")
    assert 0 < done < planned and f"{done} of {planned} levels trained and committed" in text  # 09: still training
    assert "switches to them once all are" in text
    assert protocol.paper_levels_committed("02") == (95, 95) and protocol.paper_levels_committed("04") == (570, 570)


def test_a_notebook_is_rendered_in_the_paper_profile_once_all_its_paper_runs_are_committed():
    from lth_utils.experiments import PLANNED
    for number in [n for n, p in profiles.HANDOUT_PROFILES.items() if p == "paper"]:
        if number not in PLANNED:  # an experiment of its own (06's regressions), trained as the notebook runs
            assert number in protocol.OWN_EXPERIMENTS, f"notebook {number} plans no IMP runs and has no own experiment"
            continue
        done, planned = protocol.paper_levels_committed(number)
        assert done == planned, f"notebook {number}'s handout is paper but {done} of {planned} levels are committed"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem[:2])
def test_every_notebook_defaults_to_its_handout_profile_and_prints_its_protocol(path):
    number = path.stem[:2]
    default = re.search(r'^profile = "(\w+)"', parameters_cell(path), re.M).group(1)
    assert default == profiles.handout_profile(number)
    sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    assert any(f'notebook="{number}")' in s and "notebook.setup(" in s for s in sources)
    statement = next(i for i, s in enumerate(sources) if "protocol.statement(" in s)
    assert statement == next(i for i, s in enumerate(sources) if "notebook.setup(" in s) + 1


def test_the_readmes_protocol_table_is_what_the_code_computes():
    from lth_utils.course.notebook import notebook_paths
    readme = (ROOT / "README.md").read_text()
    block = readme.split(protocol.PROTOCOLS_START)[1].split(protocol.PROTOCOLS_END)[0].strip()
    assert block == protocol.handouts_table([p.stem for p in notebook_paths()]), "run make compare"

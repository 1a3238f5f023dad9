"""Profiles, notebook parameters, analysis statistics, instability barriers and the double-descent helpers."""
from __future__ import annotations

import json

import pytest

from lth_utils.course import notebook


def test_every_committed_notebook_has_an_html_handout_rendered_from_its_current_outputs():
    """`make handouts` (run by `make run`) renders notebooks/ into handouts/: a notebook executed again without
    rendering its handout leaves the handout's provenance line (wall time, date-dependent) behind, and this fails."""
    import json
    import re
    from lth_utils.course.notebook import notebook_paths

    for path in notebook_paths():
        handout = path.parents[1] / "handouts" / f"{path.stem}.html"
        assert handout.exists(), f"{handout} is missing: run make handouts"
        outputs = [o for c in json.loads(path.read_text())["cells"] for o in c.get("outputs", [])
                   if "text/markdown" in o.get("data", {})]
        provenance = "".join(outputs[-1]["data"]["text/markdown"])
        ran = re.search(r"This (?:notebook ran in|execution took) [0-9.]+ minutes", provenance)
        assert ran, f"{path.name}: its last markdown output is not the provenance paragraph"
        assert ran.group(0) in handout.read_text(), f"{handout.name} is older than {path.name}: run make handouts"


@pytest.mark.parametrize("path", sorted(notebook.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem[:2])
def test_the_rerun_check_cells_are_tagged_and_left_out_of_the_handouts(path):
    """Each NBVAL_CHECK_OUTPUT cell (a rounded reprint of the table above it, which CI's nbval compares) carries the
    tag nbval-check, and `make handouts` leaves those cells out of the HTML a student reads."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    checks = [c for c in cells if "NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
    assert checks and all("nbval-check" in c["metadata"].get("tags", []) for c in checks), path.name
    handout = path.parents[1] / "handouts" / f"{path.stem}.html"
    assert "NBVAL_CHECK_OUTPUT" not in handout.read_text(), f"{handout.name}: run make handouts"


@pytest.mark.parametrize("path", sorted(notebook.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem[:2])
def test_every_committed_notebook_was_executed_with_the_code_it_shows(path):
    """`make run` records a digest of the code cells it executed; a code cell edited later (and not re-executed)
    would show outputs that code did not produce."""
    nb = json.loads(path.read_text())
    recorded = nb["metadata"].get("lth", {}).get("code_digest")
    assert recorded == notebook.code_digest(nb), f"{path.name}: its code changed since it was executed: make run"

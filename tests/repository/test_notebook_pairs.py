"""Every notebook is a jupytext pair: notebooks/NN_name.py (percent format, what a diff and a review read) and the
executed notebooks/NN_name.ipynb (what papermill, nbval, the browser and a student open). Edit either and run
`make sync` (jupytext --sync) to carry the change to the other; these tests fail while they differ."""
from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAIRS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_every_notebook_and_script_has_its_pair():
    scripts = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")}
    assert scripts == {p.stem for p in PAIRS}, "a notebook without its .py, or a .py without its notebook: make sync"


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem[:2])
def test_the_script_is_the_notebooks_source(path):
    notebook = jupytext.read(path)
    assert notebook.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert path.with_suffix(".py").read_text() == jupytext.writes(notebook, fmt="py:percent"), \
        f"{path.stem}.py and its notebook differ: make sync"


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem[:2])
def test_the_handout_was_executed_with_committed_library_code(path):
    """A committed handout's provenance names the commit whose library code produced it; 'with local changes' means
    code that was never committed as it ran (re-execute it after committing)."""
    assert "with local changes" not in path.read_text(), f"{path.stem} was executed with uncommitted code: re-run it"

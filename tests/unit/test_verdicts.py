"""Cross-machine verdicts: a line agrees when its words match with numbers masked, and flips when a word differs."""
from __future__ import annotations

import json
from pathlib import Path

from lth_utils.results import verdicts
from lth_utils.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _notebook(path: Path, markdown: list[str], html: str = "") -> None:
    outputs = [{"output_type": "display_data", "data": {"text/markdown": text}, "metadata": {}} for text in markdown]
    if html:
        outputs.append({"output_type": "execute_result", "data": {"text/html": html}, "metadata": {}})
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "# title"},
                                          {"cell_type": "code", "source": "", "outputs": outputs}]}))


def test_numbers_are_masked_but_words_are_not():
    assert verdicts.masked("+0.27 pp [95% CI +0.05, -1.48], n=5: higher") == "# pp [#% CI #, #], n=#: higher"
    assert verdicts.masked("1,200 iterations at 7.0% remaining") == "# iterations at #% remaining"
    # a tally of verdicts is a verdict: it stays
    assert verdicts.masked("1 of 28 differences above 0; 95 of 95 runs") == "1 of 28 differences above #; 95 of 95 runs"


def test_lines_come_from_conclusions_and_table_rows_not_the_provenance(tmp_path):
    _notebook(tmp_path / "01_a.ipynb", ["- ticket minus dense: +0.20 pp: higher\n- reinit: no difference shown",
                                        "Profile `standard` (5 trials); hardware: Intel"],
              "<table><tr><th>claim</th><th>verdict</th></tr><tr><td>early stop</td><td>agrees</td></tr></table>")
    assert verdicts.verdict_lines(tmp_path / "01_a.ipynb") == [
        "- ticket minus dense: +0.20 pp: higher", "- reinit: no difference shown", "claim | verdict",
        "early stop | agrees"]


def test_compare_counts_identical_lines_moved_numbers_and_flips(tmp_path):
    a = {"machine": "A", "commit": "1" * 40, "notebooks": {"01_a": ["x: +0.20 pp: higher", "y: 3 of 5", "z: holds"],
                                                            "02_b": ["same"]}}
    b = {"machine": "B", "commit": "2" * 40, "notebooks": {"01_a": ["x: +0.03 pp: no difference shown",
                                                                    "y: 3 of 5", "z: holds"], "02_b": ["same"]}}
    rows = {r["notebook"]: r for r in verdicts.compare(a, b)}
    assert (rows["01_a"]["identical"], rows["01_a"]["other_numbers"], rows["01_a"]["flipped"]) == (2, 0, 1)
    assert rows["01_a"]["flips"] == [("x: +0.20 pp: higher", "x: +0.03 pp: no difference shown")]
    assert (rows["02_b"]["identical"], rows["02_b"]["flipped"]) == (1, 0)
    b["notebooks"]["01_a"][0] = "x: +0.31 pp: higher"  # only the number moved
    rows = {r["notebook"]: r for r in verdicts.compare(a, b)}
    assert (rows["01_a"]["identical"], rows["01_a"]["other_numbers"], rows["01_a"]["flipped"]) == (2, 1, 0)
    text = verdicts.table(a, {**b, "notebooks": {**b["notebooks"], "01_a": ["x: +0.03 pp: lower", "y: 3 of 5",
                                                                            "z: holds"]}})
    assert "| 01_a | 3 | 2 | 0 | 1 |" in text and '"higher" -> "lower"' in text


def test_the_cli_extracts_and_writes_the_readme_block(tmp_path):
    _notebook(tmp_path / "01_a.ipynb", ["- x: +0.20 pp: higher"])
    assert main(["verdicts", "extract", "--dir", str(tmp_path), "--to", str(tmp_path / "a.json"),
                 "--machine", "A", "--commit", "abc"]) == 0
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{verdicts.VERDICTS_START}\nold\n{verdicts.VERDICTS_END}\n")
    assert main(["verdicts", "compare", str(tmp_path / "a.json"), str(tmp_path / "a.json"),
                 "--readme", str(readme)]) == 0
    assert "| 01_a | 1 | 1 | 0 | 0 |" in readme.read_text()
    assert main(["verdicts", "compare", str(tmp_path / "a.json"), str(tmp_path / "nowhere.json")]) == 2

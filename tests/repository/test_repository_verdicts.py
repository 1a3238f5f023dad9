"""Cross-machine verdicts: a line agrees when its words match with numbers masked, and flips when a word differs."""
from __future__ import annotations

import json
import re
from pathlib import Path

from lth_utils.results import verdicts

ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_cross_machine_table_is_what_the_code_computes_from_the_committed_lines():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(verdicts.VERDICTS_START)[1].split(verdicts.VERDICTS_END)[0].strip()
    files = re.search(r"verdicts compare (\S+) (\S+)`", block).groups()
    a, b = (json.loads((ROOT / f).read_text()) for f in files)
    assert block == verdicts.table(a, b, files)


def test_every_other_check_the_readme_names_gives_the_counts_it_states():
    # a check named in the README's prose ("... gives N verdict lines, M identical (`... verdicts compare A B`)")
    readme = " ".join((ROOT / "README.md").read_text().split())
    stated = re.findall(r"gives (\d+) verdict lines, (\d+) identical \(`python -m lth_utils verdicts compare (\S+) (\S+)`\)",
                        readme)
    assert stated, "the README names no such check"
    for lines, identical, *files in stated:
        a, b = (json.loads((ROOT / f).read_text()) for f in files)
        rows = verdicts.compare(a, b)
        assert (sum(r["lines"] for r in rows), sum(r["identical"] for r in rows)) == (int(lines), int(identical))

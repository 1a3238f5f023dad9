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

"""The side-by-side table with the paper: verdict rules on constructed data (each rule can fail), the censoring count,
and the README's table equal to what the code computes from the committed results."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from lth_utils.course import comparison

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_the_one_computed_from_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(comparison.START, 1)[1].split(comparison.END, 1)[0].strip()
    printed = subprocess.run([sys.executable, "-m", "lth_utils", "compare", "--profile", "paper",
                              "--store", "results/paper/store"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == block, "README out of date: run `make compare`"

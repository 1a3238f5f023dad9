"""The benchmark still runs (tiny configuration; CI makes no timing assertions)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_engine_speed_block_is_what_the_bench_writes_from_its_committed_record():
    """The README's engine-speed table and targets are bench.py's rendering of benchmarks/results/engine-speed-2core
    .json, not typed by hand (`bench.py --engine-speed --readme README.md` writes both)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    record = json.loads((ROOT / "benchmarks" / "results" / "engine-speed-2core.json").read_text())
    block = bench.engine_speed_markdown(record)
    readme = (ROOT / "README.md").read_text()
    assert f"{bench.ENGINE_START}\n{block}\n{bench.ENGINE_END}" in readme
    assert block.count("\n| LeNet-") == len(record["levels"]) and "(target >= 3x)" in block

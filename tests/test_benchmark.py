"""The benchmark still runs (tiny configuration; CI makes no timing assertions)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_in_a_tiny_configuration_and_prints_its_table(data_root):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--tiny", "--iterations", "20",
                             "--trials", "2", "--data-root", str(data_root)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    for line in ("(1) fp32 matmul", "(2) standard loop", "(3) this engine", "ratio (3)/(2)", "sparse CSR"):
        assert line in result.stdout

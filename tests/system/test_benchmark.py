"""The benchmark still runs (tiny configuration; CI makes no timing assertions)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_in_a_tiny_configuration_and_measures_every_rate(data_root, tmp_path):
    record_path = tmp_path / "record.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--tiny", "--iterations", "20",
                             "--trials", "2", "--data-root", str(data_root), "--json", str(record_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for line in ("(1) fp32 matmul", "(2) standard loop", "(3) this engine", "ratio (3)/(2)", "sparse CSR"):
        assert line in result.stdout
    record = json.loads(record_path.read_text())
    for key in ("matmul_gflops", "standard_model_it_per_s", "engine_model_it_per_s", "ratio",
                "engine_steady_model_it_per_s", "dask_local_model_it_per_s", "step_ms_per_worker",
                "paper_02_03_estimated_hours"):
        assert math.isfinite(record[key]) and record[key] > 0, key
    assert 0 < record["engine_eval_share"] < 1
    for row in record["sparse_vs_dense"]:
        assert row["dense_us"] > 0 and row["sparse_csr_us"] > 0, row
    assert record["machine"] and record["cores"] >= 1

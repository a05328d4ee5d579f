"""Smoke test of the benchmark suite: tiny sizes, a table, and contenders that agree."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmarks_print_a_table_and_checksums_agree():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--reps", "1", "--only", "W1,W3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    header = next(line for line in out.splitlines() if line.startswith("workload"))
    assert "numpy" in header and "tinygrad_edu" in header and "tg/numpy" in header
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("W1 ", "W3 "))}
    assert set(rows) == {"W1", "W3"}
    assert all(line.rstrip().endswith(" ok") for line in rows.values()), out
    assert "µs/op fwd+bwd" in out and "ms/iter" in out
    assert "checksums agree" in out

"""Smoke test of the benchmark suite: tiny sizes, a table, and contenders that agree."""
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git history")
def test_compare_runs_two_versions_side_by_side():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "HEAD", "--quick", "--rounds", "9",
         "--only", "W1,W3"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()
            if line.startswith(("W1 ", "W3 "))}
    assert set(rows) == {"W1", "W3"}
    for cells in rows.values():   # the same code on both sides: a ratio near 1
        assert 0.5 < float(cells[3]) < 2.0, proc.stdout


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git history")
def test_compare_refuses_an_unknown_commit():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.compare", "no-such-ref", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and "git archive no-such-ref failed" in proc.stderr


def test_contenders_take_turns_in_alternating_order_and_settle_steps_are_not_timed():
    from benchmarks.harness import take_turns
    log = []

    def contender(name):
        def step():
            k = sum(1 for n in log if n == name) % 3   # position in its turn of 3 steps
            log.append(name)
            return {"total": (100.0, 1.0, 3.0)[k]}, len(log)   # the settle step is slow
        return step

    turns, kept = take_turns({"a": contender("a"), "b": contender("b")}, rounds=3, block=2)
    assert "".join(log) == "aaabbb" "bbbaaa" "aaabbb"
    assert turns == {"a": [{"total": 2.0}] * 3, "b": [{"total": 2.0}] * 3}
    assert len(kept["a"]) == len(kept["b"]) == 9   # every step's output, settle steps too


def test_ratio_pairs_turns_of_the_same_round_not_the_medians():
    from benchmarks.run import WORKLOADS, ratio
    stats = {"tinygrad_edu": [3.0], "numpy": [2.5]}              # medians: 1.2
    turns = {"tinygrad_edu": {(0, 0): 2.0, (0, 1): 4.0, (0, 2): 6.0},
             "numpy": {(0, 0): 1.0, (0, 1): 4.0, (0, 2): 4.0}}    # turn by turn: 2, 1, 1.5
    assert ratio("ms/iter", WORKLOADS["W3"], stats, turns, "numpy") == "1.50"
    assert ratio("ms/iter", WORKLOADS["W3"], stats, {}, "numpy") == "1.20"  # no turns: reps


def test_cache_decay_probe_prints_one_line_per_pause():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.cache_decay", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "µs pause" in line]
    assert [int(line.split()[2]) for line in lines] == [0, 100, 300, 1000]
    assert "(1.00x the time with no pause)" in lines[0]

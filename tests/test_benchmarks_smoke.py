"""Smoke test of the benchmark suite: tiny sizes, a table, and contenders that agree."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def quick(*args, module="benchmarks", timeout=120):
    proc = subprocess.run([sys.executable, "-m", module, "--quick", "--reps", "1", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    return proc, proc.stdout


def table_rows(out, names):
    """{workload: its first row} of each table printed (a list: one per table)."""
    rows = {}
    for line in out.splitlines():
        first = line.split(" ", 1)[0]
        if first in names:
            rows.setdefault(first, []).append(line)
    return rows


def families():
    """W1, W2, ... : each family of registered workloads (W2 = W2-f64, W2-f32, ...)."""
    from benchmarks.run import WORKLOADS
    return sorted({name.split("-")[0] for name in WORKLOADS}, key=lambda f: int(f[1:]))


def test_quick_benchmarks_print_a_table_and_checksums_agree():
    proc, out = quick("--only", "W1,W3")
    assert proc.returncode == 0, out + proc.stderr
    header = next(line for line in out.splitlines() if line.startswith("workload"))
    assert "numpy" in header and "tinygrad_edu" in header and "tg/numpy" in header
    rows = table_rows(out, {"W1", "W3", "W3-plain"})
    assert set(rows) == {"W1", "W3", "W3-plain"}
    assert all(line.rstrip().endswith(" ok") for lines in rows.values() for line in lines), out
    assert "µs/op fwd+bwd" in out and "ms/iter" in out
    assert "checksums agree" in out


@pytest.mark.parametrize("family", families())
def test_every_workload_runs_quick_and_its_contenders_agree(family):
    """Each numpy reference (and scikit-learn) computes the same numbers as tinygrad_edu."""
    from benchmarks.run import WORKLOADS
    names = {name for name in WORKLOADS if name.split("-")[0] == family}
    proc, out = quick("--only", family)
    assert proc.returncode == 0, out + proc.stderr
    rows = table_rows(out, names)
    assert set(rows) == names, out
    assert all(line.rstrip().endswith(" ok") for lines in rows.values() for line in lines), out


def test_workloads_name_their_contenders_and_lack_one_as_a_dash():
    from benchmarks.harness import Workload
    from benchmarks.run import tabulate
    w = Workload("Wx", "two contenders", {}, bench=lambda fw: None,
                 contenders=("tinygrad_edu", "scikit-learn"))
    run = lambda ms, rep=0: {"metrics": {"ms": ms}, "checksum": [1.0], "flags": [],
                             "info": {}, "rep": rep, "turns": [{"ms": ms}]}
    header, rows, _, failed = tabulate([w], ["numpy", "tinygrad_edu", "torch", "scikit-learn"],
                                       {"Wx": {"tinygrad_edu": [run(3.0)],
                                               "scikit-learn": [run(2.0)]}})
    assert not failed
    cells = dict(zip(header, rows[0]))
    assert cells["numpy"] == cells["torch"] == cells["tg/numpy"] == cells["tg/torch"] == "-"
    assert cells["tg/scikit-learn"] == "1.50" and cells["check"] == "ok"


def test_both_thread_settings_print_a_table_each():
    proc, out = quick("--only", "W1", "--threads", "1,2")
    assert proc.returncode == 0, out + proc.stderr
    assert "1 BLAS/OpenMP thread per contender" in out
    assert "2 BLAS/OpenMP threads per contender" in out
    rows = table_rows(out, {"W1"})["W1"]
    assert len(rows) == 2 and all(line.rstrip().endswith(" ok") for line in rows), out


def test_w6_keeps_its_own_entry_point():
    proc, out = quick(module="benchmarks.w6_rbm")
    assert proc.returncode == 0, out + proc.stderr
    assert table_rows(out, {"W6"})["W6"][0].rstrip().endswith(" ok"), out


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

"""W7, the digits CNN step: the hand-written numpy step, tinygrad_edu and PyTorch take
turns and compute the same losses and weights."""
import numpy as np
import pytest

from benchmarks import frameworks, harness, w7_cnn

CONTENDERS = [c for c in ("numpy", "tinygrad_edu", "torch") if frameworks.available(c)]


def agree(a, b):
    return len(a) == len(b) and np.allclose(a, b, rtol=1e-6, atol=0)


def test_contenders_take_turns_and_agree_on_every_loss_and_the_weights():
    pytest.importorskip("sklearn")
    workload, = w7_cnn.WORKLOADS
    size = dict(workload.sizes["quick"])
    rounds, block = size.pop("rounds"), size.pop("block")
    benches = {c: w7_cnn.bench(frameworks.load(c, 1), **size) for c in CONTENDERS}
    warm = {c: [b.step()[1] for _ in range(b.warmup)] for c, b in benches.items()}
    turns, kept = harness.take_turns({c: b.step for c, b in benches.items()}, rounds, block)
    reports = {c: b.report(turns[c][0], warm[c] + kept[c]) for c, b in benches.items()}
    steps = benches["numpy"].warmup + rounds * (1 + block)
    reference = reports["numpy"]["checksum"]
    assert len(reference) == steps + 1                      # every loss, then the weights
    assert reference[steps - 1] < reference[0]              # it learns
    for c, rep in reports.items():
        assert agree(rep["checksum"], reference), c
        assert rep["flags"] == [], c                        # float64 throughout
        assert rep["metrics"]["ms/step"] > 0


def test_a_tie_in_a_pooling_window_sends_the_gradient_once():
    # constant images: the interior windows see equal patches, so each of their pools
    # ties four ways; numpy sends the gradient to the first maximum (PyTorch's rule),
    # tinygrad_edu splits it evenly: both give the same weight gradient
    rng = np.random.default_rng(1)
    X = np.ones((8, 1, 8, 8)) * rng.uniform(0.5, 1.0, (8, 1, 1, 1))
    labels = np.arange(8)
    weights = w7_cnn.make_weights(np.random.default_rng(0))
    checks = {}
    for c in CONTENDERS:
        fw = frameworks.load(c, 1)
        step = w7_cnn.build(fw, X, labels, [w.copy() for w in weights])
        checks[c] = [w7_cnn.keep(fw, *step())[:2] for _ in range(3)]
    for c, values in checks.items():
        assert agree(np.ravel(values), np.ravel(checks["numpy"])), c

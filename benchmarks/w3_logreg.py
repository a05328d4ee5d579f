"""W3 logistic regression: N=10,000 samples, D=100 features, 200 full-batch gradient
descent iterations on the mean binary cross-entropy (the stable with-logits form).
X is a constant: no gradient for it.
"""
import numpy as np

from benchmarks.frameworks import loss_sources
from benchmarks.harness import Bench, Workload, result, timed

LR = 1.0
# 200 iterations in all: 20 rounds of 1 untimed + 9 timed steps (see harness.take_turns)
SIZES = {"full": {"n": 10_000, "d": 100, "rounds": 20, "block": 9},
         "quick": {"n": 1_000, "d": 20, "rounds": 2, "block": 9}}


def make_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal((d, 1))
    t = (rng.random((n, 1)) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.float64)
    return X, t, np.zeros((d, 1)), np.zeros(1)


def build(fw, n, d):
    """A ``step()``: one gradient-descent iteration in place; returns (loss, w) as numpy."""
    X, t, w, b = make_data(n, d)
    if not fw.autograd:
        def step():
            nonlocal w, b
            z = X @ w + b
            e = np.exp(-np.abs(z))                          # one exp, never overflows
            # E = mean(log(1 + e^z) - t z), softplus(z) = max(z, 0) + log1p(e^-|z|)
            loss = np.mean(np.maximum(z, 0.0) + np.log1p(e) - t * z)
            # dE/dz = (sigmoid(z) - t)/n, sigmoid(z) from the same e: 1/(1+e) or e/(1+e)
            dz = (np.where(z >= 0, 1.0, e) / (1.0 + e) - t) * (1.0 / n)
            w -= LR * (X.T @ dz)
            b -= LR * dz.sum(axis=0)
            return loss, w
        return step

    X, t = fw.tensor(X), fw.tensor(t)
    w, b = fw.tensor(w, requires_grad=True), fw.tensor(b, requires_grad=True)

    def step():
        loss = fw.bce_with_logits(X @ w + b, t)
        loss.backward()
        fw.sgd_step([w, b], LR)
        return fw.numpy(loss), fw.numpy(w)
    return step


def bench(fw, n, d):
    step = build(fw, n, d)
    keep = lambda out: (float(out[0]), float(out[1].sum()))
    return Bench(lambda: timed(step, keep),
                 lambda med, outs: result({"ms/iter": med["total"] * 1e3},
                                          checksum=(outs[0][0], *outs[-1]), **loss_sources(fw)),
                 warmup=0)


WORKLOADS = [Workload("W3", "logistic regression N=10,000 D=100, 200 full-batch GD iterations",
                      SIZES, bench=bench)]

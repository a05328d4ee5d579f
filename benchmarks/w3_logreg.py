"""W3 logistic regression: N=10,000 samples, D=100 features, 200 full-batch gradient
descent iterations on the mean binary cross-entropy (the stable with-logits form).
X is a constant: no gradient for it.

W3 gives the autograd engines their fused loss (``binary_cross_entropy_with_logits``);
W3-plain writes it the plain way, ``(softplus(z) - t * z).mean()``, three ops and a mean.
Both run against the same numpy reference.
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


def build(fw, n, d, plain=False):
    """A ``step()``: one gradient-descent iteration in place; returns (loss, w) as numpy."""
    X, t, w, b = make_data(n, d)
    if not fw.autograd:
        def step():
            nonlocal w, b
            z = X @ w
            z += b
            e = np.abs(z)                                   # e = exp(-|z|): one exp,
            np.negative(e, out=e)                           # never overflows
            np.exp(e, out=e)
            # E = mean(softplus(z) - t z), softplus(z) = max(z, 0) + log1p(e); t.z by BLAS
            sp = np.log1p(e)
            sp += np.maximum(z, 0.0)
            loss = (sp.sum() - np.vdot(t, z)) / n
            # dE/dz = (sigmoid(z) - t)/n, sigmoid(z) from the same e: 1/(1+e) where
            # z >= 0, e/(1+e) where z < 0 (the numerator as max(e, [z >= 0])); the
            # learning rate goes into this (n, 1) array, not into the gradient
            dz = np.maximum(e, z >= 0)
            e += 1.0
            dz /= e
            dz -= t
            dz *= LR / n
            w -= X.T @ dz
            b -= dz.sum()
            return loss, w
        return step

    X, t = fw.tensor(X), fw.tensor(t)
    w, b = fw.tensor(w, requires_grad=True), fw.tensor(b, requires_grad=True)

    def step():
        z = X @ w + b
        loss = (fw.softplus(z) - t * z).mean() if plain else fw.bce_with_logits(z, t)
        loss.backward()
        fw.sgd_step([w, b], LR)
        return fw.numpy(loss), fw.numpy(w)
    return step


def bench(fw, n, d, plain=False):
    step = build(fw, n, d, plain)
    keep = lambda out: (float(out[0]), float(out[1].sum()))
    return Bench(lambda: timed(step, keep),
                 lambda med, outs: result({"ms/iter": med["total"] * 1e3},
                                          checksum=(outs[0][0], *outs[-1]),
                                          **({} if plain else loss_sources(fw))),
                 warmup=0)


WORKLOADS = [Workload("W3", "logistic regression N=10,000 D=100, 200 full-batch GD iterations",
                      SIZES, bench=bench),
             Workload("W3-plain", "W3 with the loss written plainly: (softplus(z) - t*z).mean()",
                      {k: dict(v, plain=True) for k, v in SIZES.items()}, bench=bench)]

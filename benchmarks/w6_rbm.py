"""W6 restricted Boltzmann machine: one epoch of PCD-1 on the nudged digits, side by side.

    python -m benchmarks --only W6 [--quick] [--reps N] [--rounds N] [--threads N]
    python -m benchmarks.w6_rbm [the same options]          (the same)

The setting of scikit-learn's RBM example: 7,188 nudged digits (64 pixels in [0, 1]),
100 hidden units, learning rate 0.06, minibatches of 10 (719 updates an epoch), one
epoch from the same seed. A timing workload of the runner: the three contenders take
turns in one process (``harness.take_turns``), each turn an untimed epoch and then
``block`` timed ones:

- ``scikit-learn``: ``sklearn.neural_network.BernoulliRBM(n_iter=1).fit`` (hand-written
  numpy: five small matrix products an update, its gradient derived on paper);
- ``tinygrad_edu``: ``tg.models.BernoulliRBM(n_iter=1).fit``, the gradient from the
  engine (a graph of three ops an update), the Gibbs sampling in numpy, and the
  per-epoch history (its own row, ``ms/epoch w/o history``, says what that adds);
- ``numpy``: tinygrad_edu's update with the gradient written by hand (three matrix
  products an update), the same draws in the same order: the engine's cost is the
  difference to it.

All three start from the same seed, draw the same random numbers and learn the same
weights (the checksum: the sums of W and of |W|, to 1e-9).
"""
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):               # started as ``python benchmarks/w6_rbm.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Bench, Workload, result, timed
from benchmarks.w2_mlp import sigmoid_into  # (an ulp from expit: no draw flips in practice)

SETTINGS = {"n_components": 100, "learning_rate": 0.06, "batch_size": 10, "n_iter": 1,
            "random_state": 0}
SIZES = {"full": {"n": None, "rounds": 6, "block": 2},
         "quick": {"n": 1000, "rounds": 2, "block": 1}}


def make_data(n=None):
    from tinygrad_edu.rbm import load_nudged_digits
    X = load_nudged_digits()[0]
    return X if n is None else X[:n]


def numpy_epoch(X, n_components, learning_rate, batch_size, random_state, **_):
    """tinygrad_edu's PCD-1 epoch with the gradient by hand: theta = [[W^T, b], [c, 0]],
    d/dtheta sum_n weight_n F(v_n) = -[v, 1]^T (weight * [sigmoid(pre), 1]).

    The chains' next hidden sample comes from the sigmoid of the update's own products
    (no second sigmoid), and the learning rate from the row weights (no pass over the
    gradient); the draws are the same, in the same order."""
    rng = np.random.RandomState(random_state)
    n, d = X.shape
    theta = np.zeros((d + 1, n_components + 1))
    theta[:-1, :-1] = rng.normal(0, 0.01, (n_components, d)).T
    W, b = theta[:-1, :-1].T, theta[:-1, -1]
    h = np.zeros((batch_size, n_components))
    V1 = np.ones((2 * batch_size, d + 1))
    for start in range(0, n, batch_size):
        v_data = X[start:start + batch_size]
        m = len(v_data)
        V = V1[:m + batch_size]
        p = h @ W
        p += b
        np.less(rng.uniform(size=p.shape), sigmoid_into(p, out=p), out=V[m:, :-1])  # v_model
        V[:m, :-1] = v_data
        s = sigmoid_into(V @ theta)
        # the chains go on from P(h | v_model) under the weights the update started from
        np.less(rng.uniform(size=h.shape), s[m:, :-1], out=h)
        s[:, -1] = 1.0
        s[:m] *= -learning_rate / m
        s[m:] *= learning_rate / m
        theta -= V.T @ s
        theta[-1, -1] = 0.0
    return theta[:-1, :-1].T


def bench(fw, n):
    X = make_data(n)
    if fw.name == "scikit-learn":
        from sklearn.neural_network import BernoulliRBM

        def step():
            return timed(lambda: BernoulliRBM(**SETTINGS).fit(X).components_)
    elif fw.name == "tinygrad_edu":
        def step():
            model = fw.tg.models.BernoulliRBM(**SETTINGS)
            phases, W = timed(lambda: model.fit(X).components_)
            phases["updates"] = model.history_["seconds"][0]  # the epoch without its history
            return phases, W
    else:
        def step():
            return timed(lambda: numpy_epoch(X, **SETTINGS))

    def report(med, outs):
        metrics = {"ms/epoch": med["total"] * 1e3}
        if "updates" in med:
            metrics["ms/epoch w/o history"] = med["updates"] * 1e3
        return result(metrics, checksum=outs[-1], rows=int(X.shape[0]))

    def kept_step():        # the checksum off the clock: the sums of W and |W|
        phases, W = step()
        return phases, (float(W.sum()), float(np.abs(W).sum()))
    return Bench(kept_step, report, warmup=1)


WORKLOADS = [Workload("W6", "BernoulliRBM, one epoch of PCD-1 on the 7,188 nudged digits, "
                      "100 hidden units, minibatches of 10", SIZES, bench=bench, rtol=1e-9,
                      max_reps=5, contenders=("numpy", "tinygrad_edu", "scikit-learn"))]


def main(argv=None):
    """``python -m benchmarks.w6_rbm [options]``: the runner's table for W6 alone."""
    from benchmarks import run
    return run.main(["--only", "W6", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

"""W6 restricted Boltzmann machine: one epoch of PCD-1 on the nudged digits, side by side.

    python -m benchmarks.w6_rbm [--quick] [--reps N] [--rounds N] [--threads N]

The setting of scikit-learn's RBM example: 7,188 nudged digits (64 pixels in [0, 1]),
100 hidden units, learning rate 0.06, minibatches of 10 (719 updates an epoch), one
epoch from the same seed. Three contenders take turns in one process
(``harness.take_turns``: a, b, c, then c, b, a, ...), each turn an untimed epoch and
then ``block`` timed ones:

- ``scikit-learn``: ``sklearn.neural_network.BernoulliRBM(n_iter=1).fit`` (hand-written
  numpy: five small matrix products an update, its gradient derived on paper);
- ``tinygrad_edu``: ``tg.models.BernoulliRBM(n_iter=1).fit``, the gradient from the
  engine (a graph of three ops an update), the Gibbs sampling in numpy, and the
  per-epoch history (its own column, ``history ms``, says what that adds);
- ``numpy``: tinygrad_edu's update with the gradient written by hand, the same arrays
  and draws: the engine's cost is the difference to it.

All three start from the same seed, draw the same random numbers and learn the same
weights (the checksum, to 1e-9). The ratio tinygrad_edu / scikit-learn is the median
over all turns of all repetitions of the two turns' medians in the same round. Every
repetition is a fresh process with BLAS pinned to ``--threads`` threads and glibc
malloc's thresholds fixed (harness.MALLOC_ENV), as the other timing workloads.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):               # started as ``python benchmarks/w6_rbm.py``
    sys.path.insert(0, str(ROOT))

from benchmarks import harness

SETTINGS = {"n_components": 100, "learning_rate": 0.06, "batch_size": 10, "n_iter": 1,
            "random_state": 0}
SIZES = {"full": {"n": None, "rounds": 6, "block": 2, "reps": 3},
         "quick": {"n": 1000, "rounds": 2, "block": 1, "reps": 1}}
MARK = "@@benchmark-result "
CONTENDERS = ("scikit-learn", "tinygrad_edu", "numpy")


def make_data(n=None):
    from tinygrad_edu.rbm import load_nudged_digits
    X = load_nudged_digits()[0]
    return X if n is None else X[:n]


def numpy_epoch(X, n_components, learning_rate, batch_size, random_state, **_):
    """tinygrad_edu's PCD-1 epoch with the gradient by hand: theta = [[W^T, b], [c, 0]],
    d/dtheta sum_n weight_n F(v_n) = -[v, 1]^T (weight * [sigmoid(pre), 1])."""
    from scipy.special import expit
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
        np.less(rng.uniform(size=p.shape), expit(p, out=p), out=V[m:, :-1])
        V[:m, :-1] = v_data
        pre = V @ theta
        s = expit(pre)
        s[:, -1] = 1.0
        s[:m] *= -1.0 / m
        s[m:] *= 1.0 / m
        grad = V.T @ s
        grad *= learning_rate
        theta -= grad
        theta[-1, -1] = 0.0
        h_model = expit(pre[m:, :-1])
        h = (rng.uniform(size=h_model.shape) < h_model).astype(np.float64)
    return theta[:-1, :-1].T


def steps(X):
    """{contender: step()} for take_turns; each step is one epoch from the start."""
    from sklearn.neural_network import BernoulliRBM

    import tinygrad_edu as tg

    def sklearn_step():
        model = BernoulliRBM(**SETTINGS)
        phases, W = harness.timed(lambda: model.fit(X).components_)
        return phases, float(W.sum())

    def tinygrad_step():
        model = tg.models.BernoulliRBM(**SETTINGS)
        phases, W = harness.timed(lambda: model.fit(X).components_)
        phases["updates"] = model.history_["seconds"][0]  # the epoch without its history
        return phases, float(W.sum())

    def numpy_step():
        phases, W = harness.timed(lambda: numpy_epoch(X, **SETTINGS))
        return phases, float(W.sum())

    return {"scikit-learn": sklearn_step, "tinygrad_edu": tinygrad_step, "numpy": numpy_step}


def child(size, threads):
    """One repetition: {contender: {"turns": [{phase: seconds}], "checksum": float}}."""
    args = SIZES[size]
    X = make_data(args["n"])
    pools = harness.pin_threads(threads)
    contenders = steps(X)
    warm = {c: step()[1] for c, step in contenders.items()}
    turns, kept = harness.take_turns(contenders, args["rounds"], args["block"])
    out = {c: {"turns": turns[c], "checksum": kept[c][-1], "warm": warm[c]} for c in contenders}
    out["info"] = {"rows": int(X.shape[0]), "pools": pools}
    print(MARK + json.dumps(out), flush=True)


def run_repetition(size, threads, rounds):
    env = dict(os.environ, **harness.thread_env(threads), **harness.MALLOC_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.w6_rbm", "--child", "--size", size,
           "--threads", str(threads), "--rounds", str(rounds)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise SystemExit(f"W6 child failed (exit code {proc.returncode}):\n{proc.stderr}")


def quartiles(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return q[0], statistics.median(values), q[2]


def summarise(reps):
    """The table: per contender the median epoch (ms), and the paired ratios."""
    lines = []
    rows = reps[0]["info"]["rows"]
    epoch = {c: [t["total"] for r in reps for t in r[c]["turns"]] for c in CONTENDERS}
    updates = [t["updates"] for r in reps for t in r["tinygrad_edu"]["turns"]]
    lines.append(f"W6 BernoulliRBM, one epoch of PCD-1: {rows} rows x 64 pixels, 100 hidden "
                 f"units, minibatches of 10 ({-(-rows // 10)} updates), {len(reps)} "
                 "process(es)")
    lines.append(f"{'contender':14s} {'ms/epoch':>9s} {'min':>8s} {'max':>8s}")
    for c in CONTENDERS:
        lines.append(f"{c:14s} {1e3 * statistics.median(epoch[c]):9.1f} "
                     f"{1e3 * min(epoch[c]):8.1f} {1e3 * max(epoch[c]):8.1f}")
    lines.append(f"{'  (updates)':14s} {1e3 * statistics.median(updates):9.1f}   "
                 "tinygrad_edu's epoch without its history_ "
                 f"({1e3 * (statistics.median(epoch['tinygrad_edu']) - statistics.median(updates)):.1f}"
                 " ms history)")
    for over in ("scikit-learn", "numpy"):
        ratios = [t["total"] / o["total"] for r in reps
                  for t, o in zip(r["tinygrad_edu"]["turns"], r[over]["turns"])]
        lo, mid, hi = quartiles(ratios)
        lines.append(f"tinygrad_edu / {over}: {mid:.2f} (quartiles {lo:.2f}-{hi:.2f}, "
                     f"{len(ratios)} paired turns)")
    sums = {c: reps[0][c]["checksum"] for c in CONTENDERS}
    agree = all(np.isclose(sums[c], sums["scikit-learn"], rtol=1e-9, atol=1e-12)
                for c in CONTENDERS)
    lines.append("checksums (sum of the learned W) agree: " + ("ok" if agree else
                 f"MISMATCH {sums}"))
    return lines, agree


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows, one short process")
    parser.add_argument("--reps", type=int, help="processes (default 3, quick 1)")
    parser.add_argument("--rounds", type=int, help="rounds of turns per process (default 6)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.size or ("quick" if args.quick else "full")
    if args.rounds:
        SIZES[size]["rounds"] = args.rounds
    if args.child:
        child(size, args.threads)
        return 0
    reps = [run_repetition(size, args.threads, SIZES[size]["rounds"])
            for _ in range(args.reps or SIZES[size]["reps"])]
    lines, agree = summarise(reps)
    print("\n".join(lines))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())

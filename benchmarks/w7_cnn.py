"""W7 the digits CNN step: Conv2d(1, 8, 3, padding=1) - ReLU - MaxPool2d(2) - Flatten -
Linear(8*4*4, 10), cross-entropy, on a batch of 64 of scikit-learn's 8x8 digits (pixels
scaled to [0, 1], NCHW); one SGD step = forward, backward, update. No gradient for X.

    python -m benchmarks.w7_cnn [--quick] [--reps N] [--threads N]

(runs the three contenders taking turns, one fresh process per repetition, as the runner
does, and prints ms per step and the paired ratios).

The network is a smaller examples/10_convnet_digits.py: its first block (3x3 filters,
padding 1, ReLU, 2x2 max pooling; 8 filters instead of 16, no batch normalisation) and
its Linear layer on the flattened maps (no dropout). The numpy reference is im2col: the windows of the padded batch copied into
one (9, N*64) matrix, so that the convolution is one matrix product and its weight
gradient another; the bias gradient is a sum, the pooling a reshape, a max and a mask.
"""
import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):               # started as ``python benchmarks/w7_cnn.py``
    sys.path.insert(0, str(ROOT))

from benchmarks import frameworks, harness
from benchmarks.frameworks import loss_sources
from benchmarks.harness import Bench, Workload, result, timed

LR = 0.1
CHANNELS, KERNEL, POOL, CLASSES = 8, 3, 2, 10
# full: 2 + 20 rounds of (1 untimed + 5 timed) = 122 steps per contender
SIZES = {"full": {"batch": 64, "rounds": 20, "block": 5},
         "quick": {"batch": 16, "rounds": 1, "block": 3}}


@functools.cache
def digits():
    from sklearn.datasets import load_digits
    bunch = load_digits()
    return bunch.data / 16.0, bunch.target.astype(np.int64)


def make_weights(rng):
    """The initial weights in PyTorch's layout and initialisation (uniform in
    +-1/sqrt(fan_in)), except the Linear weight, which is (in, out) as tinygrad_edu's."""
    bound = 1.0 / KERNEL
    Wc = rng.uniform(-bound, bound, (CHANNELS, 1, KERNEL, KERNEL))
    bc = rng.uniform(-bound, bound, CHANNELS)
    n_flat = CHANNELS * (8 // POOL) ** 2
    bound = 1.0 / np.sqrt(n_flat)
    return [Wc, bc, rng.uniform(-bound, bound, (n_flat, CLASSES)),
            rng.uniform(-bound, bound, CLASSES)]


def make_data(batch, seed=0):
    """A batch (N, 1, 8, 8) of digits, their labels, and the initial weights."""
    rng = np.random.default_rng(seed)
    pixels, labels = digits()
    pick = rng.choice(len(labels), size=batch, replace=False)
    return pixels[pick].reshape(batch, 1, 8, 8), labels[pick], make_weights(rng)


def numpy_step(X, labels, params):
    """The step by hand, updating ``params`` (Wc, bc, W1, b1) in place. Feature maps are
    channel-major, (8, ...): a channel's bias and gradient are along one row."""
    Wc, bc, W1, b1 = params
    n, (h, w), c, k = len(X), X.shape[2:], len(Wc), KERNEL
    oh, ow = h // POOL, w // POOL
    Xp = np.zeros((n, h + k - 1, w + k - 1))    # the zero border (padding 1), written once
    rows = np.arange(n)
    Wm = Wc.reshape(c, -1)                      # (8, 9), a view: its update updates Wc

    def step():
        nonlocal Wm, bc, W1, b1
        Xp[:, k // 2:k // 2 + h, k // 2:k // 2 + w] = X[:, 0]
        # im2col, one copy: row p*3+q holds pixel (i+p, j+q) of every window (i, j), the
        # columns ordered (di, dj, n, i', j') for i = 2i' + di, j = 2j' + dj: the four
        # entries of each 2x2 pooling window lie in four contiguous blocks
        win = sliding_window_view(Xp, (k, k), axis=(1, 2))            # (N, 8, 8, 3, 3)
        cols = (win.reshape(n, oh, POOL, ow, POOL, k, k).transpose(5, 6, 2, 4, 0, 1, 3)
                .reshape(k * k, -1))                                  # (9, 4 N 16)
        Z = Wm @ cols                                  # the convolution, (8, 4 N 16)
        Z += bc[:, None]
        A = np.maximum(Z, 0.0, out=Z).reshape(c, POOL * POOL, n, oh, ow)   # ReLU
        P = A.max(axis=1)                              # max pool, (8, N, 4, 4)
        flat = P.transpose(1, 0, 2, 3).reshape(n, -1)  # Flatten as NCHW: (N, 128)
        logits = flat @ W1
        logits += b1
        logits -= logits.max(axis=1, keepdims=True)
        Y = np.exp(logits, out=logits)
        Y /= Y.sum(axis=1, keepdims=True)              # Y = softmax(flat W1 + b1)
        loss = -np.log(Y[rows, labels]).mean()          # E = -1/n sum T log Y
        # dE/dlogits = (Y - T)/n, times the learning rate here, on the (N, 10) array:
        # every gradient below is the learning rate times the gradient
        Y[rows, labels] -= 1.0
        Y *= LR / n
        dP = (Y @ W1.T).reshape(n, c, oh, ow).transpose(1, 0, 2, 3)
        dP *= P > 0                                    # ReLU' of each window's maximum
        W1 -= flat.T @ Y
        b1 -= Y.sum(axis=0)
        # each window's gradient goes to its first maximum, as in PyTorch: a mask A == P
        # alone would send it to every position of a tie (the windows whose patches are
        # equal, as blank corners are) and count it that many times in dWc
        dZ = np.empty(A.shape)
        free = np.ones(P.shape, dtype=bool)
        for q in range(POOL * POOL):
            hit = A[:, q] == P
            hit &= free
            np.multiply(hit, dP, out=dZ[:, q])
            free &= ~hit
        Wm -= dZ.reshape(c, -1) @ cols.T               # (8, 9)
        bc -= dP.sum(axis=(1, 2, 3))                   # = dZ summed over its positions
        return loss, params
    return step


def tinygrad_model(tg, n_flat):
    nn = tg.nn
    return nn.Sequential(nn.Conv2d(1, CHANNELS, KERNEL, padding=KERNEL // 2), nn.ReLU(),
                         nn.MaxPool2d(POOL), nn.Flatten(), nn.Linear(n_flat, CLASSES))


def torch_model(torch, n_flat):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, CHANNELS, KERNEL, padding=KERNEL // 2), nn.ReLU(),
                         nn.MaxPool2d(POOL), nn.Flatten(), nn.Linear(n_flat, CLASSES)).double()


def build(fw, X, labels, params):
    """A ``step()`` doing forward, backward and SGD update in place; it returns the loss
    and the parameters (kept off the clock: see ``keep``)."""
    if not fw.autograd:
        return numpy_step(X, labels, params)
    Wc, bc, W1, b1 = params
    if fw.name == "tinygrad_edu":
        model = tinygrad_model(fw.tg, len(W1))
        model.load_state_dict({"0.weight": Wc, "0.bias": bc, "4.weight": W1, "4.bias": b1})
    elif fw.name == "torch":
        torch = fw.torch
        model = torch_model(torch, len(W1))
        model.load_state_dict({"0.weight": torch.tensor(Wc), "0.bias": torch.tensor(bc),
                               "4.weight": torch.tensor(W1.T), "4.bias": torch.tensor(b1)})
    else:
        raise ValueError(f"W7 has no model for {fw.name!r}")
    X, labels = fw.tensor(X), fw.labels(labels)
    weights = list(model.parameters())

    def step():
        loss = fw.cross_entropy(model(X), labels)
        loss.backward()
        fw.sgd_step(weights, LR)
        return loss, weights
    return step


def keep(fw, loss, params):
    """What is kept of a step: the loss, the sum of the updated weights, their dtypes."""
    arrays = [np.asarray(loss)] if not fw.autograd else [fw.numpy(loss)]
    arrays += [p if not fw.autograd else fw.numpy(p) for p in params]
    return (float(arrays[0]), float(sum(a.sum() for a in arrays[1:])),
            sorted({str(a.dtype) for a in arrays}))


def bench(fw, batch):
    step = build(fw, *make_data(batch))

    def report(med, outs):
        dtypes = sorted({d for _, _, ds in outs for d in ds})
        return result({"ms/step": med["total"] * 1e3},
                      checksum=[loss for loss, _, _ in outs] + [outs[-1][1]],
                      flags=[f"{d} in a float64 step" for d in dtypes if d != "float64"],
                      **loss_sources(fw))
    return Bench(lambda: timed(step, keep=lambda out: keep(fw, *out)), report, warmup=2)


WORKLOADS = [Workload("W7", "digits CNN conv3x3(8)-ReLU-maxpool2-Linear(128, 10), batch 64, "
                      "one SGD step, float64", SIZES, bench=bench)]


# ------------------------------------------- standalone: python -m benchmarks.w7_cnn

def child(contenders, size, threads):
    """One repetition: the contenders' warm-up, then their turns; one JSON line."""
    fws = {c: frameworks.load(c, threads) for c in contenders}
    harness.pin_threads(threads)
    args = dict(SIZES[size])
    rounds, block = args.pop("rounds"), args.pop("block")
    benches = {c: bench(fw, **args) for c, fw in fws.items()}
    warm = {c: [b.step()[1] for _ in range(b.warmup)] for c, b in benches.items()}
    turns, kept = harness.take_turns({c: b.step for c, b in benches.items()}, rounds, block)
    out = {}
    for c, b in benches.items():
        res = b.report({"total": statistics.median(t["total"] for t in turns[c])},
                       warm[c] + kept[c])
        out[c] = dict(res, turns=[t["total"] * 1e3 for t in turns[c]])
    print(json.dumps(out), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.w7_cnn",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, help="fresh processes (default 7, quick 2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    if args.child:
        return child(args.child.split(","), size, args.threads)
    names = [c for c in ("numpy", "tinygrad_edu", "torch") if frameworks.available(c)]
    env = dict(os.environ, **harness.thread_env(args.threads), **harness.MALLOC_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    runs = []
    for rep in range(args.reps or (2 if args.quick else 7)):
        order = names[rep % len(names):] + names[:rep % len(names)]   # who goes first rotates
        cmd = [sys.executable, "-m", "benchmarks.w7_cnn", "--child", ",".join(order),
               "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"W7 ({size}): {WORKLOADS[0].title}; {len(runs)} process(es), "
          f"{args.threads} thread(s)")
    for c in names:
        per_rep = [r[c]["metrics"]["ms/step"] for r in runs]
        print(f"  {c:<13} {statistics.median(per_rep):7.3f} ms/step "
              f"[{min(per_rep):.3f}-{max(per_rep):.3f}]")
    for other in ("numpy", "torch"):
        if other in names:
            pairs = [t / o for r in runs
                     for t, o in zip(r["tinygrad_edu"]["turns"], r[other]["turns"])]
            print(f"  tg/{other:<10} {statistics.median(pairs):7.2f} "
                  f"(median over {len(pairs)} pairs of turns of the same round)")
    ref = runs[0][names[0]]["checksum"]
    bad = [c for r in runs for c in names
           if not all(np.isclose(a, b, rtol=WORKLOADS[0].rtol, atol=0)
                      for a, b in zip(r[c]["checksum"], ref))
           or len(r[c]["checksum"]) != len(ref)]
    flags = sorted({f"{c}: {f}" for r in runs for c in names for f in r[c]["flags"]})
    print("  checksums " + (f"DISAGREE: {sorted(set(bad))}" if bad else "agree")
          + "".join(f"\n  FLAG {f}" for f in flags))
    return 1 if bad or flags else 0


if __name__ == "__main__":
    sys.exit(main())

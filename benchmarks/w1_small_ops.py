"""W1 small-op overhead: a (4,4) tensor through a chain of elementwise ops
(multiply by a tensor, add a tensor, tanh, repeated), sum, backward.

On such tiny arrays the arithmetic costs nothing; what is measured is the per-op cost of
the framework itself (Python objects, graph recording, the backward walk).
"""
import numpy as np

from benchmarks.harness import Bench, Workload, now, result

# 2 + 20 rounds of (1 untimed + 9 timed) steps; quick: 2 + 1 x (1 + 4)
SIZES = {"full": {"n_ops": 200, "rounds": 20, "block": 9},
         "quick": {"n_ops": 200, "rounds": 1, "block": 4}}


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (4, 4))
    w = rng.uniform(0.5, 1.5, (4, 4))
    b = rng.uniform(-0.2, 0.2, (4, 4))
    return x, w, b


def chain(y, w, b, n_ops, tanh, tape=None):
    """y -> y*w -> +b -> tanh -> y*w ... (n_ops ops); optionally record the tanh outputs
    (all that a backward needs: d(y*w) = g*w and d(y+b) = g need no saved value)."""
    for i in range(n_ops):
        kind = i % 3
        if kind == 0:
            y = y * w
        elif kind == 1:
            y = y + b
        else:
            y = tanh(y)
            if tape is not None:
                tape.append(y)
    return y


def numpy_step(x, w, b, n_ops):
    t0 = now()
    tape = []
    s = chain(x, w, b, n_ops, np.tanh, tape).sum()
    t1 = now()
    g = np.ones_like(x)                      # ds/dy for y = last output
    outputs = reversed(tape)
    for i in reversed(range(n_ops)):
        kind = i % 3
        if kind == 0:
            g = g * w                        # y = x*w: dx = g*w
        elif kind == 2:
            y = next(outputs)                # y = tanh(x): dx = g*(1 - y^2) = g - g*y*y
            g = g - g * y * y                # (three array ops, none with a scalar)
        # kind 1, y = x + b: dx = g
    t2 = now()
    return {"fwd": t1 - t0, "bwd": t2 - t1, "total": t2 - t0}, (s, g.sum())


def autograd_step(fw, x_np, w, b, n_ops):
    x = fw.tensor(x_np, requires_grad=True)
    t0 = now()
    s = chain(x, w, b, n_ops, lambda t: t.tanh()).sum()
    t1 = now()
    s.backward()
    t2 = now()
    return {"fwd": t1 - t0, "bwd": t2 - t1, "total": t2 - t0}, (s.item(), fw.numpy(x.grad).sum())


def bench(fw, n_ops):
    x, w, b = make_data()
    if fw.autograd:
        w, b = fw.tensor(w), fw.tensor(b)
        step = lambda: autograd_step(fw, x, w, b, n_ops)
    else:
        step = lambda: numpy_step(x, w, b, n_ops)
    us_per_op = lambda seconds: seconds / n_ops * 1e6
    return Bench(step, lambda med, outputs: result(
        {"µs/op fwd": us_per_op(med["fwd"]), "µs/op bwd": us_per_op(med["bwd"]),
         "µs/op fwd+bwd": us_per_op(med["total"])}, checksum=outputs[-1]), warmup=2)


WORKLOADS = [Workload("W1", "small-op overhead: (4,4) chain of 200 ops, sum, backward", SIZES,
                      bench=bench)]

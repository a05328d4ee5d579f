"""W4 deep chains: y = y*1.0001 + 0.0001 repeated (one step = one multiply and one add)
on a scalar, then backward. Time per step, peak memory of the graph (which should grow
linearly with the chain: compare "peak B/step" across sizes), and the memory still held
once the graph is dropped (reference counting alone, no gc.collect: should be ~0).
"""
import gc

import numpy as np

from benchmarks.harness import MB, MemoryProbe, Workload, now, result

A, B = 1.0001, 0.0001


def numpy_chain(n):
    """Hand-written: forward keeps every intermediate on a tape, backward walks it back."""
    def forward():
        y, tape = np.float64(1.0), []
        for _ in range(n):
            m = y * A
            y = m + B
            tape.append(m)                              # (no tuple a step, as += (m, y) made)
            tape.append(y)
        return y, tape

    def backward(graph):
        g = np.float64(1.0)
        for _ in range(len(graph[1]) // 2):
            g = g * A                                   # y = m + B: dm = g;  m = y*A: dy = g*A
        return g
    return forward, backward


def autograd_chain(fw, n):
    def forward():
        x = fw.tensor(np.array(1.0), requires_grad=True)
        y = x
        for _ in range(n):
            y = y * A + B
        return y, x

    def backward(graph):
        y, x = graph
        y.backward()
        return fw.numpy(x.grad)
    return forward, backward


def run(fw, n):
    make = (lambda n: autograd_chain(fw, n)) if fw.autograd else numpy_chain
    warm_forward, warm_backward = make(1000)
    warm_backward(warm_forward())                       # imports and caches, off the books

    forward, backward = make(n)
    objects = len(gc.get_objects())
    memory = MemoryProbe()
    t0 = now()
    graph = forward()
    t1 = now()
    grad = backward(graph)
    t2 = now()
    peak = memory.peak()
    checksum = (graph[0].item(), float(grad))
    del graph                                           # the whole chain should be freed here
    after = memory.now()
    left = len(gc.get_objects()) - objects             # Python objects that outlived the graph
    flags = [f"graph not freed: {left:,} more Python objects alive after dropping it"] \
        if left > 100 else []
    return result({"µs/step fwd": (t1 - t0) / n * 1e6, "µs/step bwd": (t2 - t1) / n * 1e6,
                   "µs/step fwd+bwd": (t2 - t0) / n * 1e6,
                   "peak MB": peak / MB, "peak B/step": peak / n, "MB after drop": after / MB},
                  checksum, flags, peak_is_exact=memory.peak_is_exact)


def linearity(medians):
    """One line per contender: how peak memory and time grow from the short to the long chain."""
    short, long = medians.get("W4-100k", {}), medians.get("W4-1M", {})
    per_step = lambda m: m["µs/step fwd+bwd"]
    return [f"W4 {c}: 10x the steps -> peak memory x{lg['peak MB'] / short[c]['peak MB']:.1f}, "
            f"time x{10 * per_step(lg) / per_step(short[c]):.1f} (linear: x10)"
            for c, lg in long.items() if lg and short.get(c) and short[c]["peak MB"] > 0]


def _workload(name, full, quick, max_reps, summary=None):
    return Workload(name, f"deep scalar chain, {full:,} steps, backward",
                    {"full": {"n": full}, "quick": {"n": quick}}, run=run, max_reps=max_reps,
                    no_ratio=("MB after drop",), summary=summary)


# both sizes grow 10x from W4-100k to W4-1M, as ``linearity`` assumes
WORKLOADS = [_workload("W4-100k", 100_000, 2_000, max_reps=3),
             _workload("W4-1M", 1_000_000, 20_000, max_reps=2, summary=linearity)]

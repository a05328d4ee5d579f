"""How fast this machine's cache forgets: one pass over W3's 8 MB X after a pause.

    python -m benchmarks.cache_decay [--quick]

W3's step reads its data matrix X twice (X @ w, then X.T @ g). Whatever a framework
does in between is paid twice on a machine whose last-level cache is shared and busy:
once for its own time, and again because X has partly left the cache by the second
pass. This probe measures that: the time of ``X @ w`` right after another pass over X,
then after a busy wait of 100, 300 and 1000 µs (nothing else touched in between),
the waits taking turns so the machine's drift falls on all of them alike.
"""
import argparse
import statistics
import sys

import numpy as np

from benchmarks.harness import now, pin_threads

PAUSES_US = (0, 100, 300, 1000)


def wait(us):
    end = now() + us * 1e-6
    while now() < end:
        pass


def measure(n, d, rounds):
    """{pause in µs: median seconds of X @ w that pause after the previous pass}."""
    X = np.random.default_rng(0).standard_normal((n, d))
    w = np.ones((d, 1))
    times = {p: [] for p in PAUSES_US}
    for r in range(rounds):
        for pause in (PAUSES_US if r % 2 == 0 else PAUSES_US[::-1]):
            X.T @ (X @ w)   # the previous pass
            wait(pause)
            t0 = now()
            X @ w
            times[pause].append(now() - t0)
    return {p: statistics.median(t) for p, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache_decay",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 0.8 MB X, few rounds")
    args = parser.parse_args(argv)
    pin_threads(1)
    n, rounds = (1_000, 20) if args.quick else (10_000, 200)
    medians = measure(n, 100, rounds)
    print(f"X @ w on a {n:,} x 100 float64 X ({n * 800 / 1e6:.1f} MB), 1 BLAS thread")
    for pause, seconds in medians.items():
        print(f"  after a {pause:4d} µs pause: {seconds * 1e6:7.0f} µs "
              f"({seconds / medians[0]:.2f}x the time with no pause)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

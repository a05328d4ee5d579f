"""Compare two versions of tinygrad_edu in one process, step by step.

    python -m benchmarks.compare HEAD~1                    # the working tree against a commit
    python -m benchmarks.compare 6caf66c --only W1,W3 --rounds 300
    python -m benchmarks.compare HEAD --quick              # small sizes (seconds)

A change worth a few percent drowns in the drift of a shared machine when each version
runs in its own process. Here the old version (``git archive`` of the commit, imported
under another package name) and the working tree are loaded side by side, and their
steps alternate (old new, new old, old new, ...): each ratio new/old pairs two steps
taken milliseconds apart (a step of W6 is an epoch, of W8 a whole fit). Prints, per
workload, the median step time of each version and the median of the paired ratios with
its quartiles (below 1: the change is faster).
Two identical versions give 1.00 within about 2%.
"""
import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):               # started as ``python benchmarks/compare.py``
    sys.path.insert(0, str(ROOT))

from benchmarks import frameworks, harness, w4_deep_chain
from benchmarks.run import WORKLOADS


def _bench(name):
    """The step of a timing workload of the main table: its data, sizes and work."""
    def make(fw, quick):
        size = dict(WORKLOADS[name].sizes["quick" if quick else "full"])
        del size["rounds"], size["block"]   # (the main table's turns)
        return WORKLOADS[name].bench(fw, **size).step
    return make


def _w4(fw, quick):
    forward, backward = w4_deep_chain.autograd_chain(fw, 500 if quick else 5000)
    return lambda: harness.timed(lambda: backward(forward()))


# workload -> (make a step () -> ({"total": seconds, ...}, kept) for an adapter, default rounds)
STEPS = {"W1": (_bench("W1"), 300), "W2-f64": (_bench("W2-f64"), 40),
         "W2-f32": (_bench("W2-f32"), 60), "W2-relu": (_bench("W2-relu"), 40),
         "W2-tanh": (_bench("W2-tanh"), 40), "W3": (_bench("W3"), 200),
         "W3-plain": (_bench("W3-plain"), 200), "W4": (_w4, 60), "W6": (_bench("W6"), 20),
         "W8": (_bench("W8"), 10)}


def load_old(ref, into):
    """The package as it was at git ``ref``, imported as ``tinygrad_edu_old``."""
    archive = subprocess.run(["git", "archive", ref, "tinygrad_edu"], cwd=ROOT,
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref} failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    Path(into, "tinygrad_edu").rename(Path(into, "tinygrad_edu_old"))
    sys.path.insert(0, into)
    return importlib.import_module("tinygrad_edu_old")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("ref", help="the git commit (or branch, tag) to compare against")
    parser.add_argument("--only", help=f"comma-separated workloads among {', '.join(STEPS)}")
    parser.add_argument("--rounds", type=int, help="steps per version (default per workload)")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    names = args.only.split(",") if args.only else list(STEPS)
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")
    harness.pin_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        versions = {"old": frameworks.Tinygrad(1, load_old(args.ref, tmp)),
                    "new": frameworks.Tinygrad(1)}
        print(f"old: {args.ref} (git archive)   new: the working tree   1 BLAS thread")
        print(f"{'workload':9} {'old ms/step':>12} {'new ms/step':>12}   new/old [quartiles]")
        for name in names:
            make, default_rounds = STEPS[name]
            steps = {v: make(fw, args.quick) for v, fw in versions.items()}
            for step in steps.values():  # warm-up
                for _ in range(3):
                    step()
            turns, _ = harness.take_turns(steps, args.rounds or default_rounds, block=1, settle=0)
            times = {v: [t["total"] for t in ts] for v, ts in turns.items()}
            ratios = [n / o for n, o in zip(times["new"], times["old"])]
            q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            print(f"{name:9} {statistics.median(times['old']) * 1e3:12.3f} "
                  f"{statistics.median(times['new']) * 1e3:12.3f}   "
                  f"{statistics.median(ratios):.3f} [{q1:.3f}–{q3:.3f}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

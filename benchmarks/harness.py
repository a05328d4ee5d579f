"""What every benchmark child shares: the Workload record, clocks, turn-taking, memory
probes, thread and allocator pinning.

A workload module defines either ``run(fw, **size)``, which builds its data from fixed
seeds, runs with the contender ``fw`` (see ``frameworks.py``) and returns ``result(...)``,
one contender per process (the memory workloads); or ``bench(fw, **size)``, which returns
a `Bench`, one timed step of that contender: the contenders of a timing workload share a
process and take turns (see ``take_turns``).
"""
import ctypes
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

MB = 1e6
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

now = time.perf_counter


@dataclass(frozen=True)
class Workload:
    name: str                   # "W2-f64"; --only W2 selects every "W2-..."
    title: str
    sizes: dict                 # {"full": {...}, "quick": {...}}
    run: Callable[..., dict] | None = None    # run(fw, **size) -> result(...), or:
    bench: Callable[..., "Bench"] | None = None   # bench(fw, **size without rounds, block)
    rtol: float = 1e-6          # checksum agreement between contenders
    max_reps: int | None = None   # default repetitions are capped here (long workloads)
    no_ratio: tuple = ()        # metric-name prefixes where a ratio means nothing (values near 0)
    # summary({workload: {contender: {metric: median}}}) -> extra lines printed under the table
    summary: Callable[[dict], list] | None = None
    # who runs it (frameworks.CONTENDERS names); those not installed are skipped
    contenders: tuple = ("numpy", "tinygrad_edu", "torch")


def result(metrics, checksum, flags=(), **info):
    """What a child reports: ``metrics`` {name with unit: value} (lower is better),
    ``checksum`` floats every contender must agree on, ``flags`` findings worth a look;
    ``info`` anything else (``notes``: lines printed under the table, first repetition)."""
    return {"metrics": {k: float(v) for k, v in metrics.items()},
            "checksum": [float(c) for c in checksum], "flags": list(flags), "info": info}


# ---------------------------------------------------------------- clocks

def timed(fn, keep=lambda out: out):
    """Run ``fn()`` once: ({"total": seconds}, keep(its return value)); keep runs off the clock."""
    t0 = now()
    out = fn()
    seconds = now() - t0
    return {"total": seconds}, keep(out)


@dataclass(frozen=True)
class Bench:
    """One contender's part in a timing workload."""
    step: Callable[[], tuple]      # () -> ({phase: seconds}, what to keep of its output)
    report: Callable[[dict, list], dict]   # (median {phase: seconds}, kept outputs) -> result
    warmup: int = 1                # untimed steps before the first turn


def take_turns(steps, rounds, block, settle=1):
    """The contenders' steps in turns: each round runs every contender's ``block`` timed
    steps in a row, in the order given on even rounds and reversed on odd ones (A B C,
    C B A, ...). Each turn starts with ``settle`` untimed steps, so the timed ones run on
    the caches the contender's own previous step left, as in a training loop.

    steps: {name: step() -> ({phase: seconds}, kept)}. Returns {name: [{phase: median
    seconds} per turn]} and {name: [kept, every step]}. Turns of two contenders in the same
    round ran milliseconds apart: their ratio is free of the machine's drift."""
    turns = {name: [] for name in steps}
    kept = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            samples = {}
            for i in range(settle + block):
                phases, out = steps[name]()
                kept[name].append(out)
                if i >= settle:
                    for phase, seconds in phases.items():
                        samples.setdefault(phase, []).append(seconds)
            turns[name].append({p: statistics.median(s) for p, s in samples.items()})
    return turns, kept


# ---------------------------------------------------------------- memory (Linux)

def rss_bytes():
    """Resident memory now."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()


def reset_peak():
    """Restart the peak-RSS high-water mark from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes():
    """Peak resident memory of this process (since the last ``reset_peak``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_libc = None


def release_free_memory():
    """Hand freed heap pages back to the OS (glibc), so RSS shows what is still alive."""
    global _libc
    try:
        _libc = _libc or ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class MemoryProbe:
    """Baseline now; ``.now()`` and ``.peak()`` are bytes above that baseline."""

    def __init__(self):
        release_free_memory()
        self.base = rss_bytes()
        self.peak_is_exact = reset_peak()   # without it, earlier peaks (imports) can hide ours

    def now(self):
        release_free_memory()
        return rss_bytes() - self.base

    def peak(self):
        return max(0, peak_rss_bytes() - self.base)


# ---------------------------------------------------------------- threads, allocator

def thread_env(n):
    """Environment for a child so every BLAS / OpenMP pool starts with n threads."""
    return {var: str(n) for var in THREAD_VARS}


# glibc malloc moves its mmap and trim thresholds as a process allocates and frees, so
# the same step can page-fault 2,000 times (8 MB of fresh pages) in one process and not
# at all in another: up to a third of a W2 step, for every contender alike. The timing
# workloads fix both thresholds (64 MB, 512 MB); other allocators ignore these variables.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(512 << 20)}


_limits = None   # threadpoolctl's limiter, kept alive: the limits hold until it is restored


def pin_threads(n):
    """Limit every BLAS / OpenMP pool loaded so far to n threads; describe what is in effect."""
    try:
        import threadpoolctl
    except ImportError:
        return ["threadpoolctl not installed: thread count set by environment variables only"]
    global _limits
    _limits = threadpoolctl.threadpool_limits(limits=n)
    return [describe_pool(p) for p in threadpoolctl.threadpool_info()]


def describe_pool(p):
    kernel = f"{p['architecture']} kernel" if p.get("architecture") else ""
    what = " ".join(filter(None, [p["internal_api"], p.get("version"), kernel]))
    return f"{what}, {p['num_threads']} thread(s) [{os.path.basename(p['filepath'])}]"

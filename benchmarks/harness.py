"""What every benchmark child shares: the Workload record, clocks, memory probes,
thread pinning.

A workload module defines ``run(fw, **size)``: it builds its data from fixed seeds, runs
with the contender ``fw`` (see ``frameworks.py``) and returns ``result(...)``.
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
    run: Callable[..., dict]    # run(fw, **sizes[size]) -> result(...)
    sizes: dict                 # {"full": {...}, "quick": {...}}
    rtol: float = 1e-6          # checksum agreement between contenders
    max_reps: int | None = None   # default repetitions are capped here (long workloads)
    no_ratio: tuple = ()        # metric-name prefixes where a ratio means nothing (values near 0)
    # summary({workload: {contender: {metric: median}}}) -> extra lines printed under the table
    summary: Callable[[dict], list] | None = None


def result(metrics, checksum, flags=(), **info):
    """What a child reports: ``metrics`` {name with unit: value} (lower is better),
    ``checksum`` floats every contender must agree on, ``flags`` findings worth a look."""
    return {"metrics": {k: float(v) for k, v in metrics.items()},
            "checksum": [float(c) for c in checksum], "flags": list(flags), "info": info}


# ---------------------------------------------------------------- clocks

def timed(fn, keep=lambda out: out):
    """Run ``fn()`` once: ({"total": seconds}, keep(its return value)); keep runs off the clock."""
    t0 = now()
    out = fn()
    seconds = now() - t0
    return {"total": seconds}, keep(out)


def time_phases(step, iters, warmup=1):
    """Call ``step()`` warmup + iters times; it returns ({phase: seconds}, output).
    Returns ({phase: median seconds over the timed calls}, [every output, warm-up included])."""
    outputs, samples = [], {}
    for i in range(warmup + iters):
        phases, out = step()
        outputs.append(out)
        if i >= warmup:
            for phase, seconds in phases.items():
                samples.setdefault(phase, []).append(seconds)
    return {p: statistics.median(s) for p, s in samples.items()}, outputs


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


# ---------------------------------------------------------------- threads

def thread_env(n):
    """Environment for a child so every BLAS / OpenMP pool starts with n threads."""
    return {var: str(n) for var in THREAD_VARS}


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

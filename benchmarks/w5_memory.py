"""W5 memory: peak resident memory over 200 steps of the W2 network (float64), against the
hand-written numpy loop; and whether it stays flat (resident memory after step 20 vs
after step 200: a graph kept alive from one step to the next would show up here).
"""
import numpy as np

from benchmarks.harness import MB, MemoryProbe, Workload, now, result
from benchmarks.w2_mlp import NET, build

FLAT_TOLERANCE = 2 * MB   # growth allowed between the check step and the last one


def run(fw, steps, check_at, **net):
    step = build(fw, np.float64, **net)
    memory = MemoryProbe()
    t0 = now()
    for i in range(1, steps + 1):
        loss = step()[0]
        if i == check_at:
            at_check = memory.now()
    seconds = now() - t0
    peak, growth = memory.peak(), memory.now() - at_check
    flags = [f"not flat: +{growth / MB:.1f} MB from step {check_at} to step {steps}"] \
        if growth > FLAT_TOLERANCE else []
    return result({f"peak MB ({steps} steps)": peak / MB,
                   f"MB growth step {check_at}->{steps}": growth / MB,
                   "ms/step": seconds / steps * 1e3},
                  checksum=(float(loss),), flags=flags, peak_is_exact=memory.peak_is_exact)


WORKLOADS = [Workload("W5", "memory over 200 steps of the W2 network (float64)",
                      {"full": dict(steps=200, check_at=20, **NET["full"]),
                       "quick": dict(steps=20, check_at=5, **NET["quick"])},
                      run=run, max_reps=2, no_ratio=("MB growth",))]

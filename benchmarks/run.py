"""Run the benchmarks and print a table of medians, spreads and ratios.

    python -m benchmarks [--quick] [--reps N] [--rounds N] [--only W1,W3] [--threads 1,2]
                         [--markdown]
    python benchmarks/run.py ...          (the same)

Every repetition runs in a fresh subprocess, every contender pinned to the same number of
BLAS / OpenMP threads (``--threads 1,2``: the whole table once per setting). Each
workload names its contenders (numpy, tinygrad_edu, torch; or scikit-learn's estimators
beside tinygrad_edu's); those not installed are skipped. In the timing workloads the
contenders share that process and take turns, a few steps each (numpy, tinygrad_edu,
torch, torch, tinygrad_edu, numpy, ...): a ratio is the median of the ratios of turns
taken milliseconds apart. The memory workloads (W4, W5) run one contender per process,
repetitions interleaved across contenders, and their ratios pair the repetitions.
Contenders must agree on each workload's checksum.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):               # started as ``python benchmarks/run.py``
    sys.path.insert(0, str(ROOT))

from benchmarks import (
    frameworks,
    harness,
    w1_small_ops,
    w2_mlp,
    w3_logreg,
    w4_deep_chain,
    w5_memory,
    w6_rbm,
    w8_mlp_classifier,
)

try:                                        # W7 (a CNN) is registered once its module exists
    from benchmarks import w7_cnn
except ModuleNotFoundError as error:
    if error.name != "benchmarks.w7_cnn":   # (a module it imports is missing: say so)
        raise
    w7_cnn = None

MODULES = [m for m in (w1_small_ops, w2_mlp, w3_logreg, w4_deep_chain, w5_memory, w6_rbm,
                       w7_cnn, w8_mlp_classifier) if m is not None]
WORKLOADS = {w.name: w for module in MODULES for w in module.WORKLOADS}
# full: 5 processes of the timing workloads give 50 to 100 paired turns each (W6, W8: 30
# and 20), enough for the quartiles; the memory workloads cap theirs lower (max_reps)
DEFAULT_REPS = {"full": 5, "quick": 2}
CHILD_TIMEOUT = 900           # seconds
MARK = "@@benchmark-result "  # prefix of the one line of JSON a child prints
RATIO_OVER = [c for c in frameworks.CONTENDERS if c != "tinygrad_edu"]   # tg/X columns


# ---------------------------------------------------------------- the child side

def child_main(name, contenders, size, threads, rounds=None):
    """Inside a fresh process: load the contenders (comma-separated), pin their threads,
    run, print one JSON line {contender: result}."""
    workload = WORKLOADS[name]
    fws = {c: frameworks.load(c, threads) for c in contenders.split(",")}
    pools = harness.pin_threads(threads)    # after every import: torch brings its own pools
    args = dict(workload.sizes[size])
    if workload.bench:
        default_rounds = args.pop("rounds")
        results = run_turns(workload, fws, rounds or default_rounds, args.pop("block"), args)
    else:
        results = {c: workload.run(fw, **args) for c, fw in fws.items()}
    for c, res in results.items():
        res["info"].update(version=fws[c].version,
                           pools=pools + ([fws[c].blas()] if c == "torch" else []))
    print(MARK + json.dumps(results), flush=True)
    return 0


def run_turns(workload, fws, rounds, block, args):
    """A timing workload: every contender's warm-up, then their turns; each result also
    carries its metrics turn by turn (``turns``), for the paired ratios."""
    benches = {c: workload.bench(fw, **args) for c, fw in fws.items()}
    warm = {c: [b.step()[1] for _ in range(b.warmup)] for c, b in benches.items()}
    turns, kept = harness.take_turns({c: b.step for c, b in benches.items()}, rounds, block)
    results = {}
    for c, b in benches.items():
        outputs = warm[c] + kept[c]
        median = {p: statistics.median(t[p] for t in turns[c]) for p in turns[c][0]}
        results[c] = b.report(median, outputs)
        results[c]["turns"] = [b.report(t, outputs)["metrics"] for t in turns[c]]
    return results


def run_child(name, contenders, size, threads, paired, rounds=None):
    """One child process for ``contenders`` (taking turns when ``paired``):
    {contender: result}, or {"error": why}."""
    env = dict(os.environ, **harness.thread_env(threads), **(harness.MALLOC_ENV if paired else {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.run", "--child", name, ",".join(contenders),
           "--size", size, "--threads", str(threads)] + (["--rounds", str(rounds)] if rounds else [])
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = proc.stderr.strip().splitlines()[-3:] or ["(no output)"]
    return {"error": f"exit code {proc.returncode}: " + " | ".join(tail)}


# ---------------------------------------------------------------- the parent side

def select(only):
    if not only:
        return list(WORKLOADS.values())
    chosen = []
    for token in only.split(","):
        token = token.strip()
        matches = [w for w in WORKLOADS.values()
                   if w.name == token or w.name.startswith(token + "-")]
        if not matches:
            raise SystemExit(f"unknown workload {token!r}; known: {', '.join(WORKLOADS)}")
        chosen += [w for w in matches if w not in chosen]
    return chosen


def agree(a, b, rtol):
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=rtol, abs_tol=rtol * 1e-6)
                                    for x, y in zip(a, b))


def analyse(workload, runs):
    """runs: {contender: [child results]} -> medians, spreads, and what went wrong."""
    ok = {c: [r for r in rs if "error" not in r] for c, rs in runs.items()}
    ref_name = next((c for c in runs if ok[c]), None)
    reference = ok[ref_name][0]["checksum"] if ref_name else None
    problems, notes = [], []
    for c, rs in runs.items():
        problems += [f"ERROR {c}" for r in rs if "error" in r][:1]
        notes += [f"{workload.name} {c}: {r['error']}" for r in rs if "error" in r][:1]
        wrong = [r["checksum"] for r in ok[c] if not agree(r["checksum"], reference, workload.rtol)]
        if wrong:
            problems.append(f"MISMATCH {c}")
            notes.append(f"{workload.name} {c}: checksum {fmt_list(wrong[0])} but "
                         f"{ref_name} has {fmt_list(reference)} (rtol {workload.rtol:g})")
        flags = sorted({f for r in ok[c] for f in r["flags"]})
        if flags:
            problems.append(f"FLAG {c}")
            notes += [f"{workload.name} {c}: {f}" for f in flags]
        if any(r["info"].get("peak_is_exact") is False for r in ok[c]):
            notes.append(f"{workload.name} {c}: the peak-memory high-water mark could not be "
                         "reset, so its peak may include memory used before the workload")
        if c == "tinygrad_edu" and ok[c] and ok[c][0]["info"].get("loss"):
            loss = ", ".join(ok[c][0]["info"]["loss"])
            notes.append(f"{workload.name} {c}: loss computed with {loss}")
        if ok[c]:
            notes += [f"{workload.name} {c}: {n}" for n in ok[c][0]["info"].get("notes", ())]
    stats, turns = {}, {}
    for c in runs:
        for r in ok[c]:
            for metric, value in r["metrics"].items():
                stats.setdefault(metric, {}).setdefault(c, []).append(value)
            for k, turn in enumerate(r.get("turns", ())):
                for metric, value in turn.items():  # keyed by (repetition, turn): pairs
                    turns.setdefault(metric, {}).setdefault(c, {})[r["rep"], k] = value
    return stats, turns, problems, notes


def fmt(v):
    a = abs(v)
    return (f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 1
            else f"{v:.3f}" if a >= 0.01 or a == 0 else f"{v:.2g}")


def fmt_list(values):
    return "[" + ", ".join(f"{v:.10g}" for v in values) + "]"


def cell(values):
    if not values:
        return "-"
    med = fmt(statistics.median(values))
    return med if len(values) == 1 else f"{med} [{fmt(min(values))}–{fmt(max(values))}]"


def ratio(metric, workload, stats, turns, over):
    """tinygrad_edu / ``over``: the median of the ratios of turns taken in the same round of
    the same process (timing workloads), else of repetitions taken in the same round (the
    two ran seconds apart, so a machine that slows down for a while slows both), or the
    ratio of the medians when a failed repetition leaves the rounds unpaired."""
    tg, other = stats.get("tinygrad_edu"), stats.get(over)
    if not tg or not other or metric.startswith(workload.no_ratio):
        return "-"
    tg_turns, other_turns = turns.get("tinygrad_edu", {}), turns.get(over, {})
    pairs = [(v, other_turns[k]) for k, v in tg_turns.items() if k in other_turns]
    if pairs and all(o > 0 for _, o in pairs):
        return fmt(statistics.median(t / o for t, o in pairs))
    if len(tg) == len(other) and all(o > 0 for o in other):
        return fmt(statistics.median(t / o for t, o in zip(tg, other)))
    denominator = statistics.median(other)
    return fmt(statistics.median(tg) / denominator) if denominator > 0 else "-"


def render(header, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def describe_machine(threads, contenders):
    lines = [(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
             f"{os.cpu_count()} cores; {' and then '.join(map(str, threads))} BLAS/OpenMP "
             "thread(s) per contender"),
             f"contenders: {', '.join(contenders)}"]
    try:
        import numpy  # noqa: F401  (loads numpy's BLAS so threadpoolctl can see it)
        import threadpoolctl
        lines += [f"numpy BLAS: {harness.describe_pool(p)} (before pinning)"
                  for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    except ImportError:
        lines.append("numpy BLAS: unknown (threadpoolctl not installed)")
    return lines


def thread_counts(text):
    """``--threads``: '1' or '1,2' (the whole table once per count)."""
    try:
        counts = [int(t) for t in text.split(",")]
    except ValueError:
        counts = []
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(f"expected thread counts such as 1 or 1,2, got {text!r}")
    return counts


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repetitions")
    parser.add_argument("--reps", type=int, help="repetitions per contender (default 5, "
                        "quick 2; some workloads cap the default lower)")
    parser.add_argument("--rounds", type=int, help="rounds of turns per process in the timing "
                        "workloads (default per workload)")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W3 or W2-f32")
    parser.add_argument("--threads", type=thread_counts, default=[1],
                        help="BLAS/OpenMP threads, or several comma-separated: a table for "
                        "each (default 1; 1,2 for both on two cores)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "CONTENDER"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--size", default="full", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("reps", "rounds"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def contenders_of(workload):
    """The workload's contenders that are installed, in its own order."""
    return [c for c in workload.contenders if frameworks.available(c)]


def run_all(workloads, size, reps, threads, rounds=None, label=""):
    """Every repetition in a fresh process: all contenders in one, taking turns (timing
    workloads; who goes first rotates), or one each, interleaved A B C A B C ..."""
    plan = [(w, rep, n_reps, group) for w in workloads
            for cs in [contenders_of(w)]
            for n_reps in [reps or min(DEFAULT_REPS[size], w.max_reps or DEFAULT_REPS[size])]
            for rep in range(n_reps)
            for group in ([cs[rep % len(cs):] + cs[:rep % len(cs)]] if w.bench
                          else [[c] for c in cs])]
    runs = {w.name: {c: [] for c in contenders_of(w)} for w in workloads}
    for i, (w, rep, n_reps, group) in enumerate(plan, 1):
        t0 = time.perf_counter()
        res = run_child(w.name, group, size, threads, paired=w.bench is not None, rounds=rounds)
        for c in group:
            runs[w.name][c].append(dict(res.get(c, res), rep=rep))
        print(f"[{label}{i}/{len(plan)}] {w.name} rep {rep + 1}/{n_reps} {', '.join(group)}: "
              f"{'error' if 'error' in res else 'ok'}, {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    return runs


def tabulate(workloads, contenders, runs):
    """Rows of the table, notes to print under it, and whether anything failed.
    ``contenders``: the columns; a workload without one of them shows ``-`` there."""
    others = [c for c in RATIO_OVER if c in contenders]
    header = ["workload", "metric", *contenders, *(f"tg/{c}" for c in others), "check"]
    rows, notes, failed, medians = [], [], False, {}
    for w in workloads:
        stats, turns, problems, w_notes = analyse(w, runs[w.name])
        notes += w_notes
        failed |= any(not p.startswith("FLAG") for p in problems)
        check = ", ".join(problems) or "ok"
        medians[w.name] = {c: {m: statistics.median(s[c]) for m, s in stats.items() if c in s}
                           for c in runs[w.name]}
        for k, (metric, per_c) in enumerate(stats.items()):
            rows.append([w.name if k == 0 else "", metric,
                         *(cell(per_c.get(c)) for c in contenders),
                         *(ratio(metric, w, per_c, turns.get(metric, {}), c) for c in others),
                         check if k == 0 else ""])
        if not stats:
            rows.append([w.name, "-", *("-" for _ in contenders), *("-" for _ in others), check])
    for w in workloads:
        notes += w.summary(medians) if w.summary else []
    return header, rows, notes, failed


def threads_title(n):
    return f"{n} BLAS/OpenMP thread{'s' if n > 1 else ''} per contender"


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child_main(*args.child, args.size, args.threads[0], args.rounds)
    size = "quick" if args.quick else "full"
    workloads = select(args.only)
    wanted = [c for c in frameworks.CONTENDERS if any(c in w.contenders for w in workloads)]
    contenders = [c for c in wanted if frameworks.available(c)]
    missing = [c for c in wanted if c not in contenders]
    print(f"tinygrad_edu benchmarks ({size} sizes)")
    print("\n".join(describe_machine(args.threads, contenders)))
    if missing:
        print(f"skipped (not importable): {', '.join(missing)}")
    sys.stdout.flush()

    start, failed = time.perf_counter(), False
    for n in args.threads:
        label = f"{n} thread{'s' if n > 1 else ''} " if len(args.threads) > 1 else ""
        runs = run_all(workloads, size, args.reps, n, args.rounds, label)
        header, rows, notes, table_failed = tabulate(workloads, contenders, runs)
        failed |= table_failed
        print()
        if len(args.threads) > 1:
            print(f"#### {threads_title(n)}\n" if args.markdown else f"{threads_title(n)}:")
        print(render(header, rows, args.markdown))
        print()
        for title, lines in (("notes", notes), ("contenders", contender_lines(runs, contenders))):
            if lines:
                print(f"{title}:" + "".join(f"\n  {line}" for line in lines))
        sys.stdout.flush()
    timing = [w.name for w in workloads if w.bench]
    memory = [w.name for w in workloads if not w.bench]
    print("\nmedian [min–max] over repetitions, one fresh process each; tg/X = median of "
          "tinygrad_edu / X" + (f" over turns taken in the same round of the same process "
                                f"({', '.join(timing)})" if timing else "")
          + (" or" if timing and memory else "")
          + (f" over repetitions run one after the other ({', '.join(memory)})" if memory
             else "")
          + "; lower is better for tinygrad_edu; - where a workload has no such contender")
    print("workloads:" + "".join(f"\n  {w.name}: {w.title}" for w in workloads))
    print(f"total {time.perf_counter() - start:.0f} s; checksums "
          + ("DISAGREE or a run failed" if failed else "agree"))
    return 1 if failed else 0


def contender_lines(runs, contenders):
    """Version and thread pools in effect, as each contender's own process reported them."""
    lines = []
    for c in contenders:
        info = next((r["info"] for w in runs.values() for r in w.get(c, ()) if "error" not in r),
                    None)
        if info:
            lines.append(f"{c} {info['version']}: " + "; ".join(info["pools"]))
    return lines


if __name__ == "__main__":
    sys.exit(main())

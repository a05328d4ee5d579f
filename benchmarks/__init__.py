"""Benchmarks for tinygrad_edu, measured side by side with hand-written numpy and PyTorch.

Run everything with ``python -m benchmarks`` (or ``python benchmarks/run.py``);
``--help`` lists the options. Each (workload, contender) pair runs in a fresh
subprocess; see ``run.py`` for the runner and ``harness.py`` for what each child shares.
"""

"""Test-wide settings: one BLAS thread (the suite runs on 2 shared cores, where two
OpenBLAS threads per process fight each other and make small products 10x slower)."""
try:
    from threadpoolctl import threadpool_limits
except ImportError:  # threadpoolctl is in the dev extra; without it BLAS keeps its default
    threadpool_limits = None

if threadpool_limits is not None:
    _limits = threadpool_limits(limits=1)

"""Test-wide settings and fixtures."""
import os
import shutil

import pytest

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # threadpoolctl is in the dev extra; without it BLAS keeps its default
    threadpool_limits = None

# One BLAS thread: the suite runs on 2 shared cores, where two OpenBLAS threads per
# process fight each other and make small matrix products ten times slower.
_limits = threadpool_limits(limits=1) if threadpool_limits is not None else None


@pytest.fixture
def dot():
    """The Graphviz `dot` binary. Tests that render skip without it on a learner's machine;
    in CI (CI=true), which installs Graphviz, a missing `dot` is a failure, not a skip."""
    path = shutil.which("dot")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz `dot` is missing in CI: .ci/run must apt-get install graphviz")
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")
    return path

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


@pytest.fixture(params=["engine", "reference"])
def both_walks(request, monkeypatch):
    """Run a test twice: through the fast engine that loss.backward() uses, and with every
    backward pass (backward, gradients, grad, gradcheck) going through the reference
    engine instead. Two walks, one contract: they can never disagree."""
    if request.param == "reference":
        if request.node.get_closest_marker("fast_engine_only"):
            pytest.skip("tests a mechanism of the fast engine itself")
        from tinygrad_edu import engine, reference
        monkeypatch.setattr(engine, "walk", reference.backward)
    return request.param


def pytest_configure(config):
    config.addinivalue_line("markers", "fast_engine_only: a test of the fast engine's own "
                            "mechanism (array backwards, node order), not of the contract")

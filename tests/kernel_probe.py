"""Which first-order kernels ran: for the tests that compare an op's backward_array (the
first-order walk) with its formula backward (create_graph)."""
import contextlib


@contextlib.contextmanager
def counted_kernel(op):
    """Within the block, ``op.backward_array`` also records each call: yields the list of
    the names of the nodes it ran for (empty: the kernel was not used)."""
    kernel, calls = op.backward_array, []

    def counted(ctx, g):
        calls.append(type(ctx).__name__)
        return kernel(ctx, g)

    op.backward_array = staticmethod(counted)
    try:
        yield calls
    finally:
        op.backward_array = staticmethod(kernel)

"""The engine: graph walk, accumulation, broadcasting, memory, stability, kinks, modes.

The first sections are regression tests for the mistakes listed in DESIGN.md section 3
(numbered as there). Every expected value is derived by hand in a comment or computed
independently with numpy; none is copied from the engine's output.
"""
import gc
import sys
import time
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import functional as F
from tinygrad_edu.testing import arrays, broadcastable_shapes

pytestmark = pytest.mark.usefixtures("both_walks")  # every test through both engines

RAISE_ALL = {"over": "raise", "invalid": "raise", "divide": "raise"}


def leaf(values, dtype=np.float64):
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def reduce_to(full, shape):
    """Sum ``full`` (of a broadcast shape) back to ``shape`` with bincount.

    Every element of the input is numbered, the numbering is broadcast like the
    input, and the upstream values are added per number: independent of the
    engine's axis-by-axis reduction.
    """
    n = int(np.prod(shape, dtype=np.int64))
    ids = np.broadcast_to(np.arange(n).reshape(shape), full.shape)
    return np.bincount(ids.ravel(), weights=full.ravel(), minlength=n).reshape(shape)


# =====================================================================================
# 3.1  interior nodes reused: topological order, not recursion into children
# =====================================================================================

def test_reused_interior_node_b_plus_b():
    a = leaf(1.5)
    b = a + a
    c = b + b  # c = 4a
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_shared_parent():
    # d = (2a) * (3a) = 6 a^2  ->  dd/da = 12 a
    a = leaf([0.5, -2.0])
    b = a * 2.0
    c = a * 3.0
    d = b * c
    d.backward(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(a.grad.data, 12 * a.data * np.array([1.0, 3.0]))


def test_diamond_reused_at_several_depths():
    # b = a + 1, c = b^2, d = b + c, e = c * d = b^3 + b^4  ->  de/da = 3b^2 + 4b^3
    a = leaf(2.0)
    b = a + 1.0
    c = b * b
    d = b + c
    e = c * d
    e.backward()
    assert e.item() == 3.0**3 + 3.0**4
    assert a.grad.item() == 3 * 3.0**2 + 4 * 3.0**3  # 135



def test_two_tensors_sharing_one_node():
    # copy.copy of an op's output is a second Tensor on the same node: both send their
    # gradient through it. y = 3a, out = sum(y * y') = sum(9 a^2) -> d/da = 18 a
    import copy
    a = leaf([1.0, 2.0])
    y = a * 3.0
    (y * copy.copy(y)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [18.0, 36.0])

def test_order_of_creation_with_a_long_detour_and_a_leaf_made_late():
    # a is used at once and again after a 30-op detour; w is a leaf created after them.
    # out = b w + a w + a with b = 1.1^30 a, a = 2x:
    # dout/dx = 2 (1.1^30 w + w + 1),  dout/dw = a (1.1^30 + 1)
    x = leaf(1.5)
    a = x * 2.0
    b = a
    for _ in range(30):
        b = b * 1.1
    w = leaf(3.0)
    out = b * w + a * w + a
    out.backward()
    k = 1.1**30
    assert x.grad.item() == pytest.approx(2 * (k * 3.0 + 3.0 + 1), rel=1e-12)
    assert w.grad.item() == pytest.approx(3.0 * (k + 1), rel=1e-12)

# =====================================================================================
# 3.2  fan-out accumulates
# =====================================================================================

def test_fan_out_x_times_x():
    x = leaf([-1.5, 0.25, 3.0])
    (x * x).backward(np.array([1.0, -2.0, 0.5]))
    np.testing.assert_array_equal(x.grad.data, 2 * x.data * np.array([1.0, -2.0, 0.5]))


def test_fan_out_three_branches():
    # f = x^3 + exp(x) + 5x  ->  f' = 3x^2 + exp(x) + 5
    x = leaf([0.3, -1.1])
    f = x * x * x + x.exp() + x * 5.0
    f.sum().backward()
    expected = 3 * x.data**2 + np.exp(x.data) + 5
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-15)


def test_same_tensor_as_both_inputs_of_one_op():
    x = leaf([2.0, -3.0])
    y = tg.maximum(x, x) + tg.where(np.array([True, False]), x, x)
    # maximum(x, x) ties everywhere: 0.5 + 0.5 = 1; where(c, x, x) sends g to x once
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


# =====================================================================================
# 3.3  each node's backward runs exactly once
# =====================================================================================

class CountedAdd(tg.Function):
    """y = a + b;  da = g,  db = g   (counts its backward calls)"""
    calls = 0

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        CountedAdd.calls += 1
        return g, g


def test_ladder_of_60_is_exact_and_fast():
    a = leaf(1.0)
    y = a
    start = time.perf_counter()
    for _ in range(60):
        y = y + y
    y.backward()
    elapsed = time.perf_counter() - start
    assert y.item() == 2.0**60
    assert a.grad.item() == 2.0**60  # exact: powers of two are representable
    assert elapsed < 1.0, f"60-level ladder took {elapsed:.2f} s: nodes revisited per path?"


def test_each_backward_runs_once_in_ladder():
    CountedAdd.calls = 0
    a = leaf(1.0)
    y = a
    for _ in range(60):
        y = CountedAdd.apply(y, y)
    y.backward()
    assert CountedAdd.calls == 60
    assert a.grad.item() == 2.0**60


def test_each_backward_runs_once_in_diamond():
    CountedAdd.calls = 0
    a = leaf(1.0)
    b = CountedAdd.apply(a, a)      # 2a
    c = CountedAdd.apply(b, a)      # 3a
    d = CountedAdd.apply(b, c)      # 5a
    d.backward()
    assert CountedAdd.calls == 3
    assert a.grad.item() == 5.0


# =====================================================================================
# 3.4  long chains under the default recursion limit
# =====================================================================================

def test_chain_of_100000_ops_under_default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default
    try:
        r, c, n = 1.0001, 0.0001, 50_000  # y <- y * r + c: 2 ops a step, 100,000 ops
        x = leaf(1.0)
        y = x
        for _ in range(n):
            y = y * r + c
        y.backward()
        # y = r^n x + c (r^n - 1) / (r - 1) = r^n x + (r^n - 1)  ->  dy/dx = r^n.
        # Each step rounds once (relative error <= 2^-53), so n steps stay within
        # n * 2^-53 ~ 5.6e-12 of the closed form.
        rn = r**n
        np.testing.assert_allclose(x.grad.item(), rn, rtol=1e-11)
        np.testing.assert_allclose(y.item(), 2 * rn - 1, rtol=1e-11)
        del y  # freeing the 100,000-node chain must not recurse either
    finally:
        sys.setrecursionlimit(old)


# =====================================================================================
# 3.5  backward twice: exactly twice, nothing interior stale
# =====================================================================================

def test_backward_twice_doubles_exactly():
    a = leaf([0.7, -1.3])
    w = tg.Tensor([2.0, 5.0])
    loss = ((a * w).exp() * a).sum()
    loss.backward()
    first = a.grad.data.copy()
    loss.backward()
    np.testing.assert_array_equal(a.grad.data, 2 * first)


@pytest.mark.parametrize("loss_fn", ["cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_backward_twice_through_a_fused_loss_doubles_exactly(loss_fn, reduction):
    # the fused losses keep forward values (cross-entropy its softmax) for backward:
    # a second backward must find them as the first did
    z = leaf([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    target = [2, 1] if loss_fn == "cross_entropy" else np.array([[1.0, 0, 0], [0, 1, 1]])
    loss = getattr(F, loss_fn)(z, target, reduction=reduction)
    loss = loss.sum() if reduction == "none" else loss
    loss.backward()
    first = z.grad.data.copy()
    loss.backward()
    np.testing.assert_array_equal(z.grad.data, 2 * first)
    assert np.all(first != 0)


def test_backward_twice_with_reused_interior_node():
    # b = 3a, c = b*b + b = 9a^2 + 3a  ->  dc/da = 18a + 3 (micrograd gave more on call 2)
    a = leaf(2.0)
    b = a * 3.0
    c = b * b + b
    c.backward()
    assert a.grad.item() == 18 * 2.0 + 3
    c.backward()
    assert a.grad.item() == 2 * (18 * 2.0 + 3)
    with pytest.warns(UserWarning, match="retain_grad"):  # as PyTorch warns
        assert b.grad is None  # interior gradients are not stored (so none can go stale)


def test_backward_twice_retained_interior_accumulates_exactly():
    a = leaf(2.0)
    b = a * 3.0
    b.retain_grad()
    c = b * b + b          # dc/db = 2b + 1 = 13
    c.backward()
    assert b.grad.item() == 13.0 and a.grad.item() == 39.0
    c.backward()
    assert b.grad.item() == 26.0 and a.grad.item() == 78.0


# =====================================================================================
# 3.6  broadcasting is undone completely
# =====================================================================================

RNG = np.random.default_rng(0)


def _binary_grads(op, a_shape, b_shape):
    a = leaf(RNG.standard_normal(a_shape))
    b = leaf(RNG.standard_normal(b_shape))
    out = op(a, b)
    G = RNG.standard_normal(out.shape)
    out.backward(G)
    return a, b, G


def test_broadcast_column_plus_row():
    a, b, G = _binary_grads(lambda a, b: a + b, (3, 1), (1, 4))
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4)
    np.testing.assert_allclose(a.grad.data, G.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, G.sum(axis=0, keepdims=True), rtol=1e-12)


def test_broadcast_vector_plus_matrix():
    a, b, G = _binary_grads(lambda a, b: a + b, (3,), (2, 3))
    assert a.grad.shape == (3,) and b.grad.shape == (2, 3)
    np.testing.assert_allclose(a.grad.data, G[0] + G[1], rtol=1e-12)
    np.testing.assert_array_equal(b.grad.data, G)


def test_broadcast_scalar_times_matrix():
    s = leaf(1.7)
    M = leaf(RNG.standard_normal((2, 3)))
    out = s * M
    G = RNG.standard_normal((2, 3))
    out.backward(G)
    assert s.grad.shape == () and M.grad.shape == (2, 3)
    np.testing.assert_allclose(s.grad.data, np.sum(G * M.data), rtol=1e-12)
    np.testing.assert_allclose(M.grad.data, G * 1.7, rtol=1e-15)


def test_broadcast_3d_times_2d():
    a, b, G = _binary_grads(lambda a, b: a * b, (2, 1, 3), (4, 1))
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    # out[i, j, k] = a[i, 0, k] * b[j, 0]
    da = np.einsum("ijk,j->ik", G, b.data[:, 0])[:, None, :]
    db = np.einsum("ijk,ik->j", G, a.data[:, 0, :])[:, None]
    np.testing.assert_allclose(a.grad.data, da, rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, db, rtol=1e-12)


BINARY = {
    "add": (lambda a, b: a + b, lambda G, a, b: (G, G)),
    "sub": (lambda a, b: a - b, lambda G, a, b: (G, -G)),
    "mul": (lambda a, b: a * b, lambda G, a, b: (G * b, G * a)),
    "div": (lambda a, b: a / b, lambda G, a, b: (G / b, -G * a / b**2)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(deadline=None, max_examples=25)
@given(data=st.data(), shapes=broadcastable_shapes(num_shapes=2))
def test_broadcast_gradients_property(name, data, shapes):
    op, grads = BINARY[name]
    a_shape, b_shape = shapes
    a_np = data.draw(arrays(a_shape), label="a")
    b_np = data.draw(arrays(b_shape, avoid=(0.0,), min_distance=0.5), label="b")  # div
    a, b = leaf(a_np), leaf(b_np)
    out = op(a, b)
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    assert out.shape == out_shape
    G = data.draw(arrays(out_shape), label="upstream")
    out.backward(G)
    A, B = np.broadcast_to(a_np, out_shape), np.broadcast_to(b_np, out_shape)
    dA, dB = grads(G, A, B)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    # different summation orders: rounding of at most ~64 terms of size <= 40
    np.testing.assert_allclose(a.grad.data, reduce_to(np.asarray(dA, float), a_shape),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad.data, reduce_to(np.asarray(dB, float), b_shape),
                               rtol=1e-12, atol=1e-12)


# =====================================================================================
# 3.7  gradient arrays are never shared
# =====================================================================================

def test_add_gives_each_parent_its_own_gradient_array():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    G = np.array([0.5, -1.0])
    (a + b).backward(G)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(a.grad.data, G)
    a.grad.data[...] += 100.0
    np.testing.assert_array_equal(b.grad.data, [0.5, -1.0])
    np.testing.assert_array_equal(G, [0.5, -1.0])


def test_reshape_branch_does_not_alias():
    a = leaf(np.arange(6.0))
    b = leaf(np.zeros((2, 3)))
    G = RNG.standard_normal((2, 3))
    (a.reshape(2, 3) + b).backward(G)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[:] = -7.0
    np.testing.assert_array_equal(b.grad.data, G)
    b.grad.data[:] = 9.0
    np.testing.assert_array_equal(a.grad.data, np.full(6, -7.0))


def test_retained_interior_gradient_does_not_alias_leaves():
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    y = a + b
    y.retain_grad()
    y.backward(np.array([1.0, 2.0]))
    for one, other in [(y, a), (y, b), (a, b)]:
        assert not np.shares_memory(one.grad.data, other.grad.data)
    y.grad.data[:] = 0.0
    np.testing.assert_array_equal(a.grad.data, [1.0, 2.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])


def test_accumulation_does_not_mutate_previous_grad_object():
    a = leaf([1.0, 2.0])
    (a * 3.0).sum().backward()
    first = a.grad
    (a * 3.0).sum().backward()
    np.testing.assert_array_equal(first.data, [3.0, 3.0])  # out of place
    np.testing.assert_array_equal(a.grad.data, [6.0, 6.0])


# =====================================================================================
# 3.8  dropped graphs are freed by reference counting (no cycles)
# =====================================================================================

@pytest.fixture
def no_gc():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


SAVING_OPS = {  # ops whose backward uses their own output or their inputs
    "exp": lambda u: u.exp(), "sigmoid": lambda u: u.sigmoid(), "tanh": lambda u: u.tanh(),
    "sqrt": lambda u: u.sqrt(), "mul": lambda u: u * u, "log_softmax": lambda u: u.log_softmax(),
}


@pytest.mark.parametrize("op", sorted(SAVING_OPS))
@pytest.mark.parametrize("after_backward", [False, True])
def test_dropped_graph_freed_without_gc(no_gc, op, after_backward):
    x = leaf([0.5, 1.5])
    h = x * 2.0
    t = SAVING_OPS[op](h)
    loss = (t * 3.0).sum()
    if after_backward:
        loss.backward()
    refs = [weakref.ref(t), weakref.ref(t.grad_fn), weakref.ref(h), weakref.ref(h.grad_fn),
            weakref.ref(loss), weakref.ref(loss.grad_fn)]
    del h, t, loss
    assert all(r() is None for r in refs)
    assert x.grad is None or x.grad.grad_fn is None  # the leaf keeps only numbers


def test_summing_item_frees_each_step_but_summing_tensors_keeps_graphs(no_gc):
    w = leaf([0.5, -0.5])

    def step():
        loss = ((w * 2.0).exp()).sum()
        return loss, weakref.ref(loss.grad_fn)

    total = 0.0
    refs = []
    for _ in range(3):
        loss, ref = step()
        loss.backward()
        total = total + loss.item()
        refs.append(ref)
        del loss
    assert all(r() is None for r in refs)
    assert isinstance(total, float)

    total = 0.0
    refs = []
    for _ in range(3):
        loss, ref = step()
        total = total + loss  # the pitfall: every step's graph stays reachable
        refs.append(ref)
        del loss
    assert all(r() is not None for r in refs)
    del total
    assert all(r() is None for r in refs)


# =====================================================================================
# 3.9  overflow: exact and finite at +-1000 with numpy set to raise
# =====================================================================================

def test_sigmoid_at_pm_1000():
    x = leaf([1000.0, -1000.0])
    with np.errstate(**RAISE_ALL):
        y = x.sigmoid()
        y.backward(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(y.data, [1.0, 0.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])  # s (1 - s) underflows to 0


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64]), low=st.sampled_from([-5.0, -80.0, -800.0]),
       seed=st.integers(0, 2**32 - 1))
def test_sigmoid_within_two_ulp_on_either_formula(dtype, low, seed):
    # inputs above about -log(max float) take 1/(1 + exp(-x)), lower ones exp(-|x|)-based
    x = np.random.default_rng(seed).uniform(low, 40.0, 200).astype(dtype)
    with np.errstate(**RAISE_ALL, under="ignore"):
        y = tg.Tensor(x).sigmoid().data
    exact = 1.0 / (1.0 + np.exp(-x.astype(np.longdouble)))
    normal = exact > np.finfo(dtype).tiny  # (subnormal results carry fewer digits)
    assert y.dtype == dtype
    assert np.all(np.abs(y - exact)[normal] <= 2 * np.finfo(dtype).eps * exact[normal])



@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64]), low=st.sampled_from([-5.0, -80.0, -800.0]),
       seed=st.integers(0, 2**32 - 1))
def test_softplus_and_bce_with_logits_within_two_eps(dtype, low, seed):
    # softplus = max(x, 0) + log1p(exp(-|x|)), and the sigmoid backward takes from that
    # exp(-|x|): value and gradient against a longdouble reference
    x = np.random.default_rng(seed).uniform(low, 40.0, 200).astype(dtype)
    xl = x.astype(np.longdouble)
    exact_sp = np.logaddexp(np.longdouble(0), xl)
    exact_s = 1.0 / (1.0 + np.exp(-xl))
    eps = np.finfo(dtype).eps
    for make in (lambda z: z.softplus(),
                 lambda z: F.binary_cross_entropy_with_logits(z, np.zeros_like(x), reduction="none")):
        z = tg.Tensor(x, requires_grad=True)
        with np.errstate(**RAISE_ALL, under="ignore"):
            y = make(z)
            y.backward(np.ones_like(x))
        for got, exact in ((y.data, exact_sp), (z.grad.data, exact_s)):
            normal = exact > np.finfo(dtype).tiny  # (subnormal results carry fewer digits)
            assert got.dtype == dtype
            assert np.all(np.abs(got - exact)[normal] <= 2 * eps * exact[normal])

def test_tanh_at_pm_1000():
    x = leaf([1000.0, -1000.0])
    with np.errstate(**RAISE_ALL):
        y = x.tanh()
        y.backward(np.array([2.0, 3.0]))
    np.testing.assert_array_equal(y.data, [1.0, -1.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_log_softmax_at_1000_0_minus_1000():
    x = leaf([1000.0, 0.0, -1000.0])
    g = np.array([0.5, -2.0, 4.0])
    with np.errstate(**RAISE_ALL):
        y = x.log_softmax()
        y.backward(g)
    np.testing.assert_array_equal(y.data, [0.0, -1000.0, -2000.0])
    # dx = g - softmax * sum(g), softmax = [1, 0, 0] in float64, sum(g) = 2.5
    np.testing.assert_array_equal(x.grad.data, [0.5 - 2.5, -2.0, 4.0])


def test_softmax_at_1000_0_minus_1000():
    x = leaf([1000.0, 0.0, -1000.0])
    with np.errstate(**RAISE_ALL):
        y = x.softmax()
        y.backward(np.array([0.5, -2.0, 4.0]))
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 0.0])
    # dx = y * (g - sum(g * y)) = [1 * (0.5 - 0.5), 0, 0]
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_logsumexp_at_large_values():
    x = leaf([[1000.0, 1000.0], [-1000.0, -1000.0], [1000.0, -1000.0]])
    with np.errstate(**RAISE_ALL):
        y = x.logsumexp(axis=1)
        y.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y.data, [1000.0 + np.log(2.0), -1000.0 + np.log(2.0), 1000.0])
    # dx = g * softmax(row) = g * exp(x - y); y = 1000 + log 2 is rounded at the scale
    # of 1000 (half an ulp = 2^-44 ~ 5.7e-14), so exp(x - y) is within 1e-13 of 1/2
    np.testing.assert_allclose(x.grad.data, [[0.5, 0.5], [1.0, 1.0], [3.0, 0.0]],
                               rtol=1e-13, atol=0)
    z = leaf([1000.0, 0.0, -1000.0])
    with np.errstate(**RAISE_ALL):
        out = z.logsumexp()
        out.backward()
        assert out.item() == 1000.0
        np.testing.assert_array_equal(F.logsumexp(np.array([1000.0, 0.0, -1000.0])).data,
                                      1000.0)
    np.testing.assert_array_equal(z.grad.data, [1.0, 0.0, 0.0])


def test_softplus_at_pm_1000():
    x = leaf([1000.0, -1000.0])
    with np.errstate(**RAISE_ALL):
        y = x.softplus()
        y.backward(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(y.data, [1000.0, 0.0])
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0])  # sigmoid(+-1000)


def test_bce_with_logits_at_pm_1000():
    x = leaf([1000.0, 1000.0, -1000.0, -1000.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    with np.errstate(**RAISE_ALL):
        per = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        mean = F.binary_cross_entropy_with_logits(x, t)
        mean.backward()
    # softplus(x) - t x: confident and right -> 0, confident and wrong -> 1000
    np.testing.assert_array_equal(per.data, [0.0, 1000.0, 0.0, 1000.0])
    assert mean.item() == 500.0
    # d mean / dx = (sigmoid(x) - t) / 4
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.25, 0.0, -0.25])


def test_cross_entropy_at_1000():
    x = leaf([[1000.0, 0.0, -1000.0]])
    with np.errstate(**RAISE_ALL):
        loss = F.cross_entropy(x, [1])
        loss.backward()
    assert loss.item() == 1000.0
    np.testing.assert_array_equal(x.grad.data, [[1.0, -1.0, 0.0]])  # softmax - onehot


# =====================================================================================
# 3.10  where: gradient to the branch taken; the NaN pitfall and the double-where recipe
# =====================================================================================

def test_where_gradient_goes_to_branch_taken():
    a = leaf([1.0, 2.0, 3.0])
    b = leaf([10.0, 20.0, 30.0])
    cond = np.array([True, False, True])
    y = tg.where(cond, a * 2.0, b * 5.0)
    y.backward(np.array([1.0, 3.0, 7.0]))
    np.testing.assert_array_equal(y.data, [2.0, 100.0, 6.0])
    np.testing.assert_array_equal(a.grad.data, [2.0, 0.0, 14.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 15.0, 0.0])


def test_where_accepts_boolean_tensor_condition_and_broadcasts():
    a = leaf([[1.0], [2.0]])          # (2, 1)
    cond = (tg.Tensor([1.0, -1.0, 2.0]) > 0)   # (3,)
    y = tg.where(cond, a, 0.0)        # (2, 3)
    G = np.arange(6.0).reshape(2, 3)
    y.backward(G)
    np.testing.assert_array_equal(a.grad.data, [[0.0 + 2.0], [3.0 + 5.0]])


def test_where_nan_pitfall_and_double_where_recipe():
    """The pitfall: both branches are computed, and 0 * inf or 0 * nan is nan.

    ``where(x > 0, log(x), 0)`` at x = 0: log'(0) = 1/0 = inf, times the 0 of the
    branch not taken -> nan. (At x = -1, log'(-1) = -1 is finite, so log gives a
    clean 0 there; sqrt(-1) = nan makes sqrt'(-1) nan.) The recipe: feed the risky
    function a safe input where the branch is not taken,
    ``where(c, f(where(c, x, safe)), other)``.
    """
    x = leaf([0.0, -1.0, 4.0])
    c = x.data > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = tg.where(c, x.log(), 0.0) + tg.where(c, x.sqrt(), 0.0)
        naive.sum().backward()
    assert np.isnan(x.grad.data[0]) and np.isnan(x.grad.data[1])

    x.grad = None
    with np.errstate(**RAISE_ALL):
        safe = tg.where(c, x, 1.0)
        fixed = tg.where(c, safe.log(), 0.0) + tg.where(c, safe.sqrt(), 0.0)
        fixed.sum().backward()
    np.testing.assert_array_equal(fixed.data, [0.0, 0.0, np.log(4.0) + 2.0])
    # d/dx (log x + sqrt x) at 4 = 1/4 + 1/(2*2)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.25 + 0.25])


# =====================================================================================
# 3.12  __eq__ returns a Tensor; tensors still hash by identity
# =====================================================================================

def test_eq_returns_tensor_but_sets_and_dicts_work():
    a = tg.Tensor([1.0, 2.0])
    b = tg.Tensor([1.0, 2.0])
    eq = a == b
    assert isinstance(eq, tg.Tensor)
    np.testing.assert_array_equal(eq.data, [True, True])
    assert not eq.requires_grad
    s = {a, b, a}
    assert len(s) == 2 and a in s and b in s
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert hash(a) != hash(b)


def test_comparisons_carry_no_gradient():
    x = leaf([-1.0, 0.0, 2.0])
    for r, expected in [(x > 0, [False, False, True]), (x >= 0, [False, True, True]),
                        (x < 0, [True, False, False]), (x <= 0, [True, True, False]),
                        (x != 0, [True, False, True])]:
        assert isinstance(r, tg.Tensor) and not r.requires_grad and r.grad_fn is None
        np.testing.assert_array_equal(r.data, expected)


# =====================================================================================
# ties and kinks (DESIGN section 4)
# =====================================================================================

def test_max_ties_split_evenly():
    x = leaf([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5])


def test_min_ties_split_evenly_over_whole_matrix():
    x = leaf([[0.0, 1.0], [0.0, 0.0]])
    x.min().backward()
    np.testing.assert_array_equal(x.grad.data, [[1 / 3, 0.0], [1 / 3, 1 / 3]])


def test_max_ties_along_axis():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0], [5.0, 1.0, 0.0]])
    y = x.max(axis=1)
    np.testing.assert_array_equal(y.data, [3.0, 2.0, 5.0])
    y.backward(np.array([2.0, 4.0, 8.0]))
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 1], [2, 0, 2], [8, 0, 0]])


def test_min_ties_along_axis_0_keepdims():
    x = leaf([[1.0, 3.0], [1.0, 0.0], [4.0, 0.0]])
    y = x.min(axis=0, keepdims=True)
    assert y.shape == (1, 2)
    y.backward(np.array([[6.0, 10.0]]))
    np.testing.assert_array_equal(x.grad.data, [[3.0, 0.0], [3.0, 5.0], [0.0, 5.0]])


def test_maximum_minimum_ties_half_each():
    a = leaf([1.0, 2.0, 3.0])
    b = leaf([3.0, 2.0, 1.0])
    tg.maximum(a, b).backward(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(a.grad.data, [0.0, 1.0, 4.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0, 0.0])
    a.grad = b.grad = None
    tg.minimum(a, b).backward(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(a.grad.data, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 1.0, 4.0])


def test_maximum_with_scalar_tie():
    x = leaf([1.0, 2.0, 3.0])
    tg.maximum(x, 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 1.0])


def test_relu_abs_clip_at_kinks():
    x = leaf([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])  # relu'(0) = 0
    x.grad = None
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, 0.0, 1.0])  # |x|'(0) = 0
    z = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = z.clip(-1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    y.backward(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(z.grad.data, [0.0, 2.0, 3.0, 4.0, 0.0])  # bounds included


def test_clip_one_sided():
    z = leaf([-2.0, 0.0, 2.0])
    z.clip(0.0, None).sum().backward()
    np.testing.assert_array_equal(z.grad.data, [0.0, 1.0, 1.0])
    z.grad = None
    z.clip(None, 0.0).sum().backward()
    np.testing.assert_array_equal(z.grad.data, [1.0, 1.0, 0.0])


# =====================================================================================
# grad mode, detach, requires_grad propagation
# =====================================================================================

def test_no_grad_context_manager():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2.0 + 1.0
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.data, [3.0, 5.0])


def test_no_grad_decorator_and_restores_on_error():
    @tg.no_grad()
    def f(t):
        return (t * t).exp()

    x = leaf([0.0, 1.0])
    y = f(x)
    assert not y.requires_grad and y.grad_fn is None
    assert tg.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 3.0
        z = x * 3.0
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad


def test_detach():
    x = leaf([2.0, 3.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.data, x.data)
    y = d * x      # d/dx [stop(x) * x] = x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0])


def test_requires_grad_propagation():
    x = leaf([1.0])
    c = tg.Tensor([2.0])
    assert x.is_leaf and c.is_leaf
    assert (x * c).requires_grad and not (x * c).is_leaf
    assert not (c * c).requires_grad and (c * c).grad_fn is None
    assert (c + x).requires_grad
    assert not tg.Tensor([1.0]).requires_grad


# =====================================================================================
# dtypes and numpy interplay
# =====================================================================================

def test_default_dtype_float64_for_ints_and_bools():
    assert tg.Tensor([1, 2]).dtype == np.float64
    assert tg.Tensor(True).dtype == np.float64
    assert tg.Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.float64
    assert tg.Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_float32_times_python_float_stays_float32():
    x = leaf([1.0, 2.0], dtype=np.float32)
    y = x * 2.0
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, np.array([2.0, 2.0], np.float32))


def test_float32_leaf_gradient_stays_float32_with_float64_operand():
    x = leaf([1.0, 2.0], dtype=np.float32)
    w = np.array([0.5, 3.0])  # float64
    y = x * w
    assert y.dtype == np.float64  # numpy's promotion for the value
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, np.array([0.5, 3.0], np.float32))
    v = leaf([4.0, 5.0])
    x.grad = None
    (x * v).sum().backward()
    assert x.grad.dtype == np.float32 and v.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, np.array([4.0, 5.0], np.float32))
    np.testing.assert_array_equal(v.grad.data, [1.0, 2.0])


FLOAT32_OPS = {
    "sigmoid": lambda t: t.sigmoid(), "tanh": lambda t: t.tanh(),
    "softplus": lambda t: t.softplus(), "relu": lambda t: t.relu(),
    "exp": lambda t: t.exp(), "log": lambda t: t.log(), "sqrt": lambda t: t.sqrt(),
    "abs": lambda t: t.abs(), "pow": lambda t: t ** 2, "div": lambda t: 1.0 / t,
    "sub": lambda t: 1.0 - t, "mean": lambda t: t.mean(), "max": lambda t: t.max(),
    "min": lambda t: t.min(), "logsumexp": lambda t: t.logsumexp(),
    "softmax": lambda t: t.softmax(), "log_softmax": lambda t: t.log_softmax(),
    "clip": lambda t: t.clip(1.5, 2.5), "matmul": lambda t: t @ t,
    "maximum": lambda t: tg.maximum(t, 2.0), "index": lambda t: t[[0, 0, 2]],
    "where": lambda t: tg.where(t.data > 1.5, t, 0.0), "reshape": lambda t: t.reshape(3, 1),
    "stack": lambda t: tg.stack([t, t]), "concatenate": lambda t: tg.concatenate([t, t]),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float32_through_op_and_gradient(name):
    x = leaf([1.0, 2.0, 3.0], dtype=np.float32)
    y = FLOAT32_OPS[name](x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32



@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_low", "softplus", "bce", "bce_mean", "ce_mean"])
def test_0d_and_fused_loss_results_keep_their_float_dtype(name, dtype):
    # 0-d operands are where numpy 1's value-based casting turned float32 into float64
    make = {"sigmoid": lambda t: t.sigmoid(), "sigmoid_low": lambda t: t.sigmoid(),
            "softplus": lambda t: t.softplus(),
            "bce": lambda t: F.binary_cross_entropy_with_logits(t, np.array(1.0, dtype)),
            "bce_mean": lambda t: F.binary_cross_entropy_with_logits(
                t.reshape(1) * np.ones(3, dtype), np.zeros(3, dtype)),
            "ce_mean": lambda t: F.cross_entropy(t.reshape(1, 1) * np.ones((2, 3), dtype),
                                                 np.array([0, 2]))}[name]
    x = leaf(-99.5 if name == "sigmoid_low" else 0.5, dtype=dtype)  # (low: the exp(-|x|) path)
    y = make(x)
    assert y.dtype == dtype
    y.backward()
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("x_shape, t_shape", [((3,), (3,)), ((3, 1), (3, 2)), ((3, 2), (3, 1))])
def test_bce_with_logits_dtype_follows_numpy_promotion_whatever_the_broadcast(x_shape, t_shape):
    x = leaf(np.full(x_shape, 0.3), dtype=np.float32)
    for t_dtype in (np.float32, np.float64):
        t = np.ones(t_shape, dtype=t_dtype)
        loss = F.binary_cross_entropy_with_logits(x, t, reduction="none") if x_shape == t_shape \
            else tg.ops.BinaryCrossEntropyWithLogits.apply(x, tg.Tensor(t))
        assert loss.dtype == np.result_type(np.float32, t_dtype)

def test_numpy_on_the_left_returns_tensor_with_graph():
    x = leaf([1.0, 2.0, 3.0])
    w = np.array([2.0, -1.0, 0.5])
    y = w * x
    assert isinstance(y, tg.Tensor) and y.requires_grad
    M = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    z = M @ x
    assert isinstance(z, tg.Tensor) and z.requires_grad
    np.testing.assert_array_equal(z.data, M @ x.data)
    (y.sum() + z.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, w + M.sum(axis=0))
    assert isinstance(w + x, tg.Tensor) and isinstance(w - x, tg.Tensor)
    assert isinstance(w / x, tg.Tensor)


def test_np_asarray_gives_the_data():
    t = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, [[1.0, 2.0], [3.0, 4.0]])
    assert np.shares_memory(a, t.data)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_integer_tensor_labels():
    labels = tg.Tensor([2, 0], dtype=np.int64)
    assert labels.dtype == np.int64 and not labels.requires_grad
    logits_np = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    x = leaf(logits_np)
    loss = F.cross_entropy(x, labels)
    loss.backward()
    lse = np.log(np.exp(logits_np).sum(axis=1))
    expected = np.mean(lse - logits_np[[0, 1], [2, 0]])
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-14)
    p = np.exp(logits_np - lse[:, None])
    onehot = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(x.grad.data, (p - onehot) / 2, rtol=1e-13, atol=1e-16)
    x.grad = None
    F.cross_entropy(x, np.array([2, 0])).backward()
    np.testing.assert_allclose(x.grad.data, (p - onehot) / 2, rtol=1e-13, atol=1e-16)


def test_repr_is_readable():
    assert repr(tg.Tensor([1.0, 2.5])) == "Tensor([1. , 2.5])"
    x = leaf([1.0, 2.0])
    assert "requires_grad=True" in repr(x)
    r = repr(x * 2.0)
    assert r.startswith("Tensor([2., 4.]") and "grad_fn=Mul" in r
    assert "dtype=float32" in repr(tg.Tensor([1.0], dtype=np.float32))
    assert "dtype=int64" in repr(tg.Tensor([1, 2], dtype=np.int64))


# =====================================================================================
# indexing, concatenate, stack, matmul
# =====================================================================================

def test_index_repeated_integers_accumulate():
    x = leaf([10.0, 20.0, 30.0])
    y = x[[0, 0, 1]]
    np.testing.assert_array_equal(y.data, [10.0, 10.0, 20.0])
    y.backward(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0, 0.0])


def test_index_repeated_pairs_2d():
    x = leaf(np.zeros((2, 3)))
    y = x[[0, 0, 1], [2, 2, 0]]
    y.backward(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 3.0], [4.0, 0.0, 0.0]])


def _index_grad_reference(shape, idx, G):
    ref = np.zeros(shape)
    np.add.at(ref, idx, G)
    return ref


@pytest.mark.parametrize("idx", [
    np.array([[True, False, True, False], [False, True, True, True], [False] * 4]),
    (None, Ellipsis, 1),
    (Ellipsis, slice(None, None, 2)),
    (slice(None, None, -1), slice(1, None, 2)),
    (slice(0, 3, 2), None, slice(None)),
    (1, np.array([3, 0, 3])),
    np.array([2, -1, 0, 2]),
    -1,
], ids=["bool-mask", "none-ellipsis-int", "ellipsis-step", "reverse-step", "step-none",
        "int-and-repeated-array", "repeated-negative", "negative-int"])
def test_index_gradients(idx):
    x_np = RNG.standard_normal((3, 4))
    x = leaf(x_np)
    y = x[idx]
    np.testing.assert_array_equal(y.data, x_np[idx])
    G = RNG.standard_normal(y.shape)
    y.backward(G)
    assert x.grad.shape == (3, 4)
    np.testing.assert_array_equal(x.grad.data, _index_grad_reference((3, 4), idx, G))


def test_index_with_tensor_mask():
    x = leaf([1.0, -2.0, 3.0])
    y = x[x > 0]
    np.testing.assert_array_equal(y.data, [1.0, 3.0])
    y.backward(np.array([5.0, 7.0]))
    np.testing.assert_array_equal(x.grad.data, [5.0, 0.0, 7.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_gradient(axis):
    a, b, c = leaf(RNG.standard_normal((2, 3))), leaf(RNG.standard_normal((2, 1))), \
        leaf(RNG.standard_normal((2, 2)))
    if axis == 0:
        a, b, c = leaf(RNG.standard_normal((2, 3))), leaf(RNG.standard_normal((1, 3))), \
            leaf(RNG.standard_normal((4, 3)))
    y = tg.concatenate([a, b, c], axis=axis)
    np.testing.assert_array_equal(y.data, np.concatenate([a.data, b.data, c.data], axis=axis))
    G = RNG.standard_normal(y.shape)
    y.backward(G)
    ga, gb, gc_ = np.split(G, np.cumsum([a.shape[axis], b.shape[axis]]), axis=axis)
    np.testing.assert_array_equal(a.grad.data, ga)
    np.testing.assert_array_equal(b.grad.data, gb)
    np.testing.assert_array_equal(c.grad.data, gc_)


def test_concatenate_with_constant_and_reused_input():
    a = leaf([1.0, 2.0])
    y = tg.concatenate([a, np.array([9.0]), a])
    y.backward(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(a.grad.data, [1.0 + 4.0, 2.0 + 5.0])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_gradient(axis):
    xs = [leaf(RNG.standard_normal((2, 3))) for _ in range(3)]
    y = tg.stack(xs, axis=axis)
    np.testing.assert_array_equal(y.data, np.stack([x.data for x in xs], axis=axis))
    G = RNG.standard_normal(y.shape)
    y.backward(G)
    for i, x in enumerate(xs):
        np.testing.assert_array_equal(x.grad.data, np.take(G, i, axis=axis))


@pytest.mark.parametrize("axes", [(1, 2, 0), (2, 0, 1), (0, 2, 1), (-1, 0, 1)])
def test_transpose_gradient(axes):
    x = leaf(RNG.standard_normal((2, 3, 4)))
    y = x.transpose(*axes)
    np.testing.assert_array_equal(y.data, np.transpose(x.data, axes))
    G = RNG.standard_normal(y.shape)
    y.backward(G)
    # y[j0, j1, j2] = x[...] with x's axis axes[k] at y's position k: send G back
    expected = np.empty_like(x.data)
    np.transpose(expected, axes)[...] = G
    np.testing.assert_array_equal(x.grad.data, expected)


def test_T_flatten_expand_gradients():
    x = leaf(RNG.standard_normal((2, 3)))
    G = RNG.standard_normal((3, 2))
    x.T.backward(G)
    np.testing.assert_array_equal(x.grad.data, G.T)
    x.grad = None
    x.flatten().backward(np.arange(6.0))
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0).reshape(2, 3))
    c = leaf([[1.0], [2.0]])
    c.expand(2, 3).backward(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(c.grad.data, [[0.0 + 1 + 2], [3.0 + 4 + 5]])


MATMUL_CASES = {
    # name: (a shape, b shape, hand-derived da, db from G = dL/d(a @ b))
    "1d@1d": ((4,), (4,), lambda G, a, b: (G * b, G * a)),
    "1d@2d": ((4,), (4, 3), lambda G, a, b: (b @ G, np.outer(a, G))),
    "2d@1d": ((2, 4), (4,), lambda G, a, b: (np.outer(G, b), G @ a)),
    "2d@2d": ((2, 4), (4, 3), lambda G, a, b: (G @ b.T, a.T @ G)),
    "1d@3d": ((4,), (2, 4, 3), lambda G, a, b: (np.einsum("jm,jlm->l", G, b),
                                                np.einsum("l,jm->jlm", a, G))),
    "3d@1d": ((2, 3, 4), (4,), lambda G, a, b: (np.einsum("ik,l->ikl", G, b),
                                                np.einsum("ik,ikl->l", G, a))),
    "3d@2d": ((2, 3, 4), (4, 5), lambda G, a, b: (G @ b.T, np.einsum("ikl,ikm->lm", a, G))),
    "batch-broadcast": ((2, 1, 3, 4), (5, 4, 2), lambda G, a, b: (
        np.einsum("ijkm,jlm->ikl", G, b)[:, None], np.einsum("ikl,ijkm->jlm", a[:, 0], G))),
}


@pytest.mark.parametrize("name", sorted(MATMUL_CASES))
def test_matmul_gradients(name):
    a_shape, b_shape, ref = MATMUL_CASES[name]
    a, b = leaf(RNG.standard_normal(a_shape)), leaf(RNG.standard_normal(b_shape))
    y = a @ b
    np.testing.assert_allclose(y.data, a.data @ b.data, rtol=1e-13)
    G = RNG.standard_normal(y.shape)
    y.backward(G)
    da, db = ref(G, a.data, b.data)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    np.testing.assert_allclose(a.grad.data, da, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(b.grad.data, db, rtol=1e-12, atol=1e-13)


# =====================================================================================
# functional transforms, retain_grad, hooks, create_graph
# =====================================================================================

def test_gradients_does_not_touch_grad():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, -1.0])
    unused = leaf([5.0])
    out = (x * x * w).sum()   # d/dx = 2 x w, d/dw = x^2
    gx, gw, gu = tg.gradients(out, [x, w, unused])
    np.testing.assert_array_equal(gx.data, [6.0, -4.0])
    np.testing.assert_array_equal(gw.data, [1.0, 4.0])
    np.testing.assert_array_equal(gu.data, [0.0])
    assert x.grad is None and w.grad is None and unused.grad is None


def test_grad_and_value_and_grad():
    def f(x, w):
        return (x ** 3 * w).sum()

    x = leaf([1.0, 2.0])
    w = leaf([0.5, 2.0])
    g = tg.grad(f)(x, w)
    np.testing.assert_array_equal(g.data, 3 * x.data**2 * w.data)   # [1.5, 24]
    value, (gx, gw) = tg.value_and_grad(f, argnums=(0, 1))(x, w)
    assert value.item() == 0.5 + 16.0
    np.testing.assert_array_equal(gx.data, [1.5, 24.0])
    np.testing.assert_array_equal(gw.data, [1.0, 8.0])
    assert x.grad is None and w.grad is None
    # plain arrays are accepted as the differentiated argument
    np.testing.assert_array_equal(tg.grad(f, argnums=1)(x, np.array([0.5, 2.0])).data,
                                  [1.0, 8.0])


def test_second_derivatives():
    x = leaf(2.0)
    d2 = tg.grad(tg.grad(lambda t: t ** 3))(x)   # 6x
    assert d2.item() == 12.0
    y = x ** 3
    y.backward(create_graph=True)
    g = x.grad                                   # 3x^2, itself a graph
    assert g.item() == 12.0 and g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0


def test_retain_grad():
    a = leaf([1.0, 2.0])
    b = a * 3.0
    c = a * 4.0
    b.retain_grad()
    (b * c).sum().backward()       # d/db = c = 4a; d/dc = b = 3a
    np.testing.assert_array_equal(b.grad.data, [4.0, 8.0])
    with pytest.warns(UserWarning, match="retain_grad"):  # as PyTorch warns
        assert c.grad is None
    np.testing.assert_array_equal(a.grad.data, 24 * a.data)


def test_register_hook_replaces_gradient_and_remove():
    seen = []
    a = leaf([1.0, 2.0])
    b = a * 2.0

    def hook(g):
        seen.append(g.data.copy())
        return g * 10.0

    handle = b.register_hook(hook)
    y = (b * b).sum() + b.sum()    # b used twice: hook sees the total 2b + 1 once
    y.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [5.0, 9.0])
    np.testing.assert_array_equal(a.grad.data, [100.0, 180.0])   # 10 * (2b + 1) * 2
    handle.remove()
    a.grad = None
    y.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(a.grad.data, [10.0, 18.0])


def test_hook_on_leaf_and_returning_none():
    calls = []
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: calls.append(g.data.copy()))   # returns None: keep g
    h2 = x.register_hook(lambda g: g * 0.5)
    (x * 4.0).sum().backward()
    np.testing.assert_array_equal(calls[0], [4.0, 4.0])
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    h2.remove()
    x.grad = None
    (x * 4.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


# =====================================================================================
# in-place updates and anomaly detection
# =====================================================================================

def test_inplace_on_saved_tensor_then_backward_raises():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = y * y            # saves y
    with tg.no_grad():   # in grad mode the update itself is refused (next test)
        y.add_(1.0)
    with pytest.raises(tg.GradientError, match="modified in place"):
        z.sum().backward()


@pytest.mark.parametrize("update", [lambda t: t.add_(1.0), lambda t: t.mul_(2.0)])
def test_inplace_update_of_a_tensor_that_requires_grad_is_refused_in_grad_mode(update):
    x = leaf([1.0, 2.0])
    for t in (x, x * 2.0):  # a leaf and an interior tensor
        with pytest.raises(tg.GradientError, match="in-place update"):
            update(t)
    assert x.data.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "**="])
def test_augmented_assignment_of_a_leaf_that_requires_grad_is_refused_in_grad_mode(op):
    x = leaf([1.0, 2.0])
    with pytest.raises(tg.GradientError, match="in-place update of a leaf"):
        exec(f"x {op} 2.0", {"x": x})  # noqa: S102
    assert x.data.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("op, d", [  # d/dx of the new c: 2c + 1, c - 2, 2c, c / 2, c**2
    ("+=", lambda x: 4.0), ("-=", lambda x: 2.0), ("*=", lambda x: 4.0),
    ("/=", lambda x: 1.0), ("**=", lambda x: 8.0 * x)])
def test_augmented_assignment_of_an_interior_tensor_rebinds_with_an_exact_gradient(op, d):
    # c = 2x; c op= 2 (or c + 1 for +=): the name c now means the new value, as in PyTorch
    x = leaf([1.0, 3.0])
    c = x * 2.0
    before = c
    scope = {"c": c}
    exec(f"c {op} (c + 1.0 if '{op}' == '+=' else 2.0)", scope)  # noqa: S102
    c = scope["c"]
    assert c is not before and before.data.tolist() == [2.0, 6.0]  # the old value is intact
    c.sum().backward()
    np.testing.assert_allclose(x.grad.data, [d(1.0), d(3.0)])


def test_augmented_assignment_is_in_place_under_no_grad():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    before = w
    with tg.no_grad():
        w -= 0.5 * w.grad            # the training-loop idiom keeps w a leaf
    assert w is before and w.is_leaf and w.requires_grad
    assert w.data.tolist() == [0.0, 0.0]


def test_inplace_on_saved_constant_then_backward_raises():
    x = leaf([1.0, 2.0])
    w = tg.Tensor([3.0, 4.0])
    z = x * w            # saves w for dx = g * w
    w.mul_(2.0)
    with pytest.raises(tg.GradientError, match="modified in place"):
        z.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    z = y + 1.0          # Add saves nothing
    with tg.no_grad():  # in grad mode the update itself is refused
        y.add_(5.0)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_inplace_on_leaf_requires_no_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(tg.GradientError):
        x.add_(1.0)
    with tg.no_grad():
        x.sub_(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(x.data, [0.5, 1.5])
    assert x.requires_grad


def test_detect_anomaly_names_op_in_forward():
    x = leaf([-1.0, 4.0])
    with np.errstate(invalid="ignore"):
        with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="Log"):
            x.log()
        y = x.log()      # outside the context: no error, just nan
    assert np.isnan(y.data[0]) and y.data[1] == np.log(4.0)


def test_detect_anomaly_names_op_in_backward():
    x = leaf([0.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"), tg.detect_anomaly():
        y = x.sqrt()           # finite forward; backward 1 / (2 sqrt(0)) = inf
        with pytest.raises(tg.AnomalyError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "Sqrt" in msg and "backward" in msg
    assert "y = x.sqrt()" in msg   # the line that created the op


# ---- edge cases found in review ------------------------------------------------------------

def test_detached_copy_is_a_constant_in_second_derivatives():
    # d2/dx2 of x * stop_gradient(x) is 0: the detached factor must not reconnect to x
    H = tg.hessian(lambda x: (x * x.detach()).sum())(tg.Tensor([3.0]))
    assert H.data.tolist() == [[0.0]]


def test_pow_gradients_at_zero_base_are_finite():
    x, y = leaf([0.0, 2.0]), leaf([2.0, 2.0])
    (x ** y).sum().backward()
    # d(x^y)/dx = y x^(y-1) = [0, 4];  d(x^y)/dy = x^y log x = [0 (limit), 4 log 2]
    np.testing.assert_array_equal(x.grad.data, [0.0, 4.0])
    assert y.grad.data[0] == 0.0 and y.grad.data[1] == pytest.approx(4 * np.log(2.0))
    z = leaf([0.0, 2.0])
    (z ** tg.Tensor(0.0)).sum().backward()         # x^0 = 1: derivative 0 everywhere
    np.testing.assert_array_equal(z.grad.data, [0.0, 0.0])


def test_in_place_updates_refuse_values_that_carry_a_graph():
    w = leaf([1.0, 2.0])
    acc = tg.zeros(2)
    with pytest.raises(tg.GradientError, match="acc = acc \\+ x"):
        acc.add_(w * 2.0)
    with pytest.raises(tg.GradientError, match="item assignment"):
        acc[0] = (w * w).sum()
    assert acc.data.tolist() == [0.0, 0.0]


def test_total_plus_equals_loss_keeps_every_graph_exactly():
    """The learner's loop `total += loss`: total is rebound to the sum, with its graph."""
    w = leaf([1.0, 2.0])
    zero = tg.zeros(())
    total = zero
    for k in (1.0, 2.0, 3.0):
        total += (k * w).sum()
    total.backward()
    assert zero.data.item() == 0.0                      # the starting constant is untouched
    np.testing.assert_array_equal(w.grad.data, [6.0, 6.0])  # 1 + 2 + 3 for each weight


def test_gradients_of_two_inputs_are_separate_writable_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ga, gb = tg.gradients((a + b).sum(), [a, b])
    assert not np.shares_memory(ga.data, gb.data)
    ga.data[0] = 5.0                                  # writable, and b's gradient unchanged
    assert gb.data.tolist() == [1.0, 1.0]


def test_casting_to_integers_ends_the_graph_and_zeros_keep_their_dtype():
    x = leaf([1.5, 2.5])
    assert not x.astype(np.int64).requires_grad
    assert tg.zeros(3, dtype=np.int64).dtype == np.int64
    assert tg.ones(2, dtype=np.float32).dtype == np.float32


def test_value_and_grad_returns_a_value_without_its_graph():
    value, g = tg.value_and_grad(lambda x: (x * x).sum())(tg.Tensor([1.0, 2.0]))
    assert not value.requires_grad and value.grad_fn is None
    assert value.item() == 5.0 and g.data.tolist() == [2.0, 4.0]


def test_np_array_of_a_tensor_copies_and_asarray_shares():
    t = leaf([1.0, 2.0])
    assert not np.shares_memory(np.array(t), t.data)
    assert np.asarray(t) is t.data


def test_mean_over_an_empty_axis_has_an_empty_gradient():
    x = leaf(np.zeros((0, 3)))
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        x.mean(axis=0).backward(np.ones(3))
    assert x.grad.shape == (0, 3)


# --- first-order backward on arrays (Function.array_backward)
def _recording_op(array_backward):
    seen = []

    class Square(tg.Function):
        """y = x**2;  dx = g * 2x"""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            seen.append((type(g), type(x)))
            return g * 2.0 * x

    Square.array_backward = array_backward
    return Square, seen


@pytest.mark.fast_engine_only
@pytest.mark.parametrize("array_backward", [False, True])
def test_backward_gets_tensors_unless_the_op_asks_for_arrays(array_backward):
    Square, seen = _recording_op(array_backward)
    x = tg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (Square.apply(x) * 1.5).sum().backward()
    kind = np.ndarray if array_backward else tg.Tensor
    assert seen == [(kind, kind)]
    np.testing.assert_array_equal(x.grad.data, 1.5 * 2.0 * x.data)


@pytest.mark.parametrize("array_backward", [False, True])
def test_create_graph_always_runs_backward_on_tensors(array_backward):
    Square, seen = _recording_op(array_backward)
    x = tg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    Square.apply(x).sum().backward(create_graph=True)
    assert seen == [(tg.Tensor, tg.Tensor)] and x.grad.requires_grad
    x.grad.sum().backward()  # d/dx sum(2x) = 2, added to the first gradient 2x
    np.testing.assert_array_equal(x.grad.data, 2.0 * x.data + 2.0)


def test_array_backward_of_0d_values_gives_arrays_not_numpy_scalars():
    x = tg.Tensor(np.array(3.0), requires_grad=True)
    ((x * 2.0) * x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 12.0


def test_0d_gradients_reach_hooks_retained_grads_and_custom_ops_as_arrays():
    Square, seen = _recording_op(array_backward=False)
    x = tg.Tensor(np.array(3.0), requires_grad=True)
    y = x * x
    y.retain_grad()
    hooked = []
    y.register_hook(lambda g: hooked.append(type(g.data)))
    z = Square.apply(y) + y * 2.0  # fan-out: two 0-d gradients summed into y's
    z.backward()
    assert seen == [(tg.Tensor, tg.Tensor)] and hooked == [np.ndarray]
    assert type(y.grad.data) is np.ndarray and y.grad.item() == 2 * 9.0 + 2.0
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 20.0 * 2 * 3.0
    gx, = tg.autograd.gradients(z, [x])
    assert type(gx.data) is np.ndarray and gx.item() == 120.0


def test_create_graph_through_a_0d_fan_out_keeps_the_graph():
    x = tg.Tensor(np.array(3.0), requires_grad=True)
    (x * x * x).backward(create_graph=True)  # x.grad = 3x^2, a sum of three paths
    assert x.grad.requires_grad and x.grad.item() == 27.0
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 18.0  # d(3x^2)/dx = 6x


# ---------------------------------------------------------------- several outputs at once
# gradients([y1, y2], inputs, grad_output=[g1, g2]) is the gradient of the scalar
# <g1, y1> + <g2, y2> (torch.autograd.grad's outputs and grad_outputs): every path from
# every output summed. Expected values come from the one-output walk of that scalar, and
# by hand from the derivative formulas.
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_gradients_of_several_outputs_equal_the_gradient_of_their_weighted_sum(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x, w = leaf(rng.normal(size=(3, 4))), leaf(rng.normal(size=(4, 2)))
    z = x @ w                      # an output that is also an input of the next one
    y = z.tanh() * 2.0
    g_z, g_y, g_x = (rng.normal(size=t.shape) for t in (z, y, x))
    got = tg.autograd.gradients([y, z, x], [x, w], grad_output=[g_y, g_z, g_x])
    # by hand: dz = g_z + 2 g_y (1 - tanh(z)^2); dx = dz w^T + g_x; dw = x^T dz
    dz = g_z + 2.0 * g_y * (1.0 - np.tanh(x.data @ w.data) ** 2)
    np.testing.assert_allclose(got[0].data, dz @ w.data.T + g_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1].data, x.data.T @ dz, rtol=1e-12, atol=1e-12)
    scalar = (y * g_y).sum() + (z * g_z).sum() + (x * g_x).sum()
    one = tg.autograd.gradients(scalar, [x, w])
    for a, b in zip(got, one):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)


def test_backward_of_several_outputs_accumulates_into_the_leaves():
    x = leaf([1.0, -2.0, 3.0])
    a, b = x * x, x.sum()
    tg.autograd.backward([a, b], [np.array([1.0, 10.0, 100.0]), None])
    np.testing.assert_array_equal(x.grad.data, [2.0 * 1 + 1, -4.0 * 10 + 1, 6.0 * 100 + 1])
    tg.autograd.backward([b], None)    # a second backward adds exactly
    np.testing.assert_array_equal(x.grad.data, [4.0, -38.0, 602.0])


def test_one_output_given_twice_gets_both_gradients():
    x = leaf([0.5, 2.0])
    y = x * 3.0
    gx, = tg.autograd.gradients([y, y], [x], grad_output=[np.ones(2), np.array([2.0, 4.0])])
    np.testing.assert_array_equal(gx.data, [3.0 * 3, 3.0 * 5])


def test_outputs_without_a_graph_send_nothing_and_bad_lists_are_refused():
    x = leaf([1.0, 2.0])
    const = tg.Tensor([5.0, 6.0])
    gx, = tg.autograd.gradients([x * 2.0, const], [x], grad_output=[np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(gx.data, [2.0, 2.0])
    gx, = tg.autograd.gradients([const], [x], grad_output=[np.ones(2)])
    np.testing.assert_array_equal(gx.data, [0.0, 0.0])
    with pytest.raises(tg.GradientError, match="2 outputs but 1 gradients"):
        tg.autograd.gradients([x * 2.0, x * 3.0], [x], grad_output=[np.ones(2)])
    with pytest.raises(tg.GradientError, match="needs a `gradient`|one-element"):
        tg.autograd.gradients([x * 2.0], [x])
    with pytest.raises(tg.GradientError, match="list of Tensors"):
        tg.autograd.gradients([x * 2.0, "y"], [x], grad_output=[np.ones(2), None])
    with pytest.raises(tg.GradientError, match="list of Tensors"):
        tg.autograd.gradients([], [x])
    with pytest.raises(tg.GradientError, match="does not require grad"):
        tg.autograd.backward([x * 2.0, const], [np.ones(2), np.ones(2)])


def test_outputs_without_a_graph_need_no_gradient_and_a_lone_gradient_is_not_split():
    x = leaf([1.0, 2.0])
    gx, = tg.autograd.gradients(tg.Tensor(np.ones(3)), [x])      # no graph: zeros, no check
    np.testing.assert_array_equal(gx.data, [0.0, 0.0])
    gx, = tg.autograd.gradients([tg.Tensor(np.ones(3)), x * 2.0], [x],
                                grad_output=[None, np.ones(2)])
    np.testing.assert_array_equal(gx.data, [2.0, 2.0])
    with pytest.raises(tg.GradientError, match="2 outputs but 1 gradients"):
        tg.autograd.backward([x * 1.0, x * 2.0], np.array([[1.0, 1.0], [5.0, 5.0]]))


def test_a_root_gradient_is_copied_and_cast_unless_it_is_differentiated_through():
    x = leaf([1.0, 2.0], dtype=np.float32)
    G = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)    # float64, with a graph
    (x + 0.0).backward(G)
    assert x.grad.dtype == np.float32 and not np.shares_memory(x.grad.data, G.data)
    G.data[0] = 100.0                                          # the caller's array
    assert x.grad.data.tolist() == [3.0, 4.0]
    a = leaf([1.0, 2.0])
    gg = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    ga, = tg.autograd.gradients(a * 2.0, [a], grad_output=gg, create_graph=True)
    ga.sum().backward()                                        # d(sum 2 g)/dg = 2
    np.testing.assert_array_equal(gg.grad.data, [2.0, 2.0])


def test_a_root_gradient_array_stays_the_callers_own(both_walks):
    u = np.array([3.0, 4.0])
    x = leaf([1.0, 2.0])
    x.backward(u)                                   # a leaf as the root: its .grad is a copy
    y = leaf([1.0, 2.0])
    r = y * 1.0
    r.register_hook(lambda g: g.data.__imul__(10.0))  # a hook writing into what it is given
    r.backward(u)
    z = leaf([1.0, 2.0])
    gz, = tg.autograd.gradients(z, [z], grad_output=u)
    w = leaf([1.0, 2.0])
    tg.autograd.backward([w, w + 0.0], [u, u])      # one array for two roots
    v = leaf([[1.0, 2.0]])
    v.register_hook(lambda g: g.data.__imul__(10.0))
    v.T.backward(u[:, None])                        # the hook is given a view of u

    class ZeroNegative(tg.Function):                # a user's backward writing into g
        @staticmethod
        def forward(ctx, x):
            ctx.negative = x < 0
            return x.copy()

        @staticmethod
        def backward(ctx, g):
            g[ctx.negative] = 0.0
            return g
    q = leaf([-1.0, 2.0])
    ZeroNegative.apply(q).backward(u)
    np.testing.assert_array_equal(u, [3.0, 4.0])
    assert q.grad.data.tolist() == [0.0, 4.0]
    u[:] = -1.0
    for t in (x.grad, gz):
        assert t.data.tolist() == [3.0, 4.0]
    assert y.grad.data.tolist() == [30.0, 40.0]
    assert w.grad.data.tolist() == [6.0, 8.0]


def test_a_hook_writing_into_its_gradient_leaves_the_other_input_s_alone(both_walks):
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    x.register_hook(lambda g: g.data.__imul__(10.0))  # Add sends one array to x and y
    (x + y).backward(np.array([1.0, 2.0]))
    assert x.grad.data.tolist() == [10.0, 20.0]
    assert y.grad.data.tolist() == [1.0, 2.0]


def test_log_softmax_of_rows_far_apart_keeps_every_digit():
    # each row is shifted by its own max: a row 30 below another loses nothing (float64)
    # and a row 17 below another does not underflow (float16)
    for dtype, rows in ((np.float64, [[31.9, 0.0, 1.0], [-0.5, 0.25, 0.0]]),
                        (np.float16, [[20.0, 0.0], [0.0, -12.0]])):
        x = np.array(rows, dtype=dtype)
        got = tg.Tensor(x).log_softmax(axis=1).data
        xl = x.astype(np.longdouble)
        exact = xl - np.log(np.exp(xl - xl.max(1, keepdims=True)).sum(1, keepdims=True)) \
            - xl.max(1, keepdims=True)
        eps = np.finfo(dtype).eps  # (x - logsumexp rounds to eps |x| where x is large)
        scale = np.maximum(np.maximum(np.abs(exact), np.abs(xl)), 1)
        assert np.all(np.abs(got - exact) <= 4 * eps * scale), got


def test_several_outputs_agree_with_torch_autograd_grad():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    xv, gv, hv = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    x = leaf(xv)
    s = x.softplus()
    got, = tg.autograd.gradients([s, x * x], [x], grad_output=[gv, hv])
    xt = torch.tensor(xv, requires_grad=True)
    st_ = torch.nn.functional.softplus(xt)
    want, = torch.autograd.grad([st_, xt * xt], [xt],
                                grad_outputs=[torch.tensor(gv), torch.tensor(hv)])
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12, atol=1e-14)

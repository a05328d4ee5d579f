"""The habits a PyTorch or micrograd graduate brings, each written as the learner writes it.

Numpy's semantics stay the rule (axis=, keepdims=, broadcasting); PyTorch's spellings
work where they mean the same, and where the two differ the error says what to write.
Expected values are worked out by hand or with plain numpy in each test.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import data, nn


def leaf(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------------ the calculus ops
@pytest.mark.parametrize("name, f, df", [
    ("sin", np.sin, np.cos), ("cos", np.cos, lambda v: -np.sin(v)),
    ("tan", np.tan, lambda v: 1 / np.cos(v) ** 2), ("log1p", np.log1p, lambda v: 1 / (1 + v)),
    ("expm1", np.expm1, np.exp), ("square", np.square, lambda v: 2 * v),
    ("softsign", lambda v: v / (1 + abs(v)), lambda v: 1 / (1 + abs(v)) ** 2),
    ("silu", lambda v: v / (1 + np.exp(-v)),
     lambda v: 1 / (1 + np.exp(-v)) * (1 + v * (1 - 1 / (1 + np.exp(-v))))),
])
def test_a_calculus_lesson_op_and_its_derivative(name, f, df):
    x = leaf([0.3, -0.7, 1.1])
    y = getattr(x, name)()
    y.sum().backward()
    np.testing.assert_allclose(y.data, f(x.data), rtol=1e-14)
    np.testing.assert_allclose(x.grad.data, df(x.data), rtol=1e-13)


def test_leaky_relu_elu_and_both_gelus_as_pytorch_defines_them():
    x = leaf([-2.0, -0.5, 0.5, 2.0])
    v = x.data
    np.testing.assert_allclose(x.leaky_relu(0.1).data, np.where(v > 0, v, 0.1 * v))
    np.testing.assert_allclose(x.elu().data, np.where(v > 0, v, np.expm1(v)))
    from math import erf, pi, sqrt
    exact = [u * 0.5 * (1 + erf(u / sqrt(2))) for u in v]
    tanh_form = 0.5 * v * (1 + np.tanh(sqrt(2 / pi) * (v + 0.044715 * v ** 3)))
    np.testing.assert_allclose(x.gelu().data, exact, rtol=1e-14)
    np.testing.assert_allclose(x.gelu(approximate="tanh").data, tanh_form, rtol=1e-14)
    with pytest.raises(tg.ArgumentError, match="approximate"):
        x.gelu(approximate="fast")


def test_numpy_functions_on_a_tensor_keep_the_gradient():
    x = leaf([0.5, 1.0])
    y = np.sin(x) + np.exp(x) * np.ones(2)  # ndarray on the left too
    assert isinstance(y, tg.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cos([0.5, 1.0]) + np.exp([0.5, 1.0]))
    assert isinstance(np.sum(x, axis=0), tg.Tensor) and np.sum(x).requires_grad


def test_a_numpy_function_without_a_gradient_says_what_to_do():
    with pytest.raises(tg.DTypeError, match="np.arctan.*no gradient.*numpy()"):
        np.arctan(leaf([1.0]))


# ------------------------------------------------------------------- PyTorch spellings
def test_dim_and_keepdim_mean_axis_and_keepdims():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=1).data.tolist() == [3.0, 12.0]
    assert x.mean(dim=0, keepdim=True).shape == (1, 3)
    assert x.softmax(dim=0).shape == (2, 3)
    assert x.logsumexp(dim=1, keepdim=True).shape == (2, 1)
    with pytest.raises(tg.ArgumentError, match="axis= .* or dim="):
        x.sum(axis=0, dim=1)


def test_view_unsqueeze_squeeze_flatten_clamp_clone_float_double_cat():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.view(3, 2).shape == (3, 2)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(0).squeeze().shape == (2, 3)
    with pytest.raises(tg.ShapeError, match="squeeze: axis 0 .* size 2, not 1"):
        x.squeeze(0)
    assert x.flatten().shape == (6,) and x.unsqueeze(0).flatten(1, 2).shape == (1, 6)
    assert x.clamp(min=1.0, max=4.0).data.tolist() == [[1, 1, 2], [3, 4, 4]]
    c = x.clone()
    assert c.data is not x.data and c.requires_grad
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    assert tg.cat([x, x], dim=1).shape == (2, 6)


def test_argmax_and_argmin_give_integer_tensors():
    x = tg.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    i = x.argmax(dim=1)
    assert isinstance(i, tg.Tensor) and i.dtype.kind == "i" and i.tolist() == [1, 0]
    assert x.argmin(axis=1).tolist() == [0, 1]


def test_max_with_dim_gives_values_and_refuses_to_be_unpacked_as_values_indices():
    x = tg.Tensor([[1.0, 5.0], [7.0, 0.0]])
    assert x.max(dim=1).tolist() == [5.0, 7.0]
    with pytest.raises(TypeError, match="argmax"):
        _values, _indices = x.max(dim=1)


def test_var_with_dim_asks_which_divisor():
    x = leaf([1.0, 2.0, 4.0])
    assert x.var().item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(dim=0, correction=1).item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    with pytest.raises(tg.ArgumentError, match="ddof=0.*correction=1"):
        x.var(dim=0)


def test_repeat_is_numpys_and_points_pytorch_users_to_tile():
    x = tg.Tensor([1.0, 2.0])
    assert x.repeat(2).tolist() == [1, 1, 2, 2] and x.tile(2).tolist() == [1, 2, 1, 2]
    with pytest.raises(tg.ShapeError, match=r"write t\.tile\(2, 3\)"):
        x.repeat(2, 3)  # numpy's repeat takes (repeats, axis): axis=3 is out of range here


# ------------------------------------------------------------- factories and seeding
def test_factories_take_requires_grad_and_dtype():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones(2).dtype == np.float64
    assert tg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert tg.eye(2).tolist() == [[1, 0], [0, 1]]
    assert tg.arange(3).tolist() == [0, 1, 2]
    assert tg.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    w = tg.randn(3, requires_grad=True, dtype=np.float32)
    assert w.requires_grad and w.dtype == np.float32
    assert tg.zeros_like(w).dtype == np.float32 and tg.ones_like(w).shape == (3,)
    assert tg.randn_like(w).shape == (3,) and 0 <= tg.rand(5).data.min()


def test_manual_seed_makes_initialisation_shuffles_and_estimators_reproducible():
    def run():
        tg.manual_seed(123)
        layer = nn.Linear(4, 3)
        noise = tg.randn(2)
        X, y = data.blobs(n_samples=40, random_state=0)
        order = [yb.tolist() for _, yb in data.batches(X, y, batch_size=8, shuffle=True)]
        clf = tg.models.MLPClassifier(hidden_layer_sizes=(3,), solver="adam", max_iter=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        return layer.weight.data.copy(), noise.data.copy(), order, clf.coefs_[0].copy()

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    tg.manual_seed(124)
    assert not np.array_equal(nn.Linear(4, 3).weight.data, first[0])


def test_an_explicit_random_state_still_wins_over_the_seed():
    tg.manual_seed(0)
    a = nn.Linear(3, 2, random_state=7).weight.data.copy()
    tg.manual_seed(99)
    np.testing.assert_array_equal(nn.Linear(3, 2, random_state=7).weight.data, a)


# ------------------------------------------------------------ updates the micrograd way
def test_p_data_minus_equals_lr_times_grad_works_and_makes_the_old_graph_stale():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward()
    w.data -= 0.1 * w.grad                  # micrograd's update, while `loss` still lives
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    with pytest.raises(tg.GradientError, match="modified in place"):
        loss.backward()                     # the old graph saved the old w


def test_p_data_equals_p_data_minus_lr_times_grad_rebinds_an_array():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    w.data = w.data - 0.1 * w.grad
    assert type(w.data) is np.ndarray
    np.testing.assert_allclose(w.data, [0.8, 1.6])


def test_grad_of_a_non_leaf_warns_as_pytorch_does():
    w = leaf([1.0])
    h = w * 2.0
    h.sum().backward()
    with pytest.warns(UserWarning, match="retain_grad"):
        assert h.grad is None
    g = w * 3.0
    g.retain_grad()
    g.sum().backward()
    assert g.grad.tolist() == [1.0]


def test_a_second_backward_through_the_same_graph_accumulates_exactly():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward()
    loss.backward()
    assert w.grad.tolist() == [4.0, 8.0]  # 2 * (2w)


# --------------------------------------------------------------------- in-place rules
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_add_and_sub_with_alpha_equal_the_plain_expression_bit_for_bit(data):
    # PyTorch's p.add_(g, alpha=-lr): large contiguous operands go through a block kernel
    # (no temporary the size of p); every case must give exactly p + alpha * g
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    shape = data.draw(st.sampled_from([(3,), (150_001,), (400, 300), (300, 400)]))  # 64K blocks
    alpha = data.draw(st.floats(-10, 10, allow_nan=False, width=32))
    p0, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    if data.draw(st.booleans()) and len(shape) == 2:
        g = np.ascontiguousarray(g.T).T            # a transposed (non-contiguous) operand
    p = tg.Tensor(p0.copy(), requires_grad=True)
    with tg.no_grad():
        p.add_(tg.Tensor(g), alpha=alpha)
    np.testing.assert_array_equal(p.data, p0 + np.multiply(g, alpha, dtype=dtype))
    assert p.dtype == dtype and p._version == 1
    q = tg.Tensor(p0.copy())
    q.sub_(g, alpha=alpha)
    np.testing.assert_array_equal(q.data, p0 - np.multiply(g, alpha, dtype=dtype))


def test_add_with_alpha_broadcasts_checks_alpha_and_guards_the_graph():
    p = tg.Tensor(np.ones((2, 3)))
    p.add_(np.array([1.0, 2.0, 3.0]), alpha=2.0)          # broadcast: the plain expression
    np.testing.assert_array_equal(p.data, [[3.0, 5.0, 7.0]] * 2)
    for bad in (True, "0.1", None, 1j):
        with pytest.raises(tg.ArgumentError, match="alpha must be a real number"):
            p.add_(np.ones(3), alpha=bad)
    w = leaf(np.ones(3))
    with pytest.raises(tg.GradientError, match="in-place update of a tensor that requires grad"):
        w.sub_(np.ones(3), alpha=0.1)                     # a parameter: only under no_grad
    y = (w * 2.0).sum()
    with tg.no_grad():
        w.sub_(np.ones(3), alpha=0.5)                     # the old graph is now stale
    with pytest.raises(tg.GradientError, match="modified in place"):
        y.backward()


def test_from_numpy_shares_memory_and_the_graph_guards_it():
    a = np.arange(6.0).reshape(2, 3)
    t = tg.from_numpy(a)
    a[0, 0] = 10.0                                        # shared, as torch.from_numpy
    assert t.data[0, 0] == 10.0 and not t.requires_grad
    w = leaf(np.ones((3, 1)))
    y = (t @ w).sum()                                     # the product saves a
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 0.0                                     # a live graph holds it
    y.backward()
    np.testing.assert_array_equal(w.grad.data, a.sum(axis=0, keepdims=True).T)
    del y
    a[0, 0] = 0.0                                         # writeable again once it is gone
    for bad, match in ((np.arange(3), "only floating arrays"), ([1.0, 2.0], "a numpy.ndarray")):
        with pytest.raises(tg.DTypeError, match=match):
            tg.from_numpy(bad)


def test_add_with_alpha_of_an_overlapping_view_equals_the_plain_expression():
    # t[1:] += 2 t[:-1] through views of one array: the blocks must not read what an
    # earlier block wrote (numpy's own in-place expression buffers the whole right side)
    base = np.arange(200_001.0)
    t = tg.Tensor(base.copy())
    t[1:].add_(t[:-1], alpha=2.0)
    want = base.copy()
    want[1:] = base[1:] + 2.0 * base[:-1]
    np.testing.assert_array_equal(t.data, want)
    same = tg.Tensor(base.copy())
    same.add_(same, alpha=2.0)                            # the very same array: fine
    np.testing.assert_array_equal(same.data, 3.0 * base)


def test_from_numpy_refuses_array_subclasses_and_alpha_takes_a_0d_array():
    with pytest.raises(tg.DTypeError, match="numpy.ndarray, got matrix"):
        tg.from_numpy(np.matrix([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(tg.DTypeError, match="numpy.ndarray, got MaskedArray"):
        tg.from_numpy(np.ma.masked_array([1.0, 2.0], mask=[0, 1]))
    p = tg.Tensor(np.ones(3))
    p.sub_(np.ones(3), alpha=np.array(0.25))             # a learning rate kept as a 0-d array
    np.testing.assert_array_equal(p.data, [0.75] * 3)


def test_total_plus_equals_loss_in_a_loop():
    w = leaf([1.0, 2.0])
    total = 0.0
    for k in range(3):
        total += (w * k).sum()
    total.backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_all_five_augmented_assignments_behave_alike_under_no_grad():
    for op, expect in [("+=", 3.0), ("-=", -1.0), ("*=", 2.0), ("/=", 0.5), ("**=", 1.0)]:
        t = tg.Tensor([1.0])
        before = t.data
        exec(f"t {op} 2.0", {"t": t})  # noqa: S102
        assert t.data is before and t.item() == expect, op  # in place, numpy's way


def test_tensor_of_tensors_that_require_grad_warns_and_stack_keeps_the_graph():
    x = leaf(3.0)
    with pytest.warns(UserWarning, match="tg.stack"):
        tg.Tensor([x, 2 * x])
    s = tg.stack([x, 2 * x])
    s.sum().backward()
    assert x.grad.item() == 3.0


# ------------------------------------------------------ the ops the peers' suites needed
def test_einsum_tensordot_prod_cumsum_trace_and_mod():
    a, b = leaf(np.arange(6.0).reshape(2, 3)), leaf(np.arange(12.0).reshape(3, 4))
    np.testing.assert_allclose(tg.einsum("ij,jk->ik", a, b).data, a.data @ b.data)
    np.testing.assert_allclose(tg.tensordot(a, b, axes=1).data, a.data @ b.data)
    assert leaf([2.0, 3.0, 4.0]).prod().item() == 24.0
    assert leaf([1.0, 2.0, 3.0]).cumsum().tolist() == [1.0, 3.0, 6.0]
    assert leaf(np.eye(3) * 2).trace().item() == 6.0
    assert (tg.Tensor([5.0, -5.0]) % 3).tolist() == [2.0, 1.0]  # numpy's sign rule

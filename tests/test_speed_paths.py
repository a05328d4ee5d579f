"""The fast paths of the core ops and kernels, each against the plain expression it stands
for, on the inputs that take them: they must give the same numbers (bit for bit where the
arithmetic is the same) and the same dtypes.

- kernels.max_keepdims: the row max of a tall array with few columns, taken down the
  columns of its transposed copy;
- kernels.sum_rows (a bias gradient summed over the batch): a product with a vector of
  ones;
- ops.Mean with axis=None and no keepdims of a float32 or float64 array (a loss's mean):
  np.add.reduce and one division, without np.mean's Python wrapper;
- ops.Affine (nn.Linear's op): x @ w + b with the bias added into the new product;
- Function.apply: one and two inputs as named parameters, options and other arities
  through the general road.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import kernels, ops
from tinygrad_edu.testing import arrays

SETTINGS = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------ max_keepdims
@SETTINGS
@given(n=st.sampled_from([1, 63, 64, 200]), c=st.sampled_from([1, 2, 10, 32, 33]),
       dtype=st.sampled_from([np.float64, np.float32, np.float16]), data=st.data())
def test_max_keepdims_is_the_max_of_each_row(n, c, dtype, data):
    x = data.draw(arrays((n, c), low=-1e3, high=1e3)).astype(dtype)
    if data.draw(st.booleans()):  # rows holding nan, inf and -inf
        special = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        x[data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, c - 1))] = special
    for axes in [(1,), (-1,), 1, -1]:
        got = kernels.max_keepdims(x, axes)
        want = x.max(axis=axes, keepdims=True)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_max_keepdims_takes_the_transposed_road_only_where_it_is_faster(monkeypatch):
    calls = []
    real = np.ascontiguousarray
    monkeypatch.setattr(kernels.np, "ascontiguousarray", lambda a: calls.append(a.shape) or real(a))
    rng = np.random.default_rng(0)
    for shape, axes, taken in [((200, 10), (1,), True), ((64, 32), -1, True),
                               ((63, 10), (1,), False), ((200, 33), (1,), False),
                               ((200, 10), (0,), False), ((2, 200, 10), (2,), False)]:
        calls.clear()
        kernels.max_keepdims(rng.standard_normal(shape), axes)
        assert bool(calls) == taken, (shape, axes)
    calls.clear()
    kernels.max_keepdims(rng.standard_normal((10, 200)).T, (1,))  # not C-contiguous
    assert not calls


# ---------------------------------------------------------------------- sum_rows
def _laid_out(x, layout):
    """Half of x's last axis (2k entries) as a C-ordered, Fortran-ordered or strided array."""
    half = x[..., :x.shape[-1] // 2]
    return {"C": np.ascontiguousarray, "F": np.asfortranarray}[layout](half) \
        if layout != "strided" else x[..., ::2]


@SETTINGS
@example(n=200, c=100, dtype=np.float32, layout="C", data=None)  # the product's road
@example(n=7, c=3, dtype=np.float64, layout="C", data=None)
@given(n=st.sampled_from([1, 2, 7, 200]), c=st.sampled_from([1, 3, 100]),
       dtype=st.sampled_from([np.float64, np.float32, np.float16, np.int64]),
       layout=st.sampled_from(["C", "F", "strided"]), data=st.data())
def test_sum_rows_is_the_sum_over_axis_0(n, c, dtype, layout, data):
    top = 100.0 if dtype == np.float16 else 1e3  # (a float16 sum of 200 stays finite)
    x = (np.random.default_rng(n * c).uniform(-top, top, (n, 2 * c)) if data is None
         else data.draw(arrays((n, 2 * c), low=-top, high=top))).astype(dtype)
    x = _laid_out(x, layout)
    got, want = kernels.sum_rows(x), x.sum(axis=0)
    assert got.shape == want.shape == (c,) and got.dtype == want.dtype
    # the order of the additions differs: bounded by the sum of the magnitudes
    bound = 4 * n * np.finfo(np.float32 if dtype == np.int64 else dtype).eps
    np.testing.assert_array_less(np.abs(got.astype(np.float64) - want),
                                 bound * np.abs(x).astype(np.float64).sum(axis=0) + 1e-300)


def test_sum_rows_is_as_accurate_as_numpy_and_keeps_nan_and_inf():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((500, 40)) * 10.0 ** rng.uniform(-3, 3, (500, 1))
    exact = np.array([math.fsum(g[:, j]) for j in range(g.shape[1])])
    scale = np.abs(g).sum(axis=0)
    err = lambda s: np.max(np.abs(s - exact) / scale)
    assert err(kernels.sum_rows(g)) <= err(g.sum(axis=0))
    g[3, 0], g[4, 1], g[5, 2], g[6, 2] = np.nan, np.inf, np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf - inf, as numpy's sum warns of it too
        got = kernels.sum_rows(g)
    assert np.isnan(got[0]) and got[1] == np.inf and np.isnan(got[2])
    np.testing.assert_allclose(got[3:], g[:, 3:].sum(axis=0), rtol=1e-13)
    big = rng.standard_normal((70_000, 3))  # past the cached ones: a vector made for it
    np.testing.assert_allclose(kernels.sum_rows(big), big.sum(axis=0), rtol=1e-9, atol=1e-9)
    column = g[:, 5:6].copy()  # one contiguous column: numpy's pairwise sum, bit for bit
    np.testing.assert_array_equal(kernels.sum_rows(column), column.sum(axis=0))


def test_a_bias_gradient_is_summed_by_the_product_with_ones(monkeypatch):
    """The walk's unbroadcast takes sum_rows for one summed leading axis; a broken
    sum_rows shows in the gradient of nn.Linear's bias."""
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((50, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    g = rng.standard_normal((50, 3))
    bt = tg.Tensor(b, requires_grad=True)
    ops.Affine.apply(tg.Tensor(x), tg.Tensor(w), bt).backward(g)
    np.testing.assert_allclose(bt.grad.data, g.sum(axis=0), rtol=1e-13)
    monkeypatch.setattr(kernels, "sum_rows", lambda a: a.sum(axis=0) * 2)
    bt.grad = None
    ops.Affine.apply(tg.Tensor(x), tg.Tensor(w), bt).backward(g)
    np.testing.assert_allclose(bt.grad.data, 2 * g.sum(axis=0), rtol=1e-13)


@SETTINGS
@given(shape=st.sampled_from([(0,), (1,), (7,), (10000, 1), (3, 4), (2, 3, 5)]),
       dtype=st.sampled_from([np.float64, np.float32, np.float16]),
       layout=st.sampled_from(["C", "F", "strided"]), keepdims=st.booleans(), data=st.data())
def test_mean_is_numpys_mean_bit_for_bit(shape, dtype, layout, keepdims, data):
    x = data.draw(arrays((*shape[:-1], 2 * shape[-1]), low=-1e3, high=1e3)).astype(dtype)
    x = _laid_out(x, layout)
    for axis in [None, tuple(range(x.ndim)), -1]:
        with warnings.catch_warnings():  # the mean of nothing is nan, with a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            got = tg.Tensor(x).mean(axis=axis, keepdims=keepdims).data
            want = np.asarray(np.mean(x, axis=axis, keepdims=keepdims))
        assert got.shape == want.shape and got.dtype == want.dtype, axis
        np.testing.assert_array_equal(got, want)


def test_mean_of_more_than_2_24_float32_values_divides_by_the_exact_count():
    x = np.ones(2**24 + 1, dtype=np.float32)
    x[0] = 3.0  # the mean is 1 + 2 / (2**24 + 1): float32 rounds a count of 2**24 + 1 to 2**24
    got = tg.Tensor(x).mean().data
    assert got.dtype == np.float32 and got == np.mean(x)
    assert kernels.mean_of(x) == np.mean(x)


def test_log_softmax_and_cross_entropy_of_many_rows_match_the_plain_formula():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 10)) * 30
    x[5] = [1000.0, 0.0, -1000.0] + [0.0] * 7
    labels = rng.integers(0, 10, 300)
    m = x.max(axis=1, keepdims=True)
    lse = np.log(np.exp(x - m).sum(axis=1, keepdims=True)) + m
    np.testing.assert_allclose(tg.Tensor(x).log_softmax(axis=1).data, x - lse, rtol=1e-15,
                               atol=1e-12)
    loss = F.cross_entropy(tg.Tensor(x), labels, reduction="none").data
    np.testing.assert_allclose(loss, (lse[:, 0] - x[np.arange(300), labels]), rtol=1e-15,
                               atol=1e-12)


# ------------------------------------------------------------------------- Affine
@pytest.mark.parametrize("dtypes", [("float64",) * 3, ("float32",) * 3,
                                    ("float32", "float32", "float64"),
                                    ("float64", "float32", "float32")])
@pytest.mark.parametrize("shapes", [((5, 3), (3, 4), (4,)), ((3,), (3, 4), (4,)),
                                    ((2, 5, 3), (3, 4), (4,)), ((5, 3), (3, 4), (1,)),
                                    ((5, 3), (3, 4), ())])
def test_affine_equals_the_product_plus_the_bias(shapes, dtypes):
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    fused = [tg.Tensor(a, requires_grad=True) for a in xs]
    plain = [tg.Tensor(a, requires_grad=True) for a in xs]
    y = ops.Affine.apply(*fused)
    z = plain[0] @ plain[1] + plain[2]
    assert y.dtype == z.dtype and y.shape == z.shape
    np.testing.assert_array_equal(y.data, z.data)
    u = rng.standard_normal(y.shape)
    y.backward(u)
    z.backward(u)
    exact, bound = exact_affine_grads(*xs, u)
    for i, (f, p) in enumerate(zip(fused, plain)):
        assert f.grad.dtype == p.grad.dtype == xs[i].dtype and f.grad.shape == xs[i].shape
        if dtypes == ("float64",) * 3:  # the same products in the same order
            np.testing.assert_array_equal(f.grad.data, p.grad.data)
        # float32 somewhere: the plain road rounds g to float32 before a product whose
        # output is float64, the fused one after; both within float32's error bound
        eps = np.finfo(xs[i].dtype).eps
        for g in (f.grad.data, p.grad.data):
            assert np.all(np.abs(g - exact[i]) <= eps * bound[i]), (i, g, exact[i])


def exact_affine_grads(x, w, b, u):
    """The float64 gradients of sum(u * (x @ w + b)) and, per entry, an error bound in
    units of eps: (terms + 2) times the sum of the terms' magnitudes, plus the value's."""
    x, w, u = (np.asarray(a, np.float64) for a in (x, w, u))
    x2, u2 = x.reshape(-1, x.shape[-1]), u.reshape(-1, u.shape[-1])
    dx = (u2 @ w.T).reshape(x.shape)
    dw = x2.T @ u2
    db = np.asarray(u.sum()).reshape(b.shape) if b.size == 1 else u2.sum(axis=0)
    dx_abs = (np.abs(u2) @ np.abs(w).T).reshape(x.shape)
    dw_abs = np.abs(x2).T @ np.abs(u2)
    db_abs = np.abs(u).sum() if b.size == 1 else np.abs(u2).sum(axis=0)
    exact = [dx, dw, db]
    bound = [(w.shape[1] + 2) * dx_abs + np.abs(dx), (len(x2) + 2) * dw_abs + np.abs(dw),
             (u.size + 2) * db_abs + np.abs(db)]
    return exact, bound


def test_affine_leaves_its_inputs_alone_and_needs_no_gradient_for_x():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    before = [a.copy() for a in (x, w, b)]
    W, B = tg.Tensor(w, requires_grad=True), tg.Tensor(b, requires_grad=True)
    X = tg.Tensor(x)
    y = ops.Affine.apply(X, W, B)
    y.sum().backward()
    for a, a0 in zip((X.data, W.data, B.data), before):
        np.testing.assert_array_equal(a, a0)
    assert X.grad is None
    np.testing.assert_allclose(B.grad.data, np.full(2, 4.0))
    np.testing.assert_allclose(W.grad.data, x.T @ np.ones((4, 2)))


def test_linear_layers_record_one_node_each():
    layer = tg.nn.Linear(3, 2)
    y = layer(tg.Tensor(np.ones((4, 3))))
    assert type(y.grad_fn) is ops.Affine
    assert y.grad_fn.parents[1] is layer.weight and y.grad_fn.parents[2] is layer.bias
    no_bias = tg.nn.Linear(3, 2, bias=False)
    assert type(no_bias(tg.Tensor(np.ones((4, 3)))).grad_fn) is ops.MatMul


def test_affine_refuses_a_weight_or_a_bias_that_is_not_a_layer_s():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(tg.ShapeError, match=r"Affine: the weight must be a matrix.*\(3,\)"):
        ops.Affine.apply(x, tg.Tensor(np.ones(3)), tg.Tensor(np.ones(2)))
    with pytest.raises(tg.ShapeError, match=r"Affine: a bias of shape \(2, 4\).*\(4,\)"):
        ops.Affine.apply(x, tg.Tensor(np.ones((3, 4))), tg.Tensor(np.ones((2, 4))))


def test_sgd_momentum_updates_the_buffer_of_a_0d_parameter_with_weight_decay():
    w = tg.Tensor(np.array(1.0), requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1)
    b, v = 0.0, 1.0
    for step in range(4):
        opt.zero_grad()
        (w * 3.0).backward()
        opt.step()
        g = 3.0 + 0.1 * v                        # the gradient with the decay
        b = g if step == 0 else 0.9 * b + g
        v -= 0.1 * b
        assert w.item() == pytest.approx(v, rel=1e-14)


def test_affine_refuses_shapes_that_do_not_multiply():
    with pytest.raises(tg.ShapeError, match=r"\(4, 3\).*\(2, 2\)"):
        ops.Affine.apply(tg.Tensor(np.ones((4, 3))), tg.Tensor(np.ones((2, 2))),
                         tg.Tensor(np.ones(2)))
    with pytest.raises(tg.ShapeError, match="Affine"):
        ops.Affine.apply(tg.Tensor(np.ones((4, 3))), tg.Tensor(np.ones((3, 2))),
                         tg.Tensor(np.ones(3)))


# ------------------------------------------------------------------------ apply
class Scale(tg.Function):
    """y = a * x;  dx = g * a"""

    @staticmethod
    def forward(ctx, x, a=2.0, b=0.0):  # options named like apply's own positional inputs
        ctx.a = a
        return x * a + b

    @staticmethod
    def backward(ctx, g):
        return g * ctx.a


def test_apply_passes_options_named_a_and_b_to_forward():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = Scale.apply(x, a=3.0, b=1.0)
    np.testing.assert_array_equal(y.data, [4.0, 7.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(Scale.apply(x, 5.0).data, [5.0, 10.0])  # positional


class Count(tg.Function):
    """y = sum_i x_i;  dx_i = g"""

    @staticmethod
    def forward(ctx, *xs):
        return sum(xs) if xs else np.zeros(())

    @staticmethod
    def backward(ctx, g):
        return (g,) * len(ctx.parents)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_apply_takes_any_number_of_inputs(k):
    xs = [tg.Tensor(float(i + 1), requires_grad=True) for i in range(k)]
    y = Count.apply(*xs)
    assert y.item() == sum(range(1, k + 1))
    assert y.requires_grad == (k > 0)
    if k:
        assert y.grad_fn.parents == tuple(xs)
        y.backward()
        assert [x.grad.item() for x in xs] == [1.0] * k


@pytest.mark.parametrize("bad", [None, "a", object()])
def test_apply_names_the_op_when_forward_refuses_the_inputs(bad):
    with pytest.raises(tg.DTypeError, match="Mul"):
        ops.Mul.apply(tg.Tensor([1.0]), bad)
    with pytest.raises(tg.ShapeError, match=r"Add: inputs of shapes \(2,\), \(3,\)"):
        ops.Add.apply(tg.Tensor([1.0, 2.0]), tg.Tensor([1.0, 2.0, 3.0]))


# ------------------------------------------------------------- the walk's memory
def test_a_gradient_is_freed_once_the_walk_has_passed_it_on():
    """W5's peak memory: the walk holds a tensor's gradient only until the node below has
    used it (a leftover reference, such as a loop variable, kept one more per layer)."""
    import weakref
    received = {}

    class Probe(tg.Function):
        """y = 1 * x;  dx = g"""
        array_backward = True

        @staticmethod
        def forward(ctx, x, name):
            ctx.name = name
            return x.copy()

        @staticmethod
        def backward(ctx, g):
            received[ctx.name] = weakref.ref(g)
            if ctx.name == "low":  # the gradient "mid" was given is used up by now
                received["mid was alive"] = received["mid"]() is not None
            return g * 1.0, None

    x = tg.Tensor(np.ones(3), requires_grad=True)
    w = tg.Tensor(np.ones(3), requires_grad=True)
    low = Probe.apply(x, "low")
    two = Probe.apply(low, "mid") * w                # Mul: a node sending two gradients
    top = Probe.apply(two, "top")
    top.backward(np.ones(3))
    assert received["mid was alive"] is False

"""The fast paths of the image ops (tinygrad_edu/nn/ops2d.py), each against the general
path it stands for, on random inputs: ties (constant images, rounded pixels, blank
corners), overlapping windows (stride < kernel), windows with gaps between them (stride
> kernel), images the windows do not cover to the edge, padding.

The general paths are written out here as they read without the tricks (np.pad,
sliding_window_view, adding every window into zeros, dividing the mask by the ties).
The fast paths must give the same values to the last bit; the only difference allowed
is the sign of a zero (a -0.0 written into place where adding it to 0.0 gave +0.0).
"""
import gc
import weakref

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from kernel_probe import counted_kernel  # tests/kernel_probe.py
from numpy.lib.stride_tricks import sliding_window_view

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.nn import ops2d
from tinygrad_edu.testing import arrays, gradgradcheck

SETTINGS = settings(max_examples=60, deadline=None)


# ------------------------------------------------------------- the general paths
def general_windows(x, geom):
    (ph, pw), (sh, sw) = geom.padding, geom.stride
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return sliding_window_view(x, geom.kernel, axis=(2, 3))[:, :, ::sh, ::sw]


def general_im2col(x, geom):
    cols = general_windows(x, geom).transpose(1, 4, 5, 0, 2, 3)
    return np.ascontiguousarray(cols).reshape(x.shape[1] * geom.kernel[0] * geom.kernel[1], -1)


def general_col2im(cols, geom):
    """Every window's values added into zeros, the padding cut off."""
    n, c, oh, ow, kh, kw = cols.shape
    (sh, sw), (ph, pw), (h, w) = geom.stride, geom.padding, geom.in_hw
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            out[:, :, p:p + sh * oh:sh, q:q + sw * ow:sw] += cols[..., p, q]
    return out[:, :, ph:ph + h, pw:pw + w]


def general_max_pool(x, geom):
    """The maxima and the weights that send each window's gradient to its maxima, the
    tied ones sharing it evenly: the mask divided by the number of ties."""
    win = general_windows(x, geom)
    y = win.max(axis=(-2, -1))
    hit = (win == y[..., None, None]).astype(x.dtype)
    ties = hit.sum(axis=(-2, -1))
    if ties.max(initial=1) > 1:
        hit /= ties[..., None, None]
    return y, hit


def assert_same(fast, general):
    """The same dtype, shape and values (a zero's sign aside)."""
    fast, general = np.asarray(fast), np.asarray(general)
    assert fast.dtype == general.dtype and fast.shape == general.shape
    np.testing.assert_array_equal(fast, general)


class Ctx:
    """What an op's forward writes on its node, for calling forward directly."""

    def save_for_backward(self, *values):
        self.saved = values


# ------------------------------------------------------------------- the draws
@st.composite
def geometries(draw, max_padding=2):
    """Kernels 1-3, strides 1-4 (overlapping, tiling and gapped windows), padding 0-2,
    images up to 9x9 (the windows need not reach the last row or column)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    assume(kernel[0] <= h + 2 * padding[0] and kernel[1] <= w + 2 * padding[1])
    return ops2d.Geometry(kernel, stride, padding, (h, w))


@st.composite
def images(draw, geom, channels=None, dtype=np.float64):
    """A batch of images for ``geom``: random pixels, rounded ones (many ties), constant
    images (every window a tie), or digits-like blank borders around a few pixels."""
    n, c = draw(st.integers(1, 3)), channels or draw(st.integers(1, 3))
    shape = (n, c, *geom.in_hw)
    kind = draw(st.sampled_from(["random", "rounded", "constant", "blank border"]))
    x = draw(arrays(shape, dtype=dtype))
    if kind == "rounded":
        x = np.round(x)
    elif kind == "constant":
        x = np.full(shape, draw(st.sampled_from([0.0, 1.0, -2.5])), dtype=dtype)
    elif kind == "blank border":
        x[:, :, :1] = 0.0
        x[:, :, :, -2:] = 0.0
    return x


# -------------------------------------------------------------------- windows
@SETTINGS
@given(st.data(), geometries(), st.sampled_from([np.float64, np.float32]))
def test_padding_and_windows_are_np_pad_and_sliding_window_view(data, geom, dtype):
    x = data.draw(images(geom, dtype=dtype))
    padded = ops2d.padded(x, geom)
    assert_same(padded, np.pad(x, ((0, 0), (0, 0), *((p, p) for p in geom.padding))))
    win = ops2d.windows(x, geom)
    assert_same(win, general_windows(x, geom))
    assert not win.flags.writeable
    assert_same(ops2d.im2col(x, geom), general_im2col(x, geom))


# --------------------------------------------------------------------- col2im
@SETTINGS
@given(st.data(), geometries(), st.sampled_from([np.float64, np.float32]))
def test_col2im_of_windows_apart_writes_into_place_as_adding_into_zeros_would(data, geom,
                                                                            dtype):
    """Windows stride >= kernel apart (tiling the image, or with gaps, or not reaching
    its edge) take the fast path; overlapping ones add up as before. Both against the
    general path, with and without padding."""
    n, c = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    cols = data.draw(arrays((n, c, *geom.out_hw, *geom.kernel), dtype=dtype))
    out = ops2d.col2im(cols, geom)
    assert_same(out, general_col2im(cols, geom))
    assert not np.shares_memory(out, cols)


def test_col2im_fast_paths_are_taken_where_windows_do_not_overlap():
    """The geometries of the test above that meet each branch (tiled, gapped, partial)."""
    for stride, h in [(2, 8), (3, 8), (2, 7)]:  # tiles; gaps; the last row left out
        geom = ops2d.Geometry((2, 2), (stride, stride), (0, 0), (h, h))
        cols = np.random.default_rng(0).standard_normal((2, 3, *geom.out_hw, 2, 2))
        assert_same(ops2d.col2im(cols, geom), general_col2im(cols, geom))


# ------------------------------------------------------------------- max pool
@st.composite
def pool_geometries(draw):
    """Pools: no padding; overlapping (stride < kernel), tiling and gapped windows."""
    return draw(geometries(max_padding=0))


@SETTINGS
@given(st.data(), pool_geometries(), st.sampled_from([np.float64, np.float32]))
def test_max_pool_forward_and_its_weights_match_the_general_path(data, geom, dtype):
    """The maxima, the weights split among ties (the reciprocal of the ties times the
    mask, and the mask alone when no window ties) and the backward they give."""
    x = data.draw(images(geom, dtype=dtype))
    ctx = Ctx()
    y = ops2d.MaxPool2d.forward(ctx, x, geom)
    want_y, want_a = general_max_pool(x, geom)
    assert_same(y, want_y)
    assert_same(ctx.a, want_a)
    u = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).standard_normal(
        y.shape).astype(dtype)
    assert_same(ops2d.unpool(u, ctx.a, geom), general_col2im(u[..., None, None] * want_a, geom))
    # (the weights laid out by offset sum up as the general ones, offset after offset)
    assert_same(ops2d.window_sum(x, ctx.a, geom),
                ops2d.window_reduce(np.add, general_windows(x, geom), want_a))


def test_max_pool_weights_of_ties_and_of_distinct_values():
    """A constant image: every position of a 2x2 window gets a quarter (the tie path). A
    window of distinct values: the mask alone (no division)."""
    geom = ops2d.Geometry((2, 2), (2, 2), (0, 0), (4, 4))
    ctx = Ctx()
    ops2d.MaxPool2d.forward(ctx, np.ones((1, 2, 4, 4)), geom)
    np.testing.assert_array_equal(ctx.a, np.full((1, 2, 2, 2, 2, 2), 0.25))
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    ops2d.MaxPool2d.forward(ctx, x, geom)
    assert_same(ctx.a, general_max_pool(x, geom)[1])
    assert set(np.unique(ctx.a)) == {0.0, 1.0}


def test_a_window_with_a_nan_gets_what_the_general_path_gives():
    """NaN is nobody's maximum: its window's weights are 0 (no ties elsewhere) or NaN (0 / 0,
    when other windows tie and the ties are divided out): as the general path has them."""
    geom = ops2d.Geometry((2, 2), (2, 2), (0, 0), (2, 4))
    for right in ([1.0, 2.0], [1.0, 1.0]):  # no tie; a tie
        x = np.array([[[[np.nan, 0.0] + right, [3.0, 4.0, 0.0, 0.0]]]])
        ctx = Ctx()
        y = ops2d.MaxPool2d.forward(ctx, x, geom)
        want_y, want_a = general_max_pool(x, geom)
        assert_same(y, want_y)
        assert_same(ctx.a, want_a)


def test_a_three_way_tie_gets_the_rounded_third_of_the_general_path():
    """1 / 3 times the mask is 1 / 3 to the last bit, as the mask divided by 3."""
    x = np.array([[[[2.0, 2.0], [2.0, 0.0]]]])
    ctx = Ctx()
    ops2d.MaxPool2d.forward(ctx, x, ops2d.Geometry((2, 2), (2, 2), (0, 0), (2, 2)))
    assert ctx.a[0, 0, 0, 0].tolist() == [[1 / 3, 1 / 3], [1 / 3, 0.0]]


# ---------------------------------------------------- the kept columns, higher orders
@st.composite
def conv_cases(draw):
    geom = draw(geometries(max_padding=1))
    x = draw(images(geom))
    o = draw(st.integers(1, 3))
    w = draw(arrays((o, x.shape[1], *geom.kernel)))
    b = draw(st.one_of(st.none(), arrays((o,))))
    return x, w, b, geom


@settings(SETTINGS, max_examples=40)
@given(conv_cases())
def test_the_columns_kept_by_the_forward_are_the_ones_the_weight_gradient_would_build(case):
    x, w, b, geom = case
    ctx = Ctx()
    y = ops2d.Conv2d.forward(ctx, x, w, b, geom)
    assert_same(ctx.cols, general_im2col(x, geom))
    u = np.random.default_rng(0).standard_normal(y.shape)
    kept = ops2d.Conv2dWeightGrad.forward(Ctx(), x, u, geom, cols=ctx.cols)
    assert_same(kept, ops2d.Conv2dWeightGrad.forward(Ctx(), x, u, geom))
    assert_same(kept, (ops2d.by_channel(u) @ general_im2col(x, geom).T).reshape(w.shape))


def general_cnn_gradients(x, w, b, u, conv_geom, pool_geom):
    """d/d(x, w, b) of sum(u * max_pool(relu(conv(x, w) + b))), by the general paths."""
    cols = general_im2col(x, conv_geom)
    z = w.reshape(len(w), -1) @ cols + b[:, None]
    z = np.ascontiguousarray(z.reshape(len(w), len(x), *conv_geom.out_hw).transpose(1, 0, 2, 3))
    r = np.maximum(z, 0)
    _, a = general_max_pool(r, pool_geom)
    g = general_col2im(u[..., None, None] * a, pool_geom) * (z > 0)
    gu = ops2d.by_channel(g)
    dx_cols = (w.reshape(len(w), -1).T @ gu).reshape(*w.shape[1:], len(x), *conv_geom.out_hw)
    dx = general_col2im(dx_cols.transpose(3, 0, 4, 5, 1, 2), conv_geom)
    return dx, (gu @ cols.T).reshape(w.shape), g.sum(axis=(0, 2, 3))


@SETTINGS
@given(st.data())
def test_the_digits_cnn_block_gradients_match_the_general_paths(data):
    """W7's block, conv(padding) - ReLU - max pool, on images with blank borders and
    ties, through the fast first-order kernels: the gradients of the general paths."""
    geom = data.draw(geometries(max_padding=1))
    x = data.draw(images(geom))
    o = data.draw(st.integers(1, 3))
    w, b = data.draw(arrays((o, x.shape[1], *geom.kernel))), data.draw(arrays((o,)))
    oh, ow = geom.out_hw
    k = (data.draw(st.integers(1, min(oh, 3))), data.draw(st.integers(1, min(ow, 3))))
    stride = data.draw(st.sampled_from([None, 1, 2]))
    X, W, B = (tg.Tensor(v, requires_grad=True) for v in (x, w, b))
    y = F.max_pool2d(F.conv2d(X, W, B, geom.stride, geom.padding).relu(), k, stride)
    u = np.random.default_rng(1).standard_normal(y.shape)
    (y * u).sum().backward()
    pool_geom = ops2d.Geometry(k, k if stride is None else (stride, stride), (0, 0), (oh, ow))
    for got, want in zip((X.grad.data, W.grad.data, B.grad.data),
                         general_cnn_gradients(x, w, b, u, geom, pool_geom)):
        assert_same(got, want)


def first_order_and_formula(fn, inputs, seed=0):
    """The gradients of sum(u * fn(inputs)): the first-order walk (the ops' array kernels)
    and create_graph (their formula backwards, op by op on Tensors)."""
    xs = [tg.Tensor(v, requires_grad=True) for v in inputs]
    out = fn(*xs)
    u = np.random.default_rng(seed).standard_normal(out.shape)
    fast = tg.gradients(out, xs, grad_output=u)
    formula = tg.gradients(out, xs, grad_output=u, create_graph=True)
    return [g.data for g in fast], [g.data for g in formula]


def conv_op_cases(x, w, geom):
    """The convolution's three ops on ``geom``: (fn, inputs) by name."""
    u = np.random.default_rng(2).standard_normal((len(x), len(w), *geom.out_hw))
    b = np.arange(len(w), dtype=float)
    return {
        "Conv2d": (lambda x_, w_, b_: ops2d.Conv2d.apply(x_, w_, b_, geom=geom), (x, w, b)),
        "Conv2dInputGrad": (lambda u_, w_: ops2d.Conv2dInputGrad.apply(u_, w_, geom=geom), (u, w)),
        "Conv2dWeightGrad": (lambda x_, u_: ops2d.Conv2dWeightGrad.apply(x_, u_, geom=geom),
                             (x, u)),
    }


def pool_op_cases(x, geom):
    """The pooling ops on ``geom``: (fn, inputs) by name."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((*x.shape[:2], *geom.out_hw, *geom.kernel))
    v = rng.standard_normal((*x.shape[:2], *geom.out_hw))
    return {
        "WindowSum": (lambda x_: ops2d.WindowSum.apply(x_, a=a, geom=geom), (x,)),
        "MaxPool2d": (lambda x_: ops2d.MaxPool2d.apply(x_, geom=geom), (x,)),
        "AvgPool2d": (lambda x_: ops2d.AvgPool2d.apply(x_, geom=geom), (x,)),
        "Unpool2d": (lambda v_: ops2d.Unpool2d.apply(v_, a=a, geom=geom), (v,)),
    }


@pytest.mark.parametrize("name", ["Conv2d", "Conv2dInputGrad", "Conv2dWeightGrad",
                                  "WindowSum", "MaxPool2d", "AvgPool2d", "Unpool2d"])
@settings(SETTINGS, max_examples=30)
@given(st.data())
def test_first_order_kernels_equal_the_formula_backwards(name, data):
    """Each op's backward_array (the first-order walk) against its formula backward
    (create_graph), on geometries with overlaps, gaps, padding, and inputs with ties."""
    if name.startswith("Conv"):
        geom = data.draw(geometries(max_padding=1))
        x = data.draw(images(geom))
        w = data.draw(arrays((data.draw(st.integers(1, 3)), x.shape[1], *geom.kernel)))
        fn, inputs = conv_op_cases(x, w, geom)[name]
    else:
        geom = data.draw(pool_geometries())
        fn, inputs = pool_op_cases(data.draw(images(geom)), geom)[name]
    with counted_kernel(getattr(ops2d, name)) as calls:
        fast, formula = first_order_and_formula(fn, inputs)
    assert name in calls, f"the {name} kernel was not used by the first-order backward"
    for f, g in zip(fast, formula):
        assert_same(f, g)


@settings(SETTINGS, max_examples=15)
@given(conv_cases())
def test_third_derivatives_through_the_kept_columns(case):
    """The weight gradient of a convolution as a function (it uses the columns the
    forward kept, and so does its own backward): its first and second derivatives, the
    loss's second and third, match finite differences."""
    x, w, _, geom = case
    assume(np.abs(x).max() > 0)

    def weight_grad(x_, w_):
        y = F.conv2d(x_, w_, stride=geom.stride, padding=geom.padding)
        return tg.gradients((y * y).sum(), [w_], create_graph=True)[0]

    assert gradgradcheck(weight_grad, x, w)


# ------------------------------------------------- what the kept columns must not do
def test_the_kept_columns_go_with_the_graph():
    conv = tg.nn.Conv2d(1, 4, 3, padding=1, random_state=0)
    y = conv(tg.Tensor(np.random.default_rng(0).standard_normal((8, 1, 8, 8))))
    cols = weakref.ref(y.grad_fn.cols)
    y.sum().backward()
    assert cols() is not None  # (the graph lives as long as y)
    del y
    gc.collect()
    assert cols() is None
    with tg.no_grad():
        y = conv(tg.Tensor(np.ones((2, 1, 8, 8))))
    assert y.grad_fn is None  # no node, nothing kept


def test_the_kept_columns_cannot_go_stale():
    """The input the columns came from is saved: updated in place after the forward,
    the backward refuses (for a leaf, its array is read-only while the graph lives)."""
    w = tg.Tensor(np.random.default_rng(1).standard_normal((2, 1, 3, 3)), requires_grad=True)
    x = tg.Tensor(np.random.default_rng(2).standard_normal((2, 1, 5, 5)))
    alive = F.conv2d(x, w, padding=1)  # (a graph that saved x's array)
    with pytest.raises(ValueError, match="read-only"):
        x.data[0, 0, 0, 0] = 1.0
    del alive
    h = tg.Tensor(np.ones((2, 1, 5, 5)), requires_grad=True) * 1.0
    y = F.conv2d(h, w, padding=1)
    with tg.no_grad():
        h += 1.0
    with pytest.raises(tg.GradientError, match="modified in place"):
        y.sum().backward()

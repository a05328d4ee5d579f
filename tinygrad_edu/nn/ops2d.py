"""The image ops: convolution and pooling on NCHW arrays, each a `Function`.

Every op computes on numpy's strided views: `windows` sees the padded input as an
(N, C, OH, OW, kh, kw) array of windows without copying it. A convolution
copies the windows into a matrix, one column per output position (im2col), and does
its arithmetic in one BLAS call (a matrix product); so does each of its gradients. The
gradient that goes back to an image is the adjoint, col2im: the windows' values added
back where they came from. Pooling reduces over each window. Both loop over the kh*kw
kernel offsets, one array operation each, never over pixels.

A convolution is bilinear: y = conv(x, w) is linear in x and in w, so each of its three
products -- the output, the input's gradient and the weight's gradient -- is one of the
three ops below, and each op's backward is written with the other two. Pooling works
alike: ``WindowSum`` (a weighted sum over each window) and ``Unpool2d`` (its adjoint:
each window's values spread back) are each other's backward. So gradients of every
order exist (``gradgradcheck`` passes), and each backward is its docstring's formula.

Each op also has a first-order ``backward_array``: the same products computed on the
arrays by the functions below (`conv`, `conv_transpose`, `conv_weight`, `window_sum`,
`unpool`), without a node per product. Each fast path says what it buys, on W7 (the
digits CNN step, benchmarks/w7_cnn.py); tests/test_conv_speed_paths.py checks each
against the general path.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import ArgumentError, ShapeError
from ..function import Function
from ..functional import _t


class Geometry(NamedTuple):
    """The shape of a windowed op: kernel (kh, kw), stride, padding and input (H, W)."""
    kernel: tuple
    stride: tuple
    padding: tuple
    in_hw: tuple

    @property
    def out_hw(self):
        """(OH, OW), OH = (H + 2 padding - kh) // stride + 1."""
        (h, w), (kh, kw), (sh, sw), (ph, pw) = self.in_hw, self.kernel, self.stride, self.padding
        return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def padded(x, geom):
    """``x`` with a border of ``padding`` zeros around each image (a new array), or ``x``
    itself unpadded. Zeros and one slice assignment: 4 against np.pad's 26 us (W7's
    batch of 64 digits)."""
    ph, pw = geom.padding
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def windows(x, geom):
    """The (N, C, OH, OW, kh, kw) windows of the zero-padded ``x``: a read-only view (of x
    itself when unpadded). Window (i, j) starts at pixel (s i, s j): one step along OH is
    ``stride`` rows, one along kh a row. (as_strided directly: what
    sliding_window_view(x, kernel)[:, :, ::sh, ::sw] gives, in 4 us instead of 10.)"""
    x = padded(x, geom)
    (sh, sw), (oh, ow) = geom.stride, geom.out_hw
    sn, sc, sy, sx = x.strides
    return as_strided(x, (*x.shape[:2], oh, ow, *geom.kernel),
                      (sn, sc, sh * sy, sw * sx, sy, sx), writeable=False)


def by_offset(win):
    """The windows ``win`` copied so that each kernel offset, win[..., p, q], is one
    contiguous (N, C, OH, OW) array (a view of the copy, of win's shape). One strided
    pass; every later pass over an offset is then one flat loop instead of a loop per
    row of 2 or 3 pixels (W7's max pool: forward 85 us instead of 220, and its
    backward's col2im reads contiguous planes)."""
    return np.ascontiguousarray(win.transpose(4, 5, 0, 1, 2, 3)).transpose(2, 3, 4, 5, 0, 1)


def im2col(x, geom):
    """The windows of ``x`` as a (C kh kw, N OH OW) matrix, one column per output
    position: the copy that turns a convolution into one matrix product."""
    cols = windows(x, geom).transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, OH, OW)
    return np.ascontiguousarray(cols).reshape(x.shape[1] * geom.kernel[0] * geom.kernel[1], -1)


def by_channel(u):
    """An (N, O, OH, OW) array as the (O, N OH OW) matrix that meets im2col's columns."""
    return np.ascontiguousarray(u.transpose(1, 0, 2, 3)).reshape(u.shape[1], -1)


def window_reduce(ufunc, win, a=None):
    """``ufunc`` (np.add, np.maximum) over each window, the last two axes of ``win``, of
    ``win * a`` when weights ``a`` are given. One array operation per kernel offset:
    numpy's reductions over small trailing axes are 10-20 times slower."""
    kh, kw = win.shape[-2:]
    out = None
    for p in range(kh):
        for q in range(kw):
            term = win[..., p, q] if a is None else win[..., p, q] * a[..., p, q]
            out = term.copy() if out is None else ufunc(out, term, out=out)
    return out


def col2im(cols, geom):
    """The adjoint of `windows`: (N, C, OH, OW, kh, kw) values added back into an
    (N, C, H, W) image, where each window came from (overlaps add up; the padding is
    cut off). One strided slice per kernel offset.

    Windows at least their own size apart (stride >= kernel, as pools have by default)
    share no pixel: each value is written into its place rather than added to a zero,
    and where they tile the whole image no zeros are written first (W7's max pool
    backward: 108 us instead of 163, and 48 with the pool's weights laid out by offset).
    The values are the same; only a -0.0 stays -0.0 (0.0 + -0.0 is 0.0)."""
    n, c, oh, ow, kh, kw = cols.shape
    (sh, sw), (ph, pw), (h, w) = geom.stride, geom.padding, geom.in_hw
    shape = (n, c, h + 2 * ph, w + 2 * pw)
    apart = sh >= kh and sw >= kw  # no pixel in two windows
    tiled = (sh, sw) == (kh, kw) and (sh * oh, sw * ow) == shape[2:]  # ... every pixel in one
    out = (np.empty if tiled else np.zeros)(shape, dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            place = out[:, :, p:p + sh * oh:sh, q:q + sw * ow:sw]
            if apart:
                place[...] = cols[..., p, q]
            else:
                place += cols[..., p, q]
    return out[:, :, ph:ph + h, pw:pw + w] if ph or pw else out


# ------------------------------------------------------------------------ convolution
# The three products of a convolution on arrays: the ops' forwards and their first-order
# backward kernels. ``cols`` is im2col(x): computed once by the forward and kept on its
# node, it serves the weight's gradient too (W7: the weight's gradient in 26 us instead
# of 107, most of which went into building the columns again). They cost kh kw times
# the input's memory while the graph lives, and go with the node.
def conv(cols, w, b, n, geom):
    """y = conv(x, w) + b from the columns of x: one BLAS call, then (N, O, OH, OW)."""
    y = w.reshape(len(w), -1) @ cols  # (O, N OH OW): one BLAS call
    if b is not None:
        y += b[:, None]
    y = y.reshape(len(w), n, *geom.out_hw)
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3))  # (N, O, OH, OW)


def conv_transpose(u, w, geom):
    """conv_transpose(u, w): one BLAS call to the columns, then col2im."""
    cols = w.reshape(len(w), -1).T @ by_channel(u)  # (C kh kw, N OH OW): one BLAS call
    cols = cols.reshape(*w.shape[1:], *u.shape[:1], *u.shape[2:])  # (C, kh, kw, N, OH, OW)
    return col2im(cols.transpose(3, 0, 4, 5, 1, 2), geom)


def conv_weight(cols, u, shape):
    """conv_weight(x, u), of the weight's ``shape``, from the columns of x: one BLAS call."""
    return (by_channel(u) @ cols.T).reshape(shape)  # (O, C kh kw)


class Conv2d(Function):
    """y = conv(x, w) + b;  dx = conv_transpose(g, w),  dw = conv_weight(x, g),  db = sum(g)   (cross-correlation, as PyTorch)

    y[n, o, i, j] = b[o] + sum over c, p, q of w[o, c, p, q] x[n, c, s i + p, s j + q],
    x zero-padded. ``dx`` spreads each g[n, o, i, j] back over the window it came from,
    weighted by w (`Conv2dInputGrad`); ``dw`` correlates the input with g
    (`Conv2dWeightGrad`, from the columns kept); ``db`` sums g over the batch and the
    positions. ``b`` may be None. Forward: the windows as a matrix (im2col) times the
    weights, one BLAS call. ``cols``, when given, is im2col(x) already.
    """
    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b, geom, cols=None):
        ctx.geom = geom
        ctx.save_for_backward(x, w)
        ctx.cols = im2col(x, geom) if cols is None else cols
        return conv(ctx.cols, w, b, len(x), geom)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        return (Conv2dInputGrad.apply(g, w, geom=ctx.geom) if need_x else None,
                Conv2dWeightGrad.apply(x, g, geom=ctx.geom, cols=ctx.cols) if need_w else None,
                g.sum(axis=(0, 2, 3)) if need_b else None)

    @staticmethod
    def backward_array(ctx, g):
        """The same products on the arrays (the first-order walk)."""
        _, w = ctx.saved_tensors  # (x is in the columns kept)
        need_x, need_w, need_b = ctx.needs_input_grad
        return (conv_transpose(g, w, ctx.geom) if need_x else None,
                conv_weight(ctx.cols, g, w.shape) if need_w else None,
                # (not the rows of by_channel(g), made for dw: numpy would add them up in
                # another order, and db would differ in its last bits)
                g.sum(axis=(0, 2, 3)) if need_b else None)


class Conv2dInputGrad(Function):
    """y = conv_transpose(u, w);  du = conv(g, w),  dw = conv_weight(g, u)   (u: a gradient at a convolution's output)

    The gradient of a convolution with respect to its input, itself an op (so that it
    has a gradient): y[n, c] = sum over o of u[n, o] spread back over the windows,
    weighted by w[o, c]. One BLAS call, then col2im. Linear in u and in w: its
    derivatives are the convolution's other two products.
    """
    array_backward = True

    @staticmethod
    def forward(ctx, u, w, geom):
        ctx.geom = geom
        ctx.save_for_backward(u, w)
        return conv_transpose(u, w, geom)

    @staticmethod
    def backward(ctx, g):
        u, w = ctx.saved_tensors
        need_u, need_w = ctx.needs_input_grad
        return (Conv2d.apply(g, w, None, geom=ctx.geom) if need_u else None,
                Conv2dWeightGrad.apply(g, u, geom=ctx.geom) if need_w else None)

    @staticmethod
    def backward_array(ctx, g):
        """The same products on the arrays, both from one im2col(g)."""
        u, w = ctx.saved_tensors
        need_u, need_w = ctx.needs_input_grad
        cols = im2col(g, ctx.geom)
        return (conv(cols, w, None, len(g), ctx.geom) if need_u else None,
                conv_weight(cols, u, w.shape) if need_w else None)


class Conv2dWeightGrad(Function):
    """y = conv_weight(x, u);  dx = conv_transpose(u, g),  du = conv(x, g)   (u: a gradient at a convolution's output)

    The gradient of a convolution with respect to its weight, itself an op:
    y[o, c, p, q] = sum over n, i, j of u[n, o, i, j] x[n, c, s i + p, s j + q]. One BLAS
    call over the windows of x (``cols``: im2col(x), given by the convolution that kept
    them, else built). Linear in x and in u.
    """
    array_backward = True

    @staticmethod
    def forward(ctx, x, u, geom, cols=None):
        ctx.geom = geom
        ctx.save_for_backward(x, u)
        ctx.cols = im2col(x, geom) if cols is None else cols
        return conv_weight(ctx.cols, u, (u.shape[1], x.shape[1], *geom.kernel))

    @staticmethod
    def backward(ctx, g):
        x, u = ctx.saved_tensors
        need_x, need_u = ctx.needs_input_grad
        return (Conv2dInputGrad.apply(u, g, geom=ctx.geom) if need_x else None,
                Conv2d.apply(x, g, None, geom=ctx.geom, cols=ctx.cols) if need_u else None)

    @staticmethod
    def backward_array(ctx, g):
        """The same products on the arrays."""
        x, u = ctx.saved_tensors
        need_x, need_u = ctx.needs_input_grad
        return (conv_transpose(u, g, ctx.geom) if need_x else None,
                conv(ctx.cols, g, None, len(x), ctx.geom) if need_u else None)


# ---------------------------------------------------------------------------- pooling
def window_sum(x, a, geom):
    """The sum over each window of a * x (the forward of `WindowSum`)."""
    return window_reduce(np.add, windows(x, geom), a)


def unpool(u, a, geom):
    """Each u[n, c, i, j] times the weights a[n, c, i, j] spread back over its window
    (the forward of `Unpool2d`)."""
    return col2im(u[..., None, None] * a, geom)


class WindowSum(Function):
    """y = sum over each window of a * x;  dx = unpool(g * a)   (a: a constant weight per window position)

    y[n, c, i, j] = sum over p, q of a[n, c, i, j, p, q] x[n, c, s i + p, s j + q]. The
    pools are this op with their own weights a; its backward spreads g back over each
    window (`Unpool2d`).
    """
    array_backward = True

    @staticmethod
    def forward(ctx, x, a, geom):
        ctx.a, ctx.geom = a, geom
        return window_sum(x, a, geom)

    @staticmethod
    def backward(ctx, g):
        return Unpool2d.apply(g, a=ctx.a, geom=ctx.geom)

    @staticmethod
    def backward_array(ctx, g):
        return unpool(g, ctx.a, ctx.geom)


class AvgPool2d(WindowSum):
    """y = mean of x over each window;  dx = g / (kh kw) spread back over each window   (windows of kh by kw)"""

    @staticmethod
    def forward(ctx, x, geom):
        kh, kw = geom.kernel
        ctx.a, ctx.geom = np.full((1, 1, 1, 1, kh, kw), 1.0 / (kh * kw), dtype=x.dtype), geom
        return window_reduce(np.add, windows(x, geom)) * (1.0 / (kh * kw))


class MaxPool2d(WindowSum):
    """y = max of x over each window;  dx = g sent to each window's maximum   (split evenly among ties)

    As every max of the package, a tie shares the gradient evenly (PyTorch gives it all
    to the first of the tied positions). Overlapping windows (stride < kernel) add up
    what they send to a shared maximum. The windows are copied offset by offset first
    (`by_offset`): the max, the mask of the maxima and its sums are then flat loops, and
    so is the backward's product with the mask.
    """

    @staticmethod
    def forward(ctx, x, geom):
        win = by_offset(windows(x, geom))
        y = window_reduce(np.maximum, win)
        hit = (win == y[..., None, None]).astype(x.dtype)  # (laid out as win: by offset)
        ties = window_reduce(np.add, hit)
        if ties.max(initial=1) > 1:  # (a fifth faster without ties to split)
            # = hit / ties to the last bit (1 / t or 0), one division per window rather
            # than per position: half the time of the division
            hit *= (1.0 / ties)[..., None, None]
        ctx.a, ctx.geom = hit, geom
        return y


class Unpool2d(Function):
    """y = unpool(u * a);  du = window_sum(g * a)   (u: a gradient at a pool's output)

    Each u[n, c, i, j] times the weights a spread back over the window it came from
    (overlaps add up): the backward of the pools, and the adjoint of `WindowSum`.
    """
    array_backward = True

    @staticmethod
    def forward(ctx, u, a, geom):
        ctx.a, ctx.geom = a, geom
        return unpool(u, a, geom)

    @staticmethod
    def backward(ctx, g):
        return WindowSum.apply(g, a=ctx.a, geom=ctx.geom)

    @staticmethod
    def backward_array(ctx, g):
        return window_sum(g, ctx.a, ctx.geom)


# --------------------------------------------------------------- checked entry points
def pair(value, what, name, low):
    """An int or a pair of ints as a pair, each at least ``low`` (ArgumentError if not)."""
    v = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(v) != 2 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                              and i >= low for i in v):
        raise ArgumentError(f"{name}: {what} must be an integer >= {low} or a pair of them, "
                            f"got {value!r}")
    return int(v[0]), int(v[1])


def _image(x, name):
    x = _t(x)
    if x.ndim != 4:
        raise ShapeError(f"{name}: expected a 4-D input (N, C, H, W), got shape {x.shape}"
                         + (" (add the batch axis: x.reshape(1, *x.shape))" if x.ndim == 3
                            else ""))
    return x


def geometry(x, kernel, stride, padding, name):
    """The `Geometry` of a windowed op on ``x``, the kernel checked against the padded input."""
    kernel = pair(kernel, "kernel_size", name, 1)
    stride = pair(kernel if stride is None else stride, "stride", name, 1)
    padding = pair(padding, "padding", name, 0)
    h, w = x.shape[2:]
    if kernel[0] > h + 2 * padding[0] or kernel[1] > w + 2 * padding[1]:
        raise ShapeError(f"{name}: kernel {kernel[0]}x{kernel[1]} is larger than the "
                         f"{'padded ' if any(padding) else ''}input "
                         f"{h + 2 * padding[0]}x{w + 2 * padding[1]} (input shape {x.shape}, "
                         f"padding {padding})")
    return Geometry(kernel, stride, padding, (h, w))


def conv2d(x, weight, bias=None, stride=1, padding=0, _name="conv2d"):
    """2-D convolution (cross-correlation, as PyTorch) of an (N, C, H, W) input with an
    (O, C, kh, kw) weight, plus an (O,) bias; output (N, O, OH, OW) with
    OH = (H + 2 padding - kh) // stride + 1."""
    x = _image(x, _name)
    weight = _t(weight)
    if weight.ndim != 4:
        raise ShapeError(f"{_name}: expected a 4-D weight (out_channels, in_channels, kh, kw), "
                         f"got shape {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ShapeError(f"{_name}: input of shape {x.shape} has {x.shape[1]} channels, but "
                         f"the weight of shape {weight.shape} expects {weight.shape[1]}")
    if bias is not None and tuple(bias.shape) != weight.shape[:1]:
        raise ShapeError(f"{_name}: bias of shape {tuple(bias.shape)} does not fit "
                         f"{weight.shape[0]} output channels")
    geom = geometry(x, weight.shape[2:], stride, padding, _name)
    return Conv2d.apply(x, weight, bias, geom=geom)


def max_pool2d(x, kernel_size, stride=None, _name="max_pool2d"):
    """The maximum of each kernel_size window (stride defaults to kernel_size)."""
    x = _image(x, _name)
    return MaxPool2d.apply(x, geom=geometry(x, kernel_size, stride, 0, _name))


def avg_pool2d(x, kernel_size, stride=None, _name="avg_pool2d"):
    """The mean of each kernel_size window (stride defaults to kernel_size)."""
    x = _image(x, _name)
    return AvgPool2d.apply(x, geom=geometry(x, kernel_size, stride, 0, _name))

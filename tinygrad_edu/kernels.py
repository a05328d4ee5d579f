"""The kernels room: numpy-only array math that the ops and the engines call.

Nothing here knows about Tensors or graphs. Three kinds of function live here:

- the shared steps: ``unbroadcast`` (broadcasting undone once, for every op) and the
  reduction helpers;
- the stable formulas: sigmoid via exp(-|x|), softplus via log1p, max-shifted
  logsumexp and softmax, each finite for any input (sigmoid(-1000), logits of +-1000);
- first-order backward kernels, ``name_backward(ctx, g)``: the same numbers as the op's
  own formula ``backward`` (tests/test_kernels.py checks each against it on random
  inputs), computed on numpy arrays with fewer passes and allocations. An op names its
  kernel in one attribute, ``backward_array = staticmethod(kernels.name_backward)``.

Each trick says what it buys and on which benchmark (benchmarks/README.md).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .errors import GradientError

try:  # scipy's erf is a vectorised kernel; math.erf element by element gives the same values
    from scipy.special import erf as _erf
except ImportError:  # (scipy is optional)
    _erf = np.vectorize(math.erf, otypes=[np.float64])

_NUMPY = (np.ndarray, np.generic)  # (arithmetic on 0-d arrays gives numpy scalars)


# --------------------------------------------------------------------- shared steps
def unbroadcast(grad, shape, op_name="op"):
    """Sum a gradient down to ``shape``: undo numpy broadcasting of an input.

    Sum away the axes broadcasting put in front, then (keepdims) the axes where the
    input had size 1. Works on arrays and Tensors alike (both have ``sum``).
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)  # the axes broadcasting put in front
    kept = [i for i, s in enumerate(shape) if s != gshape[lead + i]] if lead >= 0 else None
    if kept is None or (kept and any(shape[i] != 1 for i in kept)):  # (kept: stretched 1s)
        raise GradientError(f"{op_name}.backward returned a gradient of shape {gshape} "
                            f"for an input of shape {shape}")
    if lead:  # summed away: no reshape, no view (so a bias gradient needs no defensive copy)
        grad = sum_rows(grad) if lead == 1 else grad.sum(axis=tuple(range(lead)))
    return grad.sum(axis=tuple(kept), keepdims=True) if kept else grad


@functools.lru_cache(maxsize=8)
def _ones(n, dtype):
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def sum_rows(g):
    """g.sum(axis=0). A C-ordered float32 or float64 matrix (a bias gradient, the rows of
    a batch) is summed by a BLAS matrix-vector product with a vector of ones: 2.5-4x
    faster than numpy's sum over axis 0 (a (200, 100) bias gradient of W8: 2.7 us against
    6.5; (128, 500): 7.6 against 12.4), and no less accurate: numpy adds the rows one
    after another, OpenBLAS keeps several running sums, and against math.fsum its error
    is about half numpy's. The last bits differ from numpy's, and (as for any product)
    with the BLAS thread count. A single column is contiguous: numpy sums it pairwise,
    more accurately than a dot product. (The ones are cached up to 64K rows.)"""
    if (g.__class__ is np.ndarray and g.ndim == 2 and g.dtype.char in "fd" and g.shape[0] > 1
            and g.shape[1] > 1 and g.flags.c_contiguous):
        n = g.shape[0]
        return (_ones(n, g.dtype) if n <= 1 << 16 else np.ones(n, g.dtype)) @ g
    return g.sum(axis=0)


def expand_back(g, ctx):
    """A reduction's gradient broadcast back to the input's shape (a view, no copy)."""
    if not ctx.keepdims and ctx.axes != tuple(range(len(ctx.axes))):
        g = g.reshape(ctx.kept_shape)  # (reduced leading axes come back by broadcasting)
    return np.broadcast_to(g, ctx.in_shape)


def into(ufunc, d, f):
    """ufunc(d, f) for an array ``d`` the caller has just made, written into d itself when
    f neither broadcasts nor promotes it: one array less to allocate and fill per call
    (sigmoid layers of W2, the losses of W3)."""
    if (d.__class__ is np.ndarray and isinstance(f, _NUMPY) and f.dtype == d.dtype
            and (f.ndim == 0 or f.shape == d.shape)):
        return ufunc(d, f, out=d)
    return ufunc(d, f)


_BLOCK = 1 << 16  # elements of add_scaled's scratch block: 512 KB of float64, kept in L2


def add_scaled(y, x, alpha):
    """y += alpha * x in place, without a temporary the size of x: alpha * x is formed a
    block of 64K elements at a time in one scratch block that stays in cache. The update
    w -= lr g of a (1024, 500) weight then moves 12 MB instead of 20: 311 against 577 us
    (y -= x alone: 286), W2's SGD step, and 4 MB less peak memory (W5). (Blocks of 16K
    elements: 349 us, of 128K: 416.) Small, broadcast or non-contiguous operands: the
    plain expression."""
    if (y.size <= _BLOCK or x.__class__ is not np.ndarray or x.shape != y.shape
            or not (x.flags.c_contiguous and y.flags.c_contiguous)
            or (x.ctypes.data != y.ctypes.data and np.may_share_memory(x, y))):
        # (x overlapping y elsewhere, as t[1:].add_(t[:-1]): a block would read values
        # that the block before it wrote)
        return np.add(y, np.multiply(x, alpha), out=y, casting="same_kind")
    yf, xf = y.reshape(-1), x.reshape(-1)
    block = np.empty(_BLOCK, dtype=np.result_type(x.dtype, y.dtype))
    for start in range(0, yf.size, _BLOCK):
        xs = xf[start:start + _BLOCK]
        b = block[:xs.size]
        np.multiply(xs, alpha, out=b, casting="same_kind")
        np.add(yf[start:start + _BLOCK], b, out=yf[start:start + _BLOCK], casting="same_kind")
    return y


def mean_of(loss):
    """loss.mean() minus numpy's Python wrapper (W3: the loss is one scalar per step);
    float16 keeps numpy's float32 accumulation. The count is an np.intp, as np.mean's:
    a float32 sum is divided in float64 (a Python int would be rounded to float32 first,
    wrong from 2**24 + 1 elements on)."""
    if loss.size and loss.dtype != np.float16:
        total = np.add.reduce(loss, axis=None)
        return total.dtype.type(total / np.intp(loss.size))
    return loss.mean()


# ---------------------------------------------------------------- stable formulas
# exp(-x) stays finite (below max/e) for x above 1 - log(largest float): the textbook
# formula is then exact
_EXP_SAFE = {t: 1.0 - np.log(float(np.finfo(t).max)) for t in (np.float16, np.float32, np.float64)}


def sigmoid(x):
    """1 / (1 + exp(-x)), finite for any x.

    Where exp(-x) cannot overflow, the textbook formula in 4 passes, like numpy by hand
    (212 against 246 us on a float32 128x500 array); else via exp(-|x|) (sigmoid_from).
    """
    if x.dtype.kind != "f":  # (integers: computed in float64, as numpy and PyTorch do)
        x = x.astype(np.float64)
    if x.size and x.min() > _EXP_SAFE.get(x.dtype.type, np.inf):
        e = np.asarray(np.negative(x))    # (numpy gives a scalar for 0-d x)
        exp_into(e)
        e += 1.0
        return np.divide(1.0, e, out=e)
    return sigmoid_from(x, exp_neg_abs(x))


def exp_into(a):
    """exp of a fresh array ``a``, written into ``a``. An underflow to 0 (exp(-1000)) is the
    exact answer in these formulas: under np.errstate(under="raise") numpy has written the
    values before it raises, so they stand (an overflow or a NaN still raises). No errstate
    context on the way: that would cost more than the exp of a small array."""
    try:
        return np.exp(a, out=a)
    except FloatingPointError:
        if np.isfinite(a).all():  # only underflow: the values are right
            return a
        raise


def exp_neg_abs(x):
    """e = exp(-|x|) <= 1, a new array: never overflows.

    float16 and float32 are computed in float64 and rounded once: numpy's float32 exp is
    off by up to 2 ulp, enough to take sigmoid(x) = e / (1 + e) past 2 eps of the exact
    value (x = -7.91 in float32: 2.16 eps)."""
    if x.dtype.kind == "f" and x.dtype.itemsize >= 8:
        e = np.asarray(np.abs(x))
        return exp_into(np.negative(e, out=e))
    e = np.asarray(np.abs(x, dtype=np.float64))
    e = exp_into(np.negative(e, out=e))
    return e if x.dtype.kind != "f" else e.astype(x.dtype)


def sigmoid_from(x, e):
    """sigmoid(x) from e = exp(-|x|): 1/(1+e) where x >= 0, e/(1+e) where x < 0.

    The numerator as max(e, [x >= 0]): two passes fewer than np.where (same values).
    """
    out = np.maximum(e, x >= 0)           # numerator: 1 where x >= 0, e where x < 0
    out /= np.add(e, 1, dtype=e.dtype)    # (dtype: numpy 1 promotes 0-d float32 + 1.0)
    return out


def softplus_parts(x):
    """softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(e) with e = exp(-|x|), and e.

    Keeping e lets the backward get sigmoid(x) without a second exp (np.logaddexp is also
    the slower kernel: forward + backward 172 against 256 us on 10,000 logits, W3).
    """
    e = exp_neg_abs(x)
    out = np.log1p(e)
    out += np.maximum(x, 0, dtype=e.dtype)  # (within 2 eps of the exact value, like logaddexp)
    return out, e


def max_keepdims(x, axes):
    """x.max(axis=axes, keepdims=True). For the rows of a tall 2-D array with at most 32
    columns (the logits of a few classes), the max down the columns of its transposed
    copy: numpy's reduction along a short inner axis is the slow one (2.4 against 7.8 us
    on (200, 10), 75 against 341 on (10000, 10); from 64 columns on the plain call is
    faster). A max is exact, whichever the order."""
    if (x.ndim == 2 and x.shape[0] >= 64 and x.shape[1] <= 32 and axes in ((1,), (-1,), 1, -1)
            and x.flags.c_contiguous):
        return np.ascontiguousarray(x.T).max(axis=0)[:, None]
    return x.max(axis=axes, keepdims=True)


def shifted_logsumexp(x, axes):
    """log(sum(exp(x))) over axes with keepdims, and on the way e = exp(x - m) and its sum
    s (m the max, 0 where it is not finite): no overflow; e / s is the softmax. One
    helper for LogSumExp, LogSoftmax and CrossEntropy.

    (One max for the whole array instead of one per row is twice as fast on (200, 10)
    logits, but costs digits: a row 30 below the array's max loses about 20 ulp, and in
    float16 a row 17 below underflows to a sum of 0.)
    """
    m = np.asarray(max_keepdims(x, axes))
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0.0)
    e = exp_into(np.asarray(x - m))
    s = e.sum(axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):  # log(0) = -inf when every entry is -inf
        return np.log(s) + m, e, s


def softmax(x, axis):
    """exp(x) / sum(exp(x)) along axis, max-shifted: no overflow."""
    e = exp_into(np.asarray(x - max_keepdims(x, axis)))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def prod_of_others(x, axes):
    """For each element, the product of the other elements along ``axes`` (what d prod /
    dx is), from exclusive cumulative products: exact with zeros, where prod / x is 0/0."""
    moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
    rest = moved.shape[:x.ndim - len(axes)]
    flat = moved.reshape(*rest, -1)
    ones = np.ones((*rest, 1), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape),
                       range(x.ndim - len(axes), x.ndim), axes)


def erf(x):
    """The error function, in x's dtype."""
    return np.asarray(_erf(x)).astype(x.dtype, copy=False)


def blas_ready(x):
    """numpy multiplies broadcast (zero-stride) arrays, such as the gradient of a sum,
    with a slow loop instead of BLAS (20x slower for a matrix-vector product): copy them."""
    return np.ascontiguousarray(x) if 0 in x.strides and x.size > 1 else x


def matmul(a, b):
    """a @ b through BLAS even for broadcast operands."""
    return blas_ready(a) @ blas_ready(b)


# ------------------------------------------------------- first-order backward kernels
# Each takes (ctx, g) like the op's backward, with ctx.saved_tensors giving the saved
# arrays themselves, and returns one gradient per input (None where not needed).
def sum_backward(ctx, g):
    """dx = g broadcast back (a view: numpy has no Tensor.expand)."""
    return expand_back(g, ctx)


def mean_backward(ctx, g):
    """dx = g / n broadcast back."""
    return expand_back(g * (1.0 / ctx.n if ctx.n else 0.0), ctx)  # n = 0: empty input


def max_backward(ctx, g):
    """dx = g at the arg-max, split among ties (the weights forward computed)."""
    return expand_back(g, ctx) * ctx.weights


def logsumexp_backward(ctx, g):
    """dx = g * exp(x - y)."""
    x, out = ctx.saved_tensors
    return expand_back(g, ctx) * exp_into(np.asarray(x - expand_back(out, ctx)))


def log_softmax_backward(ctx, g):
    """dx = g - exp(y) * sum(g, axis)."""
    out, = ctx.saved_tensors
    return g - exp_into(np.array(out)) * g.sum(axis=ctx.axis, keepdims=True)


def sigmoid_backward(ctx, g):
    """dx = g * y * (1 - y), multiplied into the array it has just made: two arrays less
    to allocate and fill per sigmoid layer (W2, W3)."""
    out, = ctx.saved_tensors
    return into(np.multiply, into(np.multiply, 1.0 - out, out), g)


def softplus_backward(ctx, g):
    """dx = g * sigmoid(x), with sigmoid(x) from the exp(-|x|) forward kept (no exp)."""
    x, = ctx.saved_tensors
    return into(np.multiply, sigmoid_from(x, ctx.e), g)


def per_element_grad(ctx, g):
    """The upstream gradient of a fused loss per element: g / n for the mean, else g
    (one value unless the reduction is 'none'). Arithmetic only: ops use it on Tensors."""
    return g * (1.0 / ctx.n if ctx.n else 0.0) if ctx.reduction == "mean" else g


def bce_with_logits_backward(ctx, g):
    """dx = g * (sigmoid(x) - t), dt = -g * x: sigmoid(x) from the kept exp(-|x|), the
    subtraction and the product written into one new array (W3)."""
    x, t = ctx.saved_tensors
    need_x, need_t = ctx.needs_input_grad
    g = per_element_grad(ctx, g)
    dx = into(np.multiply, into(np.subtract, sigmoid_from(x, ctx.e), t), g) if need_x else None
    dt = -np.broadcast_to(g, ctx.shape) * x if need_t else None
    return dx, dt


def cross_entropy_backward(ctx, g):
    """dx = g * (softmax(x) - onehot(k)) from the softmax forward kept: a copy, one
    multiply and a subtraction at the labels, instead of ten numpy calls (W2)."""
    g = per_element_grad(ctx, g)
    if ctx.reduction == "none":
        g = g.reshape(-1, 1)
    d = ctx.softmax * g     # (a new array: the softmax stays for another backward)
    d[ctx.picked] -= g[:, 0] if ctx.reduction == "none" else g
    return d, None


def as_matrices(a, b, g):
    """a, b and g of a product y = a @ b reshaped so that every case is a (batched)
    matrix product: 1-D operands get a unit axis (works on arrays and Tensors alike)."""
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a.ndim == 1:
        g = g.reshape(*g.shape[:-1], 1, g.shape[-1]) if b.ndim > 1 else g.reshape(1)
    if b.ndim == 1:
        g = g.reshape(*g.shape, 1)
    return a2, b2, g


def product_grads(a, b, g, need_a, need_b):
    """da = g @ b^T, db = a^T @ g of y = a @ b, each one BLAS call (broadcast operands
    copied first: the gradient of a sum is a zero-stride view)."""
    a2, b2, g = as_matrices(a, b, g)
    da = matmul(g, b2.swapaxes(-1, -2)) if need_a else None
    db = matmul(a2.swapaxes(-1, -2), g) if need_b else None
    return da, (db.reshape(db.shape[:-1]) if db is not None and b.ndim == 1 else db)


def matmul_backward(ctx, g):
    """MatMul's gradients through `product_grads`."""
    a, b = ctx.saved_tensors
    return product_grads(a, b, g, *ctx.needs_input_grad)


def affine_backward(ctx, g):
    """Affine's: the product's gradients, and g itself for the bias (the engine sums it
    over the rows the bias was added to)."""
    x, w = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad
    return (*product_grads(x, w, g, need_x, need_w), g if need_b else None)

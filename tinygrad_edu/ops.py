"""The op table. Each op is a `Function`: forward on numpy arrays, backward in Tensor ops.

The one-line docstring of each op is its derivative: ``g`` is the upstream gradient
(dL/dy) and ``dx`` the gradient it sends to the input x, and ``backward`` is that
formula written in Tensor operations (so that a gradient can be differentiated again).
Broadcasting is undone by the engine, so a backward may return a gradient of the
output's (broadcast) shape. Where a faster first-order kernel exists, the op names it
(``backward_array``); it lives in kernels.py, with what it buys.
"""
from __future__ import annotations

import math

import numpy as np

from . import kernels
from .errors import ShapeError
from .function import Function


def _axes(axis, ndim):
    """Normalise an axis argument (None, int or tuple) to a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            raise ShapeError(f"axis must be None, an integer or a tuple of integers, "
                             f"got {axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ShapeError(f"axis {a} is out of range for a tensor with {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(out))


def _axes_of(op, axis, x):
    """_axes for op's input x, with an error that names op and x's shape."""
    try:
        return _axes(axis, x.ndim)
    except ShapeError as e:
        raise ShapeError(f"{op}: {e} (input shape {x.shape})") from None


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand_back(g, ctx):
    """A reduction's gradient (a Tensor) broadcast back to the input's shape."""
    if not ctx.keepdims and ctx.axes != tuple(range(len(ctx.axes))):
        g = g.reshape(ctx.kept_shape)  # (reduced leading axes come back by broadcasting)
    return g.expand(ctx.in_shape)


class _Reduction(Function):
    """Shared set-up of the reductions: normalised axes and the shapes to go back."""

    @staticmethod
    def _setup(ctx, x, axis, keepdims):
        ctx.axes = _axes_of(type(ctx).__name__, axis, x)
        ctx.keepdims = keepdims
        ctx.in_shape = x.shape
        ctx.kept_shape = _kept_shape(x.shape, ctx.axes)
        return ctx.axes


# ------------------------------------------------------------------ elementwise, binary
class Add(Function):
    """y = a + b;  da = g,  db = g"""
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a - b;  da = g,  db = -g"""
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  da = g * b,  db = g * a"""
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """y = a / b;  da = g / b,  db = -g * a / b**2"""
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


class Mod(Function):
    """y = a mod b (numpy's: the sign of b);  da = g,  db = -g * floor(a / b)"""
    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.quotient = np.floor_divide(a, b)
        return np.mod(a, b)

    @staticmethod
    def backward(ctx, g):
        need_a, need_b = ctx.needs_input_grad
        return (g if need_a else None), (-g * ctx.quotient if need_b else None)


class Pow(Function):
    """y = a ** b;  da = g * b * a**(b-1),  db = g * y * log(a)  (a > 0 for db)"""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        da = db = None
        if need_a:
            if isinstance(b, (int, float)):
                da = g * 0.0 if b == 0 else (g if b == 1 else g * b * a ** (b - 1))
            else:
                da = g * b * a ** (b - 1)
                zero = (a.data == 0) & (b.data == 0)  # 0**0: the derivative is 0, not 0 * inf
                if zero.any():
                    da = g * Where.apply(zero, 0.0, b * a ** Where.apply(zero, 1.0, b - 1.0))
        if need_b:  # d(a**b)/db = y log a, taken as 0 where a = 0 (as y = 0 there)
            if isinstance(a, (int, float)):
                db = g * out * (np.log(a) if a != 0 else 0.0)
            else:
                db = g * out * Where.apply(a.data == 0, 1.0, a).log()
        return da, db


class Maximum(Function):
    """y = max(a, b);  da = g * [a > b] + g/2 * [a == b],  db = g - da"""
    array_backward = True
    wins, pick = staticmethod(np.greater), staticmethod(np.maximum)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.wa = cls.wins(a, b) + 0.5 * (a == b)
        return cls.pick(a, b)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.wa, g * (1.0 - ctx.wa)


class Minimum(Maximum):
    """y = min(a, b);  da = g * [a < b] + g/2 * [a == b],  db = g - da"""
    wins, pick = staticmethod(np.less), staticmethod(np.minimum)


class Where(Function):
    """y = where(c, a, b);  da = g * c,  db = g * (1 - c)

    Both branches are computed, and their gradients multiplied by 0 where not
    taken: if the branch not taken is NaN or inf (say log(x) for x <= 0), the
    product is NaN. Make the inputs safe first: ``where(c, f(where(c, x, 1)), 0)``.
    """
    array_backward = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = np.asarray(cond, dtype=bool)
        return np.where(ctx.cond, a, b)

    @staticmethod
    def backward(ctx, g):
        _, need_a, need_b = ctx.needs_input_grad
        return None, (g * ctx.cond if need_a else None), (g * ~ctx.cond if need_b else None)


# ------------------------------------------------------------------- elementwise, unary
class Neg(Function):
    """y = -x;  dx = -g"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    """y = exp(x);  dx = g * y"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out


class Log(Function):
    """y = log(x);  dx = g / x"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """y = sqrt(x);  dx = g / (2y)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g / (out * 2.0)


class Abs(Function):
    """y = |x|;  dx = g * sign(x)   (0 at x = 0)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.sign(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.sign


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dx = g * y * (1 - y)   (computed via exp(-|x|): no overflow)"""
    array_backward = True
    backward_array = staticmethod(kernels.sigmoid_backward)  # in place: 2 arrays fewer

    @staticmethod
    def forward(ctx, x):
        y = kernels.sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y * (1.0 - y)


class Softplus(Function):
    """y = log(1 + exp(x));  dx = g * sigmoid(x)   (via exp(-|x|): exact at |x| = 1000)"""
    array_backward = True
    backward_array = staticmethod(kernels.softplus_backward)  # sigmoid from the kept exp

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y, ctx.e = kernels.softplus_parts(x)
        return y

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.sigmoid()


class Tanh(Function):
    """y = tanh(x);  dx = g * (1 - y**2)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (1.0 - out * out)


# ------------------------------------------------------- elementwise, unary: the calculus
class Sin(Function):
    """y = sin(x);  dx = g * cos(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * x.cos()


class Cos(Function):
    """y = cos(x);  dx = -g * sin(x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return -g * x.sin()


class Tan(Function):
    """y = tan(x);  dx = g * (1 + y**2)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * (1.0 + y * y)


class Log1p(Function):
    """y = log(1 + x);  dx = g / (1 + x)   (exact for tiny x)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g / (1.0 + x)


class Expm1(Function):
    """y = exp(x) - 1;  dx = g * (y + 1)   (exact for tiny x)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * (y + 1.0)


class Square(Function):
    """y = x**2;  dx = g * 2x"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (2.0 * x)


class Erf(Function):
    """y = erf(x);  dx = g * 2 / sqrt(pi) * exp(-x**2)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return kernels.erf(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * (2.0 / np.sqrt(np.pi)) * (-(x * x)).exp()


class LeakyReLU(Function):
    """y = max(x, 0) + slope * min(x, 0);  dx = g * (1 where x > 0, else slope)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, slope=0.01):
        ctx.scale = np.where(x > 0, 1.0, slope).astype(x.dtype, copy=False)
        return x * ctx.scale

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale, None


class ELU(Function):
    """y = x where x > 0, else alpha (exp(x) - 1);  dx = g where x > 0, else g * (y + alpha)"""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        ctx.positive, ctx.alpha = x > 0, alpha
        y = np.where(ctx.positive, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return Where.apply(ctx.positive, g, g * (y + ctx.alpha)), None


class Softsign(Function):
    """y = x / (1 + |x|);  dx = g / (1 + |x|)**2"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1.0 + np.abs(x))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        d = 1.0 + x.abs()
        return g / (d * d)


class SiLU(Function):
    """y = x * sigmoid(x);  dx = g * s * (1 + x * (1 - s))   (s = sigmoid(x))"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * kernels.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = x.sigmoid()
        return g * s * (1.0 + x * (1.0 - s))


class GELU(Function):
    """y = x * Phi(x);  dx = g * (Phi(x) + x * phi(x))   (Phi, phi: the normal cdf and pdf)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * (0.5 * (1.0 + kernels.erf(x * np.sqrt(0.5))))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        cdf = 0.5 * (1.0 + Erf.apply(x * np.sqrt(0.5)))
        pdf = (-0.5 * (x * x)).exp() * (1.0 / np.sqrt(2.0 * np.pi))
        return g * (cdf + x * pdf)


_GELU_C = float(np.sqrt(2.0 / np.pi))


class GELUTanh(Function):
    """y = x/2 * (1 + tanh(u)), u = c (x + 0.044715 x**3);  dx = g * (0.5 (1 + t) + 0.5 x (1 - t**2) c (1 + 0.134145 x**2))   (t = tanh(u), c = sqrt(2/pi))"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x * x * x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        t = (_GELU_C * (x + 0.044715 * x * x * x)).tanh()
        return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 0.134145 * x * x))


class ReLU(Function):
    """y = max(x, 0);  dx = g * [x > 0]   (0 at x = 0)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.mask = x > 0
        return np.maximum(x, 0).astype(x.dtype, copy=False)  # (NaN stays NaN)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask


class Clip(Function):
    """y = clip(x, lo, hi);  dx = g * [lo <= x <= hi]   (bounds included)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        ctx.mask = mask
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None, None


class Copy(Function):
    """y = x (a new array);  dx = g"""
    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Cast(Function):
    """y = x as another float dtype;  dx = g as x's dtype"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.in_dtype), None


# -------------------------------------------------------------------------- reductions
class Sum(_Reduction):
    """y = sum(x, axis);  dx = g broadcast back over the summed axes"""
    array_backward = True
    backward_array = staticmethod(kernels.sum_backward)  # np.broadcast_to: a view

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return np.sum(x, axis=_Reduction._setup(ctx, x, axis, keepdims), keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx)


class Mean(_Reduction):
    """y = mean(x, axis);  dx = g / n broadcast back (n = number of averaged elements)"""
    array_backward = True
    backward_array = staticmethod(kernels.mean_backward)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction._setup(ctx, x, axis, keepdims)
        ctx.n = math.prod(x.shape[a] for a in axes)
        if axis is None and not keepdims and x.dtype.char in "fd":  # a loss's mean:
            return kernels.mean_of(x)  # np.mean's numbers without its Python wrapper
        return np.mean(x, axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g * (1.0 / ctx.n if ctx.n else 0.0), ctx)  # n = 0: empty input


class Max(_Reduction):
    """y = max(x, axis);  dx = g at the arg-max, split evenly among ties"""
    array_backward = True
    backward_array = staticmethod(kernels.max_backward)
    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        axes = _Reduction._setup(ctx, x, axis, keepdims)
        out = cls.reduce(x, axis=axes, keepdims=True)
        mask = x == out
        ctx.weights = mask / mask.sum(axis=axes, keepdims=True)
        return out if keepdims else out.reshape(np.delete(x.shape, axes))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx) * ctx.weights


class Min(Max):
    """y = min(x, axis);  dx = g at the arg-min, split evenly among ties"""
    reduce = staticmethod(np.min)


class Prod(_Reduction):
    """y = prod(x, axis);  dx = g * (the product of the other elements)   (y / x without zeros)"""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction._setup(ctx, x, axis, keepdims)
        out = np.prod(x, axis=axes, keepdims=keepdims)
        ctx.has_zero = bool(x.size) and not np.all(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if not ctx.has_zero:
            return _expand_back(g, ctx) * _expand_back(out, ctx) / x
        # with zeros, y / x is 0/0: the products of the others from exclusive cumulative
        # products (constants: second derivatives there are not recorded)
        return _expand_back(g, ctx) * kernels.prod_of_others(x.data, ctx.axes)


class Cumsum(Function):
    """y = cumsum(x, axis);  dx = g summed from the end: reversed cumsum of reversed g"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, axis=None):
        if axis is None:  # numpy's rule: the flattened array
            ctx.in_shape, x = x.shape, x.reshape(-1)
            axis = 0
        else:
            ctx.in_shape = None
        ctx.axis = _axes_of("Cumsum", axis, x)[0] if x.ndim else 0
        return np.cumsum(x, axis=ctx.axis)

    @staticmethod
    def backward(ctx, g):
        rev = (slice(None),) * ctx.axis + (slice(None, None, -1),)
        dx = g[rev].cumsum(ctx.axis)[rev]
        return dx if ctx.in_shape is None else dx.reshape(ctx.in_shape)


class LogSumExp(_Reduction):
    """y = log(sum(exp(x), axis));  dx = g * exp(x - y)   (max-shifted: no overflow)"""
    array_backward = True
    backward_array = staticmethod(kernels.logsumexp_backward)

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axes = _Reduction._setup(ctx, x, axis, keepdims)
        out = kernels.shifted_logsumexp(x, axes)[0]
        out = out if keepdims else out.reshape(np.delete(x.shape, axes))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return _expand_back(g, ctx) * (x - _expand_back(out, ctx)).exp()


class Softmax(Function):
    """y = exp(x) / sum(exp(x), axis);  dx = y * (g - sum(g * y, axis))"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        _axes_of("Softmax", axis, x)
        out = kernels.softmax(x, axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return out * (g - (g * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x, axis);  dx = g - exp(y) * sum(g, axis)"""
    array_backward = True
    backward_array = staticmethod(kernels.log_softmax_backward)

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        out = x - kernels.shifted_logsumexp(x, _axes_of("LogSoftmax", axis, x))[0]
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g - out.exp() * g.sum(axis=ctx.axis, keepdims=True)


def _reduce_loss(ctx, loss, reduction):
    """A fused loss's per-element values, averaged ('mean'), summed ('sum') or kept ('none')."""
    ctx.reduction, ctx.n, ctx.shape = reduction, loss.size, loss.shape
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else kernels.mean_of(loss)


class BinaryCrossEntropyWithLogits(Function):
    """y = softplus(x) - t x;  dx = g * (sigmoid(x) - t),  dt = -g * x   (finite for any logit)

    softplus(x) - t x = -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))): the binary
    cross-entropy of sigmoid(x), with no log of 0. The losses are then averaged
    (reduction 'mean': each gets g / n), summed ('sum') or kept ('none'). Forward keeps
    the exp(-|x|) it computes for softplus, from which a first-order backward gets
    sigmoid(x) without another exp.
    """
    array_backward = True
    backward_array = staticmethod(kernels.bce_with_logits_backward)  # no second exp

    @staticmethod
    def forward(ctx, x, t, reduction="none"):
        ctx.save_for_backward(x, t)
        loss, ctx.e = kernels.softplus_parts(x)
        return _reduce_loss(ctx, kernels.into(np.subtract, loss, x * t), reduction)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad
        g = kernels.per_element_grad(ctx, g).expand(ctx.shape)
        return (g * (x.sigmoid() - t) if need_x else None), (-g * x if need_t else None)


class BinaryCrossEntropy(Function):
    """y = -(t log p + (1 - t) log(1 - p));  dp = g * (p - t) / (p (1 - p)),  dt = g * (log(1 - p) - log p)   (logs at least -100)

    Binary cross-entropy of probabilities p in [0, 1]. As in PyTorch, each log is taken
    as at least -100, so a confident mistake (p = 0 with t = 1) costs a large finite loss;
    p (1 - p) in dp is taken as at least ``eps`` (1e-12, larger in float16 so that the
    gradient stays finite there): a confident mistake gets a large gradient, never 0.
    Then averaged ('mean'), summed ('sum') or kept ('none'), as the other fused losses.
    """

    @staticmethod
    def forward(ctx, p, t, reduction="none"):
        ctx.save_for_backward(p, t)
        ctx.eps = max(1e-12, 4.0 / float(np.finfo(p.dtype).max))
        with np.errstate(divide="ignore"):  # log(0) = -inf, taken as -100
            loss = -(t * np.maximum(np.log(p), -100.0) + (1.0 - t) * np.maximum(np.log1p(-p), -100.0))
        return _reduce_loss(ctx, loss.astype(p.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        p, t = ctx.saved_tensors
        need_p, need_t = ctx.needs_input_grad
        g = kernels.per_element_grad(ctx, g).expand(ctx.shape)
        dp = dt = None
        if need_p:
            dp = g * (p - t) / Maximum.apply(p * (1.0 - p), ctx.eps)
        if need_t:
            with np.errstate(divide="ignore"):  # log(0) = -inf, taken as -100
                dt = g * ((1.0 - p).log().clip(-100.0, None) - p.log().clip(-100.0, None))
        return dp, dt


class CrossEntropy(Function):
    """y = logsumexp(x) - x[k] per row;  dx = g * (softmax(x) - onehot(k))   (the familiar y - t)

    For logits x (N, C) and integer labels k. The N losses are then averaged (reduction
    'mean': each row gets g / N), summed ('sum') or kept ('none').

    One op instead of log_softmax, indexing, negation and mean: the loss of every
    classifier, so it is worth its own node. Forward keeps the softmax it computes on
    the way, which a first-order backward starts from. The labels and the reduction
    are checked by the caller (cross_entropy).
    """
    array_backward = True
    backward_array = staticmethod(kernels.cross_entropy_backward)  # from the kept softmax

    @staticmethod
    def forward(ctx, x, labels, reduction="none"):
        ctx.picked = (np.arange(len(labels)), labels)  # the entries x_i[k_i]
        ctx.save_for_backward(x)
        lse, e, s = kernels.shifted_logsumexp(x, (1,))  # max-shifted: exact for logits of +-1000
        loss = lse[:, 0] - x[ctx.picked]
        with np.errstate(invalid="ignore"):  # a row without a finite max: its loss is NaN
            e /= s
        ctx.softmax = e
        return _reduce_loss(ctx, loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        g = kernels.per_element_grad(ctx, g)
        g = g.reshape(-1, 1) if ctx.reduction == "none" else g
        onehot = np.zeros(x.shape, dtype=x.dtype)
        onehot[ctx.picked] = 1.0
        return g * (x.softmax(axis=1) - onehot), None


# ---------------------------------------------------------------------------- movement
class Reshape(Function):
    """y = x.reshape(shape);  dx = g.reshape(x.shape)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class Transpose(Function):
    """y = x.transpose(axes);  dx = g.transpose(inverse of axes)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(*np.argsort(ctx.axes)), None


class Expand(Function):
    """y = broadcast_to(x, shape);  dx = g summed over the broadcast axes (by the engine)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _is_basic_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))
               for i in items)


class GetItem(Function):
    """y = x[idx];  dx = zeros like x with g added at idx (repeated indices accumulate)"""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.in_shape, ctx.idx = x.shape, idx
        try:
            return x[idx]
        except IndexError as e:
            raise ShapeError(f"GetItem: index {idx!r} does not fit shape {x.shape}: {e}") from None

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.in_shape, ctx.idx), None


class IndexAdd(Function):
    """y = zeros(shape) with x added at idx;  dx = g[idx]   (the backward of indexing)"""
    array_backward = True

    @staticmethod
    def forward(ctx, x, shape, idx):
        ctx.idx = idx
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic_index(idx):
            out[idx] = x  # a basic index selects every position at most once
        else:
            np.add.at(out, idx, x)
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.idx], None, None


class Concatenate(Function):
    """y = concatenate(xs, axis);  dx_i = the slice of g where x_i sits"""
    array_backward = True

    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.concatenate(xs, axis=axis)
        ctx.axis = axis % out.ndim
        ctx.bounds = np.cumsum([0] + [np.shape(x)[ctx.axis] for x in xs])
        return out

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (slice(lo, hi),)] if need else None
                     for lo, hi, need in zip(ctx.bounds[:-1], ctx.bounds[1:],
                                             ctx.needs_input_grad))


class Stack(Function):
    """y = stack(xs, axis);  dx_i = g taken at position i along axis"""
    array_backward = True

    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.stack(xs, axis=axis)
        ctx.axis = axis % out.ndim
        return out

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


class SumOfSquares(Function):
    """y = scale/2 * sum_k sum(x_k**2);  dx_k = g * scale * x_k

    An L2 penalty over any number of weight tensors as one node: one pass over each
    forward (a dot product) and one backward, where (w * w).sum() per tensor and the
    additions between them are a node each (W8: the MLP's penalty, 8 of its 14 ops).
    """
    array_backward = True

    @staticmethod
    def forward(ctx, *xs, scale=1.0):
        ctx.save_for_backward(*xs)
        ctx.scale = scale
        return np.asarray(0.5 * scale * sum(np.vdot(x, x) for x in xs))

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        return tuple(g * ctx.scale * x if need else None
                     for x, need in zip(xs, ctx.needs_input_grad))


class Einsum(Function):
    """y = einsum(spec, xs);  dx_i = einsum of g with the other inputs, into x_i's indices"""

    @staticmethod
    def forward(ctx, *xs, spec):
        ctx.ins, ctx.out = _einsum_spec(spec, xs)
        ctx.shapes = [x.shape for x in xs]
        ctx.save_for_backward(*xs)
        return np.einsum(spec, *xs, optimize=True)

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [j for j in range(len(xs)) if j != i]
            present = set(ctx.out).union(*(ctx.ins[j] for j in others))
            target = ctx.ins[i]
            kept = "".join(c for c in target if c in present)  # indices only x_i had: summed
            spec = ",".join([ctx.out] + [ctx.ins[j] for j in others]) + "->" + kept
            gi = Einsum.apply(g, *[xs[j] for j in others], spec=spec)
            if kept != target:  # broadcast back over the indices summed in forward
                gi = gi.reshape(*[ctx.shapes[i][k] if c in present else 1
                                  for k, c in enumerate(target)]).expand(ctx.shapes[i])
            grads.append(gi)
        return tuple(grads)


def _einsum_spec(spec, xs):
    """(input index strings, output index string) of an explicit or implicit einsum spec."""
    if not isinstance(spec, str):
        raise ShapeError(f"einsum: the subscripts must be a string such as 'ij,jk->ik', got "
                         f"{spec!r}")
    spec = spec.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    if "." in spec:
        raise ShapeError(f"einsum: '...' is not supported in {spec!r}: name every index")
    if len(ins) != len(xs):
        raise ShapeError(f"einsum: {spec!r} names {len(ins)} operand(s), got {len(xs)}")
    for sub, x in zip(ins, xs):
        if len(set(sub)) != len(sub):
            raise ShapeError(f"einsum: an index repeated within one operand ({sub!r} in "
                             f"{spec!r}, a diagonal) is not supported; use tg.trace or indexing")
        if len(sub) != np.ndim(x):
            raise ShapeError(f"einsum: {sub!r} names {len(sub)} axes for an operand of shape "
                             f"{np.shape(x)}")
    if not arrow:  # implicit: the indices that appear once, in alphabetical order
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return ins, out


# ------------------------------------------------------------------------------ matmul
class MatMul(Function):
    """y = a @ b (numpy's rules);  da = g @ b^T,  db = a^T @ g   (batch axes summed)"""
    array_backward = True
    backward_array = staticmethod(kernels.matmul_backward)  # BLAS for broadcast operands

    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ShapeError(f"MatMul: both operands need at least 1 dimension, "
                             f"got shapes {np.shape(a)} and {np.shape(b)}")
        ctx.save_for_backward(a, b)
        try:
            return kernels.matmul(a, b)
        except ValueError:
            raise ShapeError(f"MatMul: cannot multiply shapes {a.shape} and {b.shape}: "
                             f"the last axis of the first ({a.shape[-1]}) must equal the "
                             f"{'only' if b.ndim == 1 else 'second-to-last'} axis of the "
                             f"second ({b.shape[0] if b.ndim == 1 else b.shape[-2]})") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _product_grads(a, b, g, *ctx.needs_input_grad)


def _product_grads(a, b, g, need_a, need_b):
    """da = g @ b^T, db = a^T @ g of y = a @ b, in Tensor ops."""
    a2, b2, g = kernels.as_matrices(a, b, g)  # 1-D operands get a unit axis
    da = g @ b2.mT if need_a else None
    db = a2.mT @ g if need_b else None
    return da, (db.reshape(db.shape[:-1]) if db is not None and b.ndim == 1 else db)


class Affine(Function):
    """y = x @ w + b;  dx = g @ w^T,  dw = x^T @ g,  db = g   (summed over the rows b was added to)

    nn.Linear's op: the product and the bias in one node, the bias added into the new
    product in place (one array and one op fewer per layer than x @ w + b: W8).
    """
    array_backward = True
    backward_array = staticmethod(kernels.affine_backward)

    @staticmethod
    def forward(ctx, x, w, b):
        if getattr(w, "ndim", 0) != 2:
            raise ShapeError(f"Affine: the weight must be a matrix (in, out), got shape "
                             f"{np.shape(w)}")
        y = MatMul.forward(ctx, x, w)  # (saves x and w)
        if (y.__class__ is np.ndarray and b.__class__ is np.ndarray and b.dtype == y.dtype
                and b.ndim <= y.ndim and y.shape[y.ndim - b.ndim:] == b.shape):
            return np.add(y, b, out=y)
        out = y + b
        if out.shape != y.shape:  # (the product's gradients take g of the product's shape)
            raise ShapeError(f"Affine: a bias of shape {np.shape(b)} would broadcast the "
                             f"product of shape {y.shape} to {out.shape}")
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        return (*_product_grads(x, w, g, need_x, need_w), g if need_b else None)

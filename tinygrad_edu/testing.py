"""Check gradients by finite differences, and hypothesis strategies to drive the checks.

    >>> import tinygrad_edu as tg
    >>> x = tg.Tensor([0.3, -1.2], requires_grad=True)
    >>> tg.testing.gradcheck(lambda t: (t * t).sigmoid(), x)
    True

``gradcheck`` draws a random upstream gradient u, computes the analytic gradient of
sum(f(x) * u) with ``backward`` and compares it, element by element, with the central
difference (F(x + eps) - F(x - eps)) / (2 eps) in float64. ``gradgradcheck`` does the
same for the gradient itself (second derivatives, through ``create_graph=True``).
The strategies need hypothesis (``pip install tinygrad_edu[test]``).
"""
from __future__ import annotations

import numpy as np

from .engine import gradients
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree (names the input and the element)."""


def _as_inputs(inputs):
    out = []
    for i, x in enumerate(inputs):
        t = x if isinstance(x, Tensor) else Tensor(x, requires_grad=True)
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {t.dtype}; finite differences "
                            "need float64 (float32 rounding swamps the difference)")
        if not t.requires_grad:
            t = Tensor(t.data, requires_grad=True)
        out.append(t)
    return out


def _outputs(f, xs):
    out = f(*xs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _weighted_sum(outs, us):
    """sum_k <out_k, u_k> as a Tensor (outputs that carry no graph count as constants)."""
    total = None
    for o, u in zip(outs, us):
        term = (o * u).sum()
        total = term if total is None else total + term
    return total


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=None, raise_exception=True):
    """Compare ``backward`` with central finite differences for ``f(*inputs)``.

    ``f`` returns a Tensor (or a tuple of Tensors) of any shape. The upstream gradient is
    random (uniform gradients hide transposition and broadcasting mistakes). An element
    passes when |analytic - numeric| <= atol + rtol * |numeric|. Returns True, or raises
    `GradcheckError` naming the input, the worst element and both values.
    """
    rng = np.random.default_rng(seed)
    xs = _as_inputs(inputs)
    outs = _outputs(f, xs)
    us = [rng.standard_normal(np.shape(o.data)) for o in outs]
    total = _weighted_sum(outs, us)
    analytic = gradients(total, xs)

    def scalar(x_arrays):
        ts = [Tensor._make(a).requires_grad_() for a in x_arrays]
        return sum(float(np.sum(o.data * u)) for o, u in zip(_outputs(f, ts), us))

    arrays = [x.data.copy() for x in xs]
    for i, x in enumerate(arrays):
        numeric = np.zeros_like(x)
        flat, nflat = x.reshape(-1), numeric.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = scalar(arrays)
            flat[j] = orig - eps
            minus = scalar(arrays)
            flat[j] = orig
            nflat[j] = (plus - minus) / (2 * eps)
        a = analytic[i].data
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~(err <= 0)  # NaN counts as a failure
        if bad.any():
            if not raise_exception:
                return False
            k = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -np.inf)),
                                 x.shape) if x.ndim else ()
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}): gradients differ at index {k}: "
                f"backward gives {a[k]!r}, finite differences give {numeric[k]!r} "
                f"({int(bad.sum())} of {x.size} elements out of tolerance "
                f"atol={atol}, rtol={rtol})")
    return True


def gradgradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=None, raise_exception=True):
    """Check second derivatives: gradcheck of x -> d<f(x), u>/dx with a fixed random u."""
    rng = np.random.default_rng(seed)
    xs = _as_inputs(inputs)
    us = [rng.standard_normal(np.shape(o.data)) for o in _outputs(f, xs)]

    def first_derivative(*ts):
        return gradients(_weighted_sum(_outputs(f, ts), us), ts, create_graph=True)

    return gradcheck(first_derivative, *xs, eps=eps, atol=atol, rtol=rtol,
                     seed=None if seed is None else seed + 1, raise_exception=raise_exception)


# ------------------------------------------------------------------ hypothesis strategies
def arrays(shape, low=-3.0, high=3.0, avoid=(), min_distance=1e-2, dtype=np.float64):
    """Strategy: float arrays of ``shape`` with elements in [low, high].

    ``avoid`` lists points (kinks such as 0 for relu and abs) that every element stays
    at least ``min_distance`` away from, so finite differences never straddle them.
    """
    import hypothesis.strategies as st
    from hypothesis.extra import numpy as hnp

    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if avoid:
        elements = elements.filter(lambda v: all(abs(v - p) >= min_distance for p in avoid))
    return hnp.arrays(dtype, shape, elements=elements)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """Strategy: a tuple of ``num_shapes`` shapes that broadcast together (numpy's rules)."""
    from hypothesis.extra import numpy as hnp

    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda r: r.input_shapes)


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Strategy: one array shape."""
    from hypothesis.extra import numpy as hnp

    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def distinct(values, min_gap=1e-3):
    """True when all values differ by at least ``min_gap`` (use with hypothesis.assume
    to keep max/min away from ties)."""
    v = np.sort(np.ravel(values))
    return v.size < 2 or bool(np.min(np.diff(v)) >= min_gap)

"""Factories, PyTorch's and numpy's: zeros, ones, full, eye, arange, linspace, rand, randn
and the *_like forms. Each takes ``dtype=`` (float64 by default) and ``requires_grad=``;
the random ones draw from the package's generator (tg.manual_seed) unless given a
``random_state``.

    w = tg.randn(3, 2, requires_grad=True)     # N(0, 1), shape (3, 2)
    b = tg.zeros_like(w[0])
"""
from __future__ import annotations

import numpy as np

from .errors import ShapeError
from .random import rng
from .tensor import Tensor, _shape_args


def _make(array, dtype, requires_grad):
    return Tensor(array, requires_grad=requires_grad, dtype=np.float64 if dtype is None else dtype)


def _shape(shape, op):
    shape = _shape_args(shape, op)
    if any(s < 0 for s in shape):
        raise ShapeError(f"{op}: sizes must be >= 0, got {shape}")
    return shape


def zeros(*shape, requires_grad=False, dtype=None):
    return _make(np.zeros(_shape(shape, "zeros")), dtype, requires_grad)


def ones(*shape, requires_grad=False, dtype=None):
    return _make(np.ones(_shape(shape, "ones")), dtype, requires_grad)


def full(shape, fill_value, requires_grad=False, dtype=None):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _make(np.full(_shape(shape, "full"), fill_value), dtype, requires_grad)


def eye(n, m=None, requires_grad=False, dtype=None):
    """The identity matrix (n x m, m = n by default)."""
    n, m = _shape((n, n if m is None else m), "eye")
    return _make(np.eye(n, m), dtype, requires_grad)


def arange(start, stop=None, step=1, requires_grad=False, dtype=None):
    """numpy's arange: [start, stop) by step (arange(n) is 0 .. n-1)."""
    return _make(np.arange(start, stop, step) if stop is not None else np.arange(start),
                 dtype, requires_grad)


def linspace(start, stop, num=50, requires_grad=False, dtype=None):
    """``num`` evenly spaced values from start to stop, both included."""
    return _make(np.linspace(start, stop, _shape((num,), "linspace")[0]), dtype, requires_grad)


def rand(*shape, requires_grad=False, dtype=None, random_state=None):
    """Uniform on [0, 1)."""
    return _make(rng(random_state).random(_shape(shape, "rand")), dtype, requires_grad)


def randn(*shape, requires_grad=False, dtype=None, random_state=None):
    """Standard normal N(0, 1)."""
    return _make(rng(random_state).standard_normal(_shape(shape, "randn")), dtype,
                 requires_grad)


def _like(t, dtype):
    t = t if isinstance(t, Tensor) else Tensor(t)
    return t.shape, t.dtype if dtype is None else dtype


def zeros_like(t, requires_grad=False, dtype=None):
    shape, dtype = _like(t, dtype)
    return zeros(shape, requires_grad=requires_grad, dtype=dtype)


def ones_like(t, requires_grad=False, dtype=None):
    shape, dtype = _like(t, dtype)
    return ones(shape, requires_grad=requires_grad, dtype=dtype)


def randn_like(t, requires_grad=False, dtype=None, random_state=None):
    shape, dtype = _like(t, dtype)
    return randn(shape, requires_grad=requires_grad, dtype=dtype, random_state=random_state)


def rand_like(t, requires_grad=False, dtype=None, random_state=None):
    shape, dtype = _like(t, dtype)
    return rand(shape, requires_grad=requires_grad, dtype=dtype, random_state=random_state)


__all__ = ["arange", "eye", "full", "linspace", "ones", "ones_like", "rand", "rand_like",
           "randn", "randn_like", "zeros", "zeros_like"]

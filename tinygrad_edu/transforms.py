"""Function transforms: grad, value_and_grad, jacobian, hessian and hvp.

``tg.grad(f)`` is the function computing df/dx, written on top of ``gradients``; since
the gradients inside a transform keep their graph, transforms compose:
``tg.grad(tg.grad(f))`` is the second derivative, ``hessian = jacobian(grad(f))``.
"""
from __future__ import annotations

import functools

import numpy as np

from .engine import gradients
from .errors import GradientError
from .modes import enable_grad, state
from .tensor import Tensor, stack


def _argnums_tuple(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _trace(f, args, kwargs, nums):
    """Call f with args[nums] made differentiable; inner transforms keep their graphs."""
    args = list(args)
    for i in nums:
        if not (isinstance(args[i], Tensor) and args[i].requires_grad):
            args[i] = Tensor(args[i], requires_grad=True)
    state.transform_depth += 1
    try:
        with enable_grad():
            return args, f(*args, **kwargs)
    finally:
        state.transform_depth -= 1


def value_and_grad(f, argnums=0):
    """Transform ``f`` into a function returning ``(f(*args), df/d args[argnums])``.

    ``f`` must return a one-element Tensor. The gradients are returned, never
    stored in ``.grad``; they carry a graph when the call itself is recorded, so
    ``grad(grad(f))`` gives second derivatives.
    """
    nums = _argnums_tuple(argnums)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        args, out = _trace(f, args, kwargs, nums)
        if not isinstance(out, Tensor) or out.size != 1:
            shape = getattr(out, "shape", type(out).__name__)
            raise GradientError(f"grad: f must return a one-element Tensor, got shape {shape}; "
                                "for a vector output use tg.jacobian(f)")
        grads = gradients(out, [args[i] for i in nums], create_graph=state.transform_depth > 0)
        if state.transform_depth == 0:
            out = out.detach()  # the caller gets a value, not the graph that made it
        return out, (grads[0] if isinstance(argnums, int) else grads)

    return wrapped


def grad(f, argnums=0):
    """Transform ``f`` into the function computing its gradient (see value_and_grad)."""
    vg = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return wrapped


def jacobian(f, argnums=0):
    """Transform ``f`` into the function giving its Jacobian d f(x)_i / d x_j.

    The result has shape ``f(x).shape + x.shape``; it costs one backward pass per
    output element, so it is meant for small problems. ``hessian(f) = jacobian(grad(f))``.
    """

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        args, out = _trace(f, args, kwargs, (argnums,))
        a = args[argnums]
        keep = state.transform_depth > 0
        flat = out.reshape(-1)
        rows = [gradients(flat[i], [a], create_graph=keep)[0] for i in range(flat.shape[0])]
        return stack(rows).reshape(*out.shape, *a.shape)

    return wrapped


def hessian(f, argnums=0):
    """Transform a scalar ``f`` into the function giving its Hessian (small inputs)."""
    return jacobian(grad(f, argnums), argnums)


def hvp(f, x, v):
    """Hessian-vector product H(x) @ v of a scalar ``f``, without forming the Hessian.

    Two backward passes: g = df/dx with its graph kept, then d(g . v)/dx.
    """
    x = x if isinstance(x, Tensor) and x.requires_grad else Tensor(x, requires_grad=True)
    v = v.data if isinstance(v, Tensor) else np.asarray(v, dtype=x.dtype)
    with enable_grad():
        g, = gradients(f(x), [x], create_graph=True)
        if not g.requires_grad:  # f is linear in x: the Hessian is 0
            return Tensor._make(np.zeros(x.shape, dtype=x.dtype))
        return gradients((g * v).sum(), [x], create_graph=state.transform_depth > 0)[0]


__all__ = ["grad", "hessian", "hvp", "jacobian", "value_and_grad"]

"""Optimizers: gradient descent and friends, and scipy's L-BFGS and conjugate gradient.

Every update goes through the public in-place API under ``no_grad`` (``p.sub_``,
``p.copy_``), which bumps the parameter's version, so that a stale graph cannot silently
use the new values.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import ArgumentError, DTypeError, GradientError
from .modes import no_grad
from .tensor import Tensor


class Optimizer:
    """Holds a list of parameters; ``zero_grad()`` clears, ``step()`` updates.

    ``params`` is an iterable of leaf Tensors (``model.parameters()``), each once. The
    hyperparameters are checked here, with errors that name the optimizer and the
    argument: a learning rate must be a finite number >= 0, and so on.
    """

    def __init__(self, params, **defaults):
        name = type(self).__name__
        if isinstance(params, (Tensor, np.ndarray)) or not hasattr(params, "__iter__"):
            raise DTypeError(f"{name}: params must be an iterable of Tensors such as "
                             f"model.parameters(), got a {type(params).__name__}"
                             + (f"; for one tensor write {name}([t], ...)"
                                if isinstance(params, Tensor) else ""))
        self.params = list(params)
        if not self.params:
            raise ArgumentError(f"{name}: got an empty parameter list")
        seen = {}
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise DTypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ArgumentError(
                    f"{name}: parameter {i} (shape {p.shape}) was made by an op "
                    f"({type(p.grad_fn).__name__}), not a leaf: its .grad is never kept, so "
                    "it would never be updated; optimize the leaf tensors it came from")
            if id(p) in seen:
                raise ArgumentError(f"{name}: parameters {seen[id(p)]} and {i} are the same "
                                    "tensor: it would be stepped twice per step")
            seen[id(p)] = i
        for k, v in defaults.items():
            _check_hyper(name, k, v)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def _grads(self):
        """(index, param, gradient array) for every parameter that has a gradient."""
        for i, p in enumerate(self.params):
            if p.grad is not None:
                yield i, p, p.grad.data

    def step(self):
        raise NotImplementedError


def _check_hyper(name, key, value):
    """A hyperparameter: a real number, finite and >= 0 (betas: each in [0, 1))."""
    if key == "betas":
        if (not isinstance(value, (tuple, list)) or len(value) != 2
                or not all(_is_real(b) and 0 <= b < 1 for b in value)):
            raise ArgumentError(f"{name}: betas must be two numbers in [0, 1), got {value!r}")
        return
    if not _is_real(value):
        raise DTypeError(f"{name}: {key} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ArgumentError(f"{name}: {key} must be a finite number >= 0, got {value!r}")


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


class SGD(Optimizer):
    """Gradient descent: w <- w - lr * g.

    With momentum m: v <- m v + g; w <- w - lr v (nesterov: w <- w - lr (g + m v)).
    ``weight_decay`` adds wd * w to g (an L2 penalty of wd/2 |w|^2).
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum <= 0:
            raise ArgumentError("SGD: nesterov needs momentum > 0")
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.weight_decay = weight_decay

    @no_grad()
    def step(self):
        for i, p, g in self._grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                v = self.state[i].get("v")
                v = g.copy() if v is None else np.add(self.momentum * v, g, out=v)
                self.state[i]["v"] = v
                g = g + self.momentum * v if self.nesterov else v
            p.sub_(self.lr * g)  # in place; bumps the version: a stale graph refuses to run


class Adam(Optimizer):
    """Adam: running means of g and g^2, bias-corrected; w <- w - lr m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay

    @no_grad()
    def step(self):
        b1, b2 = self.betas
        for i, p, g in self._grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            s = self.state[i]
            if not s:  # each parameter counts its own steps (its first gradient may come late)
                s["t"], s["m"], s["v"] = 0, np.zeros_like(p.data), np.zeros_like(p.data)
            s["t"] += 1
            s["m"] = b1 * s["m"] + (1 - b1) * g
            s["v"] = b2 * s["v"] + (1 - b2) * (g * g)
            m_hat = s["m"] / (1 - b1 ** s["t"])
            v_hat = s["v"] / (1 - b2 ** s["t"])
            p.sub_(self.lr * m_hat / (np.sqrt(v_hat) + self.eps))


class ScipyOptimizer(Optimizer):
    """Second-order-style optimizers from ``scipy.optimize.minimize`` (L-BFGS-B, CG, BFGS).

    The parameters are flattened into one float64 vector; ``step(closure)`` runs the
    whole minimisation, calling ``closure()`` (which must zero the gradients, compute
    the loss, call ``backward()`` and return the loss) for every evaluation. Returns
    scipy's OptimizeResult (``.nit``, ``.success``, ``.message``, ``.fun``).
    """

    def __init__(self, params, method="L-BFGS-B", max_iter=100, tol=1e-7, options=None):
        super().__init__(params, max_iter=max_iter, tol=tol)
        try:
            import scipy.optimize  # noqa: F401
        except ImportError:
            raise ImportError(f"{type(self).__name__} needs scipy: pip install scipy "
                              "(or pip install 'tinygrad_edu[dev]')") from None
        self.method, self.max_iter, self.tol = method, max_iter, tol
        self.options = dict(options or {})
        self.result = None

    @no_grad()
    def _set(self, x):
        offset = 0
        for p in self.params:
            p.copy_(x[offset:offset + p.size].reshape(p.shape))
            offset += p.size

    def step(self, closure):
        from scipy.optimize import minimize

        def fun(x):
            self._set(x)
            loss = closure()
            grads = [np.zeros(p.size) if p.grad is None else p.grad.data.ravel()
                     for p in self.params]
            value = float(loss.item() if hasattr(loss, "item") else loss)
            if not np.isfinite(value):
                raise GradientError(f"{self.method}: the loss became {value}")
            return value, np.concatenate(grads).astype(np.float64)

        x0 = np.concatenate([p.data.ravel() for p in self.params]).astype(np.float64)
        self.result = minimize(fun, x0, jac=True, method=self.method, tol=self.tol,
                               options={"maxiter": self.max_iter, **self.options})
        self._set(self.result.x)
        return self.result


def LBFGS(params, max_iter=100, tol=1e-7, **options):
    """Limited-memory BFGS (scipy's L-BFGS-B): a quasi-Newton method, few iterations."""
    return ScipyOptimizer(params, "L-BFGS-B", max_iter, tol, options)


def ConjugateGradient(params, max_iter=100, tol=1e-7, **options):
    """Nonlinear conjugate gradient (scipy's CG): each direction conjugate to the last."""
    return ScipyOptimizer(params, "CG", max_iter, tol, options)


__all__ = ["Optimizer", "SGD", "Adam", "ScipyOptimizer", "LBFGS", "ConjugateGradient"]

"""Optimizers: gradient descent and friends, and scipy's L-BFGS and conjugate gradient.

An optimizer takes its parameters in either of PyTorch's spellings: an iterable of leaf
Tensors (``model.parameters()``), or a list of parameter groups, dicts with a ``"params"``
entry and any of the optimizer's options; what a group leaves out falls back to the
constructor's arguments::

    SGD([{"params": body.parameters()}, {"params": head.parameters(), "lr": 0.01}],
        lr=0.1, momentum=0.9)          # body: lr 0.1, head: lr 0.01; both momentum 0.9

``optimizer.param_groups`` holds those dicts with every option filled in. A change to one
(``group["lr"] = 0.01``, as the schedulers of ``optim.lr_scheduler`` make) takes effect
at the next ``step()``, which checks the options again. ``optimizer.params`` is the flat
list of parameters, group after group; ``optimizer.state`` one dict per parameter, in
that order; ``state_dict()`` / ``load_state_dict()`` save and restore both.

Every update goes through the public in-place API under ``no_grad`` (``p.sub_``,
``p.copy_``), which bumps the parameter's version, so that a stale graph cannot silently
use the new values.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import lr_scheduler
from .errors import ArgumentError, DTypeError, GradientError, ShapeError
from .modes import no_grad
from .tensor import Tensor


class _Required:
    """The default of an option without one (SGD's lr): the constructor or every group must
    give it."""

    def __repr__(self):
        return "required"


required = _Required()

# Besides its options, a group may carry a label of yours and the lr a scheduler started from.
_EXTRA_KEYS = ("name", "initial_lr")


class Optimizer:
    """Parameter groups, their options and each parameter's state; ``zero_grad()`` clears
    the gradients, ``step()`` updates.

    ``params``: an iterable of leaf Tensors (``model.parameters()``), each once, or a list
    of param-group dicts (see the module's docstring). ``defaults`` maps each option of the
    optimizer to the constructor's value. Options are checked here, per group too, and at
    every step, with errors that name the optimizer, the group and the option: a learning
    rate must be a finite number >= 0, betas two numbers in [0, 1), a flag True or False.
    """

    def __init__(self, params, defaults=None, **options):
        """``defaults``: a dict of options (PyTorch's form), or the options as keywords (the
        form of earlier versions); both together are merged."""
        name = type(self).__name__
        self.defaults = {**dict(defaults or {}), **options}
        self._check({k: v for k, v in self.defaults.items() if v is not required}, name)
        self.param_groups, self.params, self.state = [], [], []
        self._checked = None  # the options as last checked, to check them again if changed
        for group in _as_groups(name, params):
            self.add_param_group(group)
        if not self.params:
            raise ArgumentError(f"{name}: got an empty parameter list")

    def add_param_group(self, param_group):
        """Add a group: a dict with ``"params"`` and any options (the rest: the defaults)."""
        name, k = type(self).__name__, len(self.param_groups)
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise DTypeError(f"{name}: a param group is a dict with a 'params' entry, such as "
                             f"{{'params': model.parameters(), 'lr': 0.01}}; got {param_group!r}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else _param_list(name, params)
        seen = {id(p): i for i, p in enumerate(self.params)}
        for i, p in enumerate(params, start=len(self.params)):
            where = f"parameter {i}" + (f" (in param group {k})" if k else "")
            if not isinstance(p, Tensor):
                raise DTypeError(f"{name}: {where} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ArgumentError(
                    f"{name}: {where}, of shape {p.shape}, was made by an op "
                    f"({type(p.grad_fn).__name__}), not a leaf: its .grad is never kept, so "
                    "it would never be updated; optimize the leaf tensors it came from")
            if id(p) in seen:
                raise ArgumentError(f"{name}: parameters {seen[id(p)]} and {i} are the same "
                                    "tensor: it would be stepped twice per step")
            seen[id(p)] = i
        group = {"params": params, **self._options(param_group, k)}
        self.param_groups.append(group)
        self.params.extend(params)
        self.state.extend({} for _ in params)

    def _options(self, param_group, k):
        """Group ``k``'s options: its own, the defaults for the rest, all checked."""
        name = type(self).__name__
        where = f"{name} (param group {k})"
        for key in param_group:
            if key not in self.defaults and key not in ("params", *_EXTRA_KEYS):
                raise ArgumentError(f"{where}: unknown option {key!r}; the options of {name} "
                                    f"are {', '.join(self.defaults) or 'none'}")
        options = {key: v for key, v in param_group.items() if key != "params"}
        for key, default in self.defaults.items():
            options.setdefault(key, default)
            if options[key] is required:
                raise ArgumentError(f"{where}: {key} is required: write {name}(params, "
                                    f"{key}=...) or give every param group a {key!r}")
        self._check(options, where)
        return options

    def _check(self, options, where):
        """Each option in its domain (``where`` names the optimizer and group in errors); a
        subclass adds the rules that tie options together."""
        for key in self.defaults:
            if key in options:
                _check_hyper(where, key, options[key])

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def _grads(self):
        """(group, state, param, gradient array) for every parameter that has a gradient,
        group by group, once the options have been checked again if they were changed since
        the last step."""
        keys = tuple(self.defaults)
        snapshots = [tuple(map(group.get, keys)) for group in self.param_groups]
        if snapshots != self._checked:
            for k, group in enumerate(self.param_groups):
                self._check(group, f"{type(self).__name__} (param group {k})")
            self._checked = snapshots
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, self.state[i], p, p.grad.data
                i += 1

    def step(self):
        raise NotImplementedError

    def state_dict(self):
        """A copy of the groups' options and the state, in PyTorch's layout: ``{"state":
        {index: {name: value}}, "param_groups": [options, with "params" as indices]}``,
        an index being a position in ``optimizer.params``."""
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**group, "params": list(range(start, start + n))})
            start += n
        state = {i: {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                 for i, s in enumerate(self.state) if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` of an optimizer with groups of the same sizes, all or
        nothing: options are checked, state arrays must have their parameter's shape."""
        name = f"{type(self).__name__}.load_state_dict"
        saved = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in saved]
        own = [len(g["params"]) for g in self.param_groups]
        if sizes != own:
            raise ArgumentError(f"{name}: the saved param groups hold {sizes} parameters, "
                                f"this optimizer's hold {own}")
        options = [self._options(g, k) for k, g in enumerate(saved)]
        position = {index: i for i, index in enumerate(j for g in saved for j in g["params"])}
        state = [{} for _ in self.params]
        for index, entries in state_dict["state"].items():
            if index not in position:
                raise ArgumentError(f"{name}: state for parameter {index!r}, which no saved "
                                    "param group holds")
            i = position[index]
            p = self.params[i]
            for key, v in entries.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ShapeError(f"{name}: state {key!r} of parameter {i} has shape "
                                         f"{v.shape}, the parameter {p.shape}")
                    v = v.astype(p.dtype)  # a copy, in the parameter's dtype
                state[i][key] = v
        for group, opts in zip(self.param_groups, options):
            params = group["params"]
            group.clear()
            group.update(params=params, **opts)
        self.state[:] = state


def _as_groups(name, params):
    """The param-group dicts that ``params`` spells: a plain iterable of Tensors is one."""
    if isinstance(params, dict):
        raise DTypeError(f"{name}: params is one dict; param groups are a list of dicts: "
                         f"{name}([{{'params': ...}}, ...], ...)")
    items = _param_list(name, params)
    if not any(isinstance(item, dict) for item in items):
        return [{"params": items}]
    if not all(isinstance(item, dict) for item in items):
        raise DTypeError(f"{name}: params mixes param groups (dicts) with tensors: put every "
                         "tensor in a group")
    return items


def _param_list(name, params):
    if isinstance(params, (Tensor, np.ndarray)) or not hasattr(params, "__iter__"):
        raise DTypeError(f"{name}: params must be an iterable of Tensors such as "
                         f"model.parameters(), got a {type(params).__name__}"
                         + (f"; for one tensor write {name}([t], ...)"
                            if isinstance(params, Tensor) else ""))
    return list(params)


_FLAGS = ("nesterov", "centered")


def _check_hyper(name, key, value):
    """A hyperparameter: a real number, finite and >= 0; betas: two numbers in [0, 1);
    alpha: in [0, 1]; the flags nesterov and centered: True or False."""
    if key == "betas":
        if (not isinstance(value, (tuple, list)) or len(value) != 2
                or not all(_is_real(b) and 0 <= b < 1 for b in value)):
            raise ArgumentError(f"{name}: betas must be two numbers in [0, 1), got {value!r}")
        return
    if key in _FLAGS:
        if not isinstance(value, (bool, np.bool_)):
            raise DTypeError(f"{name}: {key} must be True or False, got {value!r}")
        return
    if not _is_real(value):
        raise DTypeError(f"{name}: {key} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ArgumentError(f"{name}: {key} must be a finite number >= 0, got {value!r}")
    if key == "alpha" and value > 1:
        raise ArgumentError(f"{name}: alpha must be in [0, 1], got {value!r}")


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


class SGD(Optimizer):
    """Gradient descent: w <- w - lr g.

    ``weight_decay`` wd adds wd w to g (the gradient of an L2 penalty wd/2 |w|^2). With
    momentum mu, a velocity b replaces g (b_1 = g, then b_t = mu b_(t-1) + g):
    w <- w - lr b; nesterov looks ahead: w <- w - lr (g + mu b). PyTorch's SGD (its
    dampening 0). ``lr`` may be left to the param groups, if every one gives it.
    """

    def __init__(self, params, lr=required, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _check(self, options, where):
        super()._check(options, where)
        if options.get("nesterov") and not options.get("momentum", 0) > 0:
            raise ArgumentError(f"{where}: nesterov needs momentum > 0")

    @no_grad()
    def step(self):
        for group, s, p, g in self._grads():
            mu, wd = group["momentum"], group["weight_decay"]
            if wd:
                g = g + wd * p.data
            if mu:
                b = s.get("momentum_buffer")
                if b is None:  # (an array even for a 0-d parameter: updated in place below)
                    s["momentum_buffer"] = b = np.array(g)
                else:  # b <- mu b + g, in place
                    b *= mu
                    b += g
                g = g + mu * b if group["nesterov"] else b
            p.add_(g, alpha=-group["lr"])  # in place; the version bump stops a stale graph


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): running means of g and g^2, corrected for starting at 0.

        g <- g + wd w                         (weight_decay wd: an L2 penalty)
        m <- b1 m + (1 - b1) g                v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)                v_hat = v / (1 - b2^t)
        w <- w - lr m_hat / (sqrt(v_hat) + eps)

    m and v start at 0; t counts this parameter's own steps (its first gradient may come
    late). AdamW, below, leaves g alone and lets wd shrink w instead.
    """

    _decoupled = False  # AdamW: the decay acts on w, not through g

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @no_grad()
    def step(self):
        for group, s, p, g in self._grads():
            (b1, b2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
            if wd and not self._decoupled:
                g = g + wd * p.data
            if not s:
                zeros = np.zeros_like(p.data)
                s["step"], s["exp_avg"], s["exp_avg_sq"] = 0, zeros, zeros.copy()
            s["step"] += 1
            s["exp_avg"] = b1 * s["exp_avg"] + (1 - b1) * g
            s["exp_avg_sq"] = b2 * s["exp_avg_sq"] + (1 - b2) * (g * g)
            m_hat = s["exp_avg"] / (1 - b1 ** s["step"])
            v_hat = s["exp_avg_sq"] / (1 - b2 ** s["step"])
            update = lr * m_hat / (np.sqrt(v_hat) + group["eps"])
            if wd and self._decoupled:
                update = update + (lr * wd) * p.data
            p.sub_(update)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's AdamW.

        w <- w - lr wd w                      (the decay, on w itself: not in m or v)
        m <- b1 m + (1 - b1) g                v <- b2 v + (1 - b2) g^2
        w <- w - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

    Through Adam's g the decay would be divided by sqrt(v_hat), weakest where gradients are
    large; here every weight shrinks by the same factor 1 - lr wd per step.
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): divide g by a running root mean square of recent gradients.

        g <- g + wd w                         (weight_decay wd: an L2 penalty)
        v <- alpha v + (1 - alpha) g^2
        centered:  a <- alpha a + (1 - alpha) g;  v~ = v - a^2   (a variance), else v~ = v
        d = g / (sqrt(v~) + eps)
        momentum mu:  b <- mu b + d;  w <- w - lr b         (else w <- w - lr d)

    v, a and b start at 0. PyTorch's RMSprop.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    @no_grad()
    def step(self):
        for group, s, p, g in self._grads():
            alpha, mu, wd = group["alpha"], group["momentum"], group["weight_decay"]
            if wd:
                g = g + wd * p.data
            if "square_avg" not in s:
                s["step"], s["square_avg"] = 0, np.zeros_like(p.data)
            s["step"] += 1
            s["square_avg"] = alpha * s["square_avg"] + (1 - alpha) * (g * g)
            v = s["square_avg"]
            if group["centered"]:
                s["grad_avg"] = alpha * s.get("grad_avg", 0) + (1 - alpha) * g
                v = v - s["grad_avg"] * s["grad_avg"]
            d = g / (np.sqrt(v) + group["eps"])
            if mu:
                d = s["momentum_buffer"] = mu * s.get("momentum_buffer", 0) + d
            p.sub_(group["lr"] * d)


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011): each weight's step shrinks with the sum of
    its squared gradients so far.

        lr_t = lr / (1 + (t - 1) lr_decay)
        g <- g + wd w                         (weight_decay wd: an L2 penalty)
        s <- s + g^2                          (s starts at initial_accumulator_value)
        w <- w - lr_t g / (sqrt(s) + eps)

    t counts this parameter's own steps. PyTorch's Adagrad.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))

    @no_grad()
    def step(self):
        for group, s, p, g in self._grads():
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.data
            if not s:
                s["step"] = 0
                s["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
            s["step"] += 1
            s["sum"] = s["sum"] + g * g
            lr = group["lr"] / (1 + (s["step"] - 1) * group["lr_decay"])
            p.sub_(lr * g / (np.sqrt(s["sum"]) + group["eps"]))
class ScipyOptimizer(Optimizer):
    """Second-order-style optimizers from ``scipy.optimize.minimize`` (L-BFGS-B, CG, BFGS).

    The parameters are flattened into one float64 vector; ``step(closure)`` runs the
    whole minimisation, calling ``closure()`` (which must zero the gradients, compute
    the loss, call ``backward()`` and return the loss) for every evaluation. Returns
    scipy's OptimizeResult (``.nit``, ``.success``, ``.message``, ``.fun``).
    """

    def __init__(self, params, method="L-BFGS-B", max_iter=100, tol=1e-7, options=None):
        super().__init__(params, {})  # no per-group options: one minimisation of them all
        for key, value in (("max_iter", max_iter), ("tol", tol)):
            _check_hyper(type(self).__name__, key, value)
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


__all__ = ["Optimizer", "required", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "ScipyOptimizer", "LBFGS", "ConjugateGradient", "lr_scheduler"]

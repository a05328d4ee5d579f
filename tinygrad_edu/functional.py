"""Activations and losses with numerically stable formulas.

Each loss takes ``reduction`` in {'mean', 'sum', 'none'}. Shapes must match exactly
where a silent broadcast would give a wrong number (an (n, 1) prediction against an
(n,) target would otherwise average n*n differences).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import ops
from .errors import ArgumentError, DTypeError, ShapeError
from .tensor import Tensor


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def sigmoid(x): return _t(x).sigmoid()
def tanh(x): return _t(x).tanh()
def relu(x): return _t(x).relu()
def softplus(x): return _t(x).softplus()
def softmax(x, axis=-1): return _t(x).softmax(axis)
def log_softmax(x, axis=-1): return _t(x).log_softmax(axis)
def logsumexp(x, axis=None, keepdims=False): return _t(x).logsumexp(axis, keepdims)


def _check_reduction(reduction, name):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction, name):
    _check_reduction(reduction, name)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _same_shape(name, input, target):
    if input.shape != target.shape:
        raise ShapeError(f"{name}: input of shape {input.shape} and target of shape "
                         f"{target.shape} must have the same shape")


def mse_loss(input, target, reduction="mean"):
    """Squared error: L = mean((input - target)**2)  (Gaussian noise -> linear regression)."""
    input, target = _t(input), _t(target)
    _same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def binary_cross_entropy(input, target, reduction="mean"):
    """L = -(t log p + (1 - t) log(1 - p)) for probabilities p = input in [0, 1].

    As in PyTorch, each log is taken as at least -100: p = 0 or 1 gives a large finite
    loss (and a large, nonzero gradient) instead of inf, in every float dtype. A p
    outside [0, 1] is an error. Prefer binary_cross_entropy_with_logits, exact for any
    logit.
    """
    p, t = _t(input), _t(target)
    _same_shape("binary_cross_entropy", p, t)
    _check_reduction(reduction, "binary_cross_entropy")
    outside = (p.data < 0) | (p.data > 1)
    if outside.any():
        raise ArgumentError(f"binary_cross_entropy: probabilities must lie in [0, 1], got "
                            f"{p.data[outside].flat[0]!r} (for logits use "
                            "binary_cross_entropy_with_logits)")
    return ops.BinaryCrossEntropy.apply(p, t, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """L = -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) = softplus(x) - t x.

    Exact for any logit x (finite at x = +-1000); dL/dx = sigmoid(x) - t.
    """
    x, t = _t(input), _t(target)
    _same_shape("binary_cross_entropy_with_logits", x, t)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    return ops.BinaryCrossEntropyWithLogits.apply(x, t, reduction=reduction)


def l2_penalty(tensors, alpha=1.0):
    """P = alpha/2 * sum_k |w_k|^2 over the tensors (an L2 penalty, weight decay's loss);
    dP/dw_k = alpha w_k. One node for all of them (ops.SumOfSquares)."""
    ts = [_t(w) for w in tensors]
    if not ts:
        raise ArgumentError("l2_penalty: no tensors given")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        raise ArgumentError(f"l2_penalty: alpha must be a finite number, got {alpha!r}")
    return ops.SumOfSquares.apply(*ts, scale=float(alpha))


def _labels(target, n, num_classes, name):
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if labels.shape != (n,):
        raise ShapeError(f"{name}: for input of shape ({n}, {num_classes}) the integer labels "
                         f"must have shape ({n},), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise DTypeError(f"{name}: labels must be integers, got dtype {labels.dtype}"
                             + (" (None or NA among them?)" if labels.dtype.kind == "O" else ""))
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = (labels < 0) | (labels >= num_classes)
        raise ValueError(f"{name}: label {labels[bad][0]} is outside [0, {num_classes}) "
                         f"for logits with {num_classes} classes")
    return labels


def nll_loss(log_probs, target, reduction="mean", _name="nll_loss"):
    """L = -log_probs[i, target_i] for integer labels (log_probs of shape (N, C))."""
    log_probs = _t(log_probs)
    if log_probs.ndim != 2:
        raise ShapeError(f"{_name}: expected input of shape (N, C), got {log_probs.shape}")
    n, c = log_probs.shape
    labels = _labels(target, n, c, _name)
    return _reduce(-log_probs[np.arange(n), labels], reduction, _name)


def cross_entropy(input, target, reduction="mean"):
    """Softmax cross-entropy: L = -log softmax(x)[label] = logsumexp(x) - x[label].

    ``input`` holds logits of shape (N, C). ``target`` is N integer labels, or an (N, C)
    array of class probabilities (one-hot). Stable for any logits: [1000, 0, -1000]
    with label 1 gives loss 1000 and gradient softmax - onehot = [1, -1, 0].
    """
    x = _t(input)
    if x.ndim != 2:
        raise ShapeError(f"cross_entropy: expected logits of shape (N, C), got {x.shape}")
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.ndim == 2:
        _same_shape("cross_entropy", x, Tensor._make(t))
        return _reduce(-(x.log_softmax(axis=-1) * t).sum(axis=-1), reduction, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    n, c = x.shape
    return ops.CrossEntropy.apply(x, _labels(t, n, c, "cross_entropy"), reduction=reduction)


__all__ = ["sigmoid", "tanh", "relu", "softplus", "softmax", "log_softmax", "logsumexp",
           "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "nll_loss", "cross_entropy", "l2_penalty"]

"""Normalisation layers: BatchNorm1d, BatchNorm2d and LayerNorm, written in Tensor
operations (so that their gradients, of every order, come from the engine)."""
from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, ShapeError
from ..functional import _t
from ..modes import no_grad
from .module import Module, Parameter


def normalize(x, axes, eps):
    """x_hat = (x - mean) / sqrt(var + eps) over ``axes``, with the biased variance (the
    mean of the squared deviations); also returns the mean and the variance."""
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    return d / (var + eps).sqrt(), mean, var


def _check_eps(eps, name):
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ArgumentError(f"{name}: eps must be a positive number, got {eps!r}")


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (axis 1).

    In training mode mean and var are the batch's, over every axis but the channels'
    (the biased variance normalises, as PyTorch), and the running statistics move
    towards them: running = (1 - momentum) running + momentum batch, with the unbiased
    variance (n / (n - 1) var) for running_var. In evaluation mode (``eval()``) the
    running statistics normalise. They are buffers: plain numpy arrays, updated under
    no_grad from the batch statistics' arrays, so a step's graph never outlives the
    step through them; state_dict() saves them.
    """

    dims = ()  # the input ranks the layer takes

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float64):
        name = f"{type(self).__name__}({num_features})"
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ArgumentError(f"{name}: num_features must be a positive integer")
        _check_eps(eps, name)
        if not 0.0 <= momentum <= 1.0:
            raise ArgumentError(f"{name}: momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))

    def forward(self, x):
        x = _t(x)
        c = self.num_features
        if x.ndim not in self.dims or x.shape[1] != c:
            want = " or ".join(f"{d}-D" for d in self.dims)
            raise ShapeError(f"{self!r}: expected a {want} input with {c} channels on "
                             f"axis 1, got shape {x.shape}")
        axes = (0, *range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)  # the per-channel arrays, broadcastable
        if self.training:
            n = x.size // c
            if n < 2:
                raise ShapeError(f"{self!r}: training needs more than one value per channel "
                                 f"to take a variance, got input of shape {x.shape}")
            x_hat, mean, var = normalize(x, axes, self.eps)
            with no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mean.data.reshape(c)
                self.running_var = ((1 - m) * self.running_var
                                    + m * var.data.reshape(c) * (n / (n - 1)))
        else:
            x_hat = ((x - self.running_mean.reshape(shape))
                     / np.sqrt(self.running_var.reshape(shape) + self.eps))
        if self.weight is None:
            return x_hat
        return x_hat * self.weight.reshape(shape) + self.bias.reshape(shape)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C."""

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) feature maps, per channel C."""

    dims = (4,)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last axes, the
    ``normalized_shape`` (an int or a tuple), for each sample on its own: the same in
    training and evaluation, no running statistics."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=np.float64):
        shape = ((normalized_shape,) if isinstance(normalized_shape, (int, np.integer))
                 else tuple(normalized_shape))
        name = f"LayerNorm({shape})"
        if not shape or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape):
            raise ArgumentError(f"{name}: normalized_shape must be positive integers")
        _check_eps(eps, name)
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), eps
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, x):
        x = _t(x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ShapeError(f"{self!r}: the last axes of an input of shape {x.shape} must "
                             f"be {self.normalized_shape}")
        x_hat = normalize(x, tuple(range(x.ndim - k, x.ndim)), self.eps)[0]
        return x_hat if self.weight is None else x_hat * self.weight + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"

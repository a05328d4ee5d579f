"""Linear, Sequential and the activation layers."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .init import INITS
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W + b, with W of shape (in_features, out_features) as in the lessons.

    Column j of W holds the incoming weights of unit j: z_j = sum_i x_i W_ij + b_j.
    ``init`` is 'xavier' (sigmoid, tanh), 'he' (relu) or 'normal'; ``random_state``
    seeds it (an int or a numpy Generator).
    """

    def __init__(self, in_features, out_features, bias=True, init="xavier",
                 random_state=None, dtype=np.float64):
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {sorted(INITS)}, got {init!r}")
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ArgumentError(f"Linear: {name} must be an integer >= 1, got {n!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(INITS[init](in_features, out_features, random_state,
                                            dtype=dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)  # lists and arrays, as the ops take them (DTypeError if not numbers)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"Linear({self.in_features}, {self.out_features}): input of "
                             f"shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features, "
                             "expected "
                             f"{self.in_features}")
        if self.bias is None:
            return x @ self.weight
        return ops.Affine.apply(x, self.weight, self.bias)  # x @ W + b, one node

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """Layers applied one after the other; ``model[i]`` is layer i."""

    def __init__(self, *layers):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, "
                                "not a Module")
            setattr(self, str(i), layer)

    @property
    def layers(self):
        return self.children()

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)): a logistic unit's output, read as a probability."""

    def forward(self, x):
        return x.sigmoid()


class Tanh(Module):
    """y = tanh(x) = 2 sigmoid(2x) - 1: a scaled sigmoid, centred on 0."""

    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x):
        return x.relu()


class Softmax(Module):
    """y_k = exp(x_k) / sum_j exp(x_j) along ``axis``: class probabilities."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        return x.softmax(self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """y = log softmax(x) along ``axis`` (stable)."""

    def forward(self, x):
        return x.log_softmax(self.axis)


class Identity(Module):
    """y = x."""

    def forward(self, x):
        return x

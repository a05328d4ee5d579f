"""tinygrad_edu: a small, exact autograd engine for learning how neural networks learn.

Read the engine in this order: reference.py (backpropagation in a page), ops.py (the op
table, each op its formula), function.py and tensor.py (the node and the array that
records it); engine.py and kernels.py hold the speed work, fenced and measured.
"""
# ruff: noqa: I001  (the order matters: tensor.py first, it closes the core's one cycle)
from .tensor import (Tensor, cat, concatenate, einsum, from_numpy, maximum, minimum, stack,
                     tensor, tensordot, where)
from .creation import (arange, eye, full, linspace, ones, ones_like, rand, rand_like, randn,
                       randn_like, zeros, zeros_like)
from .random import manual_seed
from .errors import AnomalyError, ArgumentError, DTypeError, GradientError, ShapeError
from .modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .function import Function
from .engine import gradients
from .transforms import grad, hessian, hvp, jacobian, value_and_grad
from . import autograd, reference  # the engine's one-module face; the engine to read
from . import functional, nn, optim, testing, viz  # (they build on the core)
from .io import load, save
from . import train, models
from . import exercises  # graded exercises, built on the whole package

__version__ = "0.1.0"

__all__ = ["AnomalyError", "ArgumentError", "DTypeError", "Function", "GradientError", "ShapeError",
           "Tensor", "arange", "autograd", "cat", "concatenate", "detect_anomaly", "einsum",
           "enable_grad", "exercises", "eye", "from_numpy", "full", "functional", "grad", "gradients",
           "hessian",
           "hvp", "is_grad_enabled", "jacobian", "linspace", "load", "manual_seed", "maximum",
           "minimum", "models", "nn", "no_grad", "ones", "ones_like", "optim", "rand", "rand_like",
           "randn", "randn_like", "reference", "save", "stack", "tensor", "tensordot", "testing",
           "train", "value_and_grad", "viz", "where", "zeros", "zeros_like"]

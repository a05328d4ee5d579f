"""The engine's public face, as one module (the import path of earlier versions).

The engine lives in rooms of its own, each importable directly:

    errors.py      ShapeError, DTypeError, GradientError, AnomalyError
    modes.py       no_grad, enable_grad, is_grad_enabled, detect_anomaly (per thread)
    function.py    Function: the op base class and graph node (vjp, saved_tensors)
    reference.py   the reference engine: toposort and a plain backward, to read first
    engine.py      the fast engine that loss.backward() runs; gradients()
    transforms.py  grad, value_and_grad, jacobian, hessian, hvp
    kernels.py     numpy-only array math: unbroadcast, stable formulas, speed kernels
"""
from .engine import backward, gradients
from .errors import AnomalyError, DTypeError, GradientError, ShapeError
from .function import Function
from .kernels import unbroadcast
from .modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .tensor import Tensor
from .transforms import grad, hessian, hvp, jacobian, value_and_grad

__all__ = [
           "AnomalyError",
           "DTypeError",
           "Function",
           "GradientError",
           "ShapeError",
           "Tensor",
           "backward",
           "detect_anomaly",
           "enable_grad",
           "grad",
           "gradients",
           "hessian",
           "hvp",
           "is_grad_enabled",
           "jacobian",
           "no_grad",
           "unbroadcast",
           "value_and_grad",
]

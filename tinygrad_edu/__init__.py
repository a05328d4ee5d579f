"""tinygrad_edu: a small, exact autograd engine for learning how neural networks learn."""
from .autograd import (AnomalyError, Function, GradientError, ShapeError, detect_anomaly,
                       enable_grad, grad, gradients, hessian, hvp, is_grad_enabled, jacobian,
                       no_grad, value_and_grad)
from .tensor import (DTypeError, Tensor, concatenate, maximum, minimum, ones, stack, tensor,
                     where, zeros)
from . import functional, nn, optim, testing, viz  # noqa: E402  (they build on the core)
from .io import load, save  # noqa: E402
from . import train, models  # noqa: E402

__version__ = "0.1.0"

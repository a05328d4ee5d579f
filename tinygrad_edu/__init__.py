"""tinygrad_edu: a small, exact autograd engine for learning how neural networks learn."""
from .autograd import (AnomalyError, Function, GradientError, ShapeError, detect_anomaly,
                       enable_grad, grad, gradients, is_grad_enabled, no_grad, value_and_grad)
from .tensor import (DTypeError, Tensor, concatenate, maximum, minimum, ones, stack, tensor,
                     where, zeros)

__version__ = "0.1.0"

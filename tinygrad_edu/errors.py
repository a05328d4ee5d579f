"""The project's own error types. A leaf module: every layer imports it, it imports nothing.

Each subclasses the built-in exception a user would catch for the same mistake, so
``except ValueError`` keeps working; each message names the op and the shapes or values
at fault.
"""


class ShapeError(ValueError):
    """Shapes that do not fit an op (names the op and the shapes)."""


class DTypeError(TypeError):
    """A dtype that an operation cannot use (e.g. requires_grad on integers)."""


class ArgumentError(ValueError):
    """An argument outside its domain: a negative or NaN learning rate, betas outside
    [0, 1), the same parameter twice (names the function, the argument and the value)."""


class GradientError(RuntimeError):
    """A backward pass that cannot be carried out correctly."""


class AnomalyError(FloatingPointError):
    """A NaN or inf produced by an op while anomaly detection is on."""


__all__ = ["AnomalyError", "DTypeError", "GradientError", "ShapeError"]

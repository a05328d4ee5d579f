"""Loss modules: each calls its function of tinygrad_edu.functional with the module's
``reduction`` ('mean', 'sum' or 'none'), as ``criterion(input, target)``."""
from __future__ import annotations

from .. import functional as F
from ..functional import _check_reduction
from .module import Module


class _Loss(Module):
    loss = None  # the function of tinygrad_edu.functional, (input, target, reduction)

    def __init__(self, reduction="mean"):
        _check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def forward(self, input, target):
        return type(self).loss(input, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """L = mean((input - target)**2): squared error (functional.mse_loss)."""
    loss = staticmethod(F.mse_loss)


class BCELoss(_Loss):
    """L = -(t log p + (1 - t) log(1 - p)) for probabilities p (binary_cross_entropy)."""
    loss = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """L = softplus(x) - t x, the binary cross-entropy of sigmoid(x), exact for any
    logit (binary_cross_entropy_with_logits)."""
    loss = staticmethod(F.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """L = logsumexp(x) - x[label] for (N, C) logits and N integer labels (or (N, C)
    class probabilities): softmax cross-entropy (functional.cross_entropy)."""
    loss = staticmethod(F.cross_entropy)


class NLLLoss(_Loss):
    """L = -log_probs[i, label_i] for (N, C) log-probabilities, e.g. of LogSoftmax
    (functional.nll_loss)."""
    loss = staticmethod(F.nll_loss)

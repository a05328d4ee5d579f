"""Dropout: during training, each unit is dropped with probability p."""
from __future__ import annotations

import numbers

from ..errors import ArgumentError
from ..functional import _t
from .init import rng
from .module import Module


def _check_p(p, name):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p < 1.0:
        raise ArgumentError(f"{name}: the drop probability p must be in [0, 1), got {p!r}")
    return float(p)


def dropout(x, p=0.5, training=True, random_state=None):
    """Inverted dropout: y = x * m / (1 - p) with m_i = 1 with probability 1 - p, else 0.

    Each kept unit is scaled by 1 / (1 - p), so that E[y] = x: nothing changes at
    evaluation time, when (``training=False``) y = x. dx = g * m / (1 - p), the same
    mask. ``random_state`` (None, an int or a numpy Generator) draws the mask.
    """
    p = _check_p(p, "dropout")
    x = _t(x)
    if not training or p == 0.0:
        return x
    keep = rng(random_state).random(x.shape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(x.dtype)


class Dropout(Module):
    """Inverted dropout with probability ``p`` in training mode, the identity after
    ``eval()``. The masks come from one Generator, seeded by ``random_state``: each call
    draws a new mask, the sequence reproducible."""

    def __init__(self, p=0.5, random_state=None):
        self.p = _check_p(p, "Dropout")
        self.generator = rng(random_state)

    def forward(self, x):
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}"

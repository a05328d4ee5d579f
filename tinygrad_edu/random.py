"""Random numbers: one generator that every draw without an explicit ``random_state`` uses.

    tg.manual_seed(0)      # layer initialisation, dropout masks, data shuffles, estimators
                           # and tg.rand / tg.randn are reproducible from here on

An explicit ``random_state`` (an int seed or a numpy Generator) still wins, as in
scikit-learn. A leaf module: numpy only.
"""
from __future__ import annotations

import numpy as np


class _Default:
    generator = np.random.default_rng()


def manual_seed(seed):
    """Seed the package's generator (as ``torch.manual_seed``); returns it."""
    _Default.generator = np.random.default_rng(seed)
    return _Default.generator


def rng(random_state=None):
    """A numpy Generator: None gives the package's generator (seeded by `manual_seed`), an
    int a new generator seeded with it, a Generator itself, a RandomState one seeded from it."""
    if random_state is None:
        return _Default.generator
    if isinstance(random_state, np.random.RandomState):
        random_state = random_state.randint(np.iinfo(np.int32).max)
    return np.random.default_rng(random_state)


__all__ = ["manual_seed", "rng"]

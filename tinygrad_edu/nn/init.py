"""Weight initialisation with an explicit numpy Generator (never global random state).

Xavier/Glorot keeps the variance of sigmoid and tanh units' inputs near 1 across layers;
He does the same for ReLU, which zeroes half of its inputs.
"""
import numpy as np

from ..random import rng


def xavier_uniform(fan_in, fan_out, random_state=None, gain=1.0, dtype=np.float64):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng(random_state).uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)


def he_normal(fan_in, fan_out, random_state=None, dtype=np.float64):
    """N(0, 2 / fan_in)."""
    return (rng(random_state).standard_normal((fan_in, fan_out))
            * np.sqrt(2.0 / fan_in)).astype(dtype)


def normal(fan_in, fan_out, random_state=None, std=0.01, dtype=np.float64):
    """N(0, std**2)."""
    return (rng(random_state).standard_normal((fan_in, fan_out)) * std).astype(dtype)


INITS = {"xavier": xavier_uniform, "he": he_normal, "normal": normal}

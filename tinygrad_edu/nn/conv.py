"""Layers for images (NCHW arrays): Conv2d, MaxPool2d, AvgPool2d, and Flatten to go on
to Linear layers. The arithmetic is in ops2d.py, one op per layer."""
from __future__ import annotations

import numpy as np

from .init import rng
from .module import Module, Parameter
from .ops2d import avg_pool2d, conv2d, max_pool2d, pair


class Conv2d(Module):
    """y = conv(x, W) + b: each of ``out_channels`` filters W[o] of shape
    (in_channels, kh, kw) slides over the (N, in_channels, H, W) input, ``stride`` pixels
    at a time, over a border of ``padding`` zeros; output (N, out_channels, OH, OW) with
    OH = (H + 2 padding - kh) // stride + 1.

    The weight has PyTorch's shape (out_channels, in_channels, kh, kw) and PyTorch's
    initialisation: W and b uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] with
    fan_in = in_channels kh kw (kaiming-uniform with a = sqrt(5)), drawn from
    ``random_state`` (an int or a numpy Generator).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 bias=True, random_state=None, dtype=np.float64):
        name = f"Conv2d({in_channels}, {out_channels})"
        self.in_channels = pair(in_channels, "in_channels", name, 1)[0]
        self.out_channels = pair(out_channels, "out_channels", name, 1)[0]
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride, self.padding = pair(stride, "stride", name, 1), pair(padding, "padding", name, 0)
        gen = rng(random_state)
        bound = 1.0 / np.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(gen.uniform(-bound, bound, size=shape).astype(dtype))
        self.bias = (Parameter(gen.uniform(-bound, bound, size=out_channels).astype(dtype))
                     if bias else None)

    def forward(self, x):
        # _name: the layer itself, written out (as its repr) only into an error message
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, _name=self)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}"
                + ("" if self.bias is not None else ", bias=False"))


class MaxPool2d(Module):
    """y = the maximum of each kernel_size window, windows ``stride`` apart (default:
    kernel_size, so that they tile the image). Learns nothing; halves H and W with 2."""

    pool = staticmethod(max_pool2d)

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = pair(kernel_size, "kernel_size", type(self).__name__, 1)
        self.stride = pair(self.kernel_size if stride is None else stride, "stride",
                           type(self).__name__, 1)

    def forward(self, x):
        return self.pool(x, self.kernel_size, self.stride, _name=self)  # (as in Conv2d)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class AvgPool2d(MaxPool2d):
    """y = the mean of each kernel_size window, windows ``stride`` apart (default:
    kernel_size)."""

    pool = staticmethod(avg_pool2d)


class Flatten(Module):
    """y = x with axes start_dim to end_dim (both included) made one: (N, C, H, W) ->
    (N, C*H*W) with the defaults, the step from feature maps to a Linear layer."""

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
